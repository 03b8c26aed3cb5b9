package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

// apiTokenColumns reads a token joined with its family (f): a token works
// only while its family does, so the family's state comes with every read.
const apiTokenColumns = `t.token_hash, t.kind, t.user_id, t.family_id, t.created_at, t.expires_at, t.used_at, t.revoked_at,
	f.auth_epoch, f.revoked_at, f.created_at, f.expires_at, f.client_id, f.scopes, f.amr, f.auth_time`

func scanAPIToken(sc interface{ Scan(...any) error }) (*airlock.APIToken, error) {
	var t airlock.APIToken
	var f airlock.TokenFamily
	var c, e, fc, fe, fa int64
	var used, revoked, famRevoked sql.NullInt64
	var scopes, amr string
	if err := sc.Scan(&t.Hash, &t.Kind, &t.UserID, &t.FamilyID, &c, &e, &used, &revoked, &t.FamilyEpoch, &famRevoked,
		&fc, &fe, &f.ClientID, &scopes, &amr, &fa); err != nil {
		return nil, notFound(err)
	}
	t.CreatedAt, t.ExpiresAt = time.UnixMilli(c).UTC(), time.UnixMilli(e).UTC()
	t.UsedAt, t.RevokedAt, t.FamilyRevokedAt = fromMS(used), fromMS(revoked), fromMS(famRevoked)
	f.ID, f.UserID, f.AuthEpoch, f.RevokedAt = t.FamilyID, t.UserID, t.FamilyEpoch, t.FamilyRevokedAt
	f.CreatedAt, f.ExpiresAt, f.Scopes, f.AMR = time.UnixMilli(fc).UTC(), time.UnixMilli(fe).UTC(), strings.Fields(scopes), strings.Fields(amr)
	if fa != 0 {
		f.AuthTime = time.UnixMilli(fa).UTC()
	}
	t.Family = &f
	return &t, nil
}

// CreateTokenFamily starts a sign-in of the API.
func (q *queries) CreateTokenFamily(ctx context.Context, f *airlock.TokenFamily) error {
	var authTime int64
	if !f.AuthTime.IsZero() {
		authTime = f.AuthTime.UnixMilli()
	}
	_, err := q.exec(ctx, `INSERT INTO token_families (id, user_id, auth_epoch, created_at, expires_at, client_id, scopes, amr, auth_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.UserID, f.AuthEpoch, f.CreatedAt.UnixMilli(), f.ExpiresAt.UnixMilli(), f.ClientID,
		strings.Join(f.Scopes, " "), strings.Join(f.AMR, " "), authTime)
	if err != nil {
		return fmt.Errorf("insert token family: %w", err)
	}
	return nil
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
	return scanAPIToken(q.row(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens t
		JOIN token_families f ON f.id = t.family_id WHERE t.token_hash = ?`, hash))
}

// UseRefreshToken rotates a refresh token in one conditional UPDATE: of
// concurrent calls, on any node, exactly one changes the row. It returns
// the token with its family's state, which the caller checks.
func (q *queries) UseRefreshToken(ctx context.Context, hash []byte, now time.Time) (*airlock.APIToken, error) {
	n := now.UnixMilli()
	var h []byte
	err := q.row(ctx, `UPDATE api_tokens SET used_at = ?
		WHERE token_hash = ? AND kind = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		RETURNING token_hash`, n, hash, airlock.TokenRefresh, n).Scan(&h)
	if err != nil {
		return nil, notFound(err)
	}
	return q.APITokenByHash(ctx, h)
}

// RevokeAPIToken revokes one token.
func (q *queries) RevokeAPIToken(ctx context.Context, hash []byte, now time.Time) error {
	_, err := q.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL`, now.UnixMilli(), hash)
	return err
}

// RevokeTokenFamily revokes every token of one sign-in. The family row is
// what counts: a token inserted by a refresh committing after this
// statement is dead too, because every use reads the family.
func (q *queries) RevokeTokenFamily(ctx context.Context, familyID string, now time.Time) (int, error) {
	if _, err := q.exec(ctx, `UPDATE token_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, now.UnixMilli(), familyID); err != nil {
		return 0, fmt.Errorf("revoke token family: %w", err)
	}
	res, err := q.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, now.UnixMilli(), familyID)
	if err != nil {
		return 0, fmt.Errorf("revoke token family: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RevokeUserAPITokens revokes every token family and token of a user.
func (q *queries) RevokeUserAPITokens(ctx context.Context, userID string, now time.Time) (int, error) {
	if _, err := q.exec(ctx, `UPDATE token_families SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, now.UnixMilli(), userID); err != nil {
		return 0, fmt.Errorf("revoke token families: %w", err)
	}
	res, err := q.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, now.UnixMilli(), userID)
	if err != nil {
		return 0, fmt.Errorf("revoke api tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
