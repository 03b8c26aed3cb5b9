package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/airlockhq/airlock"
)

const apiTokenColumns = `token_hash, kind, user_id, family_id, created_at, expires_at, used_at, revoked_at`

func scanAPIToken(sc interface{ Scan(...any) error }) (*airlock.APIToken, error) {
	var t airlock.APIToken
	var c, e int64
	var used, revoked sql.NullInt64
	if err := sc.Scan(&t.Hash, &t.Kind, &t.UserID, &t.FamilyID, &c, &e, &used, &revoked); err != nil {
		return nil, notFound(err)
	}
	t.CreatedAt, t.ExpiresAt = time.UnixMilli(c).UTC(), time.UnixMilli(e).UTC()
	t.UsedAt, t.RevokedAt = fromMS(used), fromMS(revoked)
	return &t, nil
}

// InsertAPIToken stores a bearer token's hash.
func (q *queries) InsertAPIToken(ctx context.Context, t *airlock.APIToken) error {
	_, err := q.exec(ctx, `INSERT INTO api_tokens (token_hash, kind, user_id, family_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, t.Kind, t.UserID, t.FamilyID, t.CreatedAt.UnixMilli(), t.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert api token: %w", err)
	}
	return nil
}

// APITokenByHash returns a token whatever its state.
func (q *queries) APITokenByHash(ctx context.Context, hash []byte) (*airlock.APIToken, error) {
	return scanAPIToken(q.row(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE token_hash = ?`, hash))
}

// UseRefreshToken rotates a refresh token in one conditional UPDATE.
func (q *queries) UseRefreshToken(ctx context.Context, hash []byte, now time.Time) (*airlock.APIToken, error) {
	n := now.UnixMilli()
	return scanAPIToken(q.row(ctx, `UPDATE api_tokens SET used_at = ?
		WHERE token_hash = ? AND kind = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		RETURNING `+apiTokenColumns, n, hash, airlock.TokenRefresh, n))
}

// RevokeAPIToken revokes one token.
func (q *queries) RevokeAPIToken(ctx context.Context, hash []byte, now time.Time) error {
	_, err := q.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL`, now.UnixMilli(), hash)
	return err
}

// RevokeAPITokenFamily revokes every token of one sign-in.
func (q *queries) RevokeAPITokenFamily(ctx context.Context, familyID string, now time.Time) (int, error) {
	res, err := q.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, now.UnixMilli(), familyID)
	if err != nil {
		return 0, fmt.Errorf("revoke token family: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RevokeUserAPITokens revokes every token of a user.
func (q *queries) RevokeUserAPITokens(ctx context.Context, userID string, now time.Time) (int, error) {
	res, err := q.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, now.UnixMilli(), userID)
	if err != nil {
		return 0, fmt.Errorf("revoke api tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
