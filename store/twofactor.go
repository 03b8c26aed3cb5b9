package store

import (
	"context"
	"fmt"
	"time"

	"github.com/airlockhq/airlock"
)

// ClearTOTP turns the authenticator app off: the key, its confirmation
// and the last step used go (the recovery codes are the caller's to keep,
// for a passkey, or to delete).
func (q *queries) ClearTOTP(ctx context.Context, userID string) error {
	if _, err := q.exec(ctx, `UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = 0 WHERE id = ?`, userID); err != nil {
		return fmt.Errorf("clear totp: %w", err)
	}
	// A half-signed-in state waits for a second step there is no more.
	if _, err := q.exec(ctx, `DELETE FROM two_factor_challenges WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete challenges: %w", err)
	}
	return q.forgetLinkCodes(ctx, userID)
}

// forgetLinkCodes ends the code steps taken with the user's reset links:
// a code of a key that was changed or removed no longer counts (whoever
// holds the old authenticator must not finish a reset the owner's new key
// was meant to stop).
func (q *queries) forgetLinkCodes(ctx context.Context, userID string) error {
	if _, err := q.exec(ctx, `UPDATE reset_tokens SET code_ok_until = 0, code_recovery = NULL WHERE user_id = ? AND code_ok_until > 0`, userID); err != nil {
		return fmt.Errorf("forget link codes: %w", err)
	}
	return nil
}

// EnableTOTP stores the confirmed sealed key and the recovery codes.
func (q *queries) EnableTOTP(ctx context.Context, userID string, sealed []byte, now time.Time, step int64, codeHashes [][]byte) error {
	if _, err := q.exec(ctx, `UPDATE users SET totp_secret = ?, totp_enabled_at = ?, totp_last_step = ? WHERE id = ?`,
		sealed, now.UnixMilli(), step, userID); err != nil {
		return fmt.Errorf("enable totp: %w", err)
	}
	if err := q.forgetLinkCodes(ctx, userID); err != nil {
		return err
	}
	return q.ReplaceRecoveryCodes(ctx, userID, codeHashes)
}

// ReplaceRecoveryCodes replaces a user's recovery codes: the old set dies.
func (q *queries) ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes [][]byte) error {
	if _, err := q.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete recovery codes: %w", err)
	}
	err := inChunks(len(codeHashes), func(from, size int) (string, []any) {
		args := make([]any, 0, 2*size)
		for _, h := range codeHashes[from : from+size] {
			args = append(args, userID, h)
		}
		return `INSERT INTO recovery_codes (user_id, code_hash) VALUES ` + rowsOf(size, "(?, ?)"), args
	}, q.execIn(ctx))
	if err != nil {
		return fmt.Errorf("insert recovery codes: %w", err)
	}
	return nil
}

// CountRecoveryCodes says how many of a user's recovery codes are unused.
func (q *queries) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	if err := q.row(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// SetEnrolment keeps a sealed enrolment key on one session until expires
// (nil clears it); false when the session is not the user's or is gone.
func (q *queries) SetEnrolment(ctx context.Context, sessionHash []byte, userID string, sealed []byte, expires time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE sessions SET enrol_secret = ?, enrol_expires_at = ? WHERE id_hash = ? AND user_id = ?`,
		sealed, ms(expires), sessionHash, userID)
	if err != nil {
		return false, fmt.Errorf("set enrolment: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseTOTPStep accepts a code's step once, in one conditional UPDATE: of
// concurrent uses of one code, on any node, exactly one succeeds.
func (q *queries) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := q.exec(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseRecoveryCode uses a recovery code up, once.
func (q *queries) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, int, error) {
	res, err := q.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		now.UnixMilli(), userID, hash)
	if err != nil {
		return false, 0, fmt.Errorf("use recovery code: %w", err)
	}
	n, _ := res.RowsAffected()
	remaining, err := q.CountRecoveryCodes(ctx, userID)
	if err != nil {
		return false, 0, err
	}
	return n == 1, remaining, nil
}

// RecoveryCodeUnused says whether the user holds this recovery code unused.
func (q *queries) RecoveryCodeUnused(ctx context.Context, userID string, hash []byte) (bool, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, userID, hash).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read recovery code: %w", err)
	}
	return n == 1, nil
}

// CreateChallenge stores a half-signed-in state.
func (q *queries) CreateChallenge(ctx context.Context, c *airlock.Challenge) error {
	_, err := q.exec(ctx, `INSERT INTO two_factor_challenges (id_hash, user_id, auth_epoch, created_at, expires_at, next_path)
		VALUES (?, ?, ?, ?, ?, ?)`, c.IDHash, c.UserID, c.AuthEpoch, c.CreatedAt.UnixMilli(), c.ExpiresAt.UnixMilli(), c.Next)
	if err != nil {
		return fmt.Errorf("insert challenge: %w", err)
	}
	return nil
}

// ChallengeByHash returns a half-signed-in state.
func (q *queries) ChallengeByHash(ctx context.Context, hash []byte) (*airlock.Challenge, error) {
	var c airlock.Challenge
	var created, expires int64
	err := q.row(ctx, `SELECT id_hash, user_id, auth_epoch, created_at, expires_at, next_path FROM two_factor_challenges WHERE id_hash = ?`, hash).
		Scan(&c.IDHash, &c.UserID, &c.AuthEpoch, &created, &expires, &c.Next)
	if err != nil {
		return nil, notFound(err)
	}
	c.CreatedAt, c.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &c, nil
}

// DeleteChallenge ends a half-signed-in state and reports whether this
// call ended it: of parallel calls for one state, one gets true.
func (q *queries) DeleteChallenge(ctx context.Context, hash []byte) (bool, error) {
	res, err := q.exec(ctx, `DELETE FROM two_factor_challenges WHERE id_hash = ?`, hash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
