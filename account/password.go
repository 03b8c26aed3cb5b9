package account

import (
	"context"
	"fmt"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/password"
)

// ChangePassword is a signed-in user's own change. The current password is
// asked unless the change is forced (a temporary password). Every session
// and API token of the user ends; the web front then opens a new session
// for the browser that made the change (StartSession).
func (s *Service) ChangePassword(ctx context.Context, u *airlock.User, current, newPassword string, m Meta) error {
	m.ActorID = u.ID
	if !u.MustChangePassword {
		if _, err := s.checkPassword(ctx, u.Email, current, m); err != nil {
			if airlock.ErrorCode(err) == airlock.CodeUnauthorized {
				return &airlock.Error{Code: airlock.CodeUnauthorized, Field: "current_password", Message: "The current password is wrong."}
			}
			return err
		}
		if current == newPassword {
			return &airlock.Error{Code: airlock.CodePasswordPolicy, Field: "password", Message: "Choose a password different from the current one.", Reasons: []string{password.ReasonUnchanged}}
		}
	}
	if err := s.policy.Check(newPassword, u); err != nil {
		return err
	}
	if u.MustChangePassword {
		// A temporary password cannot be kept as the new one.
		same, _, err := s.hasher.Verify(ctx, newPassword, u.PasswordHash)
		if err != nil {
			return err
		}
		if same {
			return &airlock.Error{Code: airlock.CodePasswordPolicy, Field: "password", Message: "Choose a password different from the temporary one.", Reasons: []string{password.ReasonUnchanged}}
		}
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		return s.passwordChanged(ctx, tx, u, airlock.PasswordChange{Hash: hash, ChangedAt: now}, m)
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}

// newHash checks a new password against the policy for u, then hashes it.
// The policy runs first so that an over-long password is refused before
// any costly work.
func (s *Service) newHash(ctx context.Context, newPassword string, u *airlock.User) (string, error) {
	if err := s.policy.Check(newPassword, u); err != nil {
		return "", err
	}
	return s.hasher.Hash(ctx, newPassword)
}

// SetPassword is an administrator's (or the CLI's) change of a user's
// password, without the email flow. A temporary password must be replaced
// at next sign-in and expires after the temporary-password lifetime.
func (s *Service) SetPassword(ctx context.Context, userID, newPassword string, temporary bool, m Meta) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	hash, err := s.newHash(ctx, newPassword, u)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	p := airlock.PasswordChange{Hash: hash, ChangedAt: now, MustChange: temporary}
	if temporary {
		p.TempExpiresAt = now.Add(s.cfg.TempPasswordTTL)
	}
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		return s.passwordChanged(ctx, tx, u, p, m)
	})
}
