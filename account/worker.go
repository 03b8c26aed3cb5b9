package account

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/airlockhq/airlock"
)

const (
	jobLease     = 2 * time.Minute
	backoffBase  = 5 * time.Second
	backoffMax   = time.Hour
	pollInterval = time.Second
)

// RunWorkers processes queued jobs until ctx ends: forgotten-password
// requests and the outbox. Several nodes may run them on one database; a
// job is leased to one worker at a time.
func (s *Service) RunWorkers(ctx context.Context) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	lastCleanup := time.Time{}
	for {
		if _, err := s.ProcessDue(ctx); err != nil && ctx.Err() == nil {
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

// ProcessDue runs every job that is due now and says how many it ran.
func (s *Service) ProcessDue(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		now := s.clock.Now()
		job, err := s.store.ClaimJob(ctx, now, now.Add(jobLease))
		if err != nil {
			return n, err
		}
		if job == nil {
			return n, nil
		}
		n++
		if err := s.runJob(ctx, job); err != nil {
			delay := backoff(job.Attempts)
			s.log.Warn("job failed, will retry", "job", job.ID, "kind", job.Kind, "attempt", job.Attempts, "in", delay.Round(time.Second), "err", err)
			// A fresh context: the retry must be recorded even during shutdown.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			err = s.store.RetryJob(rctx, job.ID, s.clock.Now().Add(delay), err.Error())
			cancel()
			if err != nil {
				return n, fmt.Errorf("reschedule job: %w", err)
			}
		}
	}
	return n, ctx.Err()
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
