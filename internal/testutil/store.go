package testutil

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/airlockhq/airlock/store"
)

// OpenStore opens a fresh, migrated SQLite store in the test's temporary
// directory, closed when the test ends.
func OpenStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "airlock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// Buffer is a bytes.Buffer that many goroutines may write, such as a log.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// CountJobs counts the requests that wait in db's jobs of a kind ("" for
// all): a forgot job holds several.
func CountJobs(db *store.DB, kind string) (int, error) {
	query := `SELECT COALESCE(SUM(items), 0) FROM jobs WHERE state IN ('queued', 'deferred', 'sending')`
	if kind != "" {
		if strings.ContainsAny(kind, `'\`) {
			return 0, fmt.Errorf("job kind %q", kind)
		}
		query += ` AND kind = '` + kind + `'`
	}
	var n int
	err := db.SQL().QueryRowContext(context.Background(), query).Scan(&n)
	return n, err
}
