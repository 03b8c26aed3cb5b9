package provider

import (
	"context"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// TestFirstStartOnManyNodes: nodes that start at once on one database,
// each finding no key, make one set of keys between them (one RS256, one
// ES256), and all sign with it from the start: no node signs with a key
// the others do not publish. On both databases (SQLite serialises writers
// and hides the race).
func TestFirstStartOnManyNodes(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": testutil.OpenStore, "postgres": testutil.OpenPostgres} {
		t.Run(name, func(t *testing.T) {
			if name == "postgres" && testutil.PostgresURL(t) == "" {
				t.Skipf("%s not set", testutil.PostgresEnv)
			}
			db := open(t)
			clock := testutil.NewClock()
			ctx := context.Background()
			nodes := make([]*Keys, 6)
			var wg sync.WaitGroup
			for i := range nodes {
				nodes[i] = NewKeys(db, testsvc.Box, clock)
				wg.Go(func() {
					if err := nodes[i].Ensure(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			rows, err := db.SigningKeys(ctx, clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("%d keys made by %d nodes starting at once, want 2 (one RS256, one ES256)", len(rows), len(nodes))
			}
			for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
				first, err := nodes[0].signing(ctx, alg)
				if err != nil {
					t.Fatal(err)
				}
				for i, n := range nodes[1:] {
					k, err := n.signing(ctx, alg)
					if err != nil {
						t.Fatal(err)
					}
					if k.id != first.id {
						t.Fatalf("%s: node %d signs with %s, node 0 with %s", alg, i+1, k.id, first.id)
					}
				}
			}
			// Started again, nothing more is made.
			if err := NewKeys(db, testsvc.Box, clock).Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			if again, _ := db.SigningKeys(ctx, clock.Now()); len(again) != 2 {
				t.Fatalf("a restart made keys: %d", len(again))
			}
		})
	}
}
