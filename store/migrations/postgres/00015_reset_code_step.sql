-- +goose Up
-- A reset link of an account with two-step sign-in asks for the code
-- first, on a step of its own: a right code is recorded on the link for a
-- few minutes (code_ok_until), then the new password is asked. A recovery
-- code is only checked at that step; its hash waits here (code_recovery) to
-- be used up when the password is set, so that it is spent only by a reset
-- that succeeds.
ALTER TABLE reset_tokens ADD COLUMN code_ok_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reset_tokens ADD COLUMN code_recovery BYTEA;

-- +goose Down
ALTER TABLE reset_tokens DROP COLUMN code_recovery;
ALTER TABLE reset_tokens DROP COLUMN code_ok_until;
