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
					return tx.InsertResetToken(ctx, &airlock.ResetToken{Hash: h[:], UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)})
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
