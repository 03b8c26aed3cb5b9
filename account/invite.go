package account

import (
	"context"
	"time"

	"github.com/airlockhq/airlock"
)

// actorName is how an invitation names who sent it ("" for the operator:
// the email then says "an administrator").
func actorName(actor *airlock.User) string {
	if actor == nil || actor == Operator {
		return ""
	}
	return actor.Name()
}

// queueInvitation sends u an invitation on actor's behalf, in the caller's
// transaction: never to an inactive user, counted against the per-account
// email limit. A link sent before goes on working: whichever email arrives
// last must work, and using any one link kills the others (SPEC §6.2).
func (s *Service) queueInvitation(ctx context.Context, tx airlock.Tx, actor, u *airlock.User, now time.Time, m Meta) error {
	if !u.Active {
		return &airlock.Error{Code: airlock.CodeConflict, Key: "error.user.inactive_invite"}
	}
	if err := s.countAccountEmail(ctx, tx, u, now, "error.user.invite_limit", "This user was already sent the maximum number of emails for now. Try again later."); err != nil {
		return err
	}
	if err := s.sendInvitation(ctx, tx, u, actorName(actor), nil, now); err != nil {
		return err
	}
	return s.audit(ctx, tx, airlock.AuditInvitationSent, m, u.ID, u.Email, "queued", "")
}

// sendInvitation records the invitation and puts the welcome email in the
// outbox (its link is minted when it is sent); flow is the hash of the
// forgot request's flow it answers, if any.
func (s *Service) sendInvitation(ctx context.Context, tx airlock.Tx, u *airlock.User, by string, flow []byte, now time.Time) error {
	if err := tx.SetInvitedAt(ctx, u.ID, now); err != nil {
		return err
	}
	u.InvitedAt = now
	return s.enqueue(ctx, tx, mailPayload{Kind: mailInvitation, UserID: u.ID, To: u.Email, Language: u.Language, CreatedAt: now, By: by, Epoch: u.AuthEpoch, Flow: flow})
}

// AdminInvite (re)sends an invitation to a user who has never set a
// password; a link sent before goes on working until one is used.
func (s *Service) AdminInvite(ctx context.Context, actor *airlock.User, id string, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	m = actorMeta(actor, m)
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		u, err := s.adminTarget(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if u.PasswordHash != "" {
			return &airlock.Error{Code: airlock.CodeConflict, Key: "error.user.has_password"}
		}
		return s.queueInvitation(ctx, tx, actor, u, s.clock.Now(), m)
	})
}

// InvitationState says whether u is invited and has not chosen a password
// yet, or was and the link expired (airlock.User.InvitationState, now).
func (s *Service) InvitationState(u *airlock.User) string {
	return u.InvitationState(s.clock.Now(), s.cfg.InviteTTL)
}

// countAccountEmail counts one more email with a link to u against the
// per-account limit that reset links and invitations share, in the
// caller's transaction, or refuses it with the message key and text given.
func (s *Service) countAccountEmail(ctx context.Context, tx airlock.Tx, u *airlock.User, now time.Time, key, message string) error {
	retry, err := limit(ctx, tx, resetLimitKey(u), s.cfg.LimitResetPerAccount, now, true)
	if err != nil {
		return err
	}
	if retry > 0 {
		return &airlock.Error{Code: airlock.CodeRateLimited, RetryAfter: retry, Key: key}
	}
	return nil
}
