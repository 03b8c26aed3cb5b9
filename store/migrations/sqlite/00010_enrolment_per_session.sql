-- +goose Up
-- A two-step enrolment key belongs to one visit of one signed-in browser:
-- it is kept, sealed, on that browser's session row for 10 minutes, so it
-- is never shown to another session and dies with the session (a password
-- change, "sessions ended", a deactivation). Keys that waited unconfirmed
-- on the user row were shown to every session, and outlived password
-- changes: they are discarded.
ALTER TABLE sessions ADD COLUMN enrol_secret BLOB;
ALTER TABLE sessions ADD COLUMN enrol_expires_at BIGINT;
UPDATE users SET totp_secret = NULL, totp_last_step = 0 WHERE totp_enabled_at IS NULL;

-- +goose Down
ALTER TABLE sessions DROP COLUMN enrol_expires_at;
ALTER TABLE sessions DROP COLUMN enrol_secret;
