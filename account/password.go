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
// for the browser that made the change (StartSession with the user
// returned). The change applies only if the session or token that asked
// for it is still valid when it is written.
func (s *Service) ChangePassword(ctx context.Context, u *airlock.User, current, newPassword string, m Meta) (*airlock.User, error) {
	m.ActorID = u.ID
	if u.TempPasswordExpired(s.clock.Now()) {
		return nil, errTempExpired
	}
	if !u.MustChangePassword {
		if err := s.proveSelf(ctx, u, current, m); err != nil {
			return nil, err
		}
		if password.Same(current, newPassword) {
			return nil, &airlock.Error{Code: airlock.CodePasswordPolicy, Field: "password", Key: "error.password.unchanged", Reasons: []string{password.ReasonUnchanged}}
		}
	}
	if err := s.policy.Check(newPassword, u); err != nil {
		return nil, err
	}
	if u.MustChangePassword {
		// A temporary password cannot be kept as the new one.
		same, _, err := s.hasher.Verify(ctx, newPassword, u.PasswordHash)
		if err != nil {
			return nil, err
		}
		if same {
			return nil, &airlock.Error{Code: airlock.CodePasswordPolicy, Field: "password", Key: "error.password.unchanged_temporary", Reasons: []string{password.ReasonUnchanged}}
		}
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var changed *airlock.User
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		changed = cur
		return s.passwordChanged(ctx, tx, cur, airlock.PasswordChange{Hash: hash, ChangedAt: now}, true, m)
	})
	if err != nil {
		if airlock.AsError(err) != nil {
			return nil, err
		}
		return nil, fmt.Errorf("change password: %w", err)
	}
	return changed, nil
}

// proveSelf checks that whoever acts on u's account knows its current
// password, as anyone must before changing their own password or email
// (SPEC §6.10: administrators too). The check is throttled like a sign-in.
func (s *Service) proveSelf(ctx context.Context, u *airlock.User, current string, m Meta) error {
	wrong := &airlock.Error{Code: airlock.CodeUnauthorized, Field: "current_password", Key: "error.bad_current"}
	if current == "" {
		return &airlock.Error{Code: airlock.CodeUnauthorized, Field: "current_password", Key: "error.current_password.missing"}
	}
	if _, err := s.checkPassword(ctx, u.Email, current, m); err != nil {
		if airlock.ErrorCode(err) == airlock.CodeUnauthorized {
			return wrong
		}
		return err
	}
	return nil
}

// proveSelfFully is proveSelf with the second step too, when u has one:
// the account page's proof, for the changes it guards. The code returned
// (nil without two-step sign-in) is to be used up, with useCode, in the
// transaction of the change.
func (s *Service) proveSelfFully(ctx context.Context, u *airlock.User, current, otp string, m Meta) (*codeCheck, error) {
	if err := s.proveSelf(ctx, u, current, m); err != nil {
		return nil, err
	}
	if !u.TwoFactor() {
		return nil, nil
	}
	return s.checkCode(ctx, u, otp, m, true)
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

// setPassword is an administrator's (or the operator's) change of a user's
// password, without the email flow. A temporary password must be replaced
// at next sign-in and expires after the temporary-password lifetime.
func (s *Service) setPassword(ctx context.Context, actor *airlock.User, userID, newPassword string, temporary bool, m Meta) error {
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
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		cur, err := tx.UserByIDForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		return s.passwordChanged(ctx, tx, cur, p, true, m)
	})
}
