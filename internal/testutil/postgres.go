package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/airlockhq/airlock/store"
)

// PostgresEnv names the variable that points the tests at a PostgreSQL
// server (any database on it; the tests create their own). CI sets it.
const PostgresEnv = "AIRLOCK_TEST_DATABASE_URL"

// PostgresURL makes a fresh, empty PostgreSQL schema for the test and
// returns a URL that works in it (its search_path); the schema is dropped
// when the test ends. The schemas of a test binary live in one database
// of their own, made once for the run and dropped after it (Main): a
// schema is made in milliseconds where a database took a second, with the
// same isolation for what the tests do (advisory locks aside, which the
// tests' transactions then share, only ever waiting a little). It
// returns "" when AIRLOCK_TEST_DATABASE_URL is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		return ""
	}
	db, dbURL, err := shared.get(base)
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	name := "t_" + randomHex(6)
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", name, err)
		}
	})
	u := *dbURL
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// sharedDatabase is the database a test binary's schemas live in.
type sharedDatabase struct {
	once sync.Once
	db   *sql.DB
	name string
	url  *url.URL
	err  error
}

var shared sharedDatabase

// get makes the database on the server of base, the first time.
func (s *sharedDatabase) get(base string) (*sql.DB, *url.URL, error) {
	s.once.Do(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			s.err = err
			return
		}
		defer admin.Close()
		s.name = "airlock_test_" + randomHex(6)
		if _, err := admin.Exec("CREATE DATABASE " + s.name); err != nil {
			s.err = err
			return
		}
		u, err := url.Parse(base)
		if err != nil {
			s.err = err
			return
		}
		u.Path = "/" + s.name
		s.url = u
		s.db, s.err = sql.Open("pgx", u.String())
	})
	return s.db, s.url, s.err
}

// drop drops the database, if one was made.
func (s *sharedDatabase) drop() error {
	if s.db == nil {
		return nil
	}
	s.db.Close()
	admin, err := sql.Open("pgx", os.Getenv(PostgresEnv))
	if err != nil {
		return err
	}
	defer admin.Close()
	_, err = admin.Exec("DROP DATABASE " + s.name + " WITH (FORCE)")
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
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
	if strings.HasPrefix(dsn, "postgres") {
		// Several tests run at once, each with a node or two: a small pool
		// each keeps them within the server's connections (100 by default).
		db.SQL().SetMaxOpenConns(8)
		db.SQL().SetMaxIdleConns(4)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}
