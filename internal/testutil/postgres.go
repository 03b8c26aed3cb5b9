package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/airlockhq/airlock/store"
)

// PostgresEnv names the variable that points the tests at a PostgreSQL
// server (any database on it; the tests create their own). CI sets it.
const PostgresEnv = "AIRLOCK_TEST_DATABASE_URL"

// PostgresURL creates a fresh, empty database for the test and returns its
// URL; the database is dropped when the test ends. It returns "" when
// AIRLOCK_TEST_DATABASE_URL is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		return ""
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "airlock_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// OpenPostgres opens and migrates a fresh PostgreSQL database, or returns
// nil when AIRLOCK_TEST_DATABASE_URL is not set.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	dsn := PostgresURL(t)
	if dsn == "" {
		return nil
	}
	return OpenURL(t, dsn)
}

// OpenURL opens and migrates the store at dsn, closed when the test ends.
func OpenURL(t testing.TB, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}
