package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/airlockhq/airlock"
)

// DefaultTimeout bounds every query and every write transaction, so that a
// database that stalls (a network path that drops packets) turns into
// answers, not into requests that hang.
const DefaultTimeout = 5 * time.Second

// unavailableRetry is the Retry-After given while the database is away.
const unavailableRetry = 5 * time.Second

// health remembers whether the database answered last time, so that an
// outage is reported once when it starts and once when it ends, not for
// every request.
type health struct {
	mu     sync.Mutex
	down   bool
	notify func(up bool, cause error)
}

func (h *health) set(up bool, cause error) {
	h.mu.Lock()
	changed := h.down == up
	h.down = !up
	notify := h.notify
	h.mu.Unlock()
	if changed && notify != nil {
		notify(up, cause)
	}
}

// Down reports whether the last query found the database unreachable.
func (h *health) Down() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

// deadline gives a query or a transaction its time limit.
func (q *queries) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if q.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, q.timeout)
}

// check classifies a query's error. The database being unreachable, stalled
// or busy (SQLite's lock held past the busy timeout) becomes
// airlock.CodeUnavailable, which the fronts answer with 503 and Retry-After;
// the outage is reported once through the health tracker. A request whose
// own client went away is not an outage.
func (q *queries) check(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		if q.health != nil {
			q.health.set(true, nil)
		}
		return err
	}
	if ctx.Err() == context.Canceled {
		// The client went away: whatever the driver says (a rolled-back
		// transaction, a connection closed under it) is that, not a fault.
		if !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%w)", err, context.Canceled)
		}
		return err
	}
	if !unavailable(err) {
		return err
	}
	if q.health != nil {
		q.health.set(false, err)
	}
	return &airlock.Error{Code: airlock.CodeUnavailable, RetryAfter: unavailableRetry, Err: err,
		Key: "error.unavailable"}
}

// unavailable reports whether err means the database cannot be reached or
// cannot answer now, as opposed to a query it refused.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P0x: shutting down, cannot connect
		// now; 53: insufficient resources (too many connections).
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || strings.HasPrefix(pgErr.Code, "53")
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		code := sqliteErr.Code() & 0xff // primary result code
		// SQLITE_BUSY, SQLITE_LOCKED: the lock was held past the busy timeout;
		// SQLITE_INTERRUPT: the query's deadline interrupted it.
		return code == 5 || code == 6 || code == 9
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed), errors.As(err, &connectErr), errors.As(err, &netErr),
		pgconn.Timeout(err):
		return true
	}
	return strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "database is locked")
}

// row is a *sql.Row whose deadline ends when it is scanned.
type row struct {
	r      *sql.Row
	ctx    context.Context
	cancel context.CancelFunc
	q      *queries
}

func (r *row) Scan(dst ...any) error {
	defer r.cancel()
	return r.q.check(r.ctx, r.r.Scan(dst...))
}

// rows is a *sql.Rows whose deadline ends when it is closed.
type rows struct {
	*sql.Rows
	ctx    context.Context
	cancel context.CancelFunc
	q      *queries
}

func (r *rows) Close() error {
	err := r.Rows.Close()
	r.cancel()
	return err
}

func (r *rows) Err() error { return r.q.check(r.ctx, r.Rows.Err()) }

// AutovacuumOff says whether the database is PostgreSQL with its autovacuum
// turned off. The jobs table is a queue whose upkeep is left to autovacuum
// (migration 11): without it, its dead rows stay until someone runs VACUUM.
// SQLite reuses its free pages by itself: false.
func (s *DB) AutovacuumOff(ctx context.Context) (bool, error) {
	if s.d != postgresDialect {
		return false, nil
	}
	var v string
	if err := s.db.QueryRowContext(ctx, "SELECT current_setting('autovacuum')").Scan(&v); err != nil {
		return false, fmt.Errorf("read the autovacuum setting: %w", err)
	}
	return v == "off", nil
}
