package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver
)

// queueSampler reads the servers' queue of jobs (-queue-db, Airlock's
// AIRLOCK_DATABASE_URL) every second, read-only: how many forgot requests
// and emails wait, and how long the oldest of each has waited. It tells
// whether a person's email waits behind the flood's work.
type queueSampler struct {
	db      *sql.DB
	mu      sync.Mutex
	samples []queueSample
	stop    chan struct{}
	done    chan struct{}
}

// queueSample is the queue at one moment.
type queueSample struct {
	at                   time.Time
	forgot, mails        int           // forgot requests (a job holds several) and emails waiting
	forgotAge, mailAge   time.Duration // how long the oldest of each has been due
	forgotJobs, mailJobs int
}

// startQueueSampler opens dbURL (sqlite:PATH or postgres://…, loopback
// only) and samples until stop is called.
func startQueueSampler(dbURL string) (*queueSampler, error) {
	var db *sql.DB
	var err error
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		v := url.Values{}
		v.Add("_pragma", "busy_timeout(1000)")
		v.Add("_pragma", "query_only(1)")
		db, err = sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	} else {
		u, perr := url.Parse(dbURL)
		if perr != nil {
			return nil, fmt.Errorf("-queue-db: %w", perr)
		}
		if err := loopbackOnly(u.Hostname()); err != nil {
			return nil, err
		}
		db, err = sql.Open("pgx", dbURL)
	}
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	q := &queueSampler{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	return q, nil
}

func (q *queueSampler) run() {
	defer close(q.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if s, err := q.sample(); err == nil {
			q.mu.Lock()
			q.samples = append(q.samples, s)
			q.mu.Unlock()
		}
		select {
		case <-q.stop:
			return
		case <-t.C:
		}
	}
}

func (q *queueSampler) sample() (queueSample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := time.Now()
	rows, err := q.db.QueryContext(ctx, fmt.Sprintf(`SELECT kind, COUNT(*), COALESCE(SUM(items), 0), COALESCE(MIN(run_at), 0) FROM jobs
		WHERE state IN ('queued', 'deferred', 'sending') AND run_at <= %d GROUP BY kind`, now.UnixMilli()))
	if err != nil {
		return queueSample{}, err
	}
	defer rows.Close()
	s := queueSample{at: now}
	for rows.Next() {
		var kind string
		var jobs, items int
		var oldest int64
		if err := rows.Scan(&kind, &jobs, &items, &oldest); err != nil {
			return queueSample{}, err
		}
		age := max(0, now.Sub(time.UnixMilli(oldest)))
		switch kind {
		case "forgot":
			s.forgot, s.forgotJobs, s.forgotAge = items, jobs, age
		case "mail":
			s.mails, s.mailJobs, s.mailAge = items, jobs, age
		}
	}
	return s, rows.Err()
}

// finish stops sampling and describes the queue during the flood (from
// start to floodEnd) and at its end.
func (q *queueSampler) finish(start, floodEnd time.Time) (text, fields string) {
	close(q.stop)
	<-q.done
	q.db.Close()
	q.mu.Lock()
	defer q.mu.Unlock()
	var peak queueSample
	var last queueSample
	n := 0
	for _, s := range q.samples {
		if s.at.Before(start) || s.at.After(floodEnd) {
			continue
		}
		n++
		peak.forgot, peak.mails = max(peak.forgot, s.forgot), max(peak.mails, s.mails)
		peak.forgotAge, peak.mailAge = max(peak.forgotAge, s.forgotAge), max(peak.mailAge, s.mailAge)
		last = s
	}
	var line []string
	for _, s := range q.samples {
		if !s.at.Before(start) && !s.at.After(floodEnd.Add(10*time.Second)) {
			line = append(line, fmt.Sprintf("%.0fs:%d/%.1fs", s.at.Sub(start).Seconds(), s.forgot, s.forgotAge.Seconds()))
		}
	}
	text = fmt.Sprintf("  queue during the flood (%d samples): at most %d forgot requests waiting (the oldest %.1fs), %d emails (the oldest %.1fs); at its end %d forgot requests (oldest %.1fs), %d emails (oldest %.1fs)\n"+
		"  forgot requests waiting/oldest, each second from the flood's start: %s\n",
		n, peak.forgot, peak.forgotAge.Seconds(), peak.mails, peak.mailAge.Seconds(),
		last.forgot, last.forgotAge.Seconds(), last.mails, last.mailAge.Seconds(), strings.Join(line, " "))
	fields = fmt.Sprintf(" queue_samples=%d queue_forgot_max=%d queue_forgot_oldest_max_s=%.1f queue_mail_max=%d queue_mail_oldest_max_s=%.1f queue_forgot_end=%d queue_forgot_oldest_end_s=%.1f",
		n, peak.forgot, peak.forgotAge.Seconds(), peak.mails, peak.mailAge.Seconds(), last.forgot, last.forgotAge.Seconds())
	return text, fields
}
