package store_test

// Tests that kill mutants gremlins found alive in store (bench/mutation.sh,
// bench/RESULTS.md 2026-12-07).

import (
	"context"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// TestLimitStateFailsClosed: a limit whose state cannot be read is an
// error, never a fresh limit: a database that fails must not hand out a
// full allowance of guesses.
func TestLimitStateFailsClosed(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			if err := db.SetLimit(ctx, "k", t0); err != nil {
				t.Fatal(err)
			}
			gone, cancel := context.WithCancel(ctx)
			cancel()
			if tat, err := db.LockLimit(gone, "k"); err == nil {
				t.Fatalf("LockLimit on a failing database = %v, nil: want an error", tat)
			}
			if tat, err := db.LockLimit(ctx, "k"); err != nil || !tat.Equal(t0) {
				t.Fatalf("LockLimit = %v, %v, want %v", tat, err, t0)
			}
		})
	}
}

// TestLimitStateHoldsARowLockOnPostgres: on PostgreSQL a limit read in a
// transaction is locked until that transaction ends, even when the limit
// was never used before (a row is made to lock): a second transaction
// reading it waits, then reads what the first wrote, so that two nodes
// never both read "none" and both let a request through. The second
// transaction is seen waiting for the lock (pg_stat_activity) before the
// first commits: no timing is assumed. The same for the batch's reads of
// many keys at once (LockLimits), sharing one key.
func TestLimitStateHoldsARowLockOnPostgres(t *testing.T) {
	db := testutil.OpenPostgres(t)
	if db == nil {
		t.Skipf("%s not set: SQLite has one writer at a time, which needs no row lock; this test needs PostgreSQL (CI sets it)", testutil.PostgresEnv)
	}
	one := func(key string) (func(airlock.Tx) (time.Time, error), func(airlock.Tx) error) {
		return func(tx airlock.Tx) (time.Time, error) { return tx.LockLimit(context.Background(), key) },
			func(tx airlock.Tx) error { return tx.SetLimit(context.Background(), key, t0) }
	}
	many := func(keys []string, key string) (func(airlock.Tx) (time.Time, error), func(airlock.Tx) error) {
		return func(tx airlock.Tx) (time.Time, error) {
				tats, err := tx.LockLimits(context.Background(), keys)
				return tats[key], err
			},
			func(tx airlock.Tx) error { return tx.SetLimits(context.Background(), map[string]time.Time{key: t0}) }
	}
	lockA, setA := one("fresh")
	lockB, _ := one("fresh")
	t.Run("one key", func(t *testing.T) { holdsARowLock(t, db, lockA, setA, lockB) })
	// A key used before: its row exists, and only the read's lock holds it.
	if err := db.Update(context.Background(), func(tx airlock.Tx) error {
		return tx.SetLimits(context.Background(), map[string]time.Time{"batch": t0.Add(-time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	lockA, setA = many([]string{"a", "batch"}, "batch")
	lockB, _ = many([]string{"batch", "z"}, "batch")
	t.Run("many keys", func(t *testing.T) { holdsARowLock(t, db, lockA, setA, lockB) })
}

// holdsARowLock runs a first transaction that locks (lockA) and writes t0
// (setA) while a second reads (lockB): the second must wait for the first,
// then read t0.
func holdsARowLock(t *testing.T, db *store.DB, lockA func(airlock.Tx) (time.Time, error), setA func(airlock.Tx) error, lockB func(airlock.Tx) (time.Time, error)) {
	ctx := context.Background()
	held, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.UpdateWithin(ctx, 0, func(tx airlock.Tx) error {
			if _, err := lockA(tx); err != nil {
				return err
			}
			close(held)
			<-release
			return setA(tx)
		})
	}()
	select {
	case <-held:
	case err := <-first:
		t.Fatalf("the first transaction: %v", err)
	}
	type result struct {
		tat time.Time
		err error
	}
	second := make(chan result, 1)
	go func() {
		var r result
		r.err = db.UpdateWithin(ctx, 0, func(tx airlock.Tx) error {
			r.tat, r.err = lockB(tx)
			return r.err
		})
		second <- r
	}()
	waiting := func() bool {
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	deadline := time.Now().Add(time.Minute) // only how long to look: the outcome does not depend on it
	for !waiting() {
		select {
		case r := <-second:
			close(release)
			t.Fatalf("a second transaction read the limit (%v, %v) while the first held it", r.tat, r.err)
		default:
		}
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("the second transaction neither waited nor finished")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if r := <-second; r.err != nil || !r.tat.Equal(t0) {
		t.Fatalf("the second transaction read %v, %v: want what the first wrote, %v", r.tat, r.err, t0)
	}
}
