package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/airlockhq/airlock"
)

type forgotPayload struct {
	Email     string `json:"email"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	App       bool   `json:"app,omitempty"`
}

// RequestReset accepts a forgotten-password request. Its answer and its
// work are the same whether the address has an account or not: it only
// counts the client's address against its limit and queues the request. The
// account-dependent work (look-up, limit, token, email) runs later in the
// worker, so neither the answer nor its timing tells who has an account.
func (s *Service) RequestReset(ctx context.Context, email string, m Meta) error {
	if err := airlock.CheckEmail(email); err != nil {
		return err
	}
	now := s.clock.Now()
	payload, err := json.Marshal(forgotPayload{Email: email, IP: airlock.CleanText(m.IP, 64), UserAgent: airlock.CleanText(m.UserAgent, 300), App: m.App})
	if err != nil {
		return err
	}
	var limited time.Duration
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		// Counted and queued in one transaction: the limit holds across
		// parallel requests and nodes, and an accepted request is never lost.
		retry, refused, err := reserve(ctx, tx, []limitKey{{ipKey("forgot:ip:", m.IP), s.cfg.LimitForgotPerIP}}, now)
		if err != nil {
			return err
		}
		if refused != nil {
			limited = retry
			return s.auditRefusal(ctx, tx, refused, now, airlock.AuditRateLimited, m, "", "forgot per IP")
		}
		return tx.EnqueueJob(ctx, &airlock.Job{Kind: airlock.JobForgot, Payload: payload, RunAt: now, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("request reset: %w", err)
	}
	if limited > 0 {
		return rateLimited(limited)
	}
	s.poke()
	return nil
}

// processForgot is the queued half of RequestReset. In one transaction it
// looks the account up, applies the per-account limit, and puts the reset
// email in the outbox; the token itself is minted when the email is sent.
func (s *Service) processForgot(ctx context.Context, job *airlock.Job) error {
	var p forgotPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return s.store.DeleteJob(ctx, job.ID) // unreadable: nothing can be done with it
	}
	m := Meta{IP: p.IP, UserAgent: p.UserAgent}
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := tx.DeleteJob(ctx, job.ID); err != nil {
			return err
		}
		u, err := tx.UserByEmail(ctx, p.Email)
		if errors.Is(err, airlock.ErrNotFound) {
			// No account: no email at all (SPEC §6.1).
			return s.audit(ctx, tx, airlock.AuditResetRequested, m, "", p.Email, "no_account", "")
		}
		if err != nil {
			return err
		}
		if !u.Active {
			return s.audit(ctx, tx, airlock.AuditResetRequested, m, u.ID, u.Email, "inactive", "")
		}
		retry, err := limit(ctx, tx, "reset:account:"+u.ID, s.cfg.LimitResetPerAccount, now, true)
		if err != nil {
			return err
		}
		if retry > 0 {
			// Dropped silently: the requester already got the same answer.
			return s.audit(ctx, tx, airlock.AuditResetRequested, m, u.ID, u.Email, "rate_limited", "")
		}
		if u.InvitationState(now, s.cfg.InviteTTL) != "" {
			// Invited and never set a password: a reset email would speak of a
			// password they never had, so the invitation goes again.
			if err := s.sendInvitation(ctx, tx, u, "", now); err != nil {
				return err
			}
			return s.audit(ctx, tx, airlock.AuditResetRequested, m, u.ID, u.Email, "invitation_resent", "")
		}
		// The request's own time counts: a password change since then kills it.
		if err := s.enqueueMail(ctx, tx, mailReset, u, job.CreatedAt, p.App); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditResetRequested, m, u.ID, u.Email, "queued", "")
	})
}
