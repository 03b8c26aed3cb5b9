package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

// EnqueueJob adds a job; j.ID is set.
func (q *queries) EnqueueJob(ctx context.Context, j *airlock.Job) error {
	err := q.row(ctx, `INSERT INTO jobs (kind, payload, run_at, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		j.Kind, string(j.Payload), j.RunAt.UnixMilli(), j.CreatedAt.UnixMilli()).Scan(&j.ID)
	if err != nil {
		return fmt.Errorf("enqueue job: %w", err)
	}
	return nil
}

// ClaimJob leases the oldest due job. The lease is re-checked in the outer
// WHERE so that, on PostgreSQL, a second node racing for the same row finds
// it leased when it gets the row lock, and claims nothing.
func (q *queries) ClaimJob(ctx context.Context, now, leaseUntil time.Time) (*airlock.Job, error) {
	n := now.UnixMilli()
	var j airlock.Job
	var payload string
	var runAt, created int64
	err := q.row(ctx, `UPDATE jobs SET lease_until = ?, attempts = attempts + 1
		WHERE id = (SELECT id FROM jobs WHERE run_at <= ? AND lease_until < ? ORDER BY run_at, id LIMIT 1`+q.skipLocked()+`)
		  AND run_at <= ? AND lease_until < ?
		RETURNING id, kind, payload, run_at, attempts, last_error, created_at`,
		leaseUntil.UnixMilli(), n, n, n, n).Scan(&j.ID, &j.Kind, &payload, &runAt, &j.Attempts, &j.LastError, &created)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim job: %w", err)
	}
	j.Payload = []byte(payload)
	j.RunAt, j.CreatedAt = time.UnixMilli(runAt).UTC(), time.UnixMilli(created).UTC()
	return &j, nil
}

// DeleteJob removes a finished job.
func (q *queries) DeleteJob(ctx context.Context, id int64) error {
	_, err := q.exec(ctx, `DELETE FROM jobs WHERE id = ?`, id)
	return err
}

// RetryJob releases a job's lease and schedules it again.
func (q *queries) RetryJob(ctx context.Context, id int64, runAt time.Time, lastError string) error {
	if len(lastError) > 500 {
		lastError = lastError[:500]
	}
	_, err := q.exec(ctx, `UPDATE jobs SET run_at = ?, lease_until = 0, last_error = ? WHERE id = ?`,
		runAt.UnixMilli(), strings.ToValidUTF8(lastError, "?"), id)
	return err
}

// CountJobs counts queued jobs of a kind ("" for all).
func (q *queries) CountJobs(ctx context.Context, kind string) (int, error) {
	var n int
	var err error
	if kind == "" {
		err = q.row(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&n)
	} else {
		err = q.row(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = ?`, kind).Scan(&n)
	}
	return n, err
}

// InsertAudit appends a security event.
func (q *queries) InsertAudit(ctx context.Context, e *airlock.AuditEvent) error {
	_, err := q.exec(ctx, `INSERT INTO audit_events (at, kind, actor_id, subject_id, subject, ip, user_agent, outcome, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.At.UnixMilli(), e.Kind, e.ActorID, e.SubjectID, e.Subject,
		e.IP, e.UserAgent, e.Outcome, e.Detail)
	if err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	return nil
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
		where = append(where, `(e.actor_id = ? OR e.subject_id = ?)`)
		args = append(args, f.UserID, f.UserID)
	}
	if f.Kind != "" {
		where = append(where, `e.kind = ?`)
		args = append(args, f.Kind)
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
		e.ip, e.user_agent, e.outcome, e.detail
		FROM audit_events e LEFT JOIN users a ON a.id = e.actor_id`+cond+` ORDER BY e.id DESC LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []*airlock.AuditEvent
	for rows.Next() {
		var e airlock.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.ActorID, &e.ActorEmail, &e.SubjectID, &e.Subject, &e.IP, &e.UserAgent, &e.Outcome, &e.Detail); err != nil {
			return nil, 0, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, &e)
	}
	return out, total, rows.Err()
}
