-- +goose Up
-- Every reset and invitation email carries a short code beside its link,
-- so that a reset started in the app (or in another browser) finishes
-- there: the code is typed with the flow id that the forgot request
-- answered. code_hash is the code's hash, keyed with AIRLOCK_SECRET_KEY
-- and salted with the token's hash (never the code itself); flow_hash is
-- the SHA-256 of the flow id of the forgot request the email answers
-- (NULL: an email an administrator sent, or a link minted before codes).
ALTER TABLE reset_tokens ADD COLUMN flow_hash BYTEA;
ALTER TABLE reset_tokens ADD COLUMN code_hash BYTEA;
CREATE INDEX reset_tokens_flow ON reset_tokens(flow_hash) WHERE flow_hash IS NOT NULL;

-- +goose Down
DROP INDEX reset_tokens_flow;
ALTER TABLE reset_tokens DROP COLUMN code_hash;
ALTER TABLE reset_tokens DROP COLUMN flow_hash;
