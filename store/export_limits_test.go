package store

import "context"

// Exec runs one statement through the store's query path (its time limit,
// its error classification), for tests of what the database does to it.
func (s *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.exec(ctx, query, args...)
	return err
}
