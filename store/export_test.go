package store

import (
	"context"
	"time"
)

// MigrateTo applies the migrations up to version, to test one migration
// against the data an older version left.
func (s *DB) MigrateTo(ctx context.Context, version int64) error { return s.migrateTo(ctx, version) }

// PassTime moves every lease d nearer its end, as if the database's clock,
// which leases are held on, had run d forward.
func (s *DB) PassTime(ctx context.Context, d time.Duration) error {
	_, err := s.exec(ctx, `UPDATE jobs SET lease_until = lease_until - ? WHERE lease_until > 0`, d.Milliseconds())
	return err
}

// MigrationSetting is a runtime setting of the migrations' sessions
// (PostgreSQL).
func (s *DB) MigrationSetting(ctx context.Context, name string) (string, error) {
	pool := s.limits.migrationPool()
	defer pool.Close()
	var v string
	err := pool.QueryRowContext(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}
