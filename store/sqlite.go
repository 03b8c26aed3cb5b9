package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"
)

// openSQLite opens a SQLite file as two pools: one connection that does
// every write, and read-only connections for plain SELECTs.
//
// SQLite lets one writer in at a time whatever the number of connections; a
// second connection that wants to write waits in SQLite's busy handler,
// which sleeps and polls (1 ms, 2 ms, 5 ms, … 100 ms). Under load that
// sleeping, not the work, bounded throughput. With one writing connection,
// writers of this process queue in database/sql instead and are handed the
// connection the moment it is free; the busy handler only arbitrates with
// other processes (the CLI while serve runs). Readers never wait for the
// writer in WAL mode.
//
// Durability: WAL with synchronous=NORMAL. A commit is in the WAL file
// when it returns, so it survives the process crashing or being killed;
// the WAL is synced to disk at each checkpoint (every 100 ms, in the
// background), not at each commit, so a power loss or an operating-system
// crash may lose the transactions of the last moments before it (never
// corrupt the database). See the README.
func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty path")
	}
	v := url.Values{}
	// The busy timeout makes a writer of another process (the CLI while serve
	// runs) wait instead of failing with "database is locked"; WAL lets
	// readers work while one writer writes; immediate transactions take the
	// write lock up front so two transactions never deadlock upgrading a
	// read lock.
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "synchronous(NORMAL)")
	// The writer checkpoints only if the background checkpointer (below)
	// falls 40 MB behind; the WAL file is cut back to 64 MB after.
	v.Add("_pragma", "wal_autocheckpoint(10000)")
	v.Add("_pragma", "journal_size_limit(67108864)")
	// A statement that writes many rows (a batch's audit events, its
	// limits) keeps a statement journal of the pages it changed, to undo
	// itself alone if it fails; past 64 KiB SQLite spilled it to a
	// temporary file, a write system call per page (4% of a node's time
	// under a flood, bench/RESULTS.md 2026-12-07). Kept in memory instead:
	// it lives only as long as the statement.
	v.Add("_pragma", "temp_store(MEMORY)")
	v.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	// Kept open: its prepared statements live as long as it does.
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	r := url.Values{}
	r.Add("_pragma", "busy_timeout(10000)")
	r.Add("_pragma", "foreign_keys(1)")
	// A statement sent to a reader by mistake fails instead of writing.
	r.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", "file:"+path+"?"+r.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	read.SetConnMaxIdleTime(5 * time.Minute)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Checkpoints run on a connection of their own, every 100 ms: done by
	// the writer (SQLite's default), each one held the write lock, and so
	// every request waiting to commit, while it copied pages and synced
	// two files; under a flood that was a checkpoint every few tens of
	// milliseconds (bench/RESULTS.md, 2026-11-27). A passive checkpoint
	// waits for nobody and nobody waits for it.
	// Its page cache is kept small: a checkpoint copies pages once and reads
	// none of them again, so the 2 MiB default only held memory.
	c := url.Values{}
	c.Add("_pragma", "busy_timeout(10000)")
	c.Add("_pragma", "query_only(1)")
	c.Add("_pragma", "cache_size(-128)")
	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+c.Encode())
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	db := newDB(write, sqliteDialect)
	db.read = read
	db.checkpoints = startCheckpoints(ckpt)
	db.stmts = &statements{write: write, read: read, m: map[stmtKey]*sql.Stmt{}, pending: map[stmtKey]bool{}}
	db.stmts.ctx, db.stmts.cancel = context.WithCancel(context.Background())
	db.queries.x = &pooled{db.stmts}
	return db, nil
}

// checkpointer copies the WAL into the database file in the background.
type checkpointer struct {
	db   *sql.DB
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

func startCheckpoints(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		// A failed or partial checkpoint (a reader still on old frames)
		// is simply done again at the next tick; the writer's own
		// checkpoint (wal_autocheckpoint) is the backstop.
		_, _ = c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// stop ends the checkpoints and closes their connection; again, nothing.
func (c *checkpointer) stop() {
	c.once.Do(func() {
		close(c.quit)
		<-c.done
		c.db.Close()
	})
}

// maxStatements bounds the statements kept prepared; the store's queries
// are a fixed set of texts, with a few variants (lists of ids).
const maxStatements = 256

// statements prepares each statement once per connection and keeps it:
// this SQLite driver has no statement cache, and parsing a small statement
// costs as much as running it.
type statements struct {
	write, read *sql.DB
	mu          sync.Mutex
	m           map[stmtKey]*sql.Stmt
	pending     map[stmtKey]bool
	// preparing counts the preparations under way, which close waits for
	// (cancelling them): none may touch the file after the store is closed.
	preparing sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
}

// close ends the preparations under way and waits for them.
func (s *statements) close() {
	s.cancel()
	s.preparing.Wait()
}

type stmtKey struct {
	read  bool
	query string
}

func (s *statements) pool(read bool) *sql.DB {
	if read {
		return s.read
	}
	return s.write
}

// get returns query prepared on the pool, or nil the first time it is
// seen: it is then prepared in the background, once the pool has a
// connection free, and meanwhile runs unprepared. (Preparing it at once
// could deadlock: a transaction may hold the only writing connection.)
func (s *statements) get(read bool, query string) *sql.Stmt {
	k := stmtKey{read, query}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[k]
	if st == nil && !s.pending[k] && len(s.m)+len(s.pending) < maxStatements {
		s.pending[k] = true
		s.preparing.Go(func() { s.prepare(k) })
	}
	return st
}

func (s *statements) prepare(k stmtKey) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	st, err := s.pool(k.read).PrepareContext(ctx, k.query)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, k)
	if err == nil {
		// On failure nothing is kept: the statement runs unprepared, says
		// why it fails there, and is tried again at its next use.
		s.m[k] = st
	}
}

// isRead reports whether a statement only reads: a plain SELECT.
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// pooled runs statements outside a transaction: plain SELECTs on the
// readers, everything else on the writer.
type pooled struct{ s *statements }

func (p *pooled) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.s.get(false, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.s.write.ExecContext(ctx, query, args...)
}

func (p *pooled) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	read := isRead(query)
	if st := p.s.get(read, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.s.pool(read).QueryContext(ctx, query, args...)
}

func (p *pooled) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	read := isRead(query)
	if st := p.s.get(read, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.s.pool(read).QueryRowContext(ctx, query, args...)
}

// txStatements runs a write transaction's statements, prepared ones when
// they are.
type txStatements struct {
	tx *sql.Tx
	s  *statements
}

func (t *txStatements) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.s.get(false, query); st != nil {
		ts := t.tx.StmtContext(ctx, st)
		defer ts.Close()
		return ts.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *txStatements) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.s.get(false, query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *txStatements) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.s.get(false, query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
