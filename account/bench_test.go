package account_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/softkey"
	"github.com/airlockhq/airlock/internal/testutil"
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
				if _, err := e.svc.RequestReset(ctx, email, account.Meta{IP: fmt.Sprintf("10.0.%d.%d", i/250%250, i%250)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkForgotQueue is the forgot queue under load: 64 requests at
// once per core from distinct addresses (with the per-IP limit on, as in
// production), on SQLite and, when AIRLOCK_TEST_DATABASE_URL is set, on
// PostgreSQL. The group commit writes the requests that arrive together
// in one transaction; ns/op is the cost per request.
func BenchmarkForgotQueue(b *testing.B) {
	backends := map[string]func(b *testing.B) *env{
		"sqlite": func(b *testing.B) *env { return newEnv(b) },
		"postgres": func(b *testing.B) *env {
			if os.Getenv(testutil.PostgresEnv) == "" {
				b.Skipf("%s not set", testutil.PostgresEnv)
			}
			return newNode(b, testutil.OpenPostgres(b), testutil.NewClock(), mailtest.Start(b))
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			e := backends[name](b)
			e.user(b, "ada@example.com", goodPassword)
			ctx := context.Background()
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(64)
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					email := "ada@example.com"
					if i%2 == 1 {
						email = fmt.Sprintf("nobody-%d@example.com", i)
					}
					m := account.Meta{IP: fmt.Sprintf("10.%d.%d.%d", i/62500%250, i/250%250, i%250)}
					if _, err := e.svc.RequestReset(ctx, email, m); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkDecideForgot is the workers' half of forgot requests under a
// flood, per request: 9 in 10 for addresses with no account, 1 in 10 for
// one of 1,000 accounts (whose per-account limit soon refuses them), as in
// bench/compare.sh flood. Each round queues 256 requests (not timed) and
// times the workers doing all their work: the look-ups, the limits, the
// audit records, and the emails put in the outbox and sent (to the
// in-process SMTP server).
func BenchmarkDecideForgot(b *testing.B) {
	e := newEnv(b, func(c *account.Config) { c.LimitForgotPerIP = account.Rate{} })
	ctx := context.Background()
	for i := range 1000 {
		if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: fmt.Sprintf("bench-%d@example.com", i)}, meta); err != nil {
			b.Fatal(err)
		}
	}
	const round = 256
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu := time.Duration(0)
	for range b.N {
		b.StopTimer()
		for range round {
			n++
			email := fmt.Sprintf("nobody-%d@example.com", n)
			if n%10 == 0 {
				email = fmt.Sprintf("bench-%d@example.com", n/10%1000)
			}
			if _, err := e.svc.RequestReset(ctx, email, account.Meta{IP: fmt.Sprintf("10.%d.%d.%d", n/62500%250, n/250%250, n%250)}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		cpu0 := processCPU()
		for {
			done, err := e.svc.ProcessDue(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if done == 0 {
				break
			}
		}
		cpu += processCPU() - cpu0
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*round), "ns/request")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*round), "cpu-ns/request")
}

// processCPU is the CPU time this process has used (user and system): on
// a machine shared with other work it moves far less than the wall clock.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU starts counting the process's CPU time; the function it
// returns reports it per operation (cpu-ns/op), all goroutines included
// (the group commit's, the garbage collector's).
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64((processCPU()-start).Nanoseconds())/float64(max(b.N, 1)), "cpu-ns/op")
	}
}

// BenchmarkForgotFloodWork is the workers' half of bench/compare.sh flood
// once the accounts it names have had their emails (its steady state): 9
// requests in 10 for addresses with no account, 1 in 10 for one of 1,000
// accounts whose per-account limit now drops them silently, queued as the
// group commit queues them under load (64 at a time). Each round queues
// 512 requests (not timed), then times the workers deciding them;
// cpu-ns/request is the whole process's CPU meanwhile.
func BenchmarkForgotFloodWork(b *testing.B) {
	e := newEnv(b, func(c *account.Config) { c.LimitForgotPerIP = account.Rate{} })
	ctx := context.Background()
	for i := range 1000 {
		if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: fmt.Sprintf("bench-%d@example.com", i)}, meta); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	queue := func(count int) {
		var wg sync.WaitGroup
		for range 64 {
			from := n
			wg.Go(func() {
				for k := range count / 64 {
					i := from + k*64
					email := fmt.Sprintf("nobody-%d@example.com", i)
					if i%10 == 0 {
						email = fmt.Sprintf("bench-%d@example.com", i/10%1000)
					}
					if _, err := e.svc.RequestReset(ctx, email, account.Meta{IP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), UserAgent: "airlock-loadgen"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			n++
		}
		wg.Wait()
		n += count - 64
	}
	work := func() {
		for {
			done, err := e.svc.ProcessDue(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if done == 0 {
				return
			}
		}
	}
	// Every account's 3 emails an hour sent first: what follows is the
	// flood's steady state.
	for range 3 {
		queue(10000)
		work()
	}
	// 512: the workers decide a few hundred at a time, as a busy runner
	// does (jobs.Runner.Run); in rounds of 64 a request costs about 30 µs
	// of CPU instead of 17-19 (2026-12-07).
	const round = 512
	b.ReportAllocs()
	b.ResetTimer()
	cpu := time.Duration(0)
	for range b.N {
		b.StopTimer()
		queue(round)
		b.StartTimer()
		cpu0 := processCPU()
		work()
		cpu += processCPU() - cpu0
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*round), "ns/request")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*round), "cpu-ns/request")
}

// BenchmarkFlowWrongCode is a wrong code typed with a flow, for an address
// with an account (its email sent) and for one without: the per-address
// and per-flow limits, the look-up of the flow's live codes and the audit
// event. Limits are off so that every round runs the whole check. The two
// differ by the account's live codes to hash (one here): a few
// microseconds, against a round trip and a database write.
func BenchmarkFlowWrongCode(b *testing.B) {
	for _, who := range []string{"existing", "unknown"} {
		b.Run(who, func(b *testing.B) {
			e := newEnv(b, func(c *account.Config) {
				c.LimitForgotPerIP, c.LimitBadTokenPerIP, c.LimitResetPerAccount = account.Rate{}, account.Rate{}, account.Rate{}
			})
			e.user(b, "ada@example.com", goodPassword)
			email := "ada@example.com"
			if who == "unknown" {
				email = "nobody@example.com"
			}
			ctx := context.Background()
			i := 0
			var flow string
			b.ReportAllocs()
			for b.Loop() {
				if i%5 == 0 {
					// Five wrong codes end a flow: a new one (not timed), the
					// last one's link expired, so that the account has one
					// live code, as a person's usually has.
					b.StopTimer()
					e.clock.Advance(e.svc.Config().ResetTokenTTL)
					if err := e.db.Cleanup(ctx, e.clock.Now()); err != nil {
						b.Fatal(err)
					}
					var err error
					if flow, err = e.svc.RequestReset(ctx, email, account.Meta{IP: "10.0.0.1"}); err != nil {
						b.Fatal(err)
					}
					if _, err := e.svc.ProcessDue(ctx); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				i++
				if _, _, err := e.svc.CheckLink(ctx, account.ByCode(flow, "BCDF-GHJK"), account.Meta{IP: "10.0.0.2"}); account.CodeWrong != detail(err) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPasskeyCeremonies is what one passkey ceremony costs the
// server, at the account level: adding a passkey (begin, with the
// password's check at the tests' cheap argon2id, and finish, with the
// registration stored, audited and its email queued) and signing in with
// one (begin, and finish: the signature checked, the counter written back,
// a session opened). The software authenticator's own work, and removing
// the passkey added so that the account stays under its 20, are not timed.
// SQLite, and PostgreSQL when AIRLOCK_TEST_DATABASE_URL is set. The
// sign-in limits are off: every add checks the password, and counts.
func BenchmarkPasskeyCeremonies(b *testing.B) {
	noLimits := func(c *account.Config) {
		c.LimitLoginPerEmail, c.LimitLoginPerIP = account.Rate{}, account.Rate{}
		c.LimitPasskeyOptionsPerIP, c.LimitBadPasskeyPerIP = account.Rate{}, account.Rate{}
	}
	backends := map[string]func(b *testing.B) *env{
		"sqlite": func(b *testing.B) *env { return newEnv(b, noLimits) },
		"postgres": func(b *testing.B) *env {
			if os.Getenv(testutil.PostgresEnv) == "" {
				b.Skipf("%s not set", testutil.PostgresEnv)
			}
			return newNode(b, testutil.OpenPostgres(b), testutil.NewClock(), mailtest.Start(b), noLimits)
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name+"/register", func(b *testing.B) {
			e := backends[name](b)
			ctx := context.Background()
			u, sid, key := e.passkeyBench(b)
			b.ReportAllocs()
			for b.Loop() {
				id, options, err := e.svc.BeginPasskeyRegistration(ctx, u, sid, "Phone", account.Proof{Password: goodPassword, Code: ""}, meta)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				resp, err := key.Create(options)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				added, err := e.svc.FinishPasskeyRegistration(ctx, u, sid, id, "Phone", resp, meta)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				// Each round adds the account's first passkey: the first
				// round's ends the other sessions (this one goes on in a new
				// one) and makes recovery codes; later rounds' find them.
				if added.Session != "" {
					sid = added.Session
				}
				if _, err := e.db.DeleteUserPasskeys(ctx, u.ID); err != nil {
					b.Fatal(err)
				}
				if u, err = e.db.UserByID(ctx, u.ID); err != nil { // its sessions' epoch moved
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
		b.Run(name+"/sign-in", func(b *testing.B) {
			e := backends[name](b)
			ctx := context.Background()
			u, sid, key := e.passkeyBench(b)
			id, options, err := e.svc.BeginPasskeyRegistration(ctx, u, sid, "Phone", account.Proof{Password: goodPassword, Code: ""}, meta)
			if err != nil {
				b.Fatal(err)
			}
			resp, err := key.Create(options)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.svc.FinishPasskeyRegistration(ctx, u, sid, id, "Phone", resp, meta); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				id, options, err := e.svc.BeginPasskeySignIn(ctx, meta)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				resp, err := key.Get(options)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, _, err := e.svc.FinishPasskeySignIn(ctx, id, resp, meta); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// passkeyBench is a passkey benchmark's account, signed in, and the
// software key it registers.
func (e *env) passkeyBench(b *testing.B) (*airlock.User, string, *softkey.Key) {
	u := e.user(b, "ada@example.com", goodPassword)
	_, sid, _, err := e.svc.SignIn(context.Background(), "ada@example.com", goodPassword, "", meta)
	if err != nil {
		b.Fatal(err)
	}
	return u, sid, softkey.New(origin)
}
