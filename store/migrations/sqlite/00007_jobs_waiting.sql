-- +goose Up
-- The jobs a worker may claim, in the order it claims them. Sent and failed
-- emails stay 30 days in the same table; without this index each claim read
-- and sorted every waiting job (a backlog of 30,000 forgot requests made
-- each claim read 30,000 rows).
CREATE INDEX jobs_waiting ON jobs(run_at, id) WHERE state IN ('queued', 'deferred', 'sending');

-- +goose Down
DROP INDEX jobs_waiting;
