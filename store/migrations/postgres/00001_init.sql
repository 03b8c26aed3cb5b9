-- +goose Up
-- The PostgreSQL twin of migrations/sqlite/00001_init.sql: same tables and
-- columns, so that one set of queries serves both. Times are Unix
-- milliseconds; NULL means "never". Booleans are 0/1.
CREATE TABLE users (
    id                       TEXT PRIMARY KEY,
    email                    TEXT NOT NULL,
    email_normalized         TEXT NOT NULL UNIQUE,
    first_name               TEXT NOT NULL DEFAULT '',
    last_name                TEXT NOT NULL DEFAULT '',
    language                 TEXT NOT NULL DEFAULT 'en',
    active                   INTEGER NOT NULL DEFAULT 1,
    must_change_password     INTEGER NOT NULL DEFAULT 0,
    password_hash            TEXT NOT NULL DEFAULT '',
    password_changed_at      BIGINT,
    temp_password_expires_at BIGINT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
);

CREATE TABLE user_groups (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (user_id, group_name)
);

CREATE TABLE sessions (
    id_hash      BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id ON sessions(user_id);

CREATE TABLE reset_tokens (
    token_hash BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX reset_tokens_user_id ON reset_tokens(user_id);

CREATE TABLE jobs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    run_at      BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX jobs_run_at ON jobs(run_at);

CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    subject_id TEXT NOT NULL DEFAULT '',
    subject    TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_actor ON audit_events(actor_id);
CREATE INDEX audit_events_subject ON audit_events(subject_id);
CREATE INDEX audit_events_kind ON audit_events(kind);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE rate_limits;
DROP TABLE jobs;
DROP TABLE reset_tokens;
DROP TABLE sessions;
DROP TABLE user_groups;
DROP TABLE users;
