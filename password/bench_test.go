package password_test

import (
	"context"
	"testing"
	"time"

	"github.com/airlockhq/airlock/password"
)

// BenchmarkHashProduction measures one argon2id hash at the production
// parameters (m=19456 KiB, t=2, p=1).
func BenchmarkHashProduction(b *testing.B) {
	h := password.NewHasher(password.DefaultParams, 1, time.Minute)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashBounded runs many hashing goroutines against a bound of 2:
// memory stays at about 2 × 19 MiB whatever the load; throughput is the
// machine's.
func BenchmarkHashBounded(b *testing.B) {
	h := password.NewHasher(password.DefaultParams, 2, time.Minute)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Error(err)
			}
		}
	})
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := password.NewPolicy(12)
	b.ReportAllocs()
	for b.Loop() {
		p.Check("violet tractor on the moon", nil)
	}
}
