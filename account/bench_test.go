package account_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/airlockhq/airlock/account"
)

// BenchmarkRequestReset is the whole synchronous part of a forgot request
// on SQLite: the per-IP limit and the queue insert. It is the same work for
// any address, which is why the answer's timing tells nothing.
func BenchmarkRequestReset(b *testing.B) {
	for _, who := range []string{"existing", "unknown"} {
		b.Run(who, func(b *testing.B) {
			e := newEnv(b, func(c *account.Config) { c.LimitForgotPerIP = account.Rate{} })
			e.user(b, "ada@example.com", goodPassword)
			email := "ada@example.com"
			if who == "unknown" {
				email = "nobody@example.com"
			}
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if err := e.svc.RequestReset(ctx, email, account.Meta{IP: fmt.Sprintf("10.0.%d.%d", i/250%250, i%250)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
