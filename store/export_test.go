package store

import "context"

// MigrateTo applies the migrations up to version, to test one migration
// against the data an older version left.
func (s *DB) MigrateTo(ctx context.Context, version int64) error { return s.migrateTo(ctx, version) }
