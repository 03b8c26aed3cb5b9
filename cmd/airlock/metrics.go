package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/airlockhq/airlock/internal/metrics"
)

// newMetrics registers what an operator alerts on (README: Running several
// nodes): emails by kind and state, the age of the oldest email still
// waiting, lease takeovers, database availability, password hashing load.
// It also logs database outages once when they start and once when they end,
// and each query that gave up while the database answers (a lock wait).
// The Go runtime's and the process's own metrics are collected only when
// they are served (scraped): nobody reads them otherwise.
func newMetrics(a *app, log *slog.Logger, served bool) *metrics.Registry {
	reg := metrics.NewRegistry()
	if served {
		reg.MustRegister(metrics.NewGoCollector(), metrics.NewProcessCollector())
	}

	dbUp := metrics.NewGauge("airlock_database_up",
		"1 while the database answers, 0 while it is unreachable or stalled.")
	dbUp.Set(1)
	outages := metrics.NewCounter("airlock_database_outages_total",
		"Times the database became unreachable.")
	reg.MustRegister(dbUp, outages)
	a.db.OnAvailability(func(up bool, cause error) {
		if up {
			dbUp.Set(1)
			log.Info("database reachable again")
			return
		}
		dbUp.Set(0)
		outages.Inc()
		// Once per outage, not once per request: requests answer 503 meanwhile.
		log.Error("database unreachable: requests answer 503 until it returns", "err", cause)
	})
	a.db.OnGaveUp(func(what, table string, cause error) {
		// One request answered 503; the database answers, so this is no
		// outage: said as what it is, with the table, to find the culprit.
		msg := "database " + what
		if table != "" {
			msg += " on " + table
		}
		log.Warn(msg, "table", table, "err", cause)
	})

	hashWait := metrics.NewHistogram("airlock_password_hash_wait_seconds",
		"How long password hashes waited for a free slot (AIRLOCK_HASH_CONCURRENCY).", []float64{0, .01, .05, .1, .25, .5, 1, 2})
	reg.MustRegister(hashWait)
	a.hasher.OnWait(func(d time.Duration) { hashWait.Observe(d.Seconds()) })
	reg.MustRegister(metrics.NewGaugeFunc("airlock_password_hashes_running",
		"Password hashes computing now.", func() float64 { return float64(a.hasher.Running()) }))
	reg.MustRegister(metrics.NewCounterFunc("airlock_password_verifications_total",
		"Passwords checked.", func() float64 { return float64(a.hasher.Verifications()) }))
	reg.MustRegister(metrics.NewCounterFunc("airlock_job_lease_takeovers_total",
		"Jobs this node took over from a worker whose lease ran out (a node that died).",
		func() float64 { return float64(a.accounts.Stats().Takeovers.Load()) }))
	reg.MustRegister(metrics.NewGaugeFunc("airlock_queue_lag_seconds",
		"How long the oldest job this node last claimed had been due: above 2 s, forgot requests are refused (503).",
		func() float64 { return a.accounts.QueueLag().Seconds() }))
	reg.MustRegister(metrics.NewCounterFunc("airlock_forgot_refused_busy_total",
		"Forgot requests refused with 503 because the workers lagged more than 2 s.",
		func() float64 { return float64(a.accounts.BusyRefusals()) }))
	reg.MustRegister(metrics.NewCounterFunc("airlock_password_grant_sign_ins_total",
		"Sign-ins with the password grant of /api/v1/auth/token (deprecated: apps should use the OpenID Provider).",
		func() float64 { return float64(a.accounts.PasswordGrants()) }))
	reg.MustRegister(metrics.NewCounterFunc("airlock_peer_questions_sent_total",
		"Questions sent to peers about an address with no account here (AIRLOCK_PEERS).",
		func() float64 { sent, _ := a.accounts.Referrals(); return float64(sent) }))
	reg.MustRegister(metrics.NewCounterFunc("airlock_peer_questions_dropped_total",
		"Questions to peers dropped after the peer did not answer three times.",
		func() float64 { _, dropped := a.accounts.Referrals(); return float64(dropped) }))
	reg.MustRegister(metrics.NewCollector(outboxCollector{a}.collect, emailsDesc, oldestDesc))
	return reg
}

// outboxCollector reads the outbox's state from the database at each scrape,
// within the database's time limit.
type outboxCollector struct{ a *app }

var (
	emailsDesc = metrics.NewDesc("airlock_emails", "Emails of the outbox and its 30-day history, by kind and delivery state.",
		metrics.GaugeType, "kind", "state")
	oldestDesc = metrics.NewDesc("airlock_outbox_oldest_waiting_seconds",
		"Age of the oldest email not yet delivered (0 when none waits).", metrics.GaugeType)
)

// collect fails when the database does not answer: then neither family is
// served in that scrape, and the rest is.
func (c outboxCollector) collect(s *metrics.Scrape) error {
	counts, oldest, err := c.a.db.OutboxStats(context.Background())
	if err != nil {
		return err
	}
	for k, n := range counts {
		s.Add(emailsDesc, float64(n), k[0], k[1])
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	s.Add(oldestDesc, age)
	return nil
}

// countRequests counts the requests being answered now, and the answers by
// route pattern (never the path, which may hold an identifier, nor the
// query, which may hold a token) and status. It is on every request: atomic
// adds and a lock-free lookup, no allocation for the metrics.
func countRequests(requests *metrics.CounterVec, inFlight *metrics.Gauge, next http.Handler) http.Handler {
	// Each route and status's counter, looked up once: the patterns and
	// statuses are a fixed, small set.
	type key struct {
		route  string
		status int
	}
	var counters sync.Map // key → *metrics.Counter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Inc()
		defer inFlight.Dec()
		sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern // set by the innermost mux that matched
		if route == "" {
			route = "unmatched"
		}
		k := key{route, sw.status}
		ctr, ok := counters.Load(k)
		if !ok {
			ctr, _ = counters.LoadOrStore(k, requests.With(route, strconv.Itoa(sw.status)))
		}
		ctr.(*metrics.Counter).Inc()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
