-- +goose Up
-- How many requests a job holds. The forgot requests that one transaction
-- accepts together (the group commit) are queued as one job: one row to
-- insert, claim and delete for the whole batch instead of one per request,
-- which under a flood was most of what the queue cost. Emails hold one.
ALTER TABLE jobs ADD COLUMN items INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE jobs DROP COLUMN items;
