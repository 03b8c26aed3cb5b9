package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsExposition: /metrics serves every family it served with the
// Prometheus client (same names, types, labels and help: dashboards and
// alerts rely on them), plus the Go runtime's and the process's own, in a
// text Prometheus's own parser reads.
func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	metricsAddr := freePort(t)
	p := newProgram(t, map[string]string{"AIRLOCK_METRICS_LISTEN": metricsAddr})
	if _, err := p.run("the old password, long enough\n", "user", "add", "--email", "ada@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	c := browser()
	get(t, c, p.url("/healthz"))
	get(t, c, p.url("/api/v1/users/some-id"))
	// An email in the outbox, for airlock_emails.
	postForm(t, c, p.url("/password/forgot"), url.Values{"email": {"ada@example.com"}})

	var families map[string]*dto.MetricFamily
	for deadline := time.Now().Add(20 * time.Second); families["airlock_emails"] == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no airlock_emails after a forgot request")
		}
		res, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		parser := expfmt.NewTextParser(model.LegacyValidation)
		families, err = parser.TextToMetricFamilies(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("the exposition does not parse: %v", err)
		}
	}

	const counter, gauge, histogram, summary = dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_HISTOGRAM, dto.MetricType_SUMMARY
	for _, want := range []struct {
		name   string
		typ    dto.MetricType
		labels []string
		help   string
	}{
		{"airlock_database_outages_total", counter, nil, "Times the database became unreachable."},
		{"airlock_database_up", gauge, nil, "1 while the database answers, 0 while it is unreachable or stalled."},
		{"airlock_emails", gauge, []string{"kind", "state"}, "Emails of the outbox and its 30-day history, by kind and delivery state."},
		{"airlock_forgot_refused_busy_total", counter, nil, "Forgot requests refused with 503 because the workers lagged more than 2 s."},
		{"airlock_http_requests_in_flight", gauge, nil, "HTTP requests being answered now."},
		{"airlock_http_requests_total", counter, []string{"code", "route"}, "HTTP requests answered, by route and status code."},
		{"airlock_job_lease_takeovers_total", counter, nil, "Jobs this node took over from a worker whose lease ran out (a node that died)."},
		{"airlock_outbox_oldest_waiting_seconds", gauge, nil, "Age of the oldest email not yet delivered (0 when none waits)."},
		{"airlock_password_grant_sign_ins_total", counter, nil, "Sign-ins with the password grant of /api/v1/auth/token (deprecated: apps should use the OpenID Provider)."},
		{"airlock_password_hash_wait_seconds", histogram, nil, "How long password hashes waited for a free slot (AIRLOCK_HASH_CONCURRENCY)."},
		{"airlock_password_hashes_running", gauge, nil, "Password hashes computing now."},
		{"airlock_password_verifications_total", counter, nil, "Passwords checked."},
		{"airlock_peer_questions_dropped_total", counter, nil, "Questions to peers dropped after the peer did not answer three times."},
		{"airlock_peer_questions_sent_total", counter, nil, "Questions sent to peers about an address with no account here (AIRLOCK_PEERS)."},
		{"airlock_queue_lag_seconds", gauge, nil, "How long the oldest job this node last claimed had been due: above 2 s, forgot requests are refused (503)."},
		{"go_gc_duration_seconds", summary, nil, ""},
		{"go_goroutines", gauge, nil, ""},
		{"go_info", gauge, []string{"version"}, ""},
		{"go_memstats_alloc_bytes", gauge, nil, ""},
		{"go_memstats_heap_inuse_bytes", gauge, nil, ""},
		{"go_memstats_next_gc_bytes", gauge, nil, ""},
		{"go_memstats_sys_bytes", gauge, nil, ""},
		{"go_threads", gauge, nil, ""},
		{"process_cpu_seconds_total", counter, nil, ""},
		{"process_max_fds", gauge, nil, ""},
		{"process_open_fds", gauge, nil, ""},
		{"process_resident_memory_bytes", gauge, nil, ""},
		{"process_start_time_seconds", gauge, nil, ""},
		{"process_virtual_memory_bytes", gauge, nil, ""},
	} {
		f := families[want.name]
		if f == nil {
			t.Errorf("no %s", want.name)
			continue
		}
		if f.GetType() != want.typ {
			t.Errorf("%s is a %v, want %v", want.name, f.GetType(), want.typ)
		}
		if want.help != "" && f.GetHelp() != want.help {
			t.Errorf("%s's help is %q, want %q", want.name, f.GetHelp(), want.help)
		}
		for _, m := range f.Metric {
			var names []string
			for _, l := range m.Label {
				names = append(names, l.GetName())
			}
			if !slices.Equal(names, want.labels) {
				t.Errorf("%s has labels %q, want %q", want.name, names, want.labels)
			}
		}
	}
	if m := families["airlock_password_hash_wait_seconds"].GetMetric(); len(m) != 1 || len(m[0].GetHistogram().GetBucket()) != 9 {
		t.Errorf("airlock_password_hash_wait_seconds: %v", m)
	}
}

// TestBinaryLeavesOutPrometheusClient: the airlock binary links neither the
// Prometheus client nor what it brought (protobuf, expvar): they cost 4.4 MB
// of binary and 2.3 MiB of every node's idle memory for fifteen metrics.
// The tests may use the Prometheus parser; the binary may not.
func TestBinaryLeavesOutPrometheusClient(t *testing.T) {
	t.Parallel()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goCmd, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/prometheus/") || strings.HasPrefix(pkg, "google.golang.org/protobuf/") || pkg == "expvar" {
			t.Errorf("cmd/airlock links %s", pkg)
		}
	}
}

// countedMux is a one-route mux (GET /users/{id}, 204) and the same counted.
func countedMux() (*metrics.CounterVec, *metrics.Gauge, *http.ServeMux, http.Handler) {
	requests := metrics.NewCounterVec("test_requests_total", "Requests.", "route", "code")
	inFlight := metrics.NewGauge("test_in_flight", "In flight.")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	counted := countRequests(requests, inFlight, mux)
	return requests, inFlight, mux, counted
}

// TestCountRequestsAllocatesNothing: counting a request (in flight, then by
// route and status) is atomic adds and a lock-free lookup: after the first
// request of a route, nothing is allocated but the status recorder.
func TestCountRequestsAllocatesNothing(t *testing.T) {
	requests, inFlight, mux, counted := countedMux()
	req := httptest.NewRequest("GET", "/users/42", nil)
	w := httptest.NewRecorder()
	counted.ServeHTTP(w, req)
	bare := testing.AllocsPerRun(200, func() { mux.ServeHTTP(w, req) })
	got := testing.AllocsPerRun(200, func() { counted.ServeHTTP(w, req) })
	if got > bare+1 {
		t.Errorf("a counted request allocates %v times, the bare one %v", got, bare)
	}
	if n := requests.With("GET /users/{id}", "204").Value(); n != 1+200+1 { // AllocsPerRun runs once more to warm up
		t.Errorf("counted %d requests", n)
	}
	if v := inFlight.Value(); v != 0 {
		t.Errorf("%v requests still in flight", v)
	}
}

// BenchmarkCountRequests: what counting adds to every request, from many
// goroutines at once (go test -run XXX -bench CountRequests ./cmd/airlock).
func BenchmarkCountRequests(b *testing.B) {
	_, _, _, counted := countedMux()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/users/42", nil)
		w := httptest.NewRecorder()
		for pb.Next() {
			counted.ServeHTTP(w, req)
		}
	})
}
