package store_test

import (
	"context"
	"testing"

	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// TestMigrationDiscardsUnconfirmedKeys: an enrolment key waiting
// unconfirmed on the account (shown to every session, kept across password
// changes) is discarded by migration 10; a confirmed key stays.
func TestMigrationDiscardsUnconfirmedKeys(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.MigrateTo(ctx, 9); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO users (id, email, email_normalized, created_at, updated_at, totp_secret) VALUES ('a', 'a@example.com', 'a@example.com', 0, 0, 'pending')`,
			`INSERT INTO users (id, email, email_normalized, created_at, updated_at, totp_secret, totp_enabled_at, totp_last_step) VALUES ('b', 'b@example.com', 'b@example.com', 0, 0, 'confirmed', 1, 7)`,
		} {
			if _, err := db.SQL().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		a, err := db.UserByID(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.UserByID(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		if a.TOTPSecret != nil || string(b.TOTPSecret) != "confirmed" || !b.TwoFactor() || b.TOTPLastStep != 7 {
			t.Fatalf("after migration: pending %q, confirmed %q (on %v)", a.TOTPSecret, b.TOTPSecret, b.TwoFactor())
		}
	})
}

// each runs f with the address of a fresh SQLite file, and of a fresh
// PostgreSQL database when AIRLOCK_TEST_DATABASE_URL is set.
func each(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, "sqlite:"+t.TempDir()+"/airlock.db") })
	if dsn := testutil.PostgresURL(t); dsn != "" {
		t.Run("postgres", func(t *testing.T) { f(t, dsn) })
	}
}
