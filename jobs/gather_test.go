package jobs

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// TestBusyRunnerGathersJobs: a runner woken right after a run that found
// work lets the jobs that keep coming gather before it claims them, and
// takes them in one batch; a job that comes to an idle runner is run
// without that pause. The pause is replaced by one that queues five jobs,
// as a flood's group commits would meanwhile: without the pause they would
// never be queued, and the batch of five never seen.
func TestBusyRunnerGathersJobs(t *testing.T) {
	t.Parallel()
	db := testutil.OpenStore(t)
	clock := testutil.NewClock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	queue := func(n int) {
		t.Helper()
		var jobs []*airlock.Job
		for range n {
			jobs = append(jobs, &airlock.Job{Kind: "test", Payload: []byte(`{}`), RunAt: clock.Now(), CreatedAt: clock.Now()})
		}
		if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.EnqueueJobs(ctx, jobs) }); err != nil {
			t.Fatal(err)
		}
	}
	r := New(db, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var pauses atomic.Int32
	r.pause = func(ctx context.Context, d time.Duration) {
		if d <= 0 || d > time.Second {
			t.Errorf("pause of %s", d)
		}
		if pauses.Add(1) == 1 {
			queue(5) // come while the runner waits
		}
	}
	batches := make(chan int, 10)
	pausesBefore := make(chan int32, 10)
	r.Handle("test", func(ctx context.Context, batch []*Claimed) error {
		ids := make([]int64, len(batch))
		for i, c := range batch {
			ids[i] = c.ID
		}
		pausesBefore <- pauses.Load()
		batches <- len(batch)
		return db.Update(ctx, func(tx airlock.Tx) error { return tx.DeleteJobs(ctx, r.Owner(), ids) })
	})
	queue(1)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	next := func() (int, int32) {
		t.Helper()
		select {
		case n := <-batches:
			return n, <-pausesBefore
		case <-time.After(10 * time.Second):
			t.Fatal("no batch ran")
			return 0, 0
		}
	}
	if n, p := next(); n != 1 || p != 0 {
		t.Fatalf("first batch: %d jobs after %d pauses, want 1 job at once", n, p)
	}
	r.Poke() // the runner just found work: woken, it pauses first
	if n, p := next(); n != 5 || p != 1 {
		t.Fatalf("second batch: %d jobs after %d pauses, want the 5 gathered during 1 pause", n, p)
	}
	// Woken once more, it pauses and finds nothing: it is idle again, and
	// the next job is run without a pause.
	r.Poke()
	for pauses.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	queue(1)
	r.Poke()
	if n, p := next(); n != 1 || p != 2 {
		t.Fatalf("third batch: %d jobs after %d pauses, want 1 job and no pause since the second", n, p)
	}
	cancel()
	<-done
}

var _ Store = (*store.DB)(nil)
