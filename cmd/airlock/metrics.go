package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// newMetrics registers what an operator alerts on (README: Running several
// nodes): emails by kind and state, the age of the oldest email still
// waiting, lease takeovers, database availability, password hashing load.
// It also logs database outages once when they start and once when they end,
// and each query that gave up while the database answers (a lock wait).
// The Go runtime's and the process's own metrics are collected only when
// they are served (scraped): nobody reads them otherwise, and their
// descriptions alone took half a megabyte of every node's memory.
func newMetrics(a *app, log *slog.Logger, served bool) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	if served {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}

	dbUp := prometheus.NewGauge(prometheus.GaugeOpts{Name: "airlock_database_up",
		Help: "1 while the database answers, 0 while it is unreachable or stalled."})
	dbUp.Set(1)
	outages := prometheus.NewCounter(prometheus.CounterOpts{Name: "airlock_database_outages_total",
		Help: "Times the database became unreachable."})
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

	hashWait := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "airlock_password_hash_wait_seconds",
		Help: "How long password hashes waited for a free slot (AIRLOCK_HASH_CONCURRENCY).", Buckets: []float64{0, .01, .05, .1, .25, .5, 1, 2}})
	reg.MustRegister(hashWait)
	a.hasher.OnWait(func(d time.Duration) { hashWait.Observe(d.Seconds()) })
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "airlock_password_hashes_running",
		Help: "Password hashes computing now."}, func() float64 { return float64(a.hasher.Running()) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "airlock_password_verifications_total",
		Help: "Passwords checked."}, func() float64 { return float64(a.hasher.Verifications()) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "airlock_job_lease_takeovers_total",
		Help: "Jobs this node took over from a worker whose lease ran out (a node that died)."},
		func() float64 { return float64(a.accounts.Stats().Takeovers.Load()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "airlock_queue_lag_seconds",
		Help: "How long the oldest job this node last claimed had been due: above 2 s, forgot requests are refused (503)."},
		func() float64 { return a.accounts.QueueLag().Seconds() }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "airlock_forgot_refused_busy_total",
		Help: "Forgot requests refused with 503 because the workers lagged more than 2 s."},
		func() float64 { return float64(a.accounts.BusyRefusals()) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "airlock_password_grant_sign_ins_total",
		Help: "Sign-ins with the password grant of /api/v1/auth/token (deprecated: apps should use the OpenID Provider)."},
		func() float64 { return float64(a.accounts.PasswordGrants()) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "airlock_peer_questions_sent_total",
		Help: "Questions sent to peers about an address with no account here (AIRLOCK_PEERS)."},
		func() float64 { sent, _ := a.accounts.Referrals(); return float64(sent) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "airlock_peer_questions_dropped_total",
		Help: "Questions to peers dropped after the peer did not answer three times."},
		func() float64 { _, dropped := a.accounts.Referrals(); return float64(dropped) }))
	reg.MustRegister(&outboxCollector{a: a})
	return reg
}

// outboxCollector reads the outbox's state from the database at each scrape,
// within the database's time limit.
type outboxCollector struct{ a *app }

var (
	emailsDesc = prometheus.NewDesc("airlock_emails", "Emails of the outbox and its 30-day history, by kind and delivery state.",
		[]string{"kind", "state"}, nil)
	oldestDesc = prometheus.NewDesc("airlock_outbox_oldest_waiting_seconds",
		"Age of the oldest email not yet delivered (0 when none waits).", nil, nil)
)

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- emailsDesc; ch <- oldestDesc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	counts, oldest, err := c.a.db.OutboxStats(context.Background())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(emailsDesc, err)
		return
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(emailsDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}

// countRequests counts answers by route pattern (never the path, which may
// hold an identifier, nor the query, which may hold a token) and status.
func countRequests(c *prometheus.CounterVec, next http.Handler) http.Handler {
	// Each route and status's counter, looked up once: the patterns and
	// statuses are a fixed, small set.
	type key struct {
		route  string
		status int
	}
	var counters sync.Map // key → prometheus.Counter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern // set by the innermost mux that matched
		if route == "" {
			route = "unmatched"
		}
		k := key{route, sw.status}
		ctr, ok := counters.Load(k)
		if !ok {
			ctr, _ = counters.LoadOrStore(k, c.WithLabelValues(route, strconv.Itoa(sw.status)))
		}
		ctr.(prometheus.Counter).Inc()
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
