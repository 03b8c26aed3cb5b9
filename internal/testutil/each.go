package testutil

import (
	"os"
	"testing"

	"github.com/airlockhq/airlock/store"
)

// EachStore runs f on a fresh SQLite store and, when
// AIRLOCK_TEST_DATABASE_URL is set, on a fresh PostgreSQL database too:
// bad input must get the same answer on both (PostgreSQL, for one, refuses
// NUL in text where SQLite stores it).
func EachStore(t *testing.T, f func(t *testing.T, db *store.DB)) {
	t.Run("sqlite", func(t *testing.T) { f(t, OpenStore(t)) })
	if os.Getenv(PostgresEnv) == "" {
		return
	}
	t.Run("postgres", func(t *testing.T) { f(t, OpenPostgres(t)) })
}
