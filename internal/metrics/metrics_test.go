package metrics

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parse reads an exposition with the Prometheus project's own text parser
// (a test dependency only): what it accepts, a Prometheus server accepts.
func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}
	return families
}

func gather(t *testing.T, r *Registry) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Gather(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// labels returns a series' labels as name=value, in the order written.
func labels(m *dto.Metric) []string {
	var out []string
	for _, l := range m.GetLabel() {
		out = append(out, l.GetName()+"="+l.GetValue())
	}
	return out
}

// TestExpositionParses: every kind of metric, the Go runtime's and the
// process's included, comes out in a text Prometheus's parser reads back
// with the right types, labels and values; families are sorted by name.
func TestExpositionParses(t *testing.T) {
	r := NewRegistry()
	c := NewCounter("test_things_total", "Things.")
	c.Add(41)
	c.Inc()
	g := NewGauge("test_level", "A level.")
	g.Set(2.5)
	g.Dec()
	vec := NewCounterVec("test_requests_total", "Requests.", "route", "code")
	vec.With("GET /b", "200").Inc()
	vec.With("GET /a", "500").Add(3)
	vec.With("GET /a", "200").Inc()
	h := NewHistogram("test_wait_seconds", "Waits.", []float64{0.1, 1})
	h.Observe(0.05)
	d := NewDesc("test_rows", "Rows by kind.", GaugeType, "kind")
	r.MustRegister(c, g, vec, h, NewGoCollector(), NewProcessCollector(),
		NewCounterFunc("test_read_total", "Read.", func() float64 { return 7 }),
		NewGaugeFunc("test_temperature", "Temperature.", func() float64 { return -1.5 }),
		NewCollector(func(s *Scrape) error { s.Add(d, 3, "b"); s.Add(d, 4, "a"); return nil }, d))
	text := gather(t, r)
	families := parse(t, text)

	want := map[string]dto.MetricType{
		"test_things_total": dto.MetricType_COUNTER, "test_level": dto.MetricType_GAUGE,
		"test_requests_total": dto.MetricType_COUNTER, "test_wait_seconds": dto.MetricType_HISTOGRAM,
		"test_read_total": dto.MetricType_COUNTER, "test_temperature": dto.MetricType_GAUGE, "test_rows": dto.MetricType_GAUGE,
		"go_goroutines": dto.MetricType_GAUGE, "go_threads": dto.MetricType_GAUGE, "go_info": dto.MetricType_GAUGE,
		"go_gc_duration_seconds": dto.MetricType_SUMMARY, "go_memstats_alloc_bytes": dto.MetricType_GAUGE,
		"go_memstats_heap_inuse_bytes": dto.MetricType_GAUGE, "go_memstats_sys_bytes": dto.MetricType_GAUGE,
		"go_memstats_next_gc_bytes": dto.MetricType_GAUGE, "process_cpu_seconds_total": dto.MetricType_COUNTER,
		"process_resident_memory_bytes": dto.MetricType_GAUGE, "process_virtual_memory_bytes": dto.MetricType_GAUGE,
		"process_open_fds": dto.MetricType_GAUGE, "process_max_fds": dto.MetricType_GAUGE,
		"process_start_time_seconds": dto.MetricType_GAUGE,
	}
	for name, typ := range want {
		f := families[name]
		if f == nil {
			t.Errorf("no %s", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no help", name)
		}
	}
	if len(families) != len(want) {
		t.Errorf("%d families, want %d", len(families), len(want))
	}

	if v := families["test_things_total"].Metric[0].GetCounter().GetValue(); v != 42 {
		t.Errorf("counter %v", v)
	}
	if v := families["test_level"].Metric[0].GetGauge().GetValue(); v != 1.5 {
		t.Errorf("gauge %v", v)
	}
	if v := families["test_temperature"].Metric[0].GetGauge().GetValue(); v != -1.5 {
		t.Errorf("gauge func %v", v)
	}
	if v := families["test_read_total"].Metric[0].GetCounter().GetValue(); v != 7 {
		t.Errorf("counter func %v", v)
	}
	// Labels are written sorted by name; series sorted by label values.
	var series []string
	for _, m := range families["test_requests_total"].Metric {
		series = append(series, strings.Join(labels(m), ",")+" "+model.SampleValue(m.GetCounter().GetValue()).String())
	}
	if w := []string{"code=200,route=GET /a 1", "code=200,route=GET /b 1", "code=500,route=GET /a 3"}; !slices.Equal(series, w) {
		t.Errorf("labelled counter: %q, want %q", series, w)
	}
	if !strings.Contains(text, "test_rows{kind=\"a\"} 4\ntest_rows{kind=\"b\"} 3\n") {
		t.Errorf("collector's series not sorted:\n%s", text)
	}
	if l := labels(families["go_info"].Metric[0]); len(l) != 1 || !strings.HasPrefix(l[0], "version=go") {
		t.Errorf("go_info labels %q", l)
	}
	gc := families["go_gc_duration_seconds"].Metric[0].GetSummary()
	var qs []float64
	for _, q := range gc.GetQuantile() {
		qs = append(qs, q.GetQuantile())
	}
	if !slices.Equal(qs, []float64{0, 0.25, 0.5, 0.75, 1}) {
		t.Errorf("go_gc_duration_seconds quantiles %v", qs)
	}
	if v := families["process_resident_memory_bytes"].Metric[0].GetGauge().GetValue(); v < 1<<20 {
		t.Errorf("process_resident_memory_bytes %v", v)
	}
	if v := families["process_open_fds"].Metric[0].GetGauge().GetValue(); v < 3 {
		t.Errorf("process_open_fds %v", v)
	}
	if v := families["process_start_time_seconds"].Metric[0].GetGauge().GetValue(); v < 1.7e9 {
		t.Errorf("process_start_time_seconds %v", v)
	}

	var names []string
	for _, line := range strings.Split(text, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names = append(names, strings.Fields(name)[0])
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("families not sorted by name: %q", names)
	}
}

// TestEscaping: a label value's backslash, double quote and newline, and
// help text's backslash and newline, are escaped as the format says, and
// read back as they were.
func TestEscaping(t *testing.T) {
	r := NewRegistry()
	vec := NewCounterVec("test_escaped_total", "Help with a \\ backslash,\na newline and \"quotes\".", "v")
	value := "a \\ b \" c\nd"
	vec.With(value).Inc()
	r.MustRegister(vec)
	text := gather(t, r)
	want := "# HELP test_escaped_total Help with a \\\\ backslash,\\na newline and \"quotes\".\n" +
		"# TYPE test_escaped_total counter\n" +
		"test_escaped_total{v=\"a \\\\ b \\\" c\\nd\"} 1\n"
	if text != want {
		t.Fatalf("got\n%s\nwant\n%s", text, want)
	}
	f := parse(t, text)["test_escaped_total"]
	if got := f.Metric[0].Label[0].GetValue(); got != value {
		t.Errorf("label read back as %q", got)
	}
	if got := f.GetHelp(); got != "Help with a \\ backslash,\na newline and \"quotes\"." {
		t.Errorf("help read back as %q", got)
	}
}

// TestFloatFormat: values as Prometheus writes them: the shortest form,
// exponents from a million, and its words for infinities and NaN.
func TestFloatFormat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "0"}, {1, "1"}, {-1, "-1"}, {0.1, "0.1"}, {2.5e-7, "2.5e-07"}, {123456, "123456"}, {1e6, "1e+06"},
		{29528064, "2.9528064e+07"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"}} {
		if got := string(appendFloat(nil, tc.v)); got != tc.want {
			t.Errorf("%v written %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestHistogramCumulative: each bucket counts the observations at or below
// its bound, +Inf all of them, which _count repeats; _sum adds them up.
func TestHistogramCumulative(t *testing.T) {
	r := NewRegistry()
	h := NewHistogram("test_wait_seconds", "Waits.", []float64{0, 0.01, 0.5, 2})
	for _, v := range []float64{0, 0.005, 0.01, 0.3, 0.3, 1, 5, 9} {
		h.Observe(v)
	}
	r.MustRegister(h)
	text := gather(t, r)
	want := `# HELP test_wait_seconds Waits.
# TYPE test_wait_seconds histogram
test_wait_seconds_bucket{le="0"} 1
test_wait_seconds_bucket{le="0.01"} 3
test_wait_seconds_bucket{le="0.5"} 5
test_wait_seconds_bucket{le="2"} 6
test_wait_seconds_bucket{le="+Inf"} 8
test_wait_seconds_sum 15.615
test_wait_seconds_count 8
`
	if text != want {
		t.Fatalf("got\n%s\nwant\n%s", text, want)
	}
	hist := parse(t, text)["test_wait_seconds"].Metric[0].GetHistogram()
	if hist.GetSampleCount() != 8 || len(hist.GetBucket()) != 5 {
		t.Errorf("parsed as %v", hist)
	}
}

// TestConcurrentIncrements: many goroutines counting at once lose nothing.
// Run with -race.
func TestConcurrentIncrements(t *testing.T) {
	c := NewCounter("test_c_total", "C.")
	g := NewGauge("test_g", "G.")
	vec := NewCounterVec("test_v_total", "V.", "k")
	h := NewHistogram("test_h", "H.", []float64{1})
	const goroutines, each = 32, 2000
	// Each metric on its own in a tight loop, for as much contention as
	// possible: a lost update shows.
	for _, inc := range []func(i int){
		func(int) { c.Inc() },
		func(int) { g.Add(0.5); g.Inc(); g.Dec() },
		func(i int) { vec.With([]string{"even", "odd"}[i%2]).Inc() },
		func(int) { h.Observe(0.5) },
	} {
		var wg sync.WaitGroup
		for i := range goroutines {
			wg.Go(func() {
				for range each {
					inc(i)
				}
			})
		}
		wg.Wait()
	}
	if c.Value() != goroutines*each {
		t.Errorf("counter %d", c.Value())
	}
	if g.Value() != goroutines*each/2 {
		t.Errorf("gauge %v", g.Value())
	}
	if n := vec.With("even").Value() + vec.With("odd").Value(); n != goroutines*each {
		t.Errorf("labelled counter %d", n)
	}
	r := NewRegistry()
	r.MustRegister(h)
	hist := parse(t, gather(t, r))["test_h"].Metric[0].GetHistogram()
	if hist.GetSampleCount() != goroutines*each || hist.GetSampleSum() != goroutines*each/2 || hist.Bucket[0].GetCumulativeCount() != goroutines*each {
		t.Errorf("histogram %v", hist)
	}
}

// TestFailingCollector: a collector that fails (the database does not
// answer) is left out of the scrape; the rest is served with a 200, and the
// error is logged once per scrape.
func TestFailingCollector(t *testing.T) {
	r := NewRegistry()
	up := NewGauge("test_up", "Up.")
	r.MustRegister(up)
	emails := NewDesc("test_emails", "Emails.", GaugeType, "state")
	oldest := NewDesc("test_oldest_seconds", "Oldest.", GaugeType)
	r.MustRegister(NewCollector(func(s *Scrape) error {
		s.Add(emails, 3, "sent") // written before it failed: left out all the same
		return errors.New("database timeout")
	}, emails, oldest))
	other := NewDesc("test_other", "Other.", GaugeType)
	r.MustRegister(NewCollector(func(s *Scrape) error { return errors.New("disk gone") }, other))
	var logs bytes.Buffer
	h := r.Handler(slog.New(slog.NewTextHandler(&logs, nil)))
	for scrape := 1; scrape <= 2; scrape++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(body, "test_up 0\n") {
			t.Fatalf("scrape %d: %d\n%s", scrape, rec.Code, body)
		}
		if strings.Contains(body, "test_emails") || strings.Contains(body, "test_oldest") || strings.Contains(body, "test_other") {
			t.Errorf("a failed collector's families were served:\n%s", body)
		}
		parse(t, body)
		if n := strings.Count(logs.String(), "\n"); n != scrape {
			t.Errorf("after %d scrapes, %d log lines:\n%s", scrape, n, logs.String())
		}
	}
	for _, want := range []string{"database timeout", "disk gone", "test_emails"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, logs.String())
		}
	}
}

// TestGzip: a scraper that accepts gzip gets the exposition gzipped, one
// that does not (or refuses it with q=0) gets it plain; both say the
// format's version.
func TestGzip(t *testing.T) {
	r := NewRegistry()
	c := NewCounter("test_total", "T.")
	c.Inc()
	r.MustRegister(c)
	srv := httptest.NewServer(r.Handler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{{"gzip", true}, {"deflate, GZIP;q=0.5", true}, {"", false}, {"gzip;q=0", false}, {"identity", false}} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Accept-Encoding", tc.accept) // set, the transport does not gzip then
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if ct := res.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if got := res.Header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("Accept-Encoding %q: gzipped %v", tc.accept, got)
			continue
		}
		if tc.gzip {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !strings.Contains(string(body), "\ntest_total 1\n") {
			t.Errorf("Accept-Encoding %q: body\n%s", tc.accept, body)
		}
	}
}

// TestDuplicateNamePanics: a family registered twice is a programming
// error found at start.
func TestDuplicateNamePanics(t *testing.T) {
	r := NewRegistry()
	r.MustRegister(NewCounter("test_total", "T."))
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	r.MustRegister(NewGaugeFunc("test_total", "Again.", func() float64 { return 0 }))
}
