-- +goose Up
-- Events of nobody in particular (a forgot request for an address with no
-- account, a refused sign-in of an unknown address) have no actor or
-- subject: indexing their empty ids only cost a write each (issue 23). The
-- audit page only ever looks up real ids.
DROP INDEX audit_events_actor;
DROP INDEX audit_events_subject;
CREATE INDEX audit_events_actor ON audit_events(actor_id) WHERE actor_id <> '';
CREATE INDEX audit_events_subject ON audit_events(subject_id) WHERE subject_id <> '';

-- +goose Down
DROP INDEX audit_events_actor;
DROP INDEX audit_events_subject;
CREATE INDEX audit_events_actor ON audit_events(actor_id);
CREATE INDEX audit_events_subject ON audit_events(subject_id);
