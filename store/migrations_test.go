package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
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
		db := openAt(t, dsn, 9)
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

// openAt opens the store at dsn migrated up to version, closed when the
// test ends.
func openAt(t *testing.T, dsn string, version int64) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return db
}

// each runs f with the address of a fresh SQLite file, and of a fresh
// PostgreSQL database when AIRLOCK_TEST_DATABASE_URL is set.
func each(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, "sqlite:"+t.TempDir()+"/airlock.db") })
	if dsn := testutil.PostgresURL(t); dsn != "" {
		t.Run("postgres", func(t *testing.T) { f(t, dsn) })
	}
}

// TestSearchFindsNamesAsPeopleTypeThem: the users list's search ignores
// case and accents on both databases ("emile", "Émile", "ÉMILE", "émile
// zola" all find "Émile Zola"), for users written before migration 14
// (filled by Migrate), created, updated and renamed by themselves after.
func TestSearchFindsNamesAsPeopleTypeThem(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openAt(t, dsn, 13)
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO users (id, email, email_normalized, first_name, last_name, created_at, updated_at)
			VALUES ('old', 'ez@example.com', 'ez@example.com', 'Émile', 'Zola', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		found := func(q string) []string {
			t.Helper()
			users, _, err := db.ListUsers(ctx, airlock.UserFilter{Query: q})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, u := range users {
				ids = append(ids, u.ID)
			}
			return ids
		}
		for _, q := range []string{"émile", "Émile", "ÉMILE", "emile", "EMILE", "émile zola", "Emile  Zola", "zola", "EZ@EXAMPLE"} {
			if got := found(q); !slices.Equal(got, []string{"old"}) {
				t.Errorf("%q found %v, want the user written before the migration", q, got)
			}
		}
		now := time.Unix(1000, 0)
		u := &airlock.User{ID: "new", Email: "hl@example.com", FirstName: "Hélène", LastName: "Œuvray", Language: "fr", Active: true, CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if got := found("helene"); !slices.Equal(got, []string{"new"}) {
			t.Errorf("helene found %v", got)
		}
		u.LastName = "Lefèvre"
		if err := db.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if got := found("LEFEVRE"); !slices.Equal(got, []string{"new"}) {
			t.Errorf("LEFEVRE after an update found %v", got)
		}
		if err := db.SetProfile(ctx, "new", "Hélène", "Müller", "fr", now); err != nil {
			t.Fatal(err)
		}
		if got, gone := found("muller"), found("lefevre"); !slices.Equal(got, []string{"new"}) || len(gone) != 0 {
			t.Errorf("after renaming herself: muller %v, lefevre %v", got, gone)
		}
		// A person's wildcard is literal, folded or not; accents alone
		// match nobody (they fold to nothing).
		if got := found("é%"); len(got) != 0 {
			t.Errorf("é%% found %v", got)
		}
		if got := found("\u0301\u0300"); len(got) != 0 {
			t.Errorf("combining accents alone found %v", got)
		}
		// Letters with a stroke are found as people type them without.
		for _, c := range []struct{ id, email, first, last, q string }{
			{"pl", "lodz@example.com", "Łukasz", "Łódź", "lukasz lodz"},
			{"dk", "hc@example.com", "Hans Christian", "Ørsted", "ORSTED"},
			{"de", "sg@example.com", "Grete", "Straße", "strasse"},
		} {
			if err := db.CreateUser(ctx, &airlock.User{ID: c.id, Email: c.email, FirstName: c.first, LastName: c.last, Language: "en", Active: true, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if got := found(c.q); !slices.Equal(got, []string{c.id}) {
				t.Errorf("%q found %v, want %s %s", c.q, got, c.first, c.last)
			}
		}
	})
}
