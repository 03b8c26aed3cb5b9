-- +goose Up
-- What the users list's search looks in: the email, first and last name,
-- lowercased and without accents (store.searchFold), so that "emile",
-- "Émile" and "ÉMILE" all find "Émile Zola" on both databases (SQLite's
-- LOWER folds ASCII only, and neither database drops accents). The rows
-- written before are filled by Migrate, in Go, where the folding lives.
ALTER TABLE users ADD COLUMN search TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN search;
