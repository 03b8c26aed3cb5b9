-- +goose Up
-- Invitations (a first password chosen from a welcome email) use the reset
-- machinery: a token of purpose 'invite' in reset_tokens, with the same
-- rules (hashed, single use, a newer one kills the older ones).
ALTER TABLE reset_tokens ADD COLUMN purpose TEXT NOT NULL DEFAULT 'reset';
-- invited_at is when the last invitation was sent to a user who has never
-- set a password; NULL for everyone else.
ALTER TABLE users ADD COLUMN invited_at BIGINT;

-- +goose Down
ALTER TABLE users DROP COLUMN invited_at;
ALTER TABLE reset_tokens DROP COLUMN purpose;
