package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// BenchmarkMintResetLink measures what minting a link costs in the
// store (revoke the user's live links, insert the new one) for a user
// whose earlier links, revoked, are still kept until they expire: a user
// flooded with reset requests. With the index of live links the cost does
// not grow with the dead ones.
func BenchmarkMintResetLink(b *testing.B) {
	for _, dead := range []int{0, 1000, 10000} {
		for name, open := range benchStores(b) {
			b.Run(fmt.Sprintf("%s/dead=%d", name, dead), func(b *testing.B) {
				db := open(b)
				ctx := context.Background()
				if err := db.CreateUser(ctx, newUser("u1", "ada@example.com")); err != nil {
					b.Fatal(err)
				}
				n := 0
				mint := func(tx airlock.Tx) error {
					if _, err := tx.RevokeResetTokens(ctx, "u1", t0); err != nil {
						return err
					}
					n++
					var id [8]byte
					binary.BigEndian.PutUint64(id[:], uint64(n))
					h := sha256.Sum256(id[:])
					return tx.InsertResetTokens(ctx, []*airlock.ResetToken{{Hash: h[:], UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}})
				}
				for range dead / 500 {
					if err := db.Update(ctx, func(tx airlock.Tx) error {
						for range 500 {
							if err := mint(tx); err != nil {
								return err
							}
						}
						return nil
					}); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for b.Loop() {
					if err := db.Update(ctx, mint); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchStores is stores for benchmarks: SQLite, and PostgreSQL when
// AIRLOCK_TEST_DATABASE_URL is set.
func benchStores(b *testing.B) map[string]func(testing.TB) *store.DB {
	m := map[string]func(testing.TB) *store.DB{"sqlite": func(tb testing.TB) *store.DB {
		return openPath(tb, filepath.Join(tb.TempDir(), "airlock.db"))
	}}
	if os.Getenv(testutil.PostgresEnv) != "" {
		m["postgres"] = func(tb testing.TB) *store.DB { return testutil.OpenPostgres(tb) }
	} else {
		b.Logf("%s not set: SQLite only", testutil.PostgresEnv)
	}
	return m
}

// BenchmarkForgotJobLife is what the queue costs a forgot request in the
// store, from its insert to its delete: enqueued 128 to a transaction (the
// requests' group commit), claimed 32 at a time, deleted 32 to a
// transaction (the worker's batch), with a backlog of 1,000 sent emails
// in the table (the back office's history). ns/op is per request.
func BenchmarkForgotJobLife(b *testing.B) {
	for name, open := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			db := open(b)
			ctx := context.Background()
			mails := make([]*airlock.Job, 1000)
			for i := range mails {
				mails[i] = &airlock.Job{Kind: airlock.JobMail, Payload: []byte(`{}`), RunAt: t0.Add(time.Hour), CreatedAt: t0, UserID: fmt.Sprintf("u%d", i%100), EmailKind: "reset"}
			}
			if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.EnqueueJobs(ctx, mails) }); err != nil {
				b.Fatal(err)
			}
			payload := []byte(`{"email":"someone@example.com","ip":"192.0.2.1","user_agent":"Mozilla/5.0 (bench)"}`)
			b.ResetTimer()
			for i := 0; i < b.N; i += 128 {
				jobs := make([]*airlock.Job, min(128, b.N-i))
				for k := range jobs {
					jobs[k] = &airlock.Job{Kind: airlock.JobForgot, Payload: payload, RunAt: t0, CreatedAt: t0}
				}
				if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.EnqueueJobs(ctx, jobs) }); err != nil {
					b.Fatal(err)
				}
				for {
					claimed, err := db.ClaimJobs(ctx, "bench", t0, time.Minute, 32)
					if err != nil {
						b.Fatal(err)
					}
					if len(claimed) == 0 {
						break
					}
					ids := make([]int64, len(claimed))
					for k, j := range claimed {
						ids[k] = j.ID
					}
					if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.DeleteJobs(ctx, "bench", ids) }); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
