package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

const jobColumns = `id, kind, payload, run_at, attempts, last_error, created_at, state, lease_owner, taken_over,
	user_id, email_kind, reply, message_id, updated_at, sent_at, items, token_hash, link_sealed, prepared_at`

func scanJob(sc interface{ Scan(...any) error }) (*airlock.Job, error) {
	var j airlock.Job
	var payload string
	var runAt, created, updated, prepared int64
	var taken int
	var sent sql.NullInt64
	if err := sc.Scan(&j.ID, &j.Kind, &payload, &runAt, &j.Attempts, &j.LastError, &created, &j.State, &j.LeaseOwner, &taken,
		&j.UserID, &j.EmailKind, &j.Reply, &j.MessageID, &updated, &sent, &j.Items, &j.TokenHash, &j.LinkSealed, &prepared); err != nil {
		return nil, err
	}
	j.Payload = []byte(payload)
	j.RunAt, j.CreatedAt, j.UpdatedAt = time.UnixMilli(runAt).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	j.SentAt, j.TakenOver = fromMS(sent), taken == 1
	if prepared != 0 {
		j.PreparedAt = time.UnixMilli(prepared).UTC()
	}
	return &j, nil
}

// EnqueueJobs adds jobs with multi-row INSERTs (see inChunks).
func (q *queries) EnqueueJobs(ctx context.Context, jobs []*airlock.Job) error {
	err := inChunks(len(jobs), func(from, size int) (string, []any) {
		args := make([]any, 0, 9*size)
		for _, j := range jobs[from : from+size] {
			args = append(args, j.Kind, string(j.Payload), j.RunAt.UnixMilli(), j.CreatedAt.UnixMilli(), j.CreatedAt.UnixMilli(),
				airlock.EmailQueued, j.UserID, j.EmailKind, max(j.Items, 1))
		}
		return `INSERT INTO jobs (kind, payload, run_at, created_at, updated_at, state, user_id, email_kind, items) VALUES ` +
			rowsOf(size, "(?, ?, ?, ?, ?, ?, ?, ?, ?)"), args
	}, q.execIn(ctx))
	if err != nil {
		return fmt.Errorf("enqueue jobs: %w", err)
	}
	for _, j := range jobs {
		j.State = airlock.EmailQueued
	}
	return nil
}

// DeleteJobs deletes jobs by id (see inChunks).
func (q *queries) DeleteJobs(ctx context.Context, owner string, ids []int64) error {
	deleted := int64(0)
	err := inChunks(len(ids), func(from, size int) (string, []any) {
		args := make([]any, 0, size+1)
		for _, id := range ids[from : from+size] {
			args = append(args, id)
		}
		return `DELETE FROM jobs WHERE id IN (` + rowsOf(size, "?") + `) AND ` + q.held(), append(args, owner)
	}, func(query string, args []any) error {
		res, err := q.exec(ctx, query, args...)
		if err == nil {
			n, _ := res.RowsAffected()
			deleted += n
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete jobs: %w", err)
	}
	if deleted != int64(len(ids)) {
		return errLeaseLost
	}
	return nil
}

// errLeaseLost: a job was taken over by another node meanwhile, which
// does it now; whatever this node was writing for it is rolled back.
var errLeaseLost = errors.New("lease lost to another node")

// inChunks cuts n items into statements of 128, 64, … 1 of them: a batch
// costs a few statements, and few statement texts are ever prepared (one
// per size). build makes the statement of items [from, from+size); run
// runs it.
func inChunks(n int, build func(from, size int) (string, []any), run func(query string, args []any) error) error {
	from := 0
	for size := 128; from < n; size /= 2 {
		for n-from >= size {
			query, args := build(from, size)
			if err := run(query, args); err != nil {
				return err
			}
			from += size
		}
	}
	return nil
}

// execIn runs inChunks' statements with exec.
func (q *queries) execIn(ctx context.Context) func(string, []any) error {
	return func(query string, args []any) error {
		_, err := q.exec(ctx, query, args...)
		return err
	}
}

// queryIn runs inChunks' statements with query, and scan on each row.
func (q *queries) queryIn(ctx context.Context, scan func(*rows) error) func(string, []any) error {
	return func(query string, args []any) error {
		rows, err := q.query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}

// rowsOf repeats one row's placeholders n times, comma-separated.
func rowsOf(n int, row string) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// claimable is the condition of a job a worker may take: waiting and due
// (run_at on the application's clock, which schedules the work), or being
// sent by a worker whose lease ran out (a node that died), on the
// database's clock.
func (q *queries) claimable() string {
	return `state IN ('queued', 'deferred', 'sending') AND run_at <= ? AND lease_until < ` + q.dbNow()
}

// held is the condition, in the statement that writes for a claimed job,
// that owner (the statement's parameter) still holds its lease, on the
// database's clock: a node that wakes after losing it writes nothing more
// for that job (SPEC §8).
func (q *queries) held() string {
	return `lease_owner = ? AND state = 'sending' AND lease_until > ` + q.dbNow()
}

// waitingIndex makes SQLite read the waiting jobs in claim order through
// their partial index (jobs_waiting), stopping at the first ones, rather
// than read and sort every waiting job, which it would pick for want of
// statistics. PostgreSQL picks the index by itself.
func (q *queries) waitingIndex() string {
	if q.d == sqliteDialect {
		return " INDEXED BY jobs_waiting"
	}
	return ""
}

// byKey makes SQLite find the picked jobs by their ids, not through an
// index of the other conditions (every waiting job).
func (q *queries) byKey() string {
	if q.d == sqliteDialect {
		return " NOT INDEXED"
	}
	return ""
}

// ClaimJobs leases up to limit of the oldest due jobs in one statement,
// for lease on the database's clock.
func (q *queries) ClaimJobs(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*airlock.Job, error) {
	n := now.UnixMilli()
	// The ids are picked once (a materialized CTE): PostgreSQL may run an
	// IN (subquery) with SKIP LOCKED more than once, and claim more than
	// limit jobs.
	rows, err := q.query(ctx, `WITH picked AS MATERIALIZED (
		  SELECT id FROM jobs`+q.waitingIndex()+` WHERE `+q.claimable()+` ORDER BY run_at, id LIMIT ?`+q.skipLocked()+`)
		UPDATE jobs`+q.byKey()+` SET lease_until = `+q.dbNow()+` + ?, lease_owner = ?, attempts = attempts + 1, updated_at = ?,
		taken_over = CASE WHEN state = 'sending' THEN 1 ELSE 0 END, state = 'sending'
		WHERE id IN (SELECT id FROM picked) AND `+q.claimable()+`
		RETURNING `+jobColumns,
		n, limit, lease.Milliseconds(), owner, n, n)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	defer rows.Close()
	var jobs []*airlock.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	// RETURNING says nothing of the order.
	slices.SortFunc(jobs, func(a, b *airlock.Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return jobs, nil
}

// RenewLease extends a lease its owner still holds, to lease from now on
// the database's clock; a lease that ran out is not renewed (another node
// may have the job, or may take it at any moment).
func (q *queries) RenewLease(ctx context.Context, id int64, owner string, lease time.Duration) (bool, error) {
	res, err := q.exec(ctx, `UPDATE jobs SET lease_until = `+q.dbNow()+` + ? WHERE id = ? AND `+q.held(),
		lease.Milliseconds(), id, owner)
	if err != nil {
		return false, fmt.Errorf("renew lease: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseLeases hands back every job owner holds, due at once.
func (q *queries) ReleaseLeases(ctx context.Context, owner string) (int, error) {
	res, err := q.exec(ctx, `UPDATE jobs SET lease_until = 0, lease_owner = '',
		state = CASE WHEN last_error = '' THEN 'queued' ELSE 'deferred' END
		WHERE lease_owner = ? AND state = 'sending'`, owner)
	if err != nil {
		return 0, fmt.Errorf("release leases: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// cleanReply makes an SMTP server's words (or an error) safe to store and to
// show: valid UTF-8, no control character, at most 500 bytes.
func cleanReply(s string) string { return airlock.CleanText(strings.TrimSpace(s), 500) }

// RetryJob releases a job's lease and schedules it again, if owner still
// held it.
func (q *queries) RetryJob(ctx context.Context, id int64, owner string, now, runAt time.Time, lastError string) error {
	_, err := q.exec(ctx, `UPDATE jobs SET run_at = ?, lease_until = 0, lease_owner = '', state = 'deferred', last_error = ?,
		updated_at = ? WHERE id = ? AND `+q.held(), runAt.UnixMilli(), cleanReply(lastError), now.UnixMilli(), id, owner)
	return err
}

// PrepareEmails records what each email's attempt fixed (see
// airlock.EmailPrep), only for the emails owner still holds, and says
// which those are.
func (q *queries) PrepareEmails(ctx context.Context, owner string, preps []airlock.EmailPrep) (map[int64]bool, error) {
	bytea, bigint, text := "?", "?", "?"
	if q.d == postgresDialect {
		// A CASE of parameters alone would be text.
		bytea, bigint, text = "CAST(? AS BYTEA)", "CAST(? AS BIGINT)", "CAST(? AS TEXT)"
	}
	held := map[int64]bool{}
	err := inChunks(len(preps), func(from, size int) (string, []any) {
		chunk := preps[from : from+size]
		args := make([]any, 0, 9*size+1)
		for _, p := range chunk {
			args = append(args, p.ID, p.MessageID)
		}
		for _, p := range chunk {
			args = append(args, p.ID, p.PreparedAt.UnixMilli())
		}
		for _, p := range chunk {
			args = append(args, p.ID, p.TokenHash)
		}
		for _, p := range chunk {
			args = append(args, p.ID, p.LinkSealed)
		}
		for _, p := range chunk {
			args = append(args, p.ID)
		}
		when := func(v string) string { return `CASE id ` + strings.Repeat("WHEN ? THEN "+v+" ", size) + `END` }
		return `UPDATE jobs SET message_id = ` + when(text) + `, prepared_at = ` + when(bigint) +
			`, token_hash = ` + when(bytea) + `, link_sealed = ` + when(bytea) +
			` WHERE id IN (` + rowsOf(size, "?") + `) AND ` + q.held() + ` RETURNING id`, append(args, owner)
	}, q.queryIn(ctx, func(r *rows) error {
		var id int64
		if err := r.Scan(&id); err != nil {
			return err
		}
		held[id] = true
		return nil
	}))
	if err != nil {
		return nil, fmt.Errorf("prepare emails: %w", err)
	}
	return held, nil
}

// MarkEmailSent records a delivery, if owner still held the lease.
func (q *queries) MarkEmailSent(ctx context.Context, id int64, owner, reply, messageID string, now time.Time) (bool, error) {
	n := now.UnixMilli()
	// The sealed link goes: it served only to send the same message again,
	// and a sent email is never sent again (a stolen backup holds no link).
	res, err := q.exec(ctx, `UPDATE jobs SET state = 'sent', reply = ?, message_id = ?, sent_at = ?, updated_at = ?,
		lease_until = 0, lease_owner = '', last_error = '', link_sealed = NULL WHERE id = ? AND `+q.held(),
		cleanReply(reply), messageID, n, n, id, owner)
	if err != nil {
		return false, fmt.Errorf("mark email sent: %w", err)
	}
	rows, _ := res.RowsAffected()
	return rows == 1, nil
}

// MarkEmailFailed stops an email's retries, if owner still held the lease,
// and kills the reset token it carried: a link nobody received must not
// stay usable.
func (q *queries) MarkEmailFailed(ctx context.Context, id int64, owner, lastError string, now time.Time) (bool, error) {
	n := now.UnixMilli()
	var hash []byte
	err := q.row(ctx, `UPDATE jobs SET state = 'failed', last_error = ?, updated_at = ?, lease_until = 0, lease_owner = '',
		link_sealed = NULL WHERE id = ? AND `+q.held()+` RETURNING token_hash`, cleanReply(lastError), n, id, owner).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark email failed: %w", err)
	}
	if hash == nil {
		return true, nil
	}
	if _, err := q.exec(ctx, `UPDATE reset_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND used_at IS NULL
		AND token_hash = ?`, n, hash); err != nil {
		return false, fmt.Errorf("revoke failed email's token: %w", err)
	}
	return true, nil
}

// RequeueEmail sends a failed or deferred email again now.
func (q *queries) RequeueEmail(ctx context.Context, id int64, now time.Time) error {
	n := now.UnixMilli()
	res, err := q.exec(ctx, `UPDATE jobs SET state = 'queued', run_at = ?, created_at = ?, updated_at = ?, attempts = 0
		WHERE id = ? AND kind = ? AND state IN ('failed', 'deferred')`, n, n, n, id, airlock.JobMail)
	if err != nil {
		return fmt.Errorf("requeue email: %w", err)
	}
	if rows, _ := res.RowsAffected(); rows == 0 {
		return &airlock.Error{Code: airlock.CodeConflict, Key: "error.email.not_retryable"}
	}
	return nil
}

// EmailByID returns one email of the outbox or its history.
func (q *queries) EmailByID(ctx context.Context, id int64) (*airlock.Job, error) {
	j, err := scanJob(q.row(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ? AND kind = ?`, id, airlock.JobMail))
	if err != nil {
		return nil, notFound(err)
	}
	return j, nil
}

// ListEmails returns emails newest first.
func (q *queries) ListEmails(ctx context.Context, f airlock.EmailFilter) ([]*airlock.Job, error) {
	where, args := []string{`kind = ?`}, []any{airlock.JobMail}
	if f.UserID != "" {
		where, args = append(where, `user_id = ?`), append(args, f.UserID)
	}
	if f.State != "" {
		where, args = append(where, `state = ?`), append(args, f.State)
	}
	if f.Kind != "" {
		where, args = append(where, `email_kind = ?`), append(args, f.Kind)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	rows, err := q.query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list emails: %w", err)
	}
	defer rows.Close()
	var out []*airlock.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// OutboxStats counts emails by kind and state.
func (q *queries) OutboxStats(ctx context.Context) (map[[2]string]int, time.Time, error) {
	rows, err := q.query(ctx, `SELECT email_kind, state, COUNT(*), MIN(CASE WHEN state IN ('queued', 'deferred', 'sending') THEN created_at END)
		FROM jobs WHERE kind = ? GROUP BY email_kind, state`, airlock.JobMail)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("outbox stats: %w", err)
	}
	defer rows.Close()
	counts := map[[2]string]int{}
	var oldest time.Time
	for rows.Next() {
		var kind, state string
		var n int
		var first sql.NullInt64
		if err := rows.Scan(&kind, &state, &n, &first); err != nil {
			return nil, time.Time{}, err
		}
		counts[[2]string{kind, state}] = n
		if t := fromMS(first); !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	return counts, oldest, rows.Err()
}

// InsertDevMail keeps an email in the dev mailbox.
func (q *queries) InsertDevMail(ctx context.Context, m *airlock.DevMail) error {
	err := q.row(ctx, `INSERT INTO dev_mail (at, to_addr, subject, text_body, html_body, message_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		m.At.UnixMilli(), m.To, m.Subject, m.Text, m.HTML, m.MessageID).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("insert dev mail: %w", err)
	}
	return nil
}

// ListDevMail returns the dev mailbox, newest first.
func (q *queries) ListDevMail(ctx context.Context, limit int) ([]*airlock.DevMail, error) {
	rows, err := q.query(ctx, `SELECT id, at, to_addr, subject, text_body, html_body, message_id FROM dev_mail ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list dev mail: %w", err)
	}
	defer rows.Close()
	var out []*airlock.DevMail
	for rows.Next() {
		var m airlock.DevMail
		var at int64
		if err := rows.Scan(&m.ID, &at, &m.To, &m.Subject, &m.Text, &m.HTML, &m.MessageID); err != nil {
			return nil, err
		}
		m.At = time.UnixMilli(at).UTC()
		out = append(out, &m)
	}
	return out, rows.Err()
}

// DevMailByID returns one email of the dev mailbox.
func (q *queries) DevMailByID(ctx context.Context, id int64) (*airlock.DevMail, error) {
	var m airlock.DevMail
	var at int64
	err := q.row(ctx, `SELECT id, at, to_addr, subject, text_body, html_body, message_id FROM dev_mail WHERE id = ?`, id).
		Scan(&m.ID, &at, &m.To, &m.Subject, &m.Text, &m.HTML, &m.MessageID)
	if err != nil {
		return nil, notFound(err)
	}
	m.At = time.UnixMilli(at).UTC()
	return &m, nil
}

// ClearDevMail empties the dev mailbox.
func (q *queries) ClearDevMail(ctx context.Context) (int, error) {
	res, err := q.exec(ctx, `DELETE FROM dev_mail`)
	if err != nil {
		return 0, fmt.Errorf("clear dev mail: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// InsertAudits adds audit events with multi-row INSERTs (see inChunks).
func (q *queries) InsertAudits(ctx context.Context, events []*airlock.AuditEvent) error {
	err := inChunks(len(events), func(from, size int) (string, []any) {
		args := make([]any, 0, 10*size)
		for _, e := range events[from : from+size] {
			args = append(args, e.At.UnixMilli(), e.Kind, e.ActorID, e.SubjectID, e.Subject, e.IP, e.UserAgent, e.Outcome, e.Detail, auditArgs(e.Args))
		}
		return `INSERT INTO audit_events (at, kind, actor_id, subject_id, subject, ip, user_agent, outcome, detail, detail_args) VALUES ` +
			rowsOf(size, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), args
	}, q.execIn(ctx))
	if err != nil {
		return fmt.Errorf("insert audit events: %w", err)
	}
	return nil
}

// auditArgs is how an event's arguments are stored: a JSON array of
// strings, or "" for none.
func auditArgs(args []string) string {
	if len(args) == 0 {
		return ""
	}
	b, _ := json.Marshal(args) // a []string always marshals
	return string(b)
}

// DeleteAuditBefore prunes the audit log (AIRLOCK_AUDIT_RETENTION).
func (q *queries) DeleteAuditBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := q.exec(ctx, `DELETE FROM audit_events WHERE at < ?`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune audit: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ListAudit returns events newest first and the total matching.
func (q *queries) ListAudit(ctx context.Context, f airlock.AuditFilter) ([]*airlock.AuditEvent, int, error) {
	var where []string
	var args []any
	if f.UserID != "" {
		// The ids' indexes hold only events that have one (migration 24):
		// each side says so, for the planner to use them.
		where = append(where, `((e.actor_id = ? AND e.actor_id <> '') OR (e.subject_id = ? AND e.subject_id <> ''))`)
		args = append(args, f.UserID, f.UserID)
	}
	if f.Kind != "" {
		where = append(where, `e.kind = ?`)
		args = append(args, f.Kind)
	}
	if !f.From.IsZero() {
		where = append(where, `e.at >= ?`)
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		where = append(where, `e.at < ?`)
		args = append(args, f.To.UnixMilli())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := q.row(ctx, `SELECT COUNT(*) FROM audit_events e`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	rows, err := q.query(ctx, `SELECT e.id, e.at, e.kind, e.actor_id, COALESCE(a.email, ''), e.subject_id, e.subject,
		COALESCE(s.email, ''), e.ip, e.user_agent, e.outcome, e.detail, e.detail_args
		FROM audit_events e LEFT JOIN users a ON a.id = e.actor_id LEFT JOIN users s ON s.id = e.subject_id`+cond+
		` ORDER BY e.id DESC LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []*airlock.AuditEvent
	for rows.Next() {
		var e airlock.AuditEvent
		var at int64
		var detailArgs string
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.ActorID, &e.ActorEmail, &e.SubjectID, &e.Subject, &e.SubjectEmail, &e.IP, &e.UserAgent, &e.Outcome, &e.Detail, &detailArgs); err != nil {
			return nil, 0, err
		}
		e.At = time.UnixMilli(at).UTC()
		if detailArgs != "" && json.Unmarshal([]byte(detailArgs), &e.Args) != nil {
			e.Args = nil // unreadable: the detail's code is still shown
		}
		out = append(out, &e)
	}
	return out, total, rows.Err()
}
