-- +goose Up
-- Revocation by epoch: a session or a token family records the user's
-- auth_epoch when it is made, and works only while it still equals the
-- user's. Any change that takes access away bumps the epoch in one UPDATE,
-- so no session or token issued concurrently can survive it.
ALTER TABLE users ADD COLUMN auth_epoch BIGINT NOT NULL DEFAULT 0;
-- version grows at every profile edit: the back office's form sends the
-- version it showed, so that a stale form never undoes a newer change.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN auth_epoch BIGINT NOT NULL DEFAULT 0;

-- A token family is one API sign-in. Revoking it is one row: tokens a
-- concurrent refresh adds to the family are dead with it.
CREATE TABLE token_families (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_epoch BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX token_families_user_id ON token_families(user_id);
INSERT INTO token_families (id, user_id, auth_epoch, created_at, expires_at, revoked_at)
    SELECT family_id, MIN(user_id), 0, MIN(created_at), MAX(expires_at),
           CASE WHEN SUM(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) = 0 THEN MAX(revoked_at) END
    FROM api_tokens GROUP BY family_id;

-- A refused request is audited at most once per limit window and key.
ALTER TABLE rate_limits ADD COLUMN audited_until BIGINT NOT NULL DEFAULT 0;

CREATE INDEX audit_events_at ON audit_events(at);

-- +goose Down
DROP INDEX audit_events_at;
ALTER TABLE rate_limits DROP COLUMN audited_until;
DROP TABLE token_families;
ALTER TABLE sessions DROP COLUMN auth_epoch;
ALTER TABLE users DROP COLUMN version;
ALTER TABLE users DROP COLUMN auth_epoch;
