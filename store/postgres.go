package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// sessionLimits gives every PostgreSQL connection server-side limits
// derived from the query time limit (AIRLOCK_DATABASE_TIMEOUT, SPEC §8).
// The Go side's deadlines stop only this process from waiting; a node that
// is paused (SIGSTOP, a long GC pause, a frozen VM) or cut off in the middle
// of a transaction enforces nothing, and its backend would sit "idle in
// transaction" holding its row and advisory locks while every other node's
// requests on those rows wait and fail. The server ends such a session by
// itself.
//
// For a time limit T:
//   - idle_in_transaction_session_timeout T/2: a healthy transaction never
//     idles that long between two statements (hashing and mail are done
//     outside transactions, and the whole transaction is limited to T), so
//     a session idle that long belongs to a node that stopped; ending it
//     releases its locks while the requests of the other nodes that queued
//     behind them are still waiting (below), so they succeed.
//   - lock_timeout 0.7T: a lock wait outlasts a frozen holder (T/2) and
//     still ends, as a clear lock_timeout error (55P03) naming what it
//     waited for, before the statement limit and the Go deadline.
//   - statement_timeout 0.8T: a slow statement ends on the server
//     (57014) before the Go deadline (T), so that a Go deadline means the
//     server did not answer at all (health.go tells the two apart).
//   - TCP keepalives (idle T/2, then 2 probes T/4 apart) and
//     tcp_user_timeout T, on both ends: a backend whose node was cut off
//     is noticed and ended within about T even outside a transaction, and
//     this node drops a connection to a server that vanished.
//
// A setting the operator put in the URL (as a parameter, or in "options"
// with -c) is kept: it was chosen on purpose, for example for a pooler
// that refuses some parameters.
type sessionLimits struct {
	config  *pgx.ConnConfig
	timeout atomic.Int64 // nanoseconds; connections made under another value are replaced
}

// limitsKey marks a connection with the time limit its settings came from.
const limitsKey = "airlock.timeout"

func openPostgres(ctx context.Context, dbURL string) (*DB, error) {
	config, err := pgx.ParseConfig(dbURL)
	if err != nil {
		// pgx's message quotes no part of the URL's password.
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	l := &sessionLimits{config: config}
	l.timeout.Store(int64(DefaultTimeout))
	db := stdlib.OpenDB(*config, stdlib.OptionBeforeConnect(l.beforeConnect), stdlib.OptionResetSession(l.resetSession))
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		// pgx names the host, user and database here, never the password.
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := newDB(db, postgresDialect)
	s.limits = l
	return s, nil
}

// params are the runtime parameters of a connection made under time limit t.
func (l *sessionLimits) params(t time.Duration) map[string]string {
	p := make(map[string]string, len(l.config.RuntimeParams)+7)
	for k, v := range l.config.RuntimeParams {
		p[k] = v
	}
	if t <= 0 {
		return p // no time limit (tests and tools only): none on the server either
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }
	secs := func(d time.Duration) string {
		return strconv.FormatInt(max(int64((d+time.Second-1)/time.Second), 1), 10)
	}
	limits := map[string]string{
		"idle_in_transaction_session_timeout": ms(t / 2),
		"lock_timeout":                        ms(t * 7 / 10),
		"statement_timeout":                   ms(t * 8 / 10),
		"tcp_keepalives_idle":                 secs(t / 2),
		"tcp_keepalives_interval":             secs(t / 4),
		"tcp_keepalives_count":                "2",
		"tcp_user_timeout":                    ms(t),
	}
	for k, v := range limits {
		if !l.operatorSet(k) {
			p[k] = v
		}
	}
	return p
}

// operatorSet says whether the operator set parameter k in the URL (as a
// parameter, or in "options" with -c): such a setting is kept.
func (l *sessionLimits) operatorSet(k string) bool {
	_, set := l.config.RuntimeParams[k]
	return set || strings.Contains(l.config.RuntimeParams["options"], k)
}

// beforeConnect gives a new connection the limits of the current time
// limit, and marks it with that limit.
func (l *sessionLimits) beforeConnect(_ context.Context, c *pgx.ConnConfig) error {
	t := time.Duration(l.timeout.Load())
	c.RuntimeParams = l.params(t)
	// Keepalives from this end too: a pooled connection to a server that
	// vanished is found dead rather than handed to a request.
	d := &net.Dialer{Timeout: c.ConnectTimeout}
	if t > 0 {
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: t / 2, Interval: t / 4, Count: 2}
	}
	c.DialFunc = d.DialContext
	after := c.AfterConnect
	c.AfterConnect = func(ctx context.Context, pc *pgconn.PgConn) error {
		pc.CustomData()[limitsKey] = int64(t)
		if after != nil {
			return after(ctx, pc)
		}
		return nil
	}
	return nil
}

// resetSession replaces a pooled connection made under another time limit
// (SetTimeout after the pool's first connection), so that every session
// has the limits of the current one.
func (l *sessionLimits) resetSession(_ context.Context, c *pgx.Conn) error {
	if c.PgConn().CustomData()[limitsKey] != l.timeout.Load() {
		return driver.ErrBadConn
	}
	return nil
}

// migrationIdle is the least idle-in-transaction limit of a migration's
// session: under load 25 on two cores, one migration was once ended by a
// T/2 of 2.5 s.
const migrationIdle = 30 * time.Second

// migrationPool is a pool for the migrations: the same connections without
// the lock and statement limits, which a migration that rewrites a large
// table or waits for the running transactions to finish would exceed.
// The idle-in-transaction limit and the keepalives stay, so that a node
// that stops while migrating does not hold the tables locked for long; the
// idle limit is at least migrationIdle, since a busy machine can starve a
// migration between two statements longer than a request's T/2.
func (l *sessionLimits) migrationPool() *sql.DB {
	db := stdlib.OpenDB(*l.config, stdlib.OptionBeforeConnect(func(ctx context.Context, c *pgx.ConnConfig) error {
		if err := l.beforeConnect(ctx, c); err != nil {
			return err
		}
		for _, k := range []string{"lock_timeout", "statement_timeout"} {
			if !l.operatorSet(k) {
				c.RuntimeParams[k] = "0"
			}
		}
		const k = "idle_in_transaction_session_timeout"
		if t := time.Duration(l.timeout.Load()); t > 0 && t/2 < migrationIdle && !l.operatorSet(k) {
			c.RuntimeParams[k] = strconv.FormatInt(migrationIdle.Milliseconds(), 10)
		}
		return nil
	}))
	db.SetMaxOpenConns(4) // goose holds one for its lock
	return db
}
