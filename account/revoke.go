package account

import (
	"context"
	"time"

	"github.com/airlockhq/airlock"
)

// What a change of rights takes away (SPEC §6.9).
const (
	revokeSessionsAndTokens = iota // sessions and API tokens
	revokeAll                      // sessions, API tokens and reset links
)

// revokeAccess is the one function that ends what a change of rights takes
// away; every such change calls it, in the transaction that makes the
// change: a password change, an email change, a deactivation, the loss of
// the admin or mobile group. It moves the user's AuthEpoch on, which ends
// every session and token family at once, including one a concurrent
// sign-in or refresh is issuing (each checks the epoch in its own
// transaction, and every use compares it). The rows are then deleted or
// marked revoked as well, so that lists and counts say the truth.
func (s *Service) revokeAccess(ctx context.Context, tx airlock.Tx, u *airlock.User, what int, reason string, now time.Time, m Meta) error {
	epoch, err := tx.BumpAuthEpoch(ctx, u.ID)
	if err != nil {
		return err
	}
	u.AuthEpoch = epoch
	sessions, err := tx.DeleteUserSessions(ctx, u.ID)
	if err != nil {
		return err
	}
	tokens, err := tx.RevokeUserAPITokens(ctx, u.ID, now)
	if err != nil {
		return err
	}
	if what == revokeAll {
		if _, err := tx.RevokeResetTokens(ctx, u.ID, now); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, airlock.AuditSessionsRevoked, m, u.ID, u.Email, "success", "revoked", reason, sessions, tokens)
}
