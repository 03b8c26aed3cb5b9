// Package store keeps Airlock's data in SQLite or PostgreSQL through
// database/sql. Queries are written once with ? placeholders; the few
// differences between dialects are isolated in the dialect type.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/airlockhq/airlock"
)

//go:embed migrations
var migrations embed.FS

type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

// DB is an airlock.Store on a database/sql pool.
type DB struct {
	queries
	// db does every write and, on PostgreSQL, every query.
	db *sql.DB
	// SQLite only: the read-only connections of plain SELECTs outside a
	// transaction, and the statements prepared on both pools.
	read        *sql.DB
	stmts       *statements
	checkpoints *checkpointer
	// PostgreSQL only: the server-side limits of its sessions.
	limits *sessionLimits
}

var _ airlock.Store = (*DB)(nil)

// Open opens the database named by an AIRLOCK_DATABASE_URL value
// ("sqlite:PATH" or "postgres://…"). It does not migrate.
func Open(ctx context.Context, dbURL string) (*DB, error) {
	switch {
	case strings.HasPrefix(dbURL, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dbURL, "sqlite:"))
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		return openPostgres(ctx, dbURL)
	default:
		return nil, fmt.Errorf("unsupported database URL (want sqlite:PATH or postgres://…)")
	}
}

func newDB(db *sql.DB, d dialect) *DB {
	return &DB{queries: queries{x: db, d: d, timeout: DefaultTimeout, health: &health{}}, db: db}
}

// SetTimeout changes the time limit of every query and write transaction
// (AIRLOCK_DATABASE_TIMEOUT), and on PostgreSQL the server-side limits of
// every session, which it is derived from (postgres.go). Call it before the
// pool is used concurrently.
func (s *DB) SetTimeout(d time.Duration) {
	s.timeout = d
	if s.limits != nil {
		s.limits.timeout.Store(int64(d))
	}
}

// Writers says how many write transactions the database runs at once:
// one on SQLite (one writing connection), several on PostgreSQL.
func (s *DB) Writers() int {
	if s.d == sqliteDialect {
		return 1
	}
	return s.db.Stats().MaxOpenConnections
}

// OnAvailability registers a function called when the database becomes
// unreachable (up false, with the error) and when it answers again.
func (s *DB) OnAvailability(f func(up bool, cause error)) {
	s.health.mu.Lock()
	s.health.notify = f
	s.health.mu.Unlock()
}

// OnGaveUp registers a function called when a query could not be served
// in time while the database answers: what happened ("lock wait timed
// out", "statement timed out", …) and the table it was on ("" when not
// known). The request answers 503; the database is not reported down.
func (s *DB) OnGaveUp(f func(what, table string, cause error)) {
	s.health.mu.Lock()
	s.health.gaveUp = f
	s.health.mu.Unlock()
}

// Migrate applies the embedded migrations of the database's dialect.
func (s *DB) Migrate(ctx context.Context) error { return s.migrateTo(ctx, 0) }

// migrateTo applies the migrations up to version (0: all of them).
func (s *DB) migrateTo(ctx context.Context, version int64) error {
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if s.d == postgresDialect {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	if s.d == postgresDialect {
		// Several nodes may start at once: one migrates, the others wait.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	db := s.db
	if s.limits != nil {
		db = s.limits.migrationPool()
		defer db.Close()
	}
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if version > 0 {
		_, err = p.UpTo(ctx, version)
	} else {
		_, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if version == 0 || version >= 14 {
		return s.fillSearch(ctx)
	}
	return nil
}

// fillSearch fills the search column (migration 14) of the users written
// before it, in Go where the folding lives: an email is never empty, so
// an empty search is a row not filled yet. Nodes starting together may
// both fill a row: with the same value.
func (s *DB) fillSearch(ctx context.Context) error {
	type user struct{ id, email, first, last string }
	for {
		var batch []user
		rows, err := s.query(ctx, `SELECT id, email, first_name, last_name FROM users WHERE search = '' LIMIT 500`)
		if err != nil {
			return fmt.Errorf("migrate: fill users.search: %w", err)
		}
		for rows.Next() {
			var u user
			if err := rows.Scan(&u.id, &u.email, &u.first, &u.last); err != nil {
				rows.Close()
				return fmt.Errorf("migrate: fill users.search: %w", err)
			}
			batch = append(batch, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("migrate: fill users.search: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		err = s.Update(ctx, func(t airlock.Tx) error {
			q := t.(*queries)
			for _, u := range batch {
				if _, err := q.exec(ctx, `UPDATE users SET search = ? WHERE id = ?`, searchOf(u.email, u.first, u.last), u.id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate: fill users.search: %w", err)
		}
	}
}

// Ping checks that the database answers, within the query time limit.
func (s *DB) Ping(ctx context.Context) error {
	pctx, cancel := s.deadline(ctx)
	defer cancel()
	if s.read != nil {
		if err := s.verdict(ctx, "", s.read.PingContext(pctx), true); err != nil {
			return err
		}
	}
	return s.verdict(ctx, "", s.db.PingContext(pctx), true)
}

// Close closes the pools.
func (s *DB) Close() error {
	if s.stmts != nil {
		s.stmts.close()
	}
	if s.checkpoints != nil {
		s.checkpoints.stop()
	}
	if s.read != nil {
		s.read.Close()
	}
	return s.db.Close()
}

// SQL returns the pool that writes, for tests and tools.
func (s *DB) SQL() *sql.DB { return s.db }

// Update runs fn in one write transaction, committed when fn returns nil.
// The whole transaction has the query time limit, so that a stalled
// database never holds a request (or SQLite's write lock) for long.
func (s *DB) Update(ctx context.Context, fn func(airlock.Tx) error) error {
	return s.UpdateWithin(ctx, s.timeout, fn)
}

// UpdateWithin runs fn in one write transaction limited to limit (0: no
// limit of its own); each query in it keeps the query time limit.
func (s *DB) UpdateWithin(ctx context.Context, limit time.Duration, fn func(airlock.Tx) error) error {
	tctx, cancel := ctx, context.CancelFunc(func() {})
	if limit > 0 {
		tctx, cancel = context.WithTimeout(ctx, limit)
	}
	defer cancel()
	tx, err := s.db.BeginTx(tctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", s.check(ctx, overLimit(ctx, tctx, err)))
	}
	var x execer = tx
	if s.stmts != nil {
		x = &txStatements{tx: tx, s: s.stmts}
	}
	if err := fn(&queries{x: x, d: s.d, timeout: s.timeout, health: s.health}); err != nil {
		tx.Rollback()
		if errors.Is(err, sql.ErrTxDone) && airlock.AsError(err) == nil {
			return fmt.Errorf("transaction: %w", s.check(ctx, overLimit(ctx, tctx, err)))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		// Never a success: on PostgreSQL the server may have ended the
		// transaction (a node paused past idle_in_transaction_session_timeout).
		return fmt.Errorf("commit: %w", s.check(ctx, overLimit(ctx, tctx, err)))
	}
	return nil
}

// overLimit marks err as the transaction's own time limit running out, when
// it did: database/sql then rolls the transaction back, and its next query
// or commit says only that it is done.
func overLimit(ctx, tctx context.Context, err error) error {
	if tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil && !errors.Is(err, errTransactionLimit) {
		return fmt.Errorf("%w (%w)", err, errTransactionLimit)
	}
	return err
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements airlock.Tx on a pool or a transaction.
type queries struct {
	x       execer
	d       dialect
	timeout time.Duration // per query; 0: none
	health  *health
}

// q is query with its ? placeholders in the dialect's form ($1, $2, … on
// PostgreSQL), rewritten once per query text and kept.
func (q *queries) q(query string) string {
	if q.d != postgresDialect {
		return query
	}
	if bound, ok := postgresQueries.Load(query); ok {
		return bound.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	bound, _ := postgresQueries.LoadOrStore(query, b.String())
	return bound.(string)
}

// postgresQueries keeps each query text's PostgreSQL form. The texts are
// the store's own (no input is ever part of one), so the set is bounded.
var postgresQueries sync.Map

func (q *queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	qctx, cancel := q.deadline(ctx)
	defer cancel()
	res, err := q.x.ExecContext(qctx, q.q(query), args...)
	return res, q.checkQuery(ctx, query, err)
}

func (q *queries) query(ctx context.Context, query string, args ...any) (*rows, error) {
	qctx, cancel := q.deadline(ctx)
	r, err := q.x.QueryContext(qctx, q.q(query), args...)
	if err != nil {
		cancel()
		return nil, q.checkQuery(ctx, query, err)
	}
	return &rows{Rows: r, query: query, ctx: ctx, cancel: cancel, q: q}, nil
}

func (q *queries) row(ctx context.Context, query string, args ...any) *row {
	qctx, cancel := q.deadline(ctx)
	return &row{r: q.x.QueryRowContext(qctx, q.q(query), args...), query: query, ctx: ctx, cancel: cancel, q: q}
}

// forUpdate is the row-locking suffix; SQLite's write transactions already
// hold the database lock.
func (q *queries) forUpdate() string {
	if q.d == postgresDialect {
		return " FOR UPDATE"
	}
	return ""
}

// lockRow is the suffix that locks a user row for the transaction on
// PostgreSQL. FOR NO KEY UPDATE (what an UPDATE of the row takes anyway)
// rather than FOR UPDATE: inserting a session or a token references the
// user and takes a KEY SHARE lock on it, which FOR UPDATE would block,
// deadlocking with a transaction that holds that token's row.
func (q *queries) lockRow() string {
	if q.d == postgresDialect {
		return " FOR NO KEY UPDATE"
	}
	return ""
}

// dbNow is the database's own clock in Unix milliseconds, as an SQL
// expression: leases are held and checked on it, not on each node's clock,
// so that nodes whose clocks disagree never both hold one job (SPEC §8).
func (q *queries) dbNow() string {
	if q.d == postgresDialect {
		return "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// skipLocked makes concurrent job claimers on PostgreSQL pass over rows
// another node is claiming instead of queueing behind them.
func (q *queries) skipLocked() string {
	if q.d == postgresDialect {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// ms turns a time into Unix milliseconds, nil for the zero time.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return airlock.ErrNotFound
	}
	return err
}

// isUniqueViolation reports whether err is a unique constraint's refusal:
// SQLSTATE 23505 on PostgreSQL, SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY on
// SQLite (by code, never by the message's words).
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		code := sqliteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
