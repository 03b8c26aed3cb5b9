-- +goose Up
-- An email delivered twice (a node killed or paused mid-delivery, then its
-- work taken over) must be the same message both times: its Message-ID and
-- date are chosen at its first attempt and kept here, and so is its link's
-- token, sealed with AIRLOCK_SECRET_KEY (never in clear), so that a later
-- attempt sends the same link while it still works.
ALTER TABLE jobs ADD COLUMN link_sealed BLOB;
ALTER TABLE jobs ADD COLUMN prepared_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE jobs DROP COLUMN prepared_at;
ALTER TABLE jobs DROP COLUMN link_sealed;
