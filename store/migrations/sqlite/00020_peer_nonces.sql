-- +goose Up
-- The nonces of the peers' questions (a reset asked on the wrong server),
-- by hash, until they could no longer be fresh: each question works once.
CREATE TABLE peer_nonces (
    nonce_hash BLOB PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE peer_nonces;
