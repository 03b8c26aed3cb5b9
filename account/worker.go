package account

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airlockhq/airlock"
)

const (
	// JobLease is how long a worker holds a job before another node may
	// take it over; the worker renews it every LeaseRenewal while it is still
	// on the job (a slow SMTP server causes no second send), so a node that
	// dies delays its jobs by at most JobLease plus one poll.
	JobLease     = 30 * time.Second
	LeaseRenewal = 10 * time.Second
	backoffBase  = 5 * time.Second
	backoffMax   = time.Hour
	pollInterval = time.Second
	// jobTimeout bounds one job, shutdown included: a job in flight when
	// the node stops is finished, not abandoned half-sent.
	jobTimeout = 2 * time.Minute
	// EmailGiveUp is how long an email is retried before it is marked failed.
	EmailGiveUp = 24 * time.Hour
)

// WorkerStats counts what the workers did, for the metrics.
type WorkerStats struct {
	Takeovers atomic.Int64 // jobs taken over from a worker whose lease ran out
}

// RunWorkers processes queued jobs until ctx ends: forgotten-password
// requests and the outbox. Several nodes may run them on one database; a
// job is leased to one worker at a time. When ctx ends, the job in flight is
// finished and every lease this node holds is handed back at once.
func (s *Service) RunWorkers(ctx context.Context) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	defer s.releaseLeases()
	defer s.tidyRuns.Wait()
	lastCleanup := time.Time{}
	for {
		if _, err := s.processDue(ctx, true); err != nil && ctx.Err() == nil && airlock.ErrorCode(err) != airlock.CodeUnavailable {
			// An unavailable database is reported once, by the store's
			// health tracker, not every second here.
			s.log.Error("worker", "err", err)
		}
		if now := s.clock.Now(); now.Sub(lastCleanup) > 10*time.Minute {
			lastCleanup = now
			// Keep a day of expired tokens so that an old link says "expired".
			if err := s.store.Cleanup(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
				s.log.Error("cleanup", "err", err)
			}
			if err := s.PruneAudit(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("prune audit", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// releaseLeases hands back whatever this node still holds, so that another
// node takes it at once rather than after the lease.
func (s *Service) releaseLeases() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := s.store.ReleaseLeases(ctx, s.node); err != nil {
		s.log.Warn("hand back leases", "err", err)
	} else if n > 0 {
		s.log.Info("leases handed back", "jobs", n)
	}
}

// tidyEvery is how many jobs a node's workers claim between two tidyings
// of the queue (TidyQueue: a vacuum of the jobs table on PostgreSQL).
const tidyEvery = 10000

// tidyNowAndThen tidies the queue in the background once tidyEvery jobs
// have been claimed since the last time, one tidying at a time.
func (s *Service) tidyNowAndThen(ctx context.Context, claimed int) {
	if s.tidy == nil || s.sinceTidy.Add(int64(claimed)) < s.tidyEvery || !s.tidying.CompareAndSwap(false, true) {
		return
	}
	s.sinceTidy.Store(0)
	s.tidyRuns.Go(func() {
		defer s.tidying.Store(false)
		if err := s.tidy(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("tidy the queue", "err", err)
		}
	})
}

// Stats returns the workers' counters.
func (s *Service) Stats() *WorkerStats { return &s.stats }

// PruneAudit deletes audit events older than the retention
// (AIRLOCK_AUDIT_RETENTION); the workers run it every ten minutes.
func (s *Service) PruneAudit(ctx context.Context) error {
	if s.cfg.AuditRetention <= 0 {
		return nil
	}
	n, err := s.store.DeleteAuditBefore(ctx, s.clock.Now().Add(-s.cfg.AuditRetention))
	if n > 0 {
		s.log.Info("audit events pruned", "count", n, "retention", s.cfg.AuditRetention.String())
	}
	return err
}

// ProcessDue runs every job that is due now and says how many it ran. It
// stops claiming when ctx ends; the jobs in flight are finished, and those
// claimed but not started are left for releaseLeases to hand back.
func (s *Service) ProcessDue(ctx context.Context) (int, error) { return s.processDue(ctx, false) }

// processDue is ProcessDue; asNode, it also does what the node's workers
// do between batches: tidy the queue now and then, and give way to a flood
// of forgot requests (pace.go).
func (s *Service) processDue(ctx context.Context, asNode bool) (int, error) {
	n := 0
	for ctx.Err() == nil {
		// Real time, not the clock: what is measured is how long the
		// batch held the cores.
		arrived, started := s.forgot.arrivals(), time.Now()
		now := s.clock.Now()
		jobs, err := s.store.ClaimJobs(ctx, s.node, now, now.Add(JobLease), claimBatch)
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			return n, nil
		}
		n += len(jobs)
		for _, job := range jobs {
			if job.TakenOver {
				s.stats.Takeovers.Add(1)
				s.log.Warn("job taken over from a worker whose lease ran out", "job", job.ID, "kind", job.Kind)
			}
		}
		if err := s.runBatch(ctx, jobs); err != nil {
			return n, err
		}
		if asNode {
			s.tidyNowAndThen(ctx, len(jobs))
			if d := giveWay(s.forgot.arrivals()-arrived, time.Since(started), s.clock.Now().Sub(oldestDue(jobs))); d > 0 {
				s.pause(ctx, d)
			}
		}
	}
	return n, ctx.Err()
}

const (
	// claimBatch is how many due jobs a worker claims at once: one
	// statement instead of one per job.
	claimBatch = 32
	// deliveryParallelism bounds the emails a node composes and sends at
	// once: enough to keep a relay's pipeline full, few enough that a burst
	// cannot open hundreds of connections to it.
	deliveryParallelism = 8
)

// runBatch runs claimed jobs under their leases: the forgot requests
// together in transactions of about maxForgotBatch requests, the emails as
// one batch (runMailBatch), each one job at a time if that fails, as it
// always ran alone. It returns when every job started is done.
func (s *Service) runBatch(ctx context.Context, jobs []*airlock.Job) error {
	held := s.holdLeases(jobs)
	defer held.stop()
	var forgot, mails, others []*airlock.Job
	for _, job := range jobs {
		switch job.Kind {
		case airlock.JobForgot:
			forgot = append(forgot, job)
		case airlock.JobMail:
			mails = append(mails, job)
		default:
			others = append(others, job)
		}
	}
	var mu sync.Mutex
	var first error
	record := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
		}
	}
	var wg sync.WaitGroup
	// The forgot requests and the emails run side by side on PostgreSQL,
	// overlapping their round trips; on SQLite they take turns: its one
	// writer is also what the requests' commits wait for, and two of the
	// workers' transactions queued ahead of them made the answers slower
	// during a flood (bench/RESULTS.md, 2026-11-27).
	run := wg.Go
	if s.writers() <= 1 {
		run = func(f func()) { f() }
	}
	if len(forgot) > 0 {
		// A transaction of a few statements for up to maxForgotBatch
		// requests (see processForgotBatch), one after the other: splitting
		// them to overlap round trips on PostgreSQL only made the workers
		// take more of the machine from the requests during a flood.
		run(func() {
			for _, group := range forgotGroups(forgot) {
				if len(group) == 1 {
					if err := s.runLeased(ctx, held, group[0]); err != nil {
						record(err)
					}
				} else if err := s.runForgotBatch(ctx, held, group); err != nil {
					s.log.Warn("forgot batch failed, running its jobs one at a time", "jobs", len(group), "err", err)
					for _, job := range group {
						if err := s.runLeased(ctx, held, job); err != nil {
							record(err)
						}
					}
				}
			}
		})
	}
	oneByOne := func(jobs []*airlock.Job) {
		inUserOrder(jobs, func(job *airlock.Job) string { return job.UserID }, func(job *airlock.Job) {
			if err := s.runLeased(ctx, held, job); err != nil {
				record(err)
			}
		})
	}
	if len(mails) > 1 {
		wg.Go(func() {
			if err := s.runMailBatch(ctx, held, mails, record); err != nil {
				s.log.Warn("email batch failed, sending its emails one at a time", "emails", len(mails), "err", err)
				oneByOne(mails)
			}
		})
	} else {
		others = append(mails, others...)
	}
	oneByOne(others)
	wg.Wait()
	return first
}

// inUserOrder runs fn on every item, deliveryParallelism at a time, and one
// user's items one after the other, in order: of one user's emails, the
// link of the last one sent is the one minted last, the one that works.
// It returns when every item is done. An item of no user ("") is alone.
func inUserOrder[T any](items []T, userOf func(T) string, fn func(T)) {
	var queues [][]T
	byUser := map[string]int{}
	for _, it := range items {
		u := userOf(it)
		i, ok := byUser[u]
		if !ok || u == "" {
			i = len(queues)
			byUser[u] = i
			queues = append(queues, nil)
		}
		queues[i] = append(queues[i], it)
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, deliveryParallelism)
	for _, queue := range queues {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			for _, it := range queue {
				fn(it)
			}
		})
	}
	wg.Wait()
}

// forgotGroups cuts claimed forgot jobs, in order, into groups of about
// maxForgotBatch requests: each job holds the requests one transaction
// accepted (Job.Items), and one transaction decides a group.
func forgotGroups(jobs []*airlock.Job) [][]*airlock.Job {
	var groups [][]*airlock.Job
	n := maxForgotBatch
	for _, job := range jobs {
		if n >= maxForgotBatch {
			groups = append(groups, nil)
			n = 0
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], job)
		n += max(job.Items, 1)
	}
	return groups
}

// runForgotBatch runs claimed forgot requests in one transaction. It
// fails, having written nothing, if it could not run them all.
func (s *Service) runForgotBatch(ctx context.Context, held *leases, jobs []*airlock.Job) error {
	if ctx.Err() != nil {
		return nil // shutting down: not started, handed back
	}
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
	defer cancel()
	for _, job := range jobs {
		if !held.start(job.ID, cancel) {
			return errLeaseLost
		}
	}
	err := s.processForgotBatch(jctx, jobs)
	for _, job := range jobs {
		held.finish(job.ID, err == nil)
	}
	return err
}

var errLeaseLost = errors.New("lease lost to another worker")

// runLeased runs one claimed job under its lease, then records a failure
// for a retry.
func (s *Service) runLeased(ctx context.Context, held *leases, job *airlock.Job) error {
	if ctx.Err() != nil {
		return nil // shutting down: not started, handed back
	}
	// The job goes on through a shutdown (ctx ending): it is finished, not
	// abandoned half-sent; its own time limit still applies.
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
	defer cancel()
	if !held.start(job.ID, cancel) {
		return nil // another worker has it now: nothing to do here
	}
	err := s.runJob(jctx, job)
	held.finish(job.ID, true)
	if err == nil {
		return nil
	}
	return s.retryLater(ctx, job, err)
}

// retryLater records a job's failed attempt (err) and schedules the next,
// with backoff.
func (s *Service) retryLater(ctx context.Context, job *airlock.Job, err error) error {
	delay := backoff(job.Attempts)
	s.log.Warn("job failed, will retry", "job", job.ID, "kind", job.Kind, "attempt", job.Attempts, "in", delay.Round(time.Second), "err", err)
	// A fresh context: the retry must be recorded even during shutdown.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	now := s.clock.Now()
	if err := s.store.RetryJob(rctx, job.ID, now, now.Add(delay), err.Error()); err != nil {
		return fmt.Errorf("reschedule job: %w", err)
	}
	return nil
}

// leases keeps a worker's claimed jobs leased: every LeaseRenewal it
// renews the lease of each job that waits or runs, so that a slow SMTP
// server or a long queue of emails causes no second send. A job whose
// lease another worker took over is stopped if it runs (its context is
// cancelled, rather than send twice) and never started if it waits.
type leases struct {
	s    *Service
	mu   sync.Mutex
	jobs map[int64]*lease
	quit chan struct{}
	done chan struct{}
}

type lease struct {
	cancel context.CancelFunc // of the job's context while it runs
	lost   bool
}

func (s *Service) holdLeases(jobs []*airlock.Job) *leases {
	h := &leases{s: s, jobs: make(map[int64]*lease, len(jobs)), quit: make(chan struct{}), done: make(chan struct{})}
	for _, job := range jobs {
		h.jobs[job.ID] = &lease{}
	}
	go h.renew()
	return h
}

// start marks a job running under cancel, unless its lease was lost.
func (h *leases) start(id int64, cancel context.CancelFunc) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.jobs[id]
	if l == nil || l.lost {
		return false
	}
	l.cancel = cancel
	return true
}

// finish marks a job stopped; done says it needs its lease no more.
func (h *leases) finish(id int64, done bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if l := h.jobs[id]; l != nil {
		l.cancel = nil
		if done {
			delete(h.jobs, id)
		}
	}
}

// stop ends the renewals.
func (h *leases) stop() {
	close(h.quit)
	<-h.done
}

func (h *leases) renew() {
	defer close(h.done)
	t := time.NewTicker(LeaseRenewal)
	defer t.Stop()
	for {
		select {
		case <-h.quit:
			return
		case <-t.C:
		}
		h.mu.Lock()
		ids := make([]int64, 0, len(h.jobs))
		for id := range h.jobs {
			ids = append(ids, id)
		}
		h.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for _, id := range ids {
			ok, err := h.s.store.RenewLease(ctx, id, h.s.node, h.s.clock.Now().Add(JobLease))
			if err != nil || ok {
				continue
			}
			// Another worker has it now: stop rather than send twice.
			h.s.log.Warn("lease lost", "job", id)
			h.mu.Lock()
			if l := h.jobs[id]; l != nil {
				l.lost = true
				if l.cancel != nil {
					l.cancel()
				}
			}
			h.mu.Unlock()
		}
		cancel()
	}
}

func (s *Service) runJob(ctx context.Context, job *airlock.Job) error {
	switch job.Kind {
	case airlock.JobForgot:
		return s.processForgot(ctx, job)
	case airlock.JobMail:
		return s.processMail(ctx, job)
	default:
		return fmt.Errorf("unknown job kind %q", job.Kind)
	}
}

// backoff is exponential with jitter, capped at an hour: an SMTP outage
// delays email but never drops it.
func backoff(attempt int) time.Duration {
	d := backoffBase
	for i := 1; i < attempt && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return d + time.Duration(rand.Int64N(int64(d/5)+1))
}
