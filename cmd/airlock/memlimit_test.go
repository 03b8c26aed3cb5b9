package main

import (
	"sync"
	"testing"
)

// TestSoftMemoryLimit: serve gives the runtime a soft memory limit sized
// from the hashing settings, unless the operator set GOMEMLIMIT.
func TestSoftMemoryLimit(t *testing.T) {
	var mu sync.Mutex
	var got []int64
	setMemoryLimit = func(n int64) int64 {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, n)
		return 0
	}
	defer func() { setMemoryLimit = nil }()

	p := newProgram(t, map[string]string{"AIRLOCK_ARGON2": "m=19456,t=1,p=1", "AIRLOCK_HASH_CONCURRENCY": "3"})
	p.serve()()
	mu.Lock()
	if want := int64(32<<20 + 2*3*19456<<10); len(got) != 1 || got[0] != want {
		t.Fatalf("limits set: %v, want [%d]", got, want)
	}
	got = nil
	mu.Unlock()

	p = newProgram(t, map[string]string{"GOMEMLIMIT": "1GiB"})
	p.serve()()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Fatalf("GOMEMLIMIT set, yet serve set %v", got)
	}
}
