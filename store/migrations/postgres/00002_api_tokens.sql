-- +goose Up
-- Bearer tokens of the JSON API. Only the SHA-256 of a token is stored.
-- A family is one sign-in: its refresh tokens rotate, and reuse of a rotated
-- refresh token revokes the whole family.
CREATE TABLE api_tokens (
    token_hash BYTEA PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user_id ON api_tokens(user_id);
CREATE INDEX api_tokens_family_id ON api_tokens(family_id);

-- +goose Down
DROP TABLE api_tokens;
