package password_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/password"
)

var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h := password.NewHasher(cheap, 2, time.Second)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", enc)
	}
	if strings.Contains(enc, "correct") {
		t.Fatal("hash contains the password")
	}
	if ok, rehash, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || rehash || err != nil {
		t.Fatalf("Verify right = %v, %v, %v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(ctx, "Correct horse battery staple", enc); ok {
		t.Fatal("Verify accepted a wrong password")
	}
	// No password set: always false, but still does the work.
	if ok, _, err := h.Verify(ctx, "", ""); ok || err != nil {
		t.Fatalf("Verify with no hash = %v, %v", ok, err)
	}
	// A hash made with other parameters asks for a rehash once verified.
	stronger := password.NewHasher(password.Params{Memory: 128, Time: 1, Threads: 1}, 1, time.Second)
	if ok, rehash, _ := stronger.Verify(ctx, "correct horse battery staple", enc); !ok || !rehash {
		t.Fatalf("Verify with changed params: ok=%v rehash=%v, want both", ok, rehash)
	}
}

func TestDefaultParamsAreOWASP(t *testing.T) {
	if password.DefaultParams != (password.Params{Memory: 19456, Time: 2, Threads: 1}) {
		t.Fatalf("default argon2id params changed: %v", password.DefaultParams)
	}
	p, err := password.ParseParams("m=19456,t=2,p=1")
	if err != nil || p != password.DefaultParams {
		t.Fatalf("ParseParams = %v, %v", p, err)
	}
	for _, bad := range []string{"", "m=0,t=1,p=1", "m=64,t=1", "m=64,t=1,p=1,x=2", "m=64,m=65,t=1,p=1", "m=a,t=1,p=1"} {
		if _, err := password.ParseParams(bad); err == nil {
			t.Errorf("ParseParams(%q) accepted", bad)
		}
	}
}

// TestBoundedConcurrency shows that no more hashes run at once than the
// bound, and that a caller who cannot get a slot in time gets "unavailable".
func TestBoundedConcurrency(t *testing.T) {
	h := password.NewHasher(password.Params{Memory: 8 * 1024, Time: 3, Threads: 1}, 2, 5*time.Millisecond)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var busy, peak int
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				if n := int(h.Running()); n > peak {
					mu.Lock()
					peak = n
					mu.Unlock()
				}
			}
		}
	}()
	for range 12 {
		wg.Go(func() {
			_, err := h.Hash(ctx, "some long enough password")
			if airlock.ErrorCode(err) == airlock.CodeUnavailable {
				mu.Lock()
				busy++
				mu.Unlock()
				if e := airlock.AsError(err); e.RetryAfter <= 0 {
					t.Error("unavailable without Retry-After")
				}
			} else if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(stop)
	if peak > 2 {
		t.Fatalf("%d hashes ran at once, bound is 2", peak)
	}
	if busy == 0 {
		t.Fatal("no caller was turned away although 12 waited 5ms for 2 slots")
	}
}

func TestPolicy(t *testing.T) {
	p := password.NewPolicy(12)
	if n := p.BlocklistSize(); n < 10000 {
		t.Fatalf("blocklist holds %d passwords, want at least 10,000", n)
	}
	u := &airlock.User{Email: "marie.curie@example.com", FirstName: "Marie", LastName: "Skłodowska"}
	tests := []struct {
		name, pw string
		want     []string
	}{
		{"ok", "violet tractor on the moon", nil},
		{"too short", "Sh0rt-pass", []string{password.ReasonTooShort}},
		{"twelve code points, more bytes", "ééééééééééé1", nil},
		{"common", "password1234", []string{password.ReasonCommon}},
		{"common any case", "PASSWORD1234", []string{password.ReasonCommon}},
		{"contains email local part", "xx-Marie.Curie-xx-2026", []string{password.ReasonHasEmail, password.ReasonHasName}},
		{"contains name", "skłodowska forever and ever", []string{password.ReasonHasName}},
		{"too long", strings.Repeat("a", 129), []string{password.ReasonTooLong}},
		{"128 is fine", strings.Repeat("ab", 64), nil},
		{"invalid UTF-8", "abcdefghijkl\xff", []string{password.ReasonInvalidText}},
		{"several reasons", "marie.curie", []string{password.ReasonTooShort, password.ReasonHasEmail, password.ReasonHasName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.pw, u)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := airlock.AsError(err)
			if e == nil || e.Code != airlock.CodePasswordPolicy {
				t.Fatalf("got %v, want password_policy", err)
			}
			if strings.Join(e.Reasons, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("reasons = %v, want %v", e.Reasons, tt.want)
			}
		})
	}
	// An operator may lower the minimum to 8, never below.
	if p := password.NewPolicy(4); p.MinLength != 8 {
		t.Fatalf("min length lowered to %d", p.MinLength)
	}
	if err := password.NewPolicy(8).Check("violet9#", nil); err != nil {
		t.Fatalf("8 chars with min 8: %v", err)
	}
}
