package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

// CreateSession stores a session under its id's hash.
func (q *queries) CreateSession(ctx context.Context, s *airlock.Session) error {
	_, err := q.exec(ctx, `INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, auth_epoch, amr)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.IDHash, s.UserID, s.CreatedAt.UnixMilli(), s.LastSeenAt.UnixMilli(),
		s.ExpiresAt.UnixMilli(), s.IP, s.UserAgent, s.AuthEpoch, strings.Join(s.AMR, " "))
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// SessionByHash returns the session with that id hash.
func (q *queries) SessionByHash(ctx context.Context, hash []byte) (*airlock.Session, error) {
	var s airlock.Session
	var c, l, e int64
	var enrolExpires sql.NullInt64
	var amr string
	err := q.row(ctx, `SELECT id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, auth_epoch, enrol_secret, enrol_expires_at, amr
		FROM sessions WHERE id_hash = ?`, hash).Scan(&s.IDHash, &s.UserID, &c, &l, &e, &s.IP, &s.UserAgent, &s.AuthEpoch, &s.EnrolSecret, &enrolExpires, &amr)
	if err != nil {
		return nil, notFound(err)
	}
	s.AMR = strings.Fields(amr)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = time.UnixMilli(c).UTC(), time.UnixMilli(l).UTC(), time.UnixMilli(e).UTC()
	s.EnrolExpiresAt = fromMS(enrolExpires)
	return &s, nil
}

// TouchSession records activity on a session.
func (q *queries) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, at.UnixMilli(), hash)
	return err
}

// DeleteSession removes one session.
func (q *queries) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := q.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hash)
	return err
}

// DeleteUserSessions removes every session of a user and says how many.
func (q *queries) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	res, err := q.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ListUserSessions returns a user's sessions, most recently used first.
func (q *queries) ListUserSessions(ctx context.Context, userID string) ([]*airlock.Session, error) {
	rows, err := q.query(ctx, `SELECT id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, auth_epoch
		FROM sessions WHERE user_id = ? ORDER BY last_seen_at DESC LIMIT 100`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []*airlock.Session
	for rows.Next() {
		var s airlock.Session
		var c, l, e int64
		if err := rows.Scan(&s.IDHash, &s.UserID, &c, &l, &e, &s.IP, &s.UserAgent, &s.AuthEpoch); err != nil {
			return nil, err
		}
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt = time.UnixMilli(c).UTC(), time.UnixMilli(l).UTC(), time.UnixMilli(e).UTC()
		out = append(out, &s)
	}
	return out, rows.Err()
}

// DeleteOtherSessions ends every session of the user but keep.
func (q *queries) DeleteOtherSessions(ctx context.Context, userID string, keep []byte) (int, error) {
	res, err := q.exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("delete other sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// InsertResetTokens is InsertResetToken for many tokens in a few
// statements (see inChunks); a token with RevokedAt set is stored revoked.
func (q *queries) InsertResetTokens(ctx context.Context, ts []*airlock.ResetToken) error {
	err := inChunks(len(ts), func(from, size int) (string, []any) {
		args := make([]any, 0, 8*size)
		for _, t := range ts[from : from+size] {
			purpose := t.Purpose
			if purpose == "" {
				purpose = airlock.TokenPurposeReset
			}
			args = append(args, t.Hash, t.UserID, t.CreatedAt.UnixMilli(), t.ExpiresAt.UnixMilli(), purpose, ms(t.RevokedAt), t.FlowHash, t.CodeHash)
		}
		return `INSERT INTO reset_tokens (token_hash, user_id, created_at, expires_at, purpose, revoked_at, flow_hash, code_hash) VALUES ` +
			rowsOf(size, "(?, ?, ?, ?, ?, ?, ?, ?)"), args
	}, q.execIn(ctx))
	if err != nil {
		return fmt.Errorf("insert reset tokens: %w", err)
	}
	return nil
}

// ResetTokenByHash returns a reset token whatever its state.
func (q *queries) ResetTokenByHash(ctx context.Context, hash []byte) (*airlock.ResetToken, error) {
	var t airlock.ResetToken
	var c, e int64
	var used, revoked sql.NullInt64
	var codeOK int64
	err := q.row(ctx, `SELECT token_hash, user_id, created_at, expires_at, used_at, revoked_at, purpose, code_ok_until, code_recovery, flow_hash, code_hash
		FROM reset_tokens WHERE token_hash = ?`, hash).Scan(&t.Hash, &t.UserID, &c, &e, &used, &revoked, &t.Purpose, &codeOK, &t.CodeRecovery, &t.FlowHash, &t.CodeHash)
	if err != nil {
		return nil, notFound(err)
	}
	t.CreatedAt, t.ExpiresAt = time.UnixMilli(c).UTC(), time.UnixMilli(e).UTC()
	t.UsedAt, t.RevokedAt = fromMS(used), fromMS(revoked)
	t.CodeOKUntil = fromMS(sql.NullInt64{Int64: codeOK, Valid: codeOK != 0})
	return &t, nil
}

// MarkResetTokenCode records a right code on a still-usable token.
func (q *queries) MarkResetTokenCode(ctx context.Context, hash []byte, now, until time.Time, recovery []byte) (bool, error) {
	res, err := q.exec(ctx, `UPDATE reset_tokens SET code_ok_until = ?, code_recovery = ?
		WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`, until.UnixMilli(), recovery, hash, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("mark reset token code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ConsumeResetToken uses the token up in one conditional UPDATE, so of many
// concurrent calls exactly one sees a row change.
func (q *queries) ConsumeResetToken(ctx context.Context, hash []byte, now time.Time) (string, string, error) {
	var userID, purpose string
	err := q.row(ctx, `UPDATE reset_tokens SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		RETURNING user_id, purpose`, now.UnixMilli(), hash, now.UnixMilli()).Scan(&userID, &purpose)
	if err != nil {
		return "", "", notFound(err)
	}
	return userID, purpose, nil
}

// RevokeResetTokens kills every still-usable reset token of a user.
func (q *queries) RevokeResetTokens(ctx context.Context, userID string, now time.Time) (int, error) {
	res, err := q.exec(ctx, `UPDATE reset_tokens SET revoked_at = ?
		WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL`, now.UnixMilli(), userID)
	if err != nil {
		return 0, fmt.Errorf("revoke reset tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// FlowCodes returns the codes of the still-usable links of the user whose
// own still-usable link answers the flow: emails arrive out of order, so a
// flow takes the code of whichever of the user's live links the person
// has, but only once its own email was sent, and only while that link
// lives (it dies with the family, SPEC §6.2).
func (q *queries) FlowCodes(ctx context.Context, flowHash []byte, now time.Time) ([]airlock.LiveCode, error) {
	n := now.UnixMilli()
	rows, err := q.query(ctx, `SELECT token_hash, code_hash FROM reset_tokens
		WHERE user_id IN (SELECT user_id FROM reset_tokens
			WHERE flow_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?)
		AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? AND code_hash IS NOT NULL
		ORDER BY created_at DESC LIMIT 1000`, flowHash, n, n)
	if err != nil {
		return nil, fmt.Errorf("flow codes: %w", err)
	}
	defer rows.Close()
	var out []airlock.LiveCode
	for rows.Next() {
		var c airlock.LiveCode
		if err := rows.Scan(&c.TokenHash, &c.CodeHash); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeUsersResetTokens is RevokeResetTokens for many users in a few
// statements (see inChunks).
func (q *queries) RevokeUsersResetTokens(ctx context.Context, userIDs []string, now time.Time) error {
	err := inChunks(len(userIDs), func(from, size int) (string, []any) {
		args := []any{now.UnixMilli()}
		for _, id := range userIDs[from : from+size] {
			args = append(args, id)
		}
		return `UPDATE reset_tokens SET revoked_at = ?
			WHERE user_id IN (` + rowsOf(size, "?") + `) AND used_at IS NULL AND revoked_at IS NULL`, args
	}, q.execIn(ctx))
	if err != nil {
		return fmt.Errorf("revoke reset tokens: %w", err)
	}
	return nil
}

// LockLimit reads a limiter's state, its row created if missing and locked
// for the transaction where the dialect can.
func (q *queries) LockLimit(ctx context.Context, key string) (time.Time, error) {
	if q.d == postgresDialect {
		// Make sure a row exists to lock, so two nodes cannot both read "none".
		if _, err := q.exec(ctx, `INSERT INTO rate_limits (key, tat) VALUES (?, 0) ON CONFLICT (key) DO NOTHING`, key); err != nil {
			return time.Time{}, fmt.Errorf("init limit: %w", err)
		}
	}
	var tat int64
	err := q.row(ctx, `SELECT tat FROM rate_limits WHERE key = ?`+q.forUpdate(), key).Scan(&tat)
	if err == sql.ErrNoRows || err == nil && tat == 0 {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read limit: %w", err)
	}
	return time.UnixMilli(tat).UTC(), nil
}

// SetLimit writes a limiter's state.
func (q *queries) SetLimit(ctx context.Context, key string, tat time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO rate_limits (key, tat) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET tat = excluded.tat`, key, tat.UnixMilli())
	if err != nil {
		return fmt.Errorf("write limit: %w", err)
	}
	return nil
}

// LockLimits reads (and on PostgreSQL creates and locks) the rows of many
// limiter keys in a few statements, in the order of the keys.
func (q *queries) LockLimits(ctx context.Context, keys []string) (map[string]time.Time, error) {
	if q.d == postgresDialect {
		// Rows to lock, so two nodes cannot both read "none"; inserted in
		// key order, so that two transactions inserting the same new keys
		// wait for each other in one order.
		err := inChunks(len(keys), func(from, size int) (string, []any) {
			args := make([]any, size)
			for i := range size {
				args[i] = keys[from+i]
			}
			return `INSERT INTO rate_limits (key, tat) VALUES ` + rowsOf(size, "(?, 0)") + ` ON CONFLICT (key) DO NOTHING`, args
		}, q.execIn(ctx))
		if err != nil {
			return nil, fmt.Errorf("init limits: %w", err)
		}
	}
	tats := make(map[string]time.Time, len(keys))
	err := inChunks(len(keys), func(from, size int) (string, []any) {
		args := make([]any, size)
		for i := range size {
			args[i] = keys[from+i]
		}
		return `SELECT key, tat FROM rate_limits WHERE key IN (` + rowsOf(size, "?") + `) ORDER BY key` + q.forUpdate(), args
	}, q.queryIn(ctx, func(r *rows) error {
		var key string
		var tat int64
		if err := r.Scan(&key, &tat); err != nil {
			return err
		}
		if tat != 0 {
			tats[key] = time.UnixMilli(tat).UTC()
		}
		return nil
	}))
	if err != nil {
		return nil, fmt.Errorf("read limits: %w", err)
	}
	return tats, nil
}

// SetLimits writes many limiters' states in a few statements.
func (q *queries) SetLimits(ctx context.Context, tats map[string]time.Time) error {
	keys := make([]string, 0, len(tats))
	for k := range tats {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the locks' order, as LockLimits
	err := inChunks(len(keys), func(from, size int) (string, []any) {
		args := make([]any, 0, 2*size)
		for _, k := range keys[from : from+size] {
			args = append(args, k, tats[k].UnixMilli())
		}
		return `INSERT INTO rate_limits (key, tat) VALUES ` + rowsOf(size, "(?, ?)") + `
			ON CONFLICT (key) DO UPDATE SET tat = excluded.tat`, args
	}, q.execIn(ctx))
	if err != nil {
		return fmt.Errorf("write limits: %w", err)
	}
	return nil
}

// MarkLimitRefusalAudited claims the audit of a limit's refusals until
// until in one conditional upsert: of concurrent refusals, on any node, one
// writes the audit event and the others write nothing. A key with no row
// yet gets one (a window of its own, such as telling an owner once).
func (q *queries) MarkLimitRefusalAudited(ctx context.Context, key string, now, until time.Time) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO rate_limits (key, tat, audited_until) VALUES (?, 0, ?)
		ON CONFLICT (key) DO UPDATE SET audited_until = excluded.audited_until WHERE rate_limits.audited_until <= ?`,
		key, until.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("mark limit audited: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Cleanup deletes what can no longer be used.
func (q *queries) Cleanup(ctx context.Context, now time.Time) error {
	n := now.UnixMilli()
	for _, stmt := range []string{
		`DELETE FROM sessions WHERE expires_at < ?`,
		`DELETE FROM reset_tokens WHERE expires_at < ?`,
		`DELETE FROM rate_limits WHERE tat < ? AND audited_until < ?`,
		`DELETE FROM api_tokens WHERE expires_at < ?`,
		`DELETE FROM token_families WHERE expires_at < ?`,
		`DELETE FROM two_factor_challenges WHERE expires_at < ?`,
		`DELETE FROM passkey_ceremonies WHERE expires_at < ?`,
		`DELETE FROM oauth_authorizations WHERE expires_at < ?`,
		`DELETE FROM peer_nonces WHERE expires_at < ?`,
		// Sent and failed emails stay 30 days for the back office.
		`DELETE FROM jobs WHERE state IN ('sent', 'failed') AND updated_at < ? - 2592000000`,
		`DELETE FROM dev_mail WHERE at < ? - 2592000000`,
	} {
		args := []any{n}
		if strings.Count(stmt, "?") == 2 {
			args = append(args, n)
		}
		if _, err := q.exec(ctx, stmt, args...); err != nil {
			return fmt.Errorf("cleanup: %w", err)
		}
	}
	return nil
}
