package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/airlockhq/airlock"
)

// Reasons a reset link does not work, in airlock.Error.Detail.
const (
	TokenExpired = "expired"
	TokenUsed    = "used"
	TokenUnknown = "unknown"
)

func invalidToken(detail string) *airlock.Error {
	return &airlock.Error{Code: airlock.CodeInvalidToken, Detail: detail,
		Message: "This password reset link is no longer valid. Ask for a new one."}
}

// CheckResetToken tells whether a reset token works, without using it up
// (mail scanners open links). Failures count against the client's address.
func (s *Service) CheckResetToken(ctx context.Context, token string, m Meta) (*airlock.User, error) {
	now := s.clock.Now()
	if retry, err := limit(ctx, s.store, "badtoken:ip:"+m.IP, s.cfg.LimitBadTokenPerIP, now, false); err != nil {
		return nil, err
	} else if retry > 0 {
		return nil, rateLimited(retry)
	}
	u, detail, err := s.lookupToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if detail != "" {
		return nil, s.badToken(ctx, m, detail)
	}
	return u, nil
}

func (s *Service) lookupToken(ctx context.Context, token string) (*airlock.User, string, error) {
	if !wellFormedSecret(token) {
		return nil, TokenUnknown, nil
	}
	t, err := s.store.ResetTokenByHash(ctx, secretHash(token))
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, TokenUnknown, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("look up reset token: %w", err)
	}
	switch {
	case !t.UsedAt.IsZero() || !t.RevokedAt.IsZero():
		return nil, TokenUsed, nil
	case !s.clock.Now().Before(t.ExpiresAt):
		return nil, TokenExpired, nil
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, "", fmt.Errorf("look up token user: %w", err)
	}
	if !u.Active {
		return nil, TokenUsed, nil
	}
	return u, "", nil
}

// badToken counts a failed token use against the client's address.
func (s *Service) badToken(ctx context.Context, m Meta, detail string) error {
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		if _, err := limit(ctx, tx, "badtoken:ip:"+m.IP, s.cfg.LimitBadTokenPerIP, s.clock.Now(), true); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditResetLinkOpened, m, "", "", "invalid", detail)
	})
	if err != nil {
		return err
	}
	return invalidToken(detail)
}

// CompleteReset sets a new password with a reset token. The token is used
// up atomically in the same transaction that changes the password; of many
// parallel attempts exactly one succeeds. It does not sign the user in.
// The token's user is returned whenever the token was valid, even when the
// password was refused, so that the caller can answer in the user's language.
func (s *Service) CompleteReset(ctx context.Context, token, newPassword string, m Meta) (*airlock.User, error) {
	u, err := s.CheckResetToken(ctx, token, m)
	if err != nil {
		return nil, err
	}
	hash, err := s.newHash(ctx, newPassword, u)
	if err != nil {
		return u, err
	}
	now := s.clock.Now()
	var lost bool
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		userID, err := tx.ConsumeResetToken(ctx, secretHash(token), now)
		if errors.Is(err, airlock.ErrNotFound) || err == nil && userID != u.ID {
			lost = true // another request used it first
			return nil
		}
		if err != nil {
			return err
		}
		m.ActorID = u.ID
		if err := s.passwordChanged(ctx, tx, u, airlock.PasswordChange{Hash: hash, ChangedAt: now}, m); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditResetCompleted, m, u.ID, u.Email, "success", "")
	})
	if err != nil {
		return u, fmt.Errorf("complete reset: %w", err)
	}
	if lost {
		return nil, s.badToken(ctx, m, TokenUsed)
	}
	return u, nil
}

// passwordChanged writes a new password and applies SPEC §6.9: every
// session, API token and reset token of the user dies, and the user is told
// by email.
func (s *Service) passwordChanged(ctx context.Context, tx airlock.Tx, u *airlock.User, p airlock.PasswordChange, m Meta) error {
	if err := tx.SetPassword(ctx, u.ID, p); err != nil {
		return err
	}
	n, err := tx.DeleteUserSessions(ctx, u.ID)
	if err != nil {
		return err
	}
	if _, err := tx.RevokeUserAPITokens(ctx, u.ID, p.ChangedAt); err != nil {
		return err
	}
	if _, err := tx.RevokeResetTokens(ctx, u.ID, p.ChangedAt); err != nil {
		return err
	}
	if err := s.enqueueMail(ctx, tx, mailPasswordChanged, u, p.ChangedAt, false); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, airlock.AuditPasswordChanged, m, u.ID, u.Email, "success", ""); err != nil {
		return err
	}
	return s.audit(ctx, tx, airlock.AuditSessionsRevoked, m, u.ID, u.Email, "success", fmt.Sprintf("%d sessions", n))
}
