package store_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// limit is the time limit (AIRLOCK_DATABASE_TIMEOUT) of these tests: the
// smallest an operator may set.
const limit = time.Second

// watch records what a store reports: availability changes and queries
// that gave up.
type watch struct {
	mu     sync.Mutex
	downs  int
	ups    int
	gaveUp []string // "what on table"
}

func watchStore(db *store.DB) *watch {
	w := &watch{}
	db.OnAvailability(func(up bool, cause error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if up {
			w.ups++
		} else {
			w.downs++
		}
	})
	db.OnGaveUp(func(what, table string, cause error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.gaveUp = append(w.gaveUp, what+" on "+table)
	})
	return w
}

func (w *watch) state() (downs, ups int, gaveUp []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.downs, w.ups, append([]string(nil), w.gaveUp...)
}

func postgresOnly(t *testing.T) string {
	t.Helper()
	dsn := testutil.PostgresURL(t)
	if dsn == "" {
		t.Skipf("%s not set: this test needs PostgreSQL (CI sets it)", testutil.PostgresEnv)
	}
	return dsn
}

// TestFrozenNodeReleasesItsLocks: node A stops in the middle of a
// transaction holding a user row, a limit row and the administrators'
// advisory lock, as a paused process or a frozen VM would (nothing of it
// runs: no deadline, no rollback). The server ends A's idle transaction,
// so node B's transaction on the same rows succeeds within twice the time
// limit of the freeze. When A wakes, its commit fails (503, not a
// success) and nothing it wrote is there.
func TestFrozenNodeReleasesItsLocks(t *testing.T) {
	t.Parallel()
	dsn := postgresOnly(t)
	a, b := testutil.OpenURL(t, dsn), testutil.OpenURL(t, dsn)
	a.SetTimeout(limit)
	b.SetTimeout(limit)
	wa := watchStore(a)
	ctx := context.Background()
	const key = "signin:email:ada@example.com"
	if err := b.CreateUser(ctx, newUser("u1", "ada@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := b.SetLimit(ctx, key, t0); err != nil {
		t.Fatal(err)
	}

	locked, wake, woke := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		// No time limit of the transaction's own (UpdateWithin 0): the
		// Go side would roll nothing back while A is "frozen" below.
		woke <- a.UpdateWithin(ctx, 0, func(tx airlock.Tx) error {
			if _, err := tx.UserByIDForUpdate(ctx, "u1"); err != nil {
				return err
			}
			if _, err := tx.LockLimit(ctx, key); err != nil {
				return err
			}
			if err := tx.SetLimit(ctx, key, t0.Add(42*time.Hour)); err != nil {
				return err
			}
			if err := tx.LockAdmins(ctx); err != nil {
				return err
			}
			close(locked)
			<-wake // frozen
			return nil
		})
	}()
	<-locked
	frozen := time.Now()
	var once sync.Once
	unfreeze := func() { once.Do(func() { close(wake) }) }
	defer unfreeze() // if B fails, so that A's locks do not outlive the test

	// B's requests during the freeze, one after the other, until one is
	// served; each gets at most the time limit.
	deadline := frozen.Add(2*limit + 500*time.Millisecond) // slack for a loaded machine
	var refused []error
	for {
		err := b.Update(ctx, func(tx airlock.Tx) error {
			if _, err := tx.UserByIDForUpdate(ctx, "u1"); err != nil {
				return err
			}
			if _, err := tx.LockLimit(ctx, key); err != nil {
				return err
			}
			if err := tx.SetLimit(ctx, key, t0.Add(time.Minute)); err != nil {
				return err
			}
			return tx.LockAdmins(ctx)
		})
		if err == nil {
			break
		}
		if airlock.ErrorCode(err) != airlock.CodeUnavailable {
			t.Fatalf("node B while A is frozen: %v", err)
		}
		refused = append(refused, err)
		if time.Now().After(deadline) {
			t.Fatalf("node B still refused %v after A froze (%d refusals): %v", time.Since(frozen), len(refused), refused)
		}
	}
	t.Logf("node B served %v after A froze, after %d refusals", time.Since(frozen).Round(time.Millisecond), len(refused))

	unfreeze()
	err := <-woke
	if err == nil {
		t.Fatal("node A's commit succeeded after the server had ended its transaction")
	}
	if airlock.ErrorCode(err) != airlock.CodeUnavailable {
		t.Fatalf("node A's commit after waking: %v, want unavailable", err)
	}
	t.Logf("node A after waking: %v", err)
	if downs, _, _ := wa.state(); downs != 0 {
		t.Fatal("node A reported the database down: its own pause is no outage")
	}
	var tat int64
	if err := b.SQL().QueryRowContext(ctx, `SELECT tat FROM rate_limits WHERE key = $1`, key).Scan(&tat); err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(time.Minute).UnixMilli(); tat != want {
		t.Fatalf("limit = %d, want B's %d (A's write must not be there)", tat, want)
	}
	// A serves again, on a fresh connection.
	if _, err := a.UserByID(ctx, "u1"); err != nil {
		t.Fatalf("node A after its failed commit: %v", err)
	}
}

// TestLockWaitIsNotAnOutage: a lock held past lock_timeout (by a session
// without Airlock's limits, such as an operator's psql) and a statement
// past statement_timeout answer 503 for that request, are reported as what
// they are with their table, and do not mark the database down.
func TestLockWaitIsNotAnOutage(t *testing.T) {
	t.Parallel()
	dsn := postgresOnly(t)
	db := testutil.OpenURL(t, dsn)
	db.SetTimeout(limit)
	w := watchStore(db)
	ctx := context.Background()
	const key = "forgot:ip:192.0.2.0"
	if err := db.SetLimit(ctx, key, t0); err != nil {
		t.Fatal(err)
	}

	holder, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT tat FROM rate_limits WHERE key = $1 FOR UPDATE`, key); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(0x61697261646d)); err != nil {
		t.Fatal(err)
	}

	for name, f := range map[string]func(airlock.Tx) error{
		"limit row": func(tx airlock.Tx) error { _, err := tx.LockLimit(ctx, key); return err },
		"advisory":  func(tx airlock.Tx) error { return tx.LockAdmins(ctx) },
	} {
		start := time.Now()
		err := db.Update(ctx, f)
		if airlock.ErrorCode(err) != airlock.CodeUnavailable {
			t.Fatalf("%s: a lock wait past the limit: %v, want unavailable", name, err)
		}
		if took := time.Since(start); took > limit+500*time.Millisecond {
			t.Errorf("%s: the refusal took %v", name, took)
		}
	}
	if err := db.Exec(ctx, `SELECT pg_sleep(3) FROM rate_limits`); airlock.ErrorCode(err) != airlock.CodeUnavailable {
		t.Fatalf("a statement past the limit: %v, want unavailable", err)
	}
	downs, _, gaveUp := w.state()
	if downs != 0 {
		t.Fatal("lock waits and a slow statement marked the database down")
	}
	want := []string{"lock wait timed out on rate_limits", "lock wait timed out on advisory lock", "statement timed out on rate_limits"}
	for _, s := range want {
		if !strings.Contains(strings.Join(gaveUp, "\n"), s) {
			t.Errorf("reported %q, want %q among them", gaveUp, s)
		}
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// cutProxy forwards TCP connections to target until cut: then it closes
// them, and closes new ones at once, like a network path that is gone.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				c.Close()
				p.mu.Unlock()
				continue
			}
			p.mu.Unlock()
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) setCut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = on
	if on {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// TestConnectionFailuresAreAnOutage: one query failing for want of a
// connection is not an outage; several in a row are, reported once; a
// failed ping is at once; the first answer after brings it back.
func TestConnectionFailuresAreAnOutage(t *testing.T) {
	t.Parallel()
	dsn := postgresOnly(t)
	testutil.OpenURL(t, dsn) // migrated
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	db, err := store.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetTimeout(limit)
	w := watchStore(db)
	ctx := context.Background()
	if _, err := db.CountActiveAdmins(ctx); err != nil {
		t.Fatal(err)
	}

	proxy.setCut(true)
	for i := 1; i <= 3; i++ {
		start := time.Now()
		if _, err := db.CountActiveAdmins(ctx); airlock.ErrorCode(err) != airlock.CodeUnavailable {
			t.Fatalf("query %d while cut off: %v, want unavailable", i, err)
		} else {
			t.Logf("query %d: %v in %v", i, err, time.Since(start))
		}
		downs, _, _ := w.state()
		if want := map[bool]int{true: 1, false: 0}[i == 3]; downs != want {
			t.Fatalf("after %d failed queries: %d outages reported, want %d", i, downs, want)
		}
	}
	if err := db.Ping(ctx); err == nil {
		t.Fatal("ping while cut off")
	}
	if downs, _, _ := w.state(); downs != 1 {
		t.Fatalf("%d outages reported, want 1", downs)
	}

	proxy.setCut(false)
	if _, err := db.CountActiveAdmins(ctx); err != nil {
		t.Fatalf("after the path came back: %v", err)
	}
	if _, ups, _ := w.state(); ups != 1 {
		t.Fatalf("%d recoveries reported, want 1", ups)
	}

	proxy.setCut(true)
	if err := db.Ping(ctx); err == nil {
		t.Fatal("ping while cut off")
	}
	if downs, _, _ := w.state(); downs != 2 {
		t.Fatalf("a failed ping: %d outages reported, want 2", downs)
	}
}

// TestSQLiteBusyIsNotAnOutage: another process holding SQLite's write lock
// past the time limit answers 503 (unavailable) for that request, without
// marking the database down.
func TestSQLiteBusyIsNotAnOutage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "airlock.db")
	a, b := openPath(t, path), openPath(t, path)
	b.SetTimeout(limit)
	w := watchStore(b)
	ctx := context.Background()
	tx, err := a.SQL().BeginTx(ctx, nil) // immediate: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM rate_limits`); err != nil {
		t.Fatal(err)
	}
	err = b.Update(ctx, func(tx airlock.Tx) error { return tx.SetLimit(ctx, "k", t0) })
	if airlock.ErrorCode(err) != airlock.CodeUnavailable {
		t.Fatalf("write while another process holds the lock: %v, want unavailable", err)
	}
	if downs, _, gaveUp := w.state(); downs != 0 || len(gaveUp) == 0 {
		t.Fatalf("%d outages reported (want 0), gave up: %q", downs, gaveUp)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal("not a client leaving")
	}
}

// TestMigrationsOutlastAShortIdleLimit: a migration's session may idle at
// least 30 s in a transaction (a busy machine starves it between two
// statements), without lock or statement limits; a request's session keeps
// T/2.
func TestMigrationsOutlastAShortIdleLimit(t *testing.T) {
	t.Parallel()
	db := testutil.OpenURL(t, postgresOnly(t))
	db.SetTimeout(4 * time.Second)
	ctx := context.Background()
	for name, want := range map[string]string{"idle_in_transaction_session_timeout": "30s", "lock_timeout": "0", "statement_timeout": "0"} {
		got, err := db.MigrationSetting(ctx, name)
		if err != nil || got != want {
			t.Errorf("migrations' %s = %q, %v; want %s", name, got, err, want)
		}
	}
	var got string
	if err := db.SQL().QueryRowContext(ctx, "SELECT current_setting('idle_in_transaction_session_timeout')").Scan(&got); err != nil || got != "2s" {
		t.Errorf("a request's idle_in_transaction_session_timeout = %q, %v; want 2s", got, err)
	}
}
