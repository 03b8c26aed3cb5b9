package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/client"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// forwardedFor makes requests look as if a trusted load balancer relayed
// them for ip.
type forwardedFor string

func (ip forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", string(ip))
	return http.DefaultTransport.RoundTrip(r)
}

// cluster is several `airlock serve` nodes on one database, behind a
// (pretend) load balancer on 127.0.0.1.
type cluster struct {
	t     *testing.T
	nodes []*program
	db    *store.DB
	smtp  *mailtest.Server
}

func startCluster(t *testing.T, dsn string, n int) *cluster {
	c := &cluster{t: t, smtp: mailtest.Start(t)}
	for range n {
		p := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": dsn, "AIRLOCK_SMTP_URL": c.smtp.URL(),
			"AIRLOCK_TRUSTED_PROXIES": "127.0.0.1", "AIRLOCK_LIMIT_LOGIN_PER_IP": "1000/15m", "AIRLOCK_LOG_LEVEL": "warn"})
		c.nodes = append(c.nodes, p)
	}
	for _, p := range c.nodes {
		p.serve()
	}
	c.db = testutil.OpenURL(t, dsn)
	return c
}

// app is the mobile app on node i, from client address ip.
func (c *cluster) app(i int, ip string) *client.Client {
	a := client.New(c.nodes[i%len(c.nodes)].url(""))
	a.HTTP = &http.Client{Transport: forwardedFor(ip), Timeout: 30 * time.Second}
	return a
}

func (c *cluster) addUser(email, password string, groups ...string) *airlock.User {
	c.t.Helper()
	args := []string{"user", "add", "--email", email, "--password-stdin"}
	for _, g := range groups {
		args = append(args, "--group", g)
	}
	if _, err := c.nodes[0].run(password+"\n", args...); err != nil {
		c.t.Fatal(err)
	}
	u, err := c.db.UserByEmail(context.Background(), email)
	if err != nil {
		c.t.Fatal(err)
	}
	return u
}

// webSignIn signs in through node i's login page and returns the session
// cookie's value, or "" when the sign-in failed.
func (c *cluster) webSignIn(i int, email, password, ip string) string {
	hc := &http.Client{Transport: forwardedFor(ip), Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.PostForm(c.nodes[i%len(c.nodes)].url("/login"), url.Values{"email": {email}, "password": {password}})
	if err != nil {
		c.t.Error(err)
		return ""
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == "airlock_session" && ck.Value != "" && res.Header.Get("Location") == "/account" {
			return ck.Value
		}
	}
	return ""
}

// sessionWorks reports whether a session cookie still opens /account.
func (c *cluster) sessionWorks(i int, sid string) bool {
	req, _ := http.NewRequest("GET", c.nodes[i%len(c.nodes)].url("/account"), nil)
	req.AddCookie(&http.Cookie{Name: "airlock_session", Value: sid})
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// eachCluster runs f on two nodes sharing a SQLite file, and on three nodes
// sharing a PostgreSQL database (when AIRLOCK_TEST_DATABASE_URL is set, as
// in CI).
func eachCluster(t *testing.T, f func(t *testing.T, c *cluster)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, startCluster(t, "sqlite:"+filepath.Join(t.TempDir(), "airlock.db"), 2))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testutil.PostgresURL(t)
		if dsn == "" {
			t.Skipf("%s not set: the PostgreSQL half needs it (CI sets it)", testutil.PostgresEnv)
		}
		f(t, startCluster(t, dsn, 3))
	})
}

// TestNodesEndAccessTogether attacks several real nodes at once, from
// outside: a reset on one node ends every refresh chain and old-password
// sign-in racing it on the others; parallel guesses over every node get no
// more than the per-email limit's worth of password checks; two
// administrators demoting each other on two nodes leave one; an edit racing
// a deactivation never undoes it; losing the mobile group ends the app's
// tokens at once.
func TestNodesEndAccessTogether(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, c *cluster) {
		ctx := context.Background()
		const old = "the old password, long enough"
		fay := c.addUser("fay@example.com", old, "mobile", "web_reader")
		boss := c.addUser("boss@example.com", "first admin passphrase here", "admin")
		deputy := c.addUser("deputy@example.com", "second admin passphrase here", "admin")
		gus := c.addUser("gus@example.com", old, "mobile")
		hal := c.addUser("hal@example.com", old, "mobile")

		t.Run("reset ends racing access", func(t *testing.T) {
			if _, err := c.app(0, "192.0.2.1").Forgot(ctx, "fay@example.com"); err != nil {
				t.Fatal(err)
			}
			m := appLinkRE.FindString(c.smtp.Wait(t, 1)[0].Parts()["text/plain"])
			link, err := url.Parse(m)
			if err != nil || m == "" {
				t.Fatalf("no link: %q", m)
			}
			var mu sync.Mutex
			var access, refresh, sessions []string
			var chains []*client.Tokens
			for i := range 10 {
				tk, err := c.app(i, "198.51.100.1").SignIn(ctx, "fay@example.com", old)
				if err != nil {
					t.Fatal(err)
				}
				chains = append(chains, tk)
				access = append(access, tk.AccessToken)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i, tk := range chains {
				wg.Go(func() {
					for n := 0; n < 100; n++ {
						select {
						case <-stop:
							return
						default:
						}
						next, err := c.app(i+n, "198.51.100.2").Refresh(ctx, tk.RefreshToken)
						if err != nil {
							return
						}
						mu.Lock()
						access, refresh = append(access, next.AccessToken), append(refresh, next.RefreshToken)
						mu.Unlock()
						tk = next
					}
				})
			}
			for i := range 3 {
				wg.Go(func() {
					for n := 0; n < 20; n++ {
						select {
						case <-stop:
							return
						default:
						}
						ip := fmt.Sprintf("198.51.100.%d", 10+i)
						if sid := c.webSignIn(i+n, "fay@example.com", old, ip); sid != "" {
							mu.Lock()
							sessions = append(sessions, sid)
							mu.Unlock()
						}
						if tk, err := c.app(i+n+1, ip).SignIn(ctx, "fay@example.com", old); err == nil {
							mu.Lock()
							access, refresh = append(access, tk.AccessToken), append(refresh, tk.RefreshToken)
							mu.Unlock()
						}
					}
				})
			}
			time.Sleep(30 * time.Millisecond)
			if err := c.app(len(c.nodes)-1, "192.0.2.1").Reset(ctx, link.Query().Get("token"), "the new password, long enough"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			close(stop)
			wg.Wait()
			alive := 0
			for i, a := range access {
				if _, err := c.app(i, "192.0.2.2").Me(ctx, a); err == nil {
					alive++
				}
			}
			for i, r := range refresh {
				if _, err := c.app(i, "192.0.2.2").Refresh(ctx, r); err == nil {
					alive++
				}
			}
			for i, sid := range sessions {
				if c.sessionWorks(i, sid) {
					alive++
				}
			}
			if alive > 0 {
				t.Fatalf("%d of %d tokens and sessions outlived the reset", alive, len(access)+len(refresh)+len(sessions))
			}
		})

		t.Run("parallel guesses are counted", func(t *testing.T) {
			before := countAudit(t, c.db, hal.ID, "failure")
			var wg sync.WaitGroup
			var limited, busy atomic.Int32
			var mu sync.Mutex
			var other []string
			for i := range 60 {
				ip := fmt.Sprintf("203.0.113.%d", i%20+1)
				wg.Go(func() {
					var err error
					if i%2 == 0 {
						_, err = c.app(i, ip).SignIn(ctx, "hal@example.com", "a wrong guess, long enough")
					} else if c.webSignIn(i, "hal@example.com", "a wrong guess, long enough", ip) != "" {
						t.Error("a wrong guess signed in")
					}
					switch client.ErrorCode(err) {
					case "rate_limited":
						limited.Add(1)
					case "unavailable":
						// Turned away before any check when every hashing
						// slot is busy (a loaded machine): refused too.
						busy.Add(1)
					default:
						if i%2 == 0 {
							mu.Lock()
							other = append(other, fmt.Sprint(err))
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			if checks := countAudit(t, c.db, hal.ID, "failure") - before; checks > 10 || checks == 0 {
				t.Fatalf("%d password checks for 60 parallel guesses over %d nodes, want at most 10", checks, len(c.nodes))
			}
			if limited.Load() == 0 || limited.Load()+busy.Load() < 20 {
				t.Fatalf("only %d of 30 API guesses were refused by the limit (and %d for want of a hashing slot); the others: %q", limited.Load(), busy.Load(), other)
			}
		})

		admin := func(i int, email, password string) (*client.Client, string) {
			a := c.app(i, fmt.Sprintf("192.0.2.%d", 100+i))
			tk, err := a.SignIn(ctx, email, password)
			if err != nil {
				t.Fatalf("admin %s: %v", email, err)
			}
			return a, tk.AccessToken
		}

		t.Run("administrators demoting each other", func(t *testing.T) {
			bossAPI, bossToken := admin(0, "boss@example.com", "first admin passphrase here")
			deputyAPI, deputyToken := admin(1, "deputy@example.com", "second admin passphrase here")
			var wins atomic.Int32
			var wg sync.WaitGroup
			wg.Go(func() {
				if _, err := bossAPI.UpdateUser(ctx, bossToken, deputy.ID, map[string]any{"groups": []string{}}); err == nil {
					wins.Add(1)
				}
			})
			wg.Go(func() {
				if _, err := deputyAPI.UpdateUser(ctx, deputyToken, boss.ID, map[string]any{"groups": []string{}}); err == nil {
					wins.Add(1)
				}
			})
			wg.Wait()
			if n, err := c.db.CountActiveAdmins(ctx); err != nil || n != 1 || wins.Load() != 1 {
				t.Fatalf("%d administrators left (%v) after %d demotions", n, err, wins.Load())
			}
		})

		t.Run("edit racing deactivation", func(t *testing.T) {
			u, _ := c.db.UserByID(ctx, boss.ID)
			actor, other := "boss@example.com", "first admin passphrase here"
			if !u.HasGroup("admin") {
				actor, other = "deputy@example.com", "second admin passphrase here"
			}
			one, tokenOne := admin(0, actor, other)
			two, tokenTwo := admin(1, actor, other)
			for round := range 10 {
				var wg sync.WaitGroup
				wg.Go(func() {
					if _, err := one.UpdateUser(ctx, tokenOne, fay.ID, map[string]any{"first_name": fmt.Sprintf("Round %d", round)}); err != nil {
						t.Error(err)
					}
				})
				wg.Go(func() {
					if _, err := two.UpdateUser(ctx, tokenTwo, fay.ID, map[string]any{"active": false}); err != nil {
						t.Error(err)
					}
				})
				wg.Wait()
				if got, _ := c.db.UserByID(ctx, fay.ID); got.Active || got.FirstName != fmt.Sprintf("Round %d", round) {
					t.Fatalf("round %d: active=%v name=%q: an update was lost", round, got.Active, got.FirstName)
				}
				if _, err := one.UpdateUser(ctx, tokenOne, fay.ID, map[string]any{"active": true}); err != nil {
					t.Fatal(err)
				}
			}
		})

		t.Run("losing the mobile group ends the app's tokens", func(t *testing.T) {
			app := c.app(0, "192.0.2.50")
			tk, err := app.SignIn(ctx, "gus@example.com", old)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := c.db.UserByID(ctx, boss.ID)
			email, pw := "boss@example.com", "first admin passphrase here"
			if !u.HasGroup("admin") {
				email, pw = "deputy@example.com", "second admin passphrase here"
			}
			adm, token := admin(1, email, pw)
			if _, err := adm.UpdateUser(ctx, token, gus.ID, map[string]any{"groups": []string{"web_reader"}}); err != nil {
				t.Fatal(err)
			}
			other := c.app(len(c.nodes)-1, "192.0.2.50")
			if _, err := other.Me(ctx, tk.AccessToken); client.ErrorCode(err) != "unauthorized" {
				t.Fatalf("access token after losing the group: %v", err)
			}
			if _, err := other.Refresh(ctx, tk.RefreshToken); client.ErrorCode(err) != "invalid_grant" {
				t.Fatalf("refresh token after losing the group: %v", err)
			}
		})
	})
}

// countAudit counts the sign-in events about a user with that outcome.
func countAudit(t *testing.T, db *store.DB, userID, outcome string) int {
	t.Helper()
	events, _, err := db.ListAudit(context.Background(), airlock.AuditFilter{UserID: userID, Kind: airlock.AuditSignIn, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Outcome == outcome && strings.Contains(e.Detail, "bad_password") {
			n++
		}
	}
	return n
}
