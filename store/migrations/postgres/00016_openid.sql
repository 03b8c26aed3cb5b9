-- +goose Up
-- Airlock as an OpenID Provider (SPEC §4).

-- The applications that sign people in through Airlock. A confidential
-- client's secret is stored hashed (SHA-256 of 256 random bits) and shown
-- once; a public client (a mobile app) has none and must use PKCE.
-- redirect_uris and post_logout_uris hold one URI per line, matched exactly;
-- grants holds the grant types the client may use, space-separated;
-- signing_alg how its tokens are signed (RS256, or ES256 when it asks).
CREATE TABLE oauth_clients (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    secret_hash      BYTEA,
    redirect_uris    TEXT NOT NULL,
    post_logout_uris TEXT NOT NULL DEFAULT '',
    grants           TEXT NOT NULL,
    first_party      INTEGER NOT NULL DEFAULT 0,
    signing_alg      TEXT NOT NULL DEFAULT 'RS256',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- The app versions that sign in with the password grant (deprecated: RFC
-- 9700 §2.4) are this built-in application: requests that name no
-- registered client_id are its. Removing it, or its password grant, turns
-- the grant off for them.
INSERT INTO oauth_clients (id, name, redirect_uris, grants, first_party, created_at, updated_at)
    VALUES ('mobile', 'Mobile app (password grant)', '', 'password refresh_token', 1, 0, 0);

-- One authorization request, from /oauth2/authorize to its code's
-- exchange: the request's parameters (request, JSON; login_hint, prompt
-- and max_age, in seconds or -1, apart for the sign-in rules), the user who
-- approved it and how they signed in, and the code (its hash) once issued.
-- A code works once: code_used_at is set by the one exchange that wins,
-- and family_id names the tokens it issued, revoked if the code comes back.
-- session_hash is the approving browser session's: only that browser may
-- take the code to the application.
CREATE TABLE oauth_authorizations (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    request      TEXT NOT NULL,
    login_hint   TEXT NOT NULL DEFAULT '',
    prompt       TEXT NOT NULL DEFAULT '',
    max_age      BIGINT NOT NULL DEFAULT -1,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    auth_time    BIGINT,
    amr          TEXT NOT NULL DEFAULT '',
    done_at      BIGINT,
    session_hash BYTEA,
    refused      TEXT NOT NULL DEFAULT '',
    code_hash    BYTEA UNIQUE,
    code_at      BIGINT,
    code_used_at BIGINT,
    family_id    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX oauth_authorizations_expires ON oauth_authorizations(expires_at);

-- The provider's signing keys. The private key is sealed with
-- AIRLOCK_SECRET_KEY; the public half (a JWK) is published from
-- signs_from until retired_at plus the longest token lifetime.
CREATE TABLE oauth_keys (
    id          TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    signs_from  BIGINT NOT NULL,
    retired_at  BIGINT
);

-- A token family may belong to an application's sign-in: its client, the
-- scopes granted, and how and when the person signed in (for refreshed ID
-- tokens). The JSON API's own sign-ins leave them empty.
ALTER TABLE token_families ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE token_families ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE token_families ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE token_families ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE token_families DROP COLUMN auth_time;
ALTER TABLE token_families DROP COLUMN amr;
ALTER TABLE token_families DROP COLUMN scopes;
ALTER TABLE token_families DROP COLUMN client_id;
DROP TABLE oauth_keys;
DROP TABLE oauth_authorizations;
DROP TABLE oauth_clients;
