package account

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	lastCleanup := time.Time{}
	for {
		if _, err := s.ProcessDue(ctx); err != nil && ctx.Err() == nil && airlock.ErrorCode(err) != airlock.CodeUnavailable {
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
// stops claiming when ctx ends; the job in flight is finished.
func (s *Service) ProcessDue(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		now := s.clock.Now()
		job, err := s.store.ClaimJob(ctx, s.node, now, now.Add(JobLease))
		if err != nil {
			return n, err
		}
		if job == nil {
			return n, nil
		}
		n++
		if job.TakenOver {
			s.stats.Takeovers.Add(1)
			s.log.Warn("job taken over from a worker whose lease ran out", "job", job.ID, "kind", job.Kind)
		}
		if err := s.runLeased(ctx, job); err != nil {
			return n, err
		}
	}
	return n, ctx.Err()
}

// runLeased runs one claimed job while renewing its lease, then records a
// failure for a retry.
func (s *Service) runLeased(ctx context.Context, job *airlock.Job) error {
	// The job goes on through a shutdown (ctx ending): it is finished, not
	// abandoned half-sent; its own time limit still applies.
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
	defer cancel()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(LeaseRenewal)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				ok, err := s.store.RenewLease(jctx, job.ID, s.node, s.clock.Now().Add(JobLease))
				if err == nil && !ok {
					// Another worker has it now: stop rather than send twice.
					s.log.Warn("lease lost", "job", job.ID)
					cancel()
					return
				}
			}
		}
	}()
	err := s.runJob(jctx, job)
	cancel()
	<-renewed
	if err == nil {
		return nil
	}
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
