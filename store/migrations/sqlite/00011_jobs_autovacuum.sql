-- +goose Up
-- PostgreSQL's vacuum of the jobs table is tuned by this migration; SQLite
-- reuses deleted rows' space at once and keeps no old row versions, so it
-- has nothing to do (the migration keeps both dialects at one version).
SELECT 1;

-- +goose Down
SELECT 1;
