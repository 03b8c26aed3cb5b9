package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
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

// outageAfter is how many queries in a row must fail for connection
// reasons before the database is reported unreachable: one lost
// connection or one query without an answer is not an outage.
const outageAfter = 3

// health remembers whether the database answered last time, so that an
// outage is reported once when it starts and once when it ends, not for
// every request. The database is down when a ping fails, or when
// outageAfter queries in a row failed for connection reasons; any answer
// from the server (a result, or a refusal) brings it up again.
type health struct {
	mu       sync.Mutex
	down     bool
	failures int // queries in a row that failed for connection reasons
	notify   func(up bool, cause error)
	gaveUp   func(what, table string, cause error)
}

func (h *health) set(up bool, cause error) {
	h.mu.Lock()
	changed := h.down == up
	h.down = !up
	h.failures = 0
	notify := h.notify
	h.mu.Unlock()
	if changed && notify != nil {
		notify(up, cause)
	}
}

// failed counts a failure for connection reasons; a failed ping is enough.
func (h *health) failed(cause error, ping bool) {
	h.mu.Lock()
	h.failures++
	reached := ping || h.failures >= outageAfter
	h.mu.Unlock()
	if reached {
		h.set(false, cause)
	}
}

// Down reports whether the database is reported unreachable.
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

// check classifies the error of a query whose text is not at hand.
func (q *queries) check(ctx context.Context, err error) error { return q.verdict(ctx, "", err, false) }

// checkQuery classifies the error of query.
func (q *queries) checkQuery(ctx context.Context, query string, err error) error {
	return q.verdict(ctx, query, err, false)
}

// verdict classifies a query's (or a ping's) error. The database being
// unreachable, stalled or too slow for this request (a lock held past
// lock_timeout, a statement past statement_timeout, SQLite's lock held past
// the time limit) becomes airlock.CodeUnavailable, which the fronts answer
// with 503 and Retry-After. Only connection failures count towards an
// outage (health); a query that gave up while the server answers is
// reported as what it is, with its table (gaveUp). A request whose own
// client went away is neither.
func (q *queries) verdict(ctx context.Context, query string, err error, ping bool) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		q.answered()
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
	switch what := q.fault(err); {
	case ping || what == unreachable:
		if q.health != nil {
			q.health.failed(err, ping)
		}
	case what == "":
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			q.answered() // a refusal is an answer
		}
		return err
	default:
		// The server answered, too late for this request: not an outage.
		if q.health != nil {
			q.health.mu.Lock()
			gaveUp := q.health.gaveUp
			q.health.mu.Unlock()
			if gaveUp != nil {
				gaveUp(what, tableOf(query, err), err)
			}
		}
	}
	return &airlock.Error{Code: airlock.CodeUnavailable, RetryAfter: unavailableRetry, Err: err,
		Key: "error.unavailable"}
}

func (q *queries) answered() {
	if q.health != nil {
		q.health.set(true, nil)
	}
}

// unreachable is fault's word for a connection failure.
const unreachable = "unreachable"

// fault says why err means the request cannot be served now: unreachable
// for a connection failure (which may be an outage), or what gave up while
// the database answers ("lock wait timed out", …); "" for a query the
// database refused, which is not for this file to judge.
func (q *queries) fault(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "55P03":
			return "lock wait timed out"
		case pgErr.Code == "57014":
			return "statement timed out"
		case pgErr.Code == "25P03":
			// This node idled past idle_in_transaction_session_timeout (it
			// was paused): the server ended the transaction, nothing of it
			// was committed.
			return "transaction ended by the server after idling"
		case strings.HasPrefix(pgErr.Code, "08"), strings.HasPrefix(pgErr.Code, "57P"), strings.HasPrefix(pgErr.Code, "53"):
			// Class 08: connection exception; 57P0x: shutting down, cannot
			// connect now; 53: insufficient resources (too many connections).
			return unreachable
		}
		return ""
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff { // primary result code
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED: another process held the lock
			return "lock wait timed out"
		case 9: // SQLITE_INTERRUPT: the query's deadline interrupted it
			return "statement timed out"
		}
		return ""
	}
	if strings.Contains(err.Error(), "database is locked") {
		return "lock wait timed out"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case q.d == sqliteDialect && errors.Is(err, context.DeadlineExceeded):
		// A local file: waiting past the time limit is waiting for its lock.
		return "lock wait timed out"
	case errors.Is(err, errTransactionLimit):
		return "transaction took longer than its time limit"
	case errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) && !errors.As(err, &connectErr):
		// database/sql's own: every connection of the pool was busy.
		return "no free connection within the time limit"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed), errors.As(err, &connectErr), errors.As(err, &netErr),
		pgconn.Timeout(err), strings.Contains(err.Error(), "conn closed"):
		// No answer within the time limit, though the server ends slow
		// statements and lock waits before it (postgres.go), is the server
		// or the path to it stalling.
		return unreachable
	}
	return ""
}

// errTransactionLimit marks a transaction that ran out of its own time
// limit (Update), rolled back by database/sql.
var errTransactionLimit = errors.New("transaction time limit reached")

var (
	// relationRE finds the table in a lock wait's context line ("while
	// locking tuple (0,1) in relation \"rate_limits\"").
	relationRE = regexp.MustCompile(`relation "([^"]+)"`)
	// tableRE finds the first table a query names.
	tableRE = regexp.MustCompile(`(?i)\b(?:from|into|update|join)\s+([a-z_][a-z0-9_]*)\b\s*([^(\s]|$)`)
)

// tableOf names what a query that gave up was working on, for the log: the
// server's word when it gives one, else the query's first table, else ""
// (a commit).
func tableOf(query string, err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if pgErr.TableName != "" {
			return pgErr.TableName
		}
		if m := relationRE.FindStringSubmatch(pgErr.Where); m != nil {
			return m[1]
		}
	}
	if strings.Contains(query, "pg_advisory") {
		return "advisory lock"
	}
	if m := tableRE.FindStringSubmatch(query); m != nil {
		return m[1]
	}
	return ""
}

// row is a *sql.Row whose deadline ends when it is scanned.
type row struct {
	r      *sql.Row
	query  string
	ctx    context.Context
	cancel context.CancelFunc
	q      *queries
}

func (r *row) Scan(dst ...any) error {
	defer r.cancel()
	return r.q.checkQuery(r.ctx, r.query, r.r.Scan(dst...))
}

// rows is a *sql.Rows whose deadline ends when it is closed.
type rows struct {
	*sql.Rows
	query  string
	ctx    context.Context
	cancel context.CancelFunc
	q      *queries
}

func (r *rows) Close() error {
	err := r.Rows.Close()
	r.cancel()
	return err
}

func (r *rows) Err() error { return r.q.checkQuery(r.ctx, r.query, r.Rows.Err()) }

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
