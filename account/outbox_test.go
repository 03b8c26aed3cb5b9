package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/testutil"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// TestOutboxSurvivesSMTPOutage: while the SMTP server refuses, the email
// waits with growing delays; once it is back, the email goes out once.
func TestOutboxSurvivesSMTPOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	e.smtp.FailNext(4)
	if _, err := e.svc.RequestReset(ctx, "ada@example.com", meta); err != nil {
		t.Fatal(err)
	}
	var lastRun time.Time
	for attempt := 1; attempt <= 4; attempt++ {
		e.drain(t)
		var runAt int64
		var attempts int
		if err := e.db.SQL().QueryRow(`SELECT run_at, attempts FROM jobs WHERE kind = 'mail'`).Scan(&runAt, &attempts); err != nil {
			t.Fatalf("attempt %d: the email left the outbox: %v", attempt, err)
		}
		next := time.UnixMilli(runAt)
		if attempts != attempt || !next.After(e.clock.Now()) {
			t.Fatalf("attempt %d: attempts=%d next=%v now=%v", attempt, attempts, next, e.clock.Now())
		}
		if gap := next.Sub(e.clock.Now()); attempt > 1 && gap <= lastRun.Sub(time.Time{}) {
			t.Fatalf("backoff did not grow: %v after %v", gap, lastRun.Sub(time.Time{}))
		} else {
			lastRun = time.Time{}.Add(gap)
		}
		// Nothing happens before the retry is due.
		e.drain(t)
		e.clock.Advance(next.Sub(e.clock.Now()))
	}
	e.drain(t)
	e.smtp.Wait(t, 1)
	e.drain(t)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d emails delivered, want exactly 1", n)
	}
	if n, _ := testutil.CountJobs(e.db, airlock.JobMail); n != 0 {
		t.Fatalf("%d emails left in the outbox", n)
	}
	// The delivered link works: each attempt minted a fresh token.
	token := tokenFrom(t, e.smtp.Messages()[0])
	if _, _, err := e.svc.CheckLink(ctx, account.ByToken(token), meta); err != nil {
		t.Fatal(err)
	}
}

// TestOutboxSurvivesRestart: a job held by a node that died is taken over
// once its lease runs out (on the database's clock), and runs once.
func TestOutboxSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	if _, err := e.svc.RequestReset(ctx, "ada@example.com", meta); err != nil {
		t.Fatal(err)
	}
	// A node crashed holding the job, with a lease of a second: while it
	// lasts nobody runs the job; then another node takes it over.
	now := e.clock.Now()
	claimed, err := e.db.ClaimJobs(ctx, "a node that died", now, time.Second, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	for deadline := time.Now().Add(30 * time.Second); len(e.smtp.Messages()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the job of a node that died was never taken over")
		}
		e.drain(t)
		time.Sleep(50 * time.Millisecond) // the lease runs out on the database's clock
	}
	if n := e.svc.Stats().Takeovers.Load(); n != 1 {
		t.Fatalf("%d takeovers counted", n)
	}
}
