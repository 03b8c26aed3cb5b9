package provider

import (
	"context"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"
)

// TestFirstStartOnTwoNodes: two nodes that both found no key at their
// first start each make one; once each has read the other's (within
// keysFresh), they sign with the same key (the oldest), which both
// publish. Before that, for up to keysFresh, each signs with its own
// (not prevented: a first start of several nodes at the same instant).
func TestFirstStartOnTwoNodes(t *testing.T) {
	db := testutil.OpenStore(t)
	clock := testutil.NewClock()
	a, b := NewKeys(db, testsvc.Box, clock), NewKeys(db, testsvc.Box, clock)
	ctx := context.Background()
	if err := a.add(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.add(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
		ka, err := a.signing(ctx, alg)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := b.signing(ctx, alg)
		if err != nil {
			t.Fatal(err)
		}
		if ka.id != kb.id {
			t.Fatalf("%s: the nodes sign with %s and %s", alg, ka.id, kb.id)
		}
	}
}
