-- +goose Up
-- The links of a user that still work. Minting a link revokes the user's
-- others; used and revoked links stay until they expire, so without this
-- index a user flooded with reset requests made every new link read all of
-- them (each email of a flood read one more row than the one before).
CREATE INDEX reset_tokens_live ON reset_tokens(user_id) WHERE used_at IS NULL AND revoked_at IS NULL;
-- No query reads jobs by run_at alone since jobs_waiting (00007): the index
-- only cost a write at each change of every job.
DROP INDEX jobs_run_at;

-- +goose Down
CREATE INDEX jobs_run_at ON jobs(run_at);
DROP INDEX reset_tokens_live;
