package password_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/password"
)

// TestBoundedConcurrencyVerify is TestBoundedConcurrency for Verify, made
// deterministic: a hasher of one slot whose slot is held, for as long as
// the test says, by a Hash or a Verify stopped right after taking it (the
// OnWait hook runs then). While it is held, neither a Hash nor a Verify
// may run: each is turned away with "unavailable" and a Retry-After once
// its wait is over, however fast or slow the machine. Verify must take a
// slot (with the dummy hash of an account without a password too) and
// give it back.
func TestBoundedConcurrencyVerify(t *testing.T) {
	ctx := context.Background()
	const pw = "some long enough password"
	var mu sync.Mutex
	var gate chan struct{} // set: the next caller to take a slot waits on it, holding the slot
	taken := make(chan struct{}, 1)
	h := password.NewHasher(cheap, 1, 20*time.Millisecond)
	h.OnWait(func(time.Duration) {
		mu.Lock()
		g := gate
		gate = nil
		mu.Unlock()
		if g != nil {
			taken <- struct{}{}
			<-g
		}
	})
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(encoded string) func() error {
		return func() error {
			_, _, err := h.Verify(ctx, pw, encoded)
			return err
		}
	}
	hash := func() error {
		_, err := h.Hash(ctx, pw)
		return err
	}
	// occupy runs f until it holds the slot and returns what lets it go on.
	occupy := func(name string, f func() error) (letGo func()) {
		t.Helper()
		g := make(chan struct{})
		mu.Lock()
		gate = g
		mu.Unlock()
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case <-taken:
		case err := <-done:
			mu.Lock()
			gate = nil
			mu.Unlock()
			t.Fatalf("%s ran without taking a slot of the bound (error: %v)", name, err)
		}
		return func() {
			t.Helper()
			close(g)
			if err := <-done; err != nil {
				t.Fatalf("%s, let go: %v", name, err)
			}
		}
	}
	turnedAway := func(holder, name string, f func() error) {
		t.Helper()
		err := f()
		if airlock.ErrorCode(err) != airlock.CodeUnavailable {
			t.Fatalf("%s while a %s holds the only slot: %v, want unavailable", name, holder, err)
		}
		if e := airlock.AsError(err); e.RetryAfter <= 0 {
			t.Fatalf("%s turned away without Retry-After", name)
		}
	}

	for _, holder := range []struct {
		name string
		f    func() error
	}{
		{"Verify", verify(enc)},
		{"Verify of no password", verify("")},
		{"Hash", hash},
	} {
		letGo := occupy(holder.name, holder.f)
		if n := h.Running(); n != 1 {
			t.Fatalf("%d hashes running while a %s holds the slot, want 1", n, holder.name)
		}
		turnedAway(holder.name, "Verify", verify(enc))
		turnedAway(holder.name, "Verify of no password", verify(""))
		turnedAway(holder.name, "Hash", hash)
		letGo()
		// The slot was given back: the next one runs at once.
		if n := h.Running(); n != 0 {
			t.Fatalf("%d hashes running after the %s finished, want 0", n, holder.name)
		}
		if ok, _, err := h.Verify(ctx, pw, enc); !ok || err != nil {
			t.Fatalf("Verify after the %s gave its slot back: %v, %v", holder.name, ok, err)
		}
	}
}
