package account_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

func TestGiveWay(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		arrived         uint64
		took, lag, want time.Duration
	}{
		{0, 10 * ms, 0, 0},                             // no request arriving: no pause
		{5, 10 * ms, 0, 90 * ms},                       // 500/s: nine times the batch
		{1, 10 * ms, 0, 90 * ms},                       // 100/s
		{4, 50 * ms, 0, 0},                             // 80/s: people, not a flood
		{5, 10 * ms, -time.Second, 90 * ms},            // due "later" (two nodes' clocks): not late
		{5, 10 * ms, account.GiveWayLag - ms, 90 * ms}, // still within the lag allowed
		{5, 10 * ms, account.GiveWayLag, 0},            // late enough: full speed
		{5, 10 * ms, time.Hour, 0},                     // a retry due long ago
		{500, time.Second, 0, account.GiveWayMax},      // a slow batch: bounded
		{5, 0, 0, 0},
	} {
		if got := account.GiveWay(c.arrived, c.took, c.lag); got != c.want {
			t.Errorf("GiveWay(%v, %v, %v) = %v, want %v", c.arrived, c.took, c.lag, got, c.want)
		}
	}
}

// TestWorkersGiveWayToAFlood: the node's workers pause after a batch during
// which a flood of forgot requests arrived, and not after batches during
// which none did; whatever they pause, every request is worked through.
func TestWorkersGiveWayToAFlood(t *testing.T) {
	// The limits off, as under a flood from many addresses.
	e := newEnv(t, func(c *account.Config) { c.LimitForgotPerIP, c.LimitResetPerAccount = account.Rate{}, account.Rate{} })
	ctx := context.Background()
	const users = 10
	for i := range users {
		e.user(t, fmt.Sprintf("u%d@example.com", i), goodPassword)
	}
	var mu sync.Mutex
	var pauses []time.Duration
	paused := func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), pauses...)
	}
	e.svc.SetPause(func(_ context.Context, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		pauses = append(pauses, d)
	})
	workCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { e.svc.RunWorkers(workCtx) })
	defer wg.Wait()
	defer stop()
	drained := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if n, _ := e.db.CountJobs(ctx, ""); n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the workers did not work through the queue")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Jobs queued, but no request arriving while the workers run them.
	var reqs []account.ForgotRequest
	for i := range 3 * users {
		reqs = append(reqs, account.ForgotRequest{Email: fmt.Sprintf("u%d@example.com", i%users), Meta: meta})
	}
	for i, err := range e.svc.ForgotBatch(ctx, reqs) {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	drained()
	if p := paused(); len(p) != 0 {
		t.Fatalf("the workers paused %v with no request arriving", p)
	}

	// Requests arriving while the workers run: they give way.
	sent := 0
	for deadline := time.Now().Add(20 * time.Second); len(paused()) == 0 && time.Now().Before(deadline); sent++ {
		if err := e.svc.RequestReset(ctx, fmt.Sprintf("u%d@example.com", sent%users), meta); err != nil {
			t.Fatal(err)
		}
	}
	p := paused()
	if len(p) == 0 {
		t.Fatalf("the workers never gave way to %d requests arriving while they ran", sent)
	}
	for _, d := range p {
		if d <= 0 || d > account.GiveWayMax {
			t.Fatalf("pause %v, want within (0, %v]", d, account.GiveWayMax)
		}
	}
	drained()
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditResetRequested, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != len(reqs)+sent {
		t.Fatalf("%d requests decided, want %d", len(events), len(reqs)+sent)
	}
}

// TestWorkersTidyTheQueue: a node's workers tidy the queue (a vacuum of the
// jobs table on PostgreSQL) once every so many claimed jobs, in the
// background, and not before.
func TestWorkersTidyTheQueue(t *testing.T) {
	for _, c := range []struct {
		every int64
		tidy  bool
	}{{every: 1 << 40}, {every: 3, tidy: true}} {
		e := newEnv(t)
		ctx := context.Background()
		var tidied atomic.Int64
		e.svc.SetTidy(c.every, func(context.Context) error { tidied.Add(1); return nil })
		for i := range 10 {
			e.user(t, fmt.Sprintf("u%d@example.com", i), goodPassword)
			if err := e.svc.RequestReset(ctx, fmt.Sprintf("u%d@example.com", i), meta); err != nil {
				t.Fatal(err)
			}
		}
		workCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); e.svc.RunWorkers(workCtx) }()
		e.smtp.Wait(t, 10)
		stop()
		<-done // RunWorkers waits for a tidying under way
		if got := tidied.Load(); (got > 0) != c.tidy {
			t.Errorf("every %d claimed jobs: tidied %d times", c.every, got)
		}
	}
}
