-- +goose Up
-- What a flood of forgot requests writes for each request, made cheaper
-- (issue 23).
--
-- Events of nobody in particular (a forgot request for an address with no
-- account, a refused sign-in of an unknown address) have no actor or
-- subject. Their empty ids were indexed all the same, and since '' sorts
-- first each of those inserts landed in the middle of the index, not at
-- its end: a page half-filled and split every few dozen events. The audit
-- page only ever looks up real ids.
DROP INDEX audit_events_actor;
DROP INDEX audit_events_subject;
CREATE INDEX audit_events_actor ON audit_events(actor_id) WHERE actor_id <> '';
CREATE INDEX audit_events_subject ON audit_events(subject_id) WHERE subject_id <> '';

-- A limit is only ever read by its key: kept in the key's own b-tree
-- (WITHOUT ROWID), a new client address writes one b-tree, not a table and
-- its key's index.
CREATE TABLE rate_limits_by_key (
    key           TEXT PRIMARY KEY,
    tat           BIGINT NOT NULL,
    audited_until BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO rate_limits_by_key (key, tat, audited_until) SELECT key, tat, audited_until FROM rate_limits;
DROP TABLE rate_limits;
ALTER TABLE rate_limits_by_key RENAME TO rate_limits;

-- +goose Down
CREATE TABLE rate_limits_with_rowid (
    key           TEXT PRIMARY KEY,
    tat           BIGINT NOT NULL,
    audited_until BIGINT NOT NULL DEFAULT 0
);
INSERT INTO rate_limits_with_rowid (key, tat, audited_until) SELECT key, tat, audited_until FROM rate_limits;
DROP TABLE rate_limits;
ALTER TABLE rate_limits_with_rowid RENAME TO rate_limits;
DROP INDEX audit_events_actor;
DROP INDEX audit_events_subject;
CREATE INDEX audit_events_actor ON audit_events(actor_id);
CREATE INDEX audit_events_subject ON audit_events(subject_id);
