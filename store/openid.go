package store

// The OpenID Provider's applications, authorization requests and signing keys.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

const clientColumns = `id, name, secret_hash, redirect_uris, post_logout_uris, grants, first_party, signing_alg, created_at, updated_at`

func scanClient(sc interface{ Scan(...any) error }) (*airlock.Client, error) {
	var c airlock.Client
	var redirects, logouts, grants string
	var firstParty int
	var created, updated int64
	if err := sc.Scan(&c.ID, &c.Name, &c.SecretHash, &redirects, &logouts, &grants, &firstParty, &c.SigningAlg, &created, &updated); err != nil {
		return nil, notFound(err)
	}
	c.RedirectURIs, c.PostLogoutURIs, c.Grants = lines(redirects), lines(logouts), strings.Fields(grants)
	c.FirstParty = firstParty != 0
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &c, nil
}

// lines splits a column of one value per line.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// CreateClient adds an application; its ID must be new.
func (q *queries) CreateClient(ctx context.Context, c *airlock.Client) error {
	_, err := q.exec(ctx, `INSERT INTO oauth_clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.SecretHash, strings.Join(c.RedirectURIs, "\n"), strings.Join(c.PostLogoutURIs, "\n"),
		strings.Join(c.Grants, " "), b2i(c.FirstParty), c.SigningAlg, c.CreatedAt.UnixMilli(), c.CreatedAt.UnixMilli())
	if isUniqueViolation(err) {
		return &airlock.Error{Code: airlock.CodeConflict, Field: "id", Key: "error.client.exists", Err: err}
	}
	if err != nil {
		return fmt.Errorf("insert client: %w", err)
	}
	return nil
}

// ClientByID returns an application.
func (q *queries) ClientByID(ctx context.Context, id string) (*airlock.Client, error) {
	return scanClient(q.row(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = ?`, id))
}

// ListClients returns every application, by name.
func (q *queries) ListClients(ctx context.Context) ([]*airlock.Client, error) {
	rows, err := q.query(ctx, `SELECT `+clientColumns+` FROM oauth_clients ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	var cs []*airlock.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// SetClientSecret replaces a confidential client's secret.
func (q *queries) SetClientSecret(ctx context.Context, id string, hash []byte, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE oauth_clients SET secret_hash = ?, updated_at = ? WHERE id = ? AND secret_hash IS NOT NULL`,
		hash, now.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("set client secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return airlock.ErrNotFound
	}
	return nil
}

// SetClientGrants replaces the grant types an application may use.
func (q *queries) SetClientGrants(ctx context.Context, id string, grants []string, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE oauth_clients SET grants = ?, updated_at = ? WHERE id = ?`, strings.Join(grants, " "), now.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("set client grants: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return airlock.ErrNotFound
	}
	return nil
}

// DeleteClient removes an application and its pending authorizations.
func (q *queries) DeleteClient(ctx context.Context, id string) error {
	res, err := q.exec(ctx, `DELETE FROM oauth_clients WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete client: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return airlock.ErrNotFound
	}
	return nil
}

// RevokeClientTokens revokes every sign-in an application holds.
func (q *queries) RevokeClientTokens(ctx context.Context, clientID string, now time.Time) (int, error) {
	res, err := q.exec(ctx, `UPDATE token_families SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`, now.UnixMilli(), clientID)
	if err != nil {
		return 0, fmt.Errorf("revoke client tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

const authorizationColumns = `id, client_id, request, login_hint, prompt, max_age, created_at, expires_at, user_id, auth_time, amr, done_at, refused,
	code_hash, code_at, code_used_at, family_id, session_hash`

func scanAuthorization(sc interface{ Scan(...any) error }) (*airlock.Authorization, error) {
	var a airlock.Authorization
	var request, amr, prompt string
	var created, expires, maxAge int64
	var userID sql.NullString
	var authTime, done, codeAt, codeUsed sql.NullInt64
	if err := sc.Scan(&a.ID, &a.ClientID, &request, &a.LoginHint, &prompt, &maxAge, &created, &expires, &userID, &authTime, &amr, &done, &a.Refused,
		&a.CodeHash, &codeAt, &codeUsed, &a.FamilyID, &a.SessionHash); err != nil {
		return nil, notFound(err)
	}
	a.Request, a.UserID, a.AMR, a.Prompt = []byte(request), userID.String, strings.Fields(amr), strings.Fields(prompt)
	a.MaxAge = -1
	if maxAge >= 0 {
		a.MaxAge = time.Duration(maxAge) * time.Second
	}
	a.CreatedAt, a.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	a.AuthTime, a.DoneAt, a.CodeAt, a.CodeUsedAt = fromMS(authTime), fromMS(done), fromMS(codeAt), fromMS(codeUsed)
	return &a, nil
}

// CreateAuthorization stores a new authorization request.
func (q *queries) CreateAuthorization(ctx context.Context, a *airlock.Authorization) error {
	maxAge := int64(-1)
	if a.MaxAge >= 0 {
		maxAge = int64(a.MaxAge / time.Second)
	}
	_, err := q.exec(ctx, `INSERT INTO oauth_authorizations (id, client_id, request, login_hint, prompt, max_age, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.ClientID, string(a.Request), a.LoginHint, strings.Join(a.Prompt, " "), maxAge, a.CreatedAt.UnixMilli(), a.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert authorization: %w", err)
	}
	return nil
}

// AuthorizationByID returns an authorization request whatever its state.
func (q *queries) AuthorizationByID(ctx context.Context, id string) (*airlock.Authorization, error) {
	return scanAuthorization(q.row(ctx, `SELECT `+authorizationColumns+` FROM oauth_authorizations WHERE id = ?`, id))
}

// ApproveAuthorization approves a pending request in one conditional
// UPDATE: of concurrent approvals, one wins.
func (q *queries) ApproveAuthorization(ctx context.Context, id, userID string, authTime time.Time, amr []string, sessionHash []byte, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE oauth_authorizations SET user_id = ?, auth_time = ?, amr = ?, done_at = ?, session_hash = ?
		WHERE id = ? AND done_at IS NULL AND refused = '' AND expires_at > ?`,
		userID, authTime.UnixMilli(), strings.Join(amr, " "), now.UnixMilli(), sessionHash, id, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("approve authorization: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RefuseAuthorization ends a pending request with an OAuth error code.
func (q *queries) RefuseAuthorization(ctx context.Context, id, code string, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE oauth_authorizations SET refused = ?
		WHERE id = ? AND done_at IS NULL AND refused = '' AND expires_at > ?`, code, id, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("refuse authorization: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetAuthorizationCode stores the hash of the one code an approved request gets.
func (q *queries) SetAuthorizationCode(ctx context.Context, id string, hash []byte, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE oauth_authorizations SET code_hash = ?, code_at = ?
		WHERE id = ? AND done_at IS NOT NULL AND code_hash IS NULL`, hash, now.UnixMilli(), id)
	if err != nil {
		return false, fmt.Errorf("set authorization code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// AuthorizationByCode returns the request of a code, whatever its state.
func (q *queries) AuthorizationByCode(ctx context.Context, hash []byte) (*airlock.Authorization, error) {
	return scanAuthorization(q.row(ctx, `SELECT `+authorizationColumns+` FROM oauth_authorizations WHERE code_hash = ?`, hash))
}

// UseAuthorizationCode uses a code in one conditional UPDATE, so that of
// concurrent exchanges, on any node, exactly one wins.
func (q *queries) UseAuthorizationCode(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE oauth_authorizations SET code_used_at = ? WHERE id = ? AND code_hash IS NOT NULL AND code_used_at IS NULL`,
		now.UnixMilli(), id)
	if err != nil {
		return false, fmt.Errorf("use authorization code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetAuthorizationFamily records the tokens a code was exchanged for.
func (q *queries) SetAuthorizationFamily(ctx context.Context, id, familyID string) error {
	_, err := q.exec(ctx, `UPDATE oauth_authorizations SET family_id = ? WHERE id = ?`, familyID, id)
	if err != nil {
		return fmt.Errorf("set authorization family: %w", err)
	}
	return nil
}

// DeleteAuthorization removes an authorization request.
func (q *queries) DeleteAuthorization(ctx context.Context, id string) error {
	_, err := q.exec(ctx, `DELETE FROM oauth_authorizations WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete authorization: %w", err)
	}
	return nil
}

// InsertSigningKey adds a signing key.
func (q *queries) InsertSigningKey(ctx context.Context, k *airlock.SigningKey) error {
	_, err := q.exec(ctx, `INSERT INTO oauth_keys (id, alg, private_key, public_jwk, created_at, signs_from) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.Alg, k.Private, string(k.PublicJWK), k.CreatedAt.UnixMilli(), k.SignsFrom.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert signing key: %w", err)
	}
	return nil
}

// signingKeysLockKey is the PostgreSQL advisory lock of the first
// signing keys' making.
const signingKeysLockKey = 0x6169726b6579 // "airkey"

// LockSigningKeys serialises the making of the first signing keys on every
// node: two nodes starting at once would each find none under READ
// COMMITTED and each make its own.
func (q *queries) LockSigningKeys(ctx context.Context) error {
	if q.d != postgresDialect {
		return nil // SQLite runs one write transaction at a time
	}
	if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(signingKeysLockKey)); err != nil {
		return fmt.Errorf("lock signing keys: %w", err)
	}
	return nil
}

// SigningKeys returns the keys not retired before since, oldest first.
func (q *queries) SigningKeys(ctx context.Context, since time.Time) ([]*airlock.SigningKey, error) {
	rows, err := q.query(ctx, `SELECT id, alg, private_key, public_jwk, created_at, signs_from, retired_at FROM oauth_keys
		WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at, id`, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	var ks []*airlock.SigningKey
	for rows.Next() {
		var k airlock.SigningKey
		var jwk string
		var created, from int64
		var retired sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Alg, &k.Private, &jwk, &created, &from, &retired); err != nil {
			return nil, err
		}
		k.PublicJWK = []byte(jwk)
		k.CreatedAt, k.SignsFrom, k.RetiredAt = time.UnixMilli(created).UTC(), time.UnixMilli(from).UTC(), fromMS(retired)
		ks = append(ks, &k)
	}
	return ks, rows.Err()
}

// RetireSigningKeys retires, at at, every key that signs from before before.
func (q *queries) RetireSigningKeys(ctx context.Context, before, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE oauth_keys SET retired_at = ? WHERE retired_at IS NULL AND signs_from < ?`, at.UnixMilli(), before.UnixMilli())
	if err != nil {
		return fmt.Errorf("retire signing keys: %w", err)
	}
	return nil
}

// UsePeerNonce records a nonce once: the primary key refuses a second
// insert, on any node.
func (q *queries) UsePeerNonce(ctx context.Context, hash []byte, expires time.Time) (bool, error) {
	_, err := q.exec(ctx, `INSERT INTO peer_nonces (nonce_hash, expires_at) VALUES (?, ?)`, hash, expires.UnixMilli())
	if isUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("use peer nonce: %w", err)
	}
	return true, nil
}
