-- +goose Up
-- Delivery states (SPEC §7): an email in the outbox (a job of kind mail) is
-- queued, sending (leased by a worker), sent (with the server's answer),
-- deferred (next attempt at run_at, last_error says why) or failed (refused
-- for good, or still failing after 24 hours). Sent and failed emails are
-- kept a while so that administrators can see them.
ALTER TABLE jobs ADD COLUMN state TEXT NOT NULL DEFAULT 'queued';
ALTER TABLE jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
-- taken_over is 1 when the last claim took the job from a worker whose lease ran out.
ALTER TABLE jobs ADD COLUMN taken_over INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN email_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN reply TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN token_hash BYTEA;
ALTER TABLE jobs ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN sent_at BIGINT;
CREATE INDEX jobs_user_id ON jobs(user_id, created_at);
CREATE INDEX jobs_state ON jobs(state, run_at);

-- The dev mailbox (no SMTP configured) keeps its emails here, so that they
-- survive a restart; airlock mail clear-dev empties it.
CREATE TABLE dev_mail (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT NOT NULL,
    message_id TEXT NOT NULL
);

-- +goose Down
DROP TABLE dev_mail;
DROP INDEX jobs_state;
DROP INDEX jobs_user_id;
ALTER TABLE jobs DROP COLUMN sent_at;
ALTER TABLE jobs DROP COLUMN updated_at;
ALTER TABLE jobs DROP COLUMN token_hash;
ALTER TABLE jobs DROP COLUMN message_id;
ALTER TABLE jobs DROP COLUMN reply;
ALTER TABLE jobs DROP COLUMN email_kind;
ALTER TABLE jobs DROP COLUMN user_id;
ALTER TABLE jobs DROP COLUMN taken_over;
ALTER TABLE jobs DROP COLUMN lease_owner;
ALTER TABLE jobs DROP COLUMN state;
