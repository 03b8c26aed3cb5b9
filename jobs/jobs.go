// Package jobs runs Airlock's durable work queue: it claims due jobs under
// leases, keeps the leases renewed while the work goes on, hands each kind's
// jobs to the handler registered for it, schedules failed jobs again with
// backoff, hands every lease back at shutdown, and runs periodic upkeep.
// What a job means and does is its handler's (package account): this
// package knows leases, not emails.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airlockhq/airlock"
)

const (
	// Lease is how long a node holds a job before another may take it over;
	// the node renews it every Renewal while it is still on the job (a slow
	// SMTP server causes no second send), so a node that dies delays its
	// jobs by at most Lease plus one poll.
	Lease   = 30 * time.Second
	Renewal = 10 * time.Second
	// Timeout bounds one batch, shutdown included: a batch in flight when
	// the node stops is finished, not abandoned half-done.
	Timeout = 2 * time.Minute
	// ClaimBatch is how many due jobs are claimed at once: one statement
	// instead of one per job.
	ClaimBatch = 32

	pollInterval = time.Second
	// gather is how long a busy runner lets new jobs come before it claims
	// again (see Run).
	gather      = 25 * time.Millisecond
	backoffBase = 5 * time.Second
	backoffMax  = time.Hour
)

// Store is what the runtime needs of the database. Every write of a
// claimed job names its owner: a node that lost its lease writes nothing
// more for that job (SPEC §8).
type Store interface {
	// ClaimJobs leases up to limit of the oldest jobs due at now to owner,
	// for lease on the database's clock (nodes' clocks may disagree); a
	// job whose owner's lease ran out is due again (Job.TakenOver says so).
	ClaimJobs(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*airlock.Job, error)
	// RenewLease extends owner's lease on a job to lease from now; false:
	// it ran out, or another node has the job.
	RenewLease(ctx context.Context, id int64, owner string, lease time.Duration) (bool, error)
	// RetryJob records a failed attempt of a job owner holds: it is due
	// again at runAt.
	RetryJob(ctx context.Context, id int64, owner string, now, runAt time.Time, lastError string) error
	// ReleaseLeases hands back at once every job owner holds (shutdown).
	ReleaseLeases(ctx context.Context, owner string) (int, error)
}

// Claimed is one job of a batch, as its handler gets it.
type Claimed struct {
	*airlock.Job
	// Ctx is the job's own context: it ends if the job's lease is lost to
	// another node, so that the handler stops rather than do it twice.
	Ctx context.Context
	// Err, set by the handler, has the job tried again later, with
	// backoff; nil means the handler is done with it (it deleted the job
	// or recorded its outcome).
	Err error

	cancel context.CancelFunc
	done   atomic.Bool
}

// Done tells the runtime that the job needs its lease no more (its
// outcome is recorded), before the rest of the batch is done.
func (c *Claimed) Done() { c.done.Store(true) }

// Handler runs the claimed jobs of one kind, oldest first, and sets each
// one's Err. Its ctx outlives a shutdown (a batch started is finished),
// within Timeout. An error returned means none of the jobs was done: they
// are all tried again later.
type Handler func(ctx context.Context, batch []*Claimed) error

// Stats counts what the runtime did, for the metrics.
type Stats struct {
	Takeovers atomic.Int64 // jobs taken over from a node whose lease ran out
}

// Runner runs the queue's jobs on one node.
type Runner struct {
	store    Store
	clock    airlock.Clock
	log      *slog.Logger
	owner    string
	handlers map[string]Handler
	upkeep   []*task
	wake     chan struct{}
	stats    Stats
	// behind is how long the oldest job of the last claim had been due,
	// in nanoseconds (0 when the claim found nothing): how far the queue,
	// shared by every node and claimed oldest first, lags.
	behind atomic.Int64
	// pause waits d, or less if ctx ends first (tests replace it).
	pause func(ctx context.Context, d time.Duration)
}

type task struct {
	name  string
	every time.Duration
	run   func(ctx context.Context) error
	last  time.Time
}

// New returns a Runner that holds its leases under a name of its own.
func New(store Store, clock airlock.Clock, log *slog.Logger) *Runner {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return &Runner{store: store, clock: clock, log: log, owner: hex.EncodeToString(b), handlers: map[string]Handler{},
		wake: make(chan struct{}, 1), pause: sleep}
}

// Handle registers the handler of a kind of job. Handlers are registered
// before Run.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

// Every registers upkeep to run every d (on the clock) between batches.
func (r *Runner) Every(d time.Duration, name string, run func(ctx context.Context) error) {
	r.upkeep = append(r.upkeep, &task{name: name, every: d, run: run})
}

// Owner is the name this node's leases are held under.
func (r *Runner) Owner() string { return r.owner }

// Stats returns the runtime's counters.
func (r *Runner) Stats() *Stats { return &r.stats }

// Behind says how long the oldest job the runner last claimed had been
// due (zero when it found none due): how far the queue lags behind.
func (r *Runner) Behind() time.Duration { return time.Duration(r.behind.Load()) }

// Poke wakes the runner: a job was queued.
func (r *Runner) Poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run runs due jobs until ctx ends, and the upkeep when it is due. When
// ctx ends, the batch in flight is finished and every lease this node
// still holds is handed back at once, for another node to take.
//
// A runner that found work the last time it looked, woken again, first
// lets the jobs that keep coming gather for a moment (gather), then claims
// them together: under a flood the forgot requests come as many small
// jobs (one per group commit, each waking the runner), and decided a few
// dozen at a time each cost nearly twice what they cost a few hundred at a
// time (BenchmarkForgotFloodWork, bench/RESULTS.md 2026-12-07). A job that
// comes to an idle runner is run at once; the jobs a batch queues (the
// emails its forgot requests decide) are claimed in the same run, without
// a pause.
func (r *Runner) Run(ctx context.Context) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	defer r.releaseLeases()
	for {
		n, err := r.RunDue(ctx)
		if err != nil && ctx.Err() == nil && airlock.ErrorCode(err) != airlock.CodeUnavailable {
			// An unavailable database is reported once, by the store's
			// health tracker, not every second here.
			r.log.Error("jobs", "err", err)
		}
		r.runUpkeep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
		if n > 0 {
			r.pause(ctx, gather)
		}
	}
}

// sleep waits d, or less if ctx ends first.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (r *Runner) runUpkeep(ctx context.Context) {
	now := r.clock.Now()
	for _, t := range r.upkeep {
		if !t.last.IsZero() && now.Sub(t.last) < t.every {
			continue
		}
		t.last = now
		if err := t.run(ctx); err != nil && ctx.Err() == nil {
			r.log.Error(t.name, "err", err)
		}
	}
}

// releaseLeases hands back whatever this node still holds.
func (r *Runner) releaseLeases() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := r.store.ReleaseLeases(ctx, r.owner); err != nil {
		r.log.Warn("hand back leases", "err", err)
	} else if n > 0 {
		r.log.Info("leases handed back", "jobs", n)
	}
}

// RunDue runs every job due now and says how many it ran. It stops
// claiming when ctx ends; the batch in flight is finished.
func (r *Runner) RunDue(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		now := r.clock.Now()
		jobs, err := r.store.ClaimJobs(ctx, r.owner, now, Lease, ClaimBatch)
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			r.behind.Store(0)
			return n, nil
		}
		// Claimed oldest first: the first had been due longest.
		r.behind.Store(int64(max(now.Sub(jobs[0].RunAt), 0)))
		n += len(jobs)
		if err := r.runBatch(ctx, jobs); err != nil {
			return n, err
		}
	}
	return n, ctx.Err()
}

// runBatch runs claimed jobs under their leases, each kind's by its
// handler, kind after kind in the order of their oldest job, and records
// the failures for a retry.
func (r *Runner) runBatch(ctx context.Context, jobs []*airlock.Job) error {
	// The batch goes on through a shutdown, within its own time limit.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), Timeout)
	defer cancel()
	var kinds []string
	byKind := map[string][]*Claimed{}
	all := make([]*Claimed, len(jobs))
	for i, job := range jobs {
		if job.TakenOver {
			r.stats.Takeovers.Add(1)
			r.log.Warn("job taken over from a node whose lease ran out", "job", job.ID, "kind", job.Kind)
		}
		c := &Claimed{Job: job}
		c.Ctx, c.cancel = context.WithCancel(bctx)
		defer c.cancel()
		if _, ok := byKind[job.Kind]; !ok {
			kinds = append(kinds, job.Kind)
		}
		byKind[job.Kind] = append(byKind[job.Kind], c)
		all[i] = c
	}
	stop := r.renew(all)
	for _, kind := range kinds {
		batch := byKind[kind]
		h := r.handlers[kind]
		var err error
		if h == nil {
			err = fmt.Errorf("no handler for jobs of kind %q", kind)
		} else {
			err = h(bctx, batch)
		}
		if err != nil {
			for _, c := range batch {
				c.Err = err
			}
		}
	}
	stop()
	var first error
	for _, c := range all {
		if c.Err == nil || errors.Is(c.Ctx.Err(), context.Canceled) && bctx.Err() == nil {
			continue // done, or lost to another node, which has it now
		}
		if err := r.retryLater(ctx, c); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// retryLater records a job's failed attempt and schedules the next, with
// backoff.
func (r *Runner) retryLater(ctx context.Context, c *Claimed) error {
	delay := backoff(c.Attempts)
	r.log.Warn("job failed, will retry", "job", c.ID, "kind", c.Kind, "attempt", c.Attempts, "in", delay.Round(time.Second), "err", c.Err)
	// A fresh context: the retry must be recorded even during shutdown.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := r.clock.Now()
	if err := r.store.RetryJob(rctx, c.ID, r.owner, now, now.Add(delay), c.Err.Error()); err != nil {
		return fmt.Errorf("reschedule job: %w", err)
	}
	return nil
}

// renew keeps the leases of a batch's jobs until the returned stop is
// called: every Renewal, each job not yet done is renewed; a job whose
// lease another node took over has its context cancelled.
func (r *Runner) renew(batch []*Claimed) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(Renewal)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			for _, c := range batch {
				if c.done.Load() || c.Ctx.Err() != nil {
					continue
				}
				ok, err := r.store.RenewLease(ctx, c.ID, r.owner, Lease)
				if err == nil && !ok && !c.done.Load() {
					// Another node has it now: stop rather than do it twice.
					r.log.Warn("lease lost", "job", c.ID)
					c.cancel()
				}
			}
			cancel()
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}

// backoff is exponential with jitter, capped at an hour: an outage delays
// the work but never drops it.
func backoff(attempt int) time.Duration {
	d := backoffBase
	for i := 1; i < attempt && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return d + time.Duration(mathrand.Int64N(int64(d/5)+1))
}
