package account_test

// The security rules that read then write, run in parallel on two nodes
// (two Services with their own connection pools) sharing one database: a
// SQLite file, and PostgreSQL when AIRLOCK_TEST_DATABASE_URL is set (CI
// sets it). SQLite serialises writers and hides most races; PostgreSQL's
// READ COMMITTED does not, which is why every test runs on both.

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/password"
)

// eachBackend runs f with two nodes on one SQLite file, then with two nodes
// on one PostgreSQL database.
func eachBackend(t *testing.T, f func(t *testing.T, a, b *env)) {
	t.Run("sqlite", func(t *testing.T) {
		path := "sqlite:" + filepath.Join(t.TempDir(), "airlock.db")
		clock, smtp := testutil.NewClock(), mailtest.Start(t)
		f(t, newNode(t, testutil.OpenURL(t, path), clock, smtp), newNode(t, testutil.OpenURL(t, path), clock, smtp))
	})
	t.Run("postgres", func(t *testing.T) {
		a, b := twoNodes(t)
		f(t, a, b)
	})
}

// bag collects, from many goroutines, every credential an attacker got.
type bag struct {
	mu       sync.Mutex
	access   []string
	refresh  []string
	sessions []string
}

func (g *bag) tokens(t *account.Tokens) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.access = append(g.access, t.AccessToken)
	g.refresh = append(g.refresh, t.RefreshToken)
}

func (g *bag) session(sid string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sessions = append(g.sessions, sid)
}

// allDead fails unless no access token, refresh token or session in the
// bag works any more, on either node.
func (g *bag) allDead(t *testing.T, nodes ...*env) {
	t.Helper()
	ctx := context.Background()
	alive := 0
	for i, n := range nodes {
		for _, a := range g.access {
			if _, err := n.svc.AuthenticateAPI(ctx, a); err == nil {
				alive++
			} else if code(err) != airlock.CodeUnauthorized {
				t.Fatal(err)
			}
		}
		for _, sid := range g.sessions {
			if _, err := n.svc.Authenticate(ctx, sid); err == nil {
				alive++
			} else if code(err) != airlock.CodeUnauthorized {
				t.Fatal(err)
			}
		}
		// Presenting a refresh token uses it: try each once, on one node.
		for j, r := range g.refresh {
			if j%len(nodes) != i {
				continue
			}
			if _, err := n.svc.Refresh(ctx, r, meta); err == nil {
				alive++
			} else if code(err) != airlock.CodeInvalidToken {
				t.Fatal(err)
			}
		}
	}
	if alive > 0 {
		t.Fatalf("%d of %d credentials still work", alive, len(g.access)*len(nodes)+len(g.sessions)*len(nodes)+len(g.refresh))
	}
}

// TestResetEndsRacingAccess: refresh chains keep rotating on both nodes and
// sign-ins with the old password keep coming while a reset completes; not
// one token or session obtained from them works afterwards.
func TestResetEndsRacingAccess(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		nodes := []*env{a, b}
		a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		for round := range 3 {
			a.clock.Advance(time.Hour) // a fresh allowance of limits each round
			old := goodPassword
			if round > 0 {
				old = fmt.Sprintf("new password of round %d", round-1)
			}
			token := a.resetToken(t, "ada@example.com")
			got := &bag{}
			var chains []*account.Tokens
			for range 20 {
				tk, err := a.svc.SignInAPI(ctx, "ada@example.com", old, "", meta)
				if err != nil {
					t.Fatal(err)
				}
				got.tokens(tk)
				chains = append(chains, tk)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i, tk := range chains {
				wg.Go(func() {
					for n := 0; n < 200; n++ {
						select {
						case <-stop:
							return
						default:
						}
						next, err := nodes[(i+n)%2].svc.Refresh(ctx, tk.RefreshToken, meta)
						if err != nil {
							return
						}
						got.tokens(next)
						tk = next
					}
				})
			}
			for i := range 4 {
				m := account.Meta{IP: fmt.Sprintf("198.51.100.%d", i+1)}
				wg.Go(func() {
					for n := 0; n < 40; n++ {
						select {
						case <-stop:
							return
						default:
						}
						if _, sid, _, err := nodes[n%2].svc.SignIn(ctx, "ada@example.com", old, "", m); err == nil {
							got.session(sid)
						}
						if tk, err := nodes[(n+1)%2].svc.SignInAPI(ctx, "ada@example.com", old, "", m); err == nil {
							got.tokens(tk)
						}
					}
				})
			}
			time.Sleep(5 * time.Millisecond)
			if _, _, err := b.svc.CompleteLink(ctx, account.ByToken(token), fmt.Sprintf("new password of round %d", round), "", account.Meta{IP: "192.0.2.99"}); err != nil {
				t.Fatal(err)
			}
			// Let the attackers go on a little after the reset.
			time.Sleep(20 * time.Millisecond)
			close(stop)
			wg.Wait()
			got.allDead(t, a, b)
		}
	})
}

// TestRefreshReuseRacingThief: a thief rotated a stolen refresh token and
// keeps rotating its chain on one node while the legitimate app presents
// the old token on the other: the reuse kills the whole family, including
// every pair the thief's concurrent refreshes were adding.
func TestRefreshReuseRacingThief(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		for range 5 {
			legit, err := a.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "", meta)
			if err != nil {
				t.Fatal(err)
			}
			thief, err := a.svc.Refresh(ctx, legit.RefreshToken, account.Meta{IP: "203.0.113.66"})
			if err != nil {
				t.Fatal(err)
			}
			a.clock.Advance(10 * time.Second) // well past a parallel refresh
			got := &bag{}
			got.tokens(thief)
			rotated, reused := make(chan struct{}), make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				// The thief rotates until refused; once the reuse has been
				// answered, it gets a few more tries at most.
				after := 0
				for n := 0; ; n++ {
					if n == 5 {
						close(rotated)
					}
					select {
					case <-reused:
						if after++; after > 2 {
							t.Error("the thief's chain outlived the reuse detection")
							return
						}
					default:
					}
					next, err := a.svc.Refresh(ctx, thief.RefreshToken, account.Meta{IP: "203.0.113.66"})
					if err != nil {
						if n < 5 {
							close(rotated)
						}
						return
					}
					got.tokens(next)
					thief = next
				}
			})
			<-rotated
			_, err = b.svc.Refresh(ctx, legit.RefreshToken, meta)
			close(reused)
			if code(err) != airlock.CodeInvalidToken {
				t.Fatalf("reused refresh token: %v", err)
			}
			wg.Wait()
			got.allDead(t, a, b)
		}
	})
}

// TestParallelRefreshOfOneToken: an app that sends its refresh twice at
// once gets one new pair, and that pair keeps working: the loser gets
// invalid_grant and revokes nothing.
func TestParallelRefreshOfOneToken(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		tk, err := a.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "", meta)
		if err != nil {
			t.Fatal(err)
		}
		var wins []*account.Tokens
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 10 {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				next, err := n.svc.Refresh(ctx, tk.RefreshToken, meta)
				if err != nil {
					if code(err) != airlock.CodeInvalidToken {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				wins = append(wins, next)
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(wins) != 1 {
			t.Fatalf("%d parallel refreshes succeeded, want 1", len(wins))
		}
		if _, err := b.svc.AuthenticateAPI(ctx, wins[0].AccessToken); err != nil {
			t.Fatalf("the winner's access token: %v", err)
		}
		if _, err := b.svc.Refresh(ctx, wins[0].RefreshToken, meta); err != nil {
			t.Fatalf("the winner's refresh token: %v", err)
		}
	})
}

// TestParallelGuessesAreCounted: 60 wrong passwords for one address sent at
// once from 20 addresses over both nodes, on the web and the API, get at
// most the per-email limit's worth of password checks (10).
func TestParallelGuessesAreCounted(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		before := a.hasher.Verifications() + b.hasher.Verifications()
		var limited atomic.Int32
		var wg sync.WaitGroup
		for i := range 60 {
			n := []*env{a, b}[i%2]
			m := account.Meta{IP: fmt.Sprintf("198.51.100.%d", i%20+1)}
			wg.Go(func() {
				var err error
				if i%3 == 0 {
					_, err = n.svc.SignInAPI(ctx, "ada@example.com", "wrong guess number one", "", m)
				} else {
					_, _, _, err = n.svc.SignIn(ctx, "ada@example.com", "wrong guess number one", "", m)
				}
				switch code(err) {
				case airlock.CodeRateLimited:
					limited.Add(1)
				case airlock.CodeUnauthorized, airlock.CodeInvalidToken:
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		checks := a.hasher.Verifications() + b.hasher.Verifications() - before
		if checks > 10 || checks == 0 {
			t.Fatalf("%d password checks for 60 parallel guesses, want at most 10", checks)
		}
		if limited.Load() < 50 {
			t.Fatalf("%d guesses refused, want at least 50", limited.Load())
		}
		// Refusals are audited once per window, not once each.
		_, total, err := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditSignIn})
		if err != nil {
			t.Fatal(err)
		}
		if total > int(checks)+3 {
			t.Fatalf("%d sign-in audit events for %d checks and %d refusals", total, checks, limited.Load())
		}
	})
}

// TestParallelForgotAndBadTokenLimits: the forgot and bad-link limits hold
// for parallel requests over both nodes.
func TestParallelForgotAndBadTokenLimits(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		var accepted, badChecked atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				switch _, err := n.svc.RequestReset(ctx, fmt.Sprintf("x%d@example.com", i), meta); code(err) {
				case "":
					accepted.Add(1)
				case airlock.CodeRateLimited:
				default:
					t.Error(err)
				}
			})
			wg.Go(func() {
				// Well-formed tokens that do not exist, from one address.
				tok := fmt.Sprintf("%043d", i)
				switch _, _, err := n.svc.CheckLink(ctx, account.ByToken(tok), meta); code(err) {
				case airlock.CodeInvalidToken:
					badChecked.Add(1)
				case airlock.CodeRateLimited:
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if accepted.Load() != 20 {
			t.Fatalf("%d parallel forgot requests accepted, want 20", accepted.Load())
		}
		if n, _ := testutil.CountJobs(a.db, airlock.JobForgot); n != 20 {
			t.Fatalf("%d forgot requests queued, want 20", n)
		}
		if badChecked.Load() != 20 {
			t.Fatalf("%d bad links looked up, want 20", badChecked.Load())
		}
	})
}

// TestAdminsDemotingEachOther: two administrators removing each other's
// admin group at the same moment on two nodes always leave one.
func TestAdminsDemotingEachOther(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		none := []string{}
		var survivor *airlock.User
		for round := range 50 {
			x := a.user(t, fmt.Sprintf("x%d@example.com", round), goodPassword, airlock.GroupAdmin)
			y := a.user(t, fmt.Sprintf("y%d@example.com", round), goodPassword, airlock.GroupAdmin)
			if survivor != nil {
				if _, err := a.svc.AdminUpdateUser(ctx, account.Operator, survivor.ID, account.UserChanges{Groups: &none}, meta); err != nil {
					t.Fatal(err)
				}
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			for _, p := range []struct {
				node          *env
				actor, target *airlock.User
			}{{a, x, y}, {b, y, x}} {
				wg.Go(func() {
					_, err := p.node.svc.AdminUpdateUser(ctx, p.actor, p.target.ID, account.UserChanges{Groups: &none}, meta)
					switch code(err) {
					case "":
						wins.Add(1)
					case airlock.CodeConflict, airlock.CodeForbidden:
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if n, err := a.db.CountActiveAdmins(ctx); err != nil || n != 1 || wins.Load() != 1 {
				t.Fatalf("round %d: %d administrators left (%v), %d demotions", round, n, err, wins.Load())
			}
			survivor = x
			if u, _ := a.db.UserByID(ctx, x.ID); !u.HasGroup(airlock.GroupAdmin) {
				survivor = y
			}
		}
	})
}

// TestEditRacingDeactivation: an administrator's edit racing another's
// deactivation of the same user never undoes it.
func TestEditRacingDeactivation(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		x := a.user(t, "x@example.com", goodPassword, airlock.GroupAdmin)
		y := a.user(t, "y@example.com", goodPassword, airlock.GroupAdmin)
		u := a.user(t, "field@example.com", goodPassword, airlock.GroupMobile)
		on, off := true, false
		for round := range 50 {
			var wg sync.WaitGroup
			name := fmt.Sprintf("Round %d", round)
			wg.Go(func() {
				if _, err := a.svc.AdminUpdateUser(ctx, x, u.ID, account.UserChanges{FirstName: &name}, meta); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				if _, err := b.svc.AdminUpdateUser(ctx, y, u.ID, account.UserChanges{Active: &off}, meta); err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			got, _ := a.db.UserByID(ctx, u.ID)
			if got.Active || got.FirstName != name {
				t.Fatalf("round %d: active=%v name=%q: an update was lost", round, got.Active, got.FirstName)
			}
			if _, err := a.svc.AdminUpdateUser(ctx, x, u.ID, account.UserChanges{Active: &on}, meta); err != nil {
				t.Fatal(err)
			}
		}
		// A change made on a stale version is refused, not applied.
		cur, _ := a.db.UserByID(ctx, u.ID)
		stale := cur.Version - 1
		if _, err := a.svc.AdminUpdateUser(ctx, x, u.ID, account.UserChanges{Active: &on, Version: &stale}, meta); code(err) != airlock.CodeConflict {
			t.Fatalf("stale edit: %v", err)
		}
	})
}

// TestRightsTakenAwayEndAccess: losing the mobile group, or a temporary
// password expiring, ends API tokens and sessions at once.
func TestRightsTakenAwayEndAccess(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile, airlock.GroupWebReader)
		tk, err := a.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "", meta)
		if err != nil {
			t.Fatal(err)
		}
		got := &bag{}
		got.tokens(tk)
		web := []string{airlock.GroupWebReader}
		if _, err := b.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{Groups: &web}, meta); err != nil {
			t.Fatal(err)
		}
		got.allDead(t, a, b)

		// A temporary password that expires ends what it opened.
		v := a.user(t, "bob@example.com", goodPassword, airlock.GroupMobile)
		if err := a.svc.AdminSetPassword(ctx, account.Operator, v.ID, "temporary words for you", "", true, meta); err != nil {
			t.Fatal(err)
		}
		tk, err = a.svc.SignInAPI(ctx, "bob@example.com", "temporary words for you", "", meta)
		if err != nil {
			t.Fatal(err)
		}
		signedIn, sid, _, err := a.svc.SignIn(ctx, "bob@example.com", "temporary words for you", "", meta)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.AuthenticateAPI(ctx, tk.AccessToken); err != nil {
			t.Fatal(err)
		}
		a.clock.Advance(72*time.Hour + time.Second)
		got = &bag{}
		got.tokens(tk)
		got.session(sid)
		got.allDead(t, a, b)
		// Nor can the expired password be replaced without the email flow.
		if _, err := a.svc.ChangePassword(ctx, signedIn, "", "a password of my own", account.Proof{Password: ""}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("change of an expired temporary password: %v", err)
		}
	})
}

// TestRehashNeverOverwritesReset: sign-ins that upgrade an old hash racing
// a reset never bring the old password back.
func TestRehashNeverOverwritesReset(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		weak := password.NewHasher(password.Params{Memory: 32, Time: 1, Threads: 1}, 1, time.Second)
		for round := range 5 {
			a.clock.Advance(time.Hour) // a fresh allowance of limits each round
			old := goodPassword
			if round > 0 {
				old = fmt.Sprintf("reset password of round %d", round-1)
			}
			cur, _ := a.db.UserByID(ctx, u.ID)
			h, _ := weak.Hash(ctx, old)
			if ok, err := a.db.UpdatePasswordHash(ctx, u.ID, cur.PasswordHash, h); !ok || err != nil {
				t.Fatal(ok, err)
			}
			token := a.resetToken(t, "ada@example.com")
			next := fmt.Sprintf("reset password of round %d", round)
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					[]*env{a, b}[i%2].svc.SignIn(ctx, "ada@example.com", old, "", account.Meta{IP: fmt.Sprintf("198.51.100.%d", i)})
				})
			}
			wg.Go(func() {
				if _, _, err := b.svc.CompleteLink(ctx, account.ByToken(token), next, "", meta); err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			if _, _, _, err := a.svc.SignIn(ctx, "ada@example.com", next, "", meta); err != nil {
				t.Fatalf("round %d: the reset password does not work: %v", round, err)
			}
			if _, _, _, err := a.svc.SignIn(ctx, "ada@example.com", old, "", account.Meta{IP: "192.0.2.77"}); code(err) != airlock.CodeUnauthorized {
				t.Fatalf("round %d: the old password still works: %v", round, err)
			}
		}
	})
}

// TestNoActorIsNoAdmin: a missing actor is refused everywhere; only the
// command line's explicit Operator acts without being a user.
func TestNoActorIsNoAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	off := false
	checks := map[string]error{}
	_, _, checks["list"] = e.svc.AdminListUsers(ctx, nil, airlock.UserFilter{})
	_, checks["get"] = e.svc.AdminGetUser(ctx, nil, u.ID)
	_, checks["find"] = e.svc.AdminFindUser(ctx, nil, u.Email)
	_, checks["create"] = e.svc.AdminCreateUser(ctx, nil, account.NewUser{Email: "x@example.com"}, meta)
	_, checks["update"] = e.svc.AdminUpdateUser(ctx, nil, u.ID, account.UserChanges{Active: &off}, meta)
	checks["set password"] = e.svc.AdminSetPassword(ctx, nil, u.ID, "a new password for her", "", false, meta)
	checks["send reset"] = e.svc.AdminSendReset(ctx, nil, u.ID, meta)
	_, _, checks["audit"] = e.svc.AdminListAudit(ctx, nil, airlock.AuditFilter{})
	for name, err := range checks {
		if code(err) != airlock.CodeForbidden {
			t.Errorf("%s with no actor: %v, want forbidden", name, err)
		}
	}
	// A user who merely looks like the Operator is not it.
	fake := &airlock.User{ID: "operator", Email: "operator", Active: true}
	if _, _, err := e.svc.AdminListUsers(ctx, fake, airlock.UserFilter{}); code(err) != airlock.CodeForbidden {
		t.Fatalf("a copy of the Operator: %v", err)
	}
	if _, _, err := e.svc.AdminListUsers(ctx, account.Operator, airlock.UserFilter{}); err != nil {
		t.Fatal(err)
	}
}

// TestAdministratorsProveItIsThem: an administrator changing their own
// password or email gives their current password, like anyone.
func TestAdministratorsProveItIsThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := e.user(t, "boss@example.com", goodPassword, airlock.GroupAdmin)
	for _, current := range []string{"", "not my password at all"} {
		if err := e.svc.AdminSetPassword(ctx, admin, admin.ID, "taken over with a stolen token", current, false, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("own password with current %q: %v", current, err)
		}
		email := "attacker@example.net"
		if _, err := e.svc.AdminUpdateUser(ctx, admin, admin.ID, account.UserChanges{Email: &email, CurrentPassword: current}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("own email with current %q: %v", current, err)
		}
	}
	got, _ := e.db.UserByID(ctx, admin.ID)
	if got.Email != "boss@example.com" || got.PasswordHash != admin.PasswordHash {
		t.Fatal("a change without proof was written")
	}
	// With the current password, both work (and end the admin's sessions).
	if err := e.svc.AdminSetPassword(ctx, admin, admin.ID, "my own new passphrase", goodPassword, true, meta); err != nil {
		t.Fatal(err)
	}
	admin, _ = e.db.UserByID(ctx, admin.ID)
	if admin.MustChangePassword {
		t.Fatal("an administrator's own password was made temporary")
	}
	email := "boss2@example.com"
	if _, err := e.svc.AdminUpdateUser(ctx, admin, admin.ID, account.UserChanges{Email: &email, CurrentPassword: "my own new passphrase"}, meta); err != nil {
		t.Fatal(err)
	}
}

// TestResetLinksRacingChanges: reset emails being sent (their links minted)
// on one node while the other changes the user's email or password, or
// several going out at once on both: afterwards, not one link from before
// the change works; of links sent together each works, whichever arrives
// last (SPEC §6.2), until one is used, which kills the others.
func TestResetLinksRacingChanges(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		live := func(from int) (n int) {
			for _, m := range a.smtp.Messages()[from:] {
				if got := tokenRE.FindStringSubmatch(m.Parts()["text/plain"]); got != nil {
					if _, _, err := a.svc.CheckLink(ctx, account.ByToken(got[1]), account.Meta{IP: "192.0.2.200"}); err == nil {
						n++
					}
				}
			}
			return n
		}
		for round := range 6 {
			a.clock.Advance(2 * time.Hour) // a fresh per-account allowance
			cur, _ := a.db.UserByID(ctx, u.ID)
			before := len(a.smtp.Messages())
			for range 3 {
				if _, err := a.svc.RequestReset(ctx, cur.Email, account.Meta{IP: fmt.Sprintf("198.51.100.%d", round)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.svc.ProcessDue(ctx); err != nil { // the forgot requests become 3 emails
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for _, n := range []*env{a, b, a, b} {
				wg.Go(func() { n.svc.ProcessDue(ctx) })
			}
			wg.Go(func() {
				var err error
				if round%2 == 0 {
					email := fmt.Sprintf("ada%d@example.com", round)
					_, err = b.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{Email: &email}, meta)
				} else {
					err = b.svc.AdminSetPassword(ctx, account.Operator, u.ID, fmt.Sprintf("set by the administrator %d", round), "", false, meta)
				}
				if err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			a.drain(t)
			if n := live(before); n != 0 {
				t.Fatalf("round %d: %d reset links sent before the change still work", round, n)
			}
			// Three emails going out together: each link works until one
			// is used.
			before = len(a.smtp.Messages())
			a.clock.Advance(2 * time.Hour)
			cur, _ = a.db.UserByID(ctx, u.ID)
			for range 3 {
				if _, err := a.svc.RequestReset(ctx, cur.Email, account.Meta{IP: "198.51.100.250"}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.svc.ProcessDue(ctx); err != nil {
				t.Fatal(err)
			}
			for _, n := range []*env{a, b, a, b} {
				wg.Go(func() { n.svc.ProcessDue(ctx) })
			}
			wg.Wait()
			msgs := a.smtp.Wait(t, before+3)
			if n := live(before); n != 3 {
				t.Fatalf("round %d: %d links of 3 emails sent together work, want every one", round, n)
			}
			used := tokenRE.FindStringSubmatch(msgs[before+round%3].Parts()["text/plain"])
			if _, _, err := b.svc.CompleteLink(ctx, account.ByToken(used[1]), fmt.Sprintf("chosen from a link %d", round), "", account.Meta{IP: "192.0.2.201"}); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if n := live(before); n != 0 {
				t.Fatalf("round %d: %d links still work after one was used", round, n)
			}
		}
	})
}

// TestEmailChangeRacingRefreshes: an email change while the user's apps
// keep refreshing their tokens neither deadlocks nor fails, and leaves no
// token working.
func TestEmailChangeRacingRefreshes(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		for round := range 10 {
			a.clock.Advance(time.Hour)
			cur, _ := a.db.UserByID(ctx, u.ID)
			got := &bag{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 3 {
				tk, err := a.svc.SignInAPI(ctx, cur.Email, goodPassword, "", account.Meta{IP: fmt.Sprintf("198.51.100.%d", i)})
				if err != nil {
					t.Fatal(err)
				}
				got.tokens(tk)
				wg.Go(func() {
					for n := 0; n < 200; n++ {
						select {
						case <-stop:
							return
						default:
						}
						next, err := []*env{a, b}[n%2].svc.Refresh(ctx, tk.RefreshToken, meta)
						if err != nil {
							if code(err) != airlock.CodeInvalidToken {
								t.Error(err)
							}
							return
						}
						got.tokens(next)
						tk = next
					}
				})
			}
			time.Sleep(5 * time.Millisecond)
			email := fmt.Sprintf("ada%d@example.com", round)
			if _, err := b.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{Email: &email}, meta); err != nil {
				t.Fatalf("round %d: email change racing refreshes: %v", round, err)
			}
			time.Sleep(10 * time.Millisecond)
			close(stop)
			wg.Wait()
			got.allDead(t, a, b)
		}
	})
}

// TestResetLinkMintedDuringAChange: a reset email is being sent (its link
// minted) while another node's transaction is changing the user's email:
// the link must die with the change. The change is held open on purpose
// while the worker runs, so the interleaving happens every time.
func TestResetLinkMintedDuringAChange(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		if err := a.svc.AdminSendReset(ctx, account.Operator, u.ID, meta); err != nil { // a reset email waits in the outbox
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		err := b.db.Update(ctx, func(tx airlock.Tx) error {
			// What an email change does, up to its commit.
			cur, err := tx.UserByIDForUpdate(ctx, u.ID)
			if err != nil {
				return err
			}
			if _, err := tx.RevokeResetTokens(ctx, u.ID, a.clock.Now()); err != nil {
				return err
			}
			cur.Email = "moved@example.com"
			if err := tx.UpdateUser(ctx, cur); err != nil {
				return err
			}
			wg.Go(func() { a.svc.ProcessDue(ctx) }) // the email goes out meanwhile
			time.Sleep(300 * time.Millisecond)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		a.drain(t)
		for _, m := range a.smtp.Messages() {
			if got := tokenRE.FindStringSubmatch(m.Parts()["text/plain"]); got != nil {
				if _, _, err := a.svc.CheckLink(ctx, account.ByToken(got[1]), meta); err == nil {
					t.Fatalf("a link minted during the email change works after it (sent to %v)", m.To)
				}
			}
		}
	})
}
