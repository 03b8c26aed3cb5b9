package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/password"
)

func TestSignInThrottledPerEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	for i := range 10 {
		// Each failure from a different address: the per-email limit holds anyway.
		m := account.Meta{IP: "198.51.100." + string(rune('0'+i))}
		if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", "wrong password number x", "", m); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if _, _, _, err := e.svc.SignIn(ctx, "ADA@example.com", goodPassword, "", meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("after 10 failures: %v, want rate_limited even with the right password", err)
	}
	// Unknown addresses are throttled the same way, so the limit tells nothing.
	for range 10 {
		e.svc.SignIn(ctx, "nobody@example.com", "whatever password", "", meta)
	}
	if _, _, _, err := e.svc.SignIn(ctx, "nobody@example.com", "whatever password", "", meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("unknown email after 10 failures: %v", err)
	}
	e.clock.Advance(15 * time.Minute)
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestSignInThrottledPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *account.Config) { c.LimitLoginPerIP = account.Rate{N: 5, Per: time.Minute} })
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	for i := range 5 {
		e.svc.SignIn(ctx, "user"+string(rune('a'+i))+"@example.com", "wrong password here", "", meta)
	}
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("after 5 failures from one IP: %v", err)
	}
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", account.Meta{IP: "203.0.113.9"}); err != nil {
		t.Fatalf("from another IP: %v", err)
	}
}

func TestSignInRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	nopw := e.user(t, "nopw@example.com", "")
	_ = nopw
	if _, _, _, err := e.svc.SignIn(ctx, "nopw@example.com", "", "", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("account without password: %v", err)
	}
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", strings.Repeat("x", 600), "", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("over-long password: %v", err)
	}
	u.Active = false
	e.db.UpdateUser(ctx, u)
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("inactive account: %v", err)
	}
	events, _, _ := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditSignIn})
	if len(events) != 3 || events[0].Outcome != "failure" || events[0].Detail != "inactive" || events[0].SubjectID != u.ID {
		t.Fatalf("sign-in audit = %+v", events[0])
	}
}

func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	_, sid, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	// Activity every 29 minutes keeps the session alive...
	start := e.clock.Now()
	for e.clock.Now().Add(29*time.Minute).Sub(start) < 12*time.Hour {
		e.clock.Advance(29 * time.Minute)
		if _, err := e.svc.Authenticate(ctx, sid); err != nil {
			t.Fatalf("active session ended after %v: %v", e.clock.Now().Sub(start), err)
		}
	}
	// ...but never beyond 12 hours.
	e.clock.Advance(29 * time.Minute)
	if _, err := e.svc.Authenticate(ctx, sid); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("session older than 12h: %v", err)
	}
	// Idle for 30 minutes ends it.
	_, sid, _, _ = e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
	e.clock.Advance(30 * time.Minute)
	if _, err := e.svc.Authenticate(ctx, sid); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("idle session: %v", err)
	}
}

func TestRehashAtSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	// Store a hash made with older, weaker parameters.
	old := password.NewHasher(password.Params{Memory: 32, Time: 1, Threads: 1}, 1, time.Second)
	h, _ := old.Hash(ctx, goodPassword)
	if ok, err := e.db.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, h); !ok || err != nil {
		t.Fatalf("UpdatePasswordHash = %v, %v", ok, err)
	}
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); err != nil {
		t.Fatal(err)
	}
	got, _ := e.db.UserByID(ctx, u.ID)
	if !strings.Contains(got.PasswordHash, "$m=64,t=1,p=1$") {
		t.Fatalf("hash not upgraded: %s", got.PasswordHash)
	}
}

func TestTemporaryPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	const temp = "temporary words for you"
	if err := e.svc.AdminSetPassword(ctx, account.Operator, u.ID, temp, "", true, meta); err != nil {
		t.Fatal(err)
	}
	got, _, _, err := e.svc.SignIn(ctx, "ada@example.com", temp, "", meta)
	if err != nil || !got.MustChangePassword {
		t.Fatalf("sign in with temporary password: %+v, %v", got, err)
	}
	// It cannot be kept as the new password.
	if _, err := e.svc.ChangePassword(ctx, got, "", temp, account.Proof{Password: ""}, meta); code(err) != airlock.CodePasswordPolicy {
		t.Fatalf("keeping the temporary password: %v", err)
	}
	// It expires after 72 hours.
	e.clock.Advance(72 * time.Hour)
	_, _, _, err = e.svc.SignIn(ctx, "ada@example.com", temp, "", meta)
	if code(err) != airlock.CodeUnauthorized || detail(err) != "temporary_password_expired" {
		t.Fatalf("after 72h: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	u, sid, _, _ := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
	_, other, _, _ := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
	if _, err := e.svc.ChangePassword(ctx, u, "", "a brand new passphrase", account.Proof{Password: "wrong current password"}, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("wrong current password: %v", err)
	}
	if _, err := e.svc.ChangePassword(ctx, u, "", goodPassword, account.Proof{Password: goodPassword}, meta); code(err) != airlock.CodePasswordPolicy {
		t.Fatalf("unchanged password: %v", err)
	}
	changed, err := e.svc.ChangePassword(ctx, u, "", "a brand new passphrase", account.Proof{Password: goodPassword}, meta)
	if err != nil {
		t.Fatal(err)
	}
	// The user as it was before the change can open no session any more.
	if _, err := e.svc.StartSession(ctx, u, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("session from the user before the change: %v", err)
	}
	fresh, err := e.svc.StartSession(ctx, changed, meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{sid, other} {
		if _, err := e.svc.Authenticate(ctx, old); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("old session survived the change: %v", err)
		}
	}
	if _, err := e.svc.Authenticate(ctx, fresh); err != nil {
		t.Fatalf("new session: %v", err)
	}
	e.drain(t)
	if m := e.smtp.Wait(t, 1); m[0].Header("Subject") != "Your password was changed" {
		t.Fatalf("email = %q", m[0].Header("Subject"))
	}
}

// TestAccountPageActions: a user sees their own sessions (the current one
// marked), signs out everywhere else (other browsers and the apps), and
// edits their own name and language, not their groups.
func TestAccountPageActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
	u, here, _, _ := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", account.Meta{IP: "192.0.2.1", UserAgent: "Firefox"})
	_, there, _, _ := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", account.Meta{IP: "192.0.2.2", UserAgent: "Safari"})
	app, _ := e.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "", meta)
	list, err := e.svc.MySessions(ctx, u, here)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions: %+v %v", list, err)
	}
	current := 0
	for _, s := range list {
		if s.Current {
			current++
			if s.Session.UserAgent != "Firefox" {
				t.Fatal("the wrong session is marked current")
			}
		}
	}
	if current != 1 {
		t.Fatalf("%d sessions marked current", current)
	}
	if n, err := e.svc.SignOutOthers(ctx, u, here, meta); err != nil || n != 1 {
		t.Fatalf("sign out everywhere else: %d %v", n, err)
	}
	if _, err := e.svc.Authenticate(ctx, there); code(err) != airlock.CodeUnauthorized {
		t.Fatal("another browser stayed signed in")
	}
	if _, err := e.svc.AuthenticateAPI(ctx, app.AccessToken); code(err) != airlock.CodeUnauthorized {
		t.Fatal("the app stayed signed in")
	}
	if _, err := e.svc.Authenticate(ctx, here); err != nil {
		t.Fatalf("this browser was signed out: %v", err)
	}
	got, err := e.svc.UpdateMyProfile(ctx, u, " Ada ", "King", "fr", meta)
	if err != nil || got.FirstName != "Ada" || got.Language != "fr" {
		t.Fatalf("own profile: %+v %v", got, err)
	}
	if _, err := e.svc.UpdateMyProfile(ctx, u, "Ada\u202e", "King", "fr", meta); code(err) != airlock.CodeInvalid {
		t.Fatalf("a bidi override in a name: %v", err)
	}
	if _, err := e.svc.UpdateMyProfile(ctx, u, "Ada", "King", "de", meta); code(err) != airlock.CodeInvalid {
		t.Fatalf("an unknown language: %v", err)
	}
}
