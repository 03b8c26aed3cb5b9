package account_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/softkey"
)

// removalAnswer begins, in the browser of session sid, the passkey that
// confirms the removal of passkey id, and answers it with key.
func (e *env) removalAnswer(t *testing.T, u *airlock.User, sid string, id []byte, key *softkey.Key) account.PasskeyAnswer {
	t.Helper()
	c, options, err := e.svc.BeginPasskeyRemoval(context.Background(), u, sid, id, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	return account.PasskeyAnswer{Ceremony: c, Response: resp}
}

// TestPasskeyRemovalAsksSecondStep: removing a passkey asks for the
// password and a second step the account has. Without an authenticator
// app the password alone is refused: one of the account's passkeys
// confirms (another one, or the one removed), never another account's,
// nor an answer begun for another passkey or in another browser. With an
// app, its code (or a recovery code) confirms, or a passkey.
func TestPasskeyRemovalAsksSecondStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	phone, laptop := softkey.New(origin), softkey.New(origin)
	p1, sid := e.addPasskeyIn(t, u, e.signedIn(t, "ada@example.com"), phone, "Phone", "")
	p2 := e.addPasskey(t, u, sid, laptop, "Laptop", "")
	u = mustUser(t, e, u.ID)
	left := func(want int) {
		t.Helper()
		if n := mustUser(t, e, u.ID).Passkeys; n != want {
			t.Fatalf("%d passkeys left, want %d", n, want)
		}
	}

	// The password alone: refused, nothing removed.
	err := e.svc.RemovePasskey(ctx, u, sid, p1.ID, account.Proof{Password: goodPassword, Code: "", Passkey: account.PasskeyAnswer{}}, meta)
	if code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("removed with the password alone: %v", err)
	}
	// Nor does an app's code stand in for a passkey on an account without
	// an app (a code there can only be a recovery code: refused as wrong).
	if err := e.svc.RemovePasskey(ctx, u, sid, p1.ID, account.Proof{Password: goodPassword, Code: "123456", Passkey: account.PasskeyAnswer{}}, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("removed with a code and no app: %v", err)
	}
	left(2)

	// Another account's passkey: refused.
	bob := e.user(t, "bob@example.com", goodPassword)
	bobKey := softkey.New(origin)
	e.addPasskey(t, bob, e.signedIn(t, "bob@example.com"), bobKey, "Bob's", "")
	c, options, err := e.svc.BeginPasskeyRemoval(ctx, u, sid, p1.ID, meta)
	if err != nil {
		t.Fatal(err)
	}
	// Bob's authenticator, made to answer though the options name only
	// ada's passkeys: the server refuses it.
	bobs, err := bobKey.Get(withoutAllowList(t, options))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RemovePasskey(ctx, u, sid, p1.ID, account.Proof{Password: goodPassword, Code: "", Passkey: account.PasskeyAnswer{Ceremony: c, Response: bobs}}, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("removed with another account's passkey: %v", err)
	}
	left(2)
	if c, options, err = e.svc.BeginPasskeyRemoval(ctx, u, sid, p1.ID, meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.BeginPasskeyRemoval(ctx, u, sid, mustPasskeys(t, e, bob)[0].ID, meta); code(err) != airlock.CodeNotFound {
		t.Fatalf("a ceremony to remove another account's passkey: %v", err)
	}
	resp, _ := phone.Get(options)
	// An answer begun for p1 does not remove p2, nor from another browser.
	if err := e.svc.RemovePasskey(ctx, u, sid, p2.ID, account.Proof{Password: goodPassword, Code: "", Passkey: account.PasskeyAnswer{Ceremony: c, Response: resp}}, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("an answer for another passkey's removal: %v", err)
	}
	other := e.passkeySignIn(t, laptop)
	if err := e.svc.RemovePasskey(ctx, u, other, p1.ID, account.Proof{Password: goodPassword, Code: "", Passkey: account.PasskeyAnswer{Ceremony: c, Response: resp}}, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("an answer begun in another browser: %v", err)
	}
	left(2)

	// Another of the account's passkeys confirms; then the one removed
	// confirms its own removal.
	if err := e.svc.RemovePasskey(ctx, u, sid, p1.ID, account.Proof{Password: goodPassword, Code: "", Passkey: e.removalAnswer(t, u, sid, p1.ID, laptop)}, meta); err != nil {
		t.Fatalf("removed with another passkey: %v", err)
	}
	left(1)
	u = mustUser(t, e, u.ID)
	answer := e.removalAnswer(t, u, sid, p2.ID, laptop)
	if err := e.svc.RemovePasskey(ctx, u, sid, p2.ID, account.Proof{Password: goodPassword, Code: "", Passkey: answer}, meta); err != nil {
		t.Fatalf("removed with itself: %v", err)
	}
	left(0)
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditPasskey})
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, ev := range events {
		if ev.Detail == "passkey_removed" && ev.Outcome == "success" {
			removed++
		}
	}
	if removed != 2 {
		t.Fatalf("%d removals audited", removed)
	}

	// With an authenticator app: its code, a recovery code, or a passkey.
	v := e.user(t, "kai@example.com", goodPassword)
	secret, codes := enrol(t, e, v)
	v, vsid := signInWithCode(t, e, "kai@example.com", secret)
	k1, k2, k3 := softkey.New(origin), softkey.New(origin), softkey.New(origin)
	e.clock.Advance(30 * time.Second)
	q1, vsid := e.addPasskeyIn(t, v, vsid, k1, "One", codeAt(secret, e.clock.Now()))
	e.clock.Advance(30 * time.Second)
	q2 := e.addPasskey(t, v, vsid, k2, "Two", codeAt(secret, e.clock.Now()))
	e.clock.Advance(30 * time.Second)
	q3 := e.addPasskey(t, v, vsid, k3, "Three", codeAt(secret, e.clock.Now()))
	v = mustUser(t, e, v.ID)
	e.clock.Advance(30 * time.Second)
	if err := e.svc.RemovePasskey(ctx, v, vsid, q1.ID, account.Proof{Password: goodPassword, Code: "", Passkey: account.PasskeyAnswer{}}, meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("removed with the password alone, two-step sign-in on: %v", err)
	}
	if err := e.svc.RemovePasskey(ctx, v, vsid, q1.ID, account.Proof{Password: goodPassword, Code: codeAt(secret, e.clock.Now())}, meta); err != nil {
		t.Fatalf("removed with the code: %v", err)
	}
	if err := e.svc.RemovePasskey(ctx, v, vsid, q2.ID, account.Proof{Password: goodPassword, Code: codes[0], Passkey: account.PasskeyAnswer{}}, meta); err != nil {
		t.Fatalf("removed with a recovery code: %v", err)
	}
	v = mustUser(t, e, v.ID)
	if err := e.svc.RemovePasskey(ctx, v, vsid, q3.ID, account.Proof{Password: goodPassword, Code: "", Passkey: e.removalAnswer(t, v, vsid, q3.ID, k3)}, meta); err != nil {
		t.Fatalf("removed with a passkey: %v", err)
	}
	if n := mustUser(t, e, v.ID).Passkeys; n != 0 {
		t.Fatalf("%d passkeys left", n)
	}
}

// withoutAllowList is options without the list of passkeys that may
// answer, so that any authenticator answers.
func withoutAllowList(t *testing.T, options []byte) []byte {
	t.Helper()
	var o map[string]map[string]any
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	delete(o["publicKey"], "allowCredentials")
	out, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// passkeySignIn signs in with a passkey of key, no password, and returns
// the session.
func (e *env) passkeySignIn(t *testing.T, key *softkey.Key) string {
	t.Helper()
	ctx := context.Background()
	id, options, err := e.svc.BeginPasskeySignIn(ctx, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	_, sid, err := e.svc.FinishPasskeySignIn(ctx, id, resp, meta)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

func mustPasskeys(t *testing.T, e *env, u *airlock.User) []*airlock.Passkey {
	t.Helper()
	keys, err := e.svc.Passkeys(context.Background(), u)
	if err != nil || len(keys) == 0 {
		t.Fatalf("passkeys: %v %v", keys, err)
	}
	return keys
}

// signInWithCode signs email in with the password and the app's code at
// the clock's time, and returns the user and the session.
func signInWithCode(t *testing.T, e *env, email string, secret []byte) (*airlock.User, string) {
	t.Helper()
	ctx := context.Background()
	_, _, challenge, err := e.svc.SignIn(ctx, email, goodPassword, "", meta)
	if err != nil || challenge == "" {
		t.Fatalf("password: %q %v", challenge, err)
	}
	u, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, codeAt(secret, e.clock.Now()), meta)
	if err != nil || sid == "" {
		t.Fatalf("code: %v", err)
	}
	return u, sid
}

// TestPasskeyRemovalOneAnswer: one removal's passkey answer sent many
// times at once, to two nodes, removes the passkey once: one success, one
// audit event, one email (SQLite: two services on one file; PostgreSQL:
// two pools).
func TestPasskeyRemovalOneAnswer(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		key := softkey.New(origin)
		p, sid := a.addPasskeyIn(t, u, a.signedIn(t, "ada@example.com"), key, "Phone", "")
		u = mustUser(t, a, u.ID)
		answer := a.removalAnswer(t, u, sid, p.ID, key)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				err := n.svc.RemovePasskey(ctx, u, sid, p.ID, account.Proof{Password: goodPassword, Code: "", Passkey: answer}, meta)
				switch {
				case err == nil:
					wins.Add(1)
				case code(err) != airlock.CodeUnauthorized && code(err) != airlock.CodeNotFound:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d removals from one answer", wins.Load())
		}
		events, _, err := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditPasskey})
		if err != nil {
			t.Fatal(err)
		}
		removed := 0
		for _, ev := range events {
			if ev.Detail == "passkey_removed" {
				removed++
			}
		}
		if removed != 1 {
			t.Fatalf("%d removals audited", removed)
		}
	})
}

// TestFirstPasskeyEndsOtherSessions: the first passkey of an account
// without an authenticator app turns its second step on, and ends every
// other session and app sign-in of the user (they were opened with the
// password alone), as turning two-step sign-in on does; the browser that
// added it goes on in a new session, signed in as it was. Audited, and the
// email says so. A second passkey ends nothing, nor does a first one on an
// account whose app was the second step already.
func TestFirstPasskeyEndsOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword, "mobile")
	here, elsewhere := e.signedIn(t, "ada@example.com"), e.signedIn(t, "ada@example.com")
	app, err := e.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	key := softkey.New(origin)
	_, renewed := e.addPasskeyIn(t, u, here, key, "Phone", "")
	if renewed == here {
		t.Fatal("the first passkey did not renew the session")
	}
	for name, sid := range map[string]string{"this browser's old session": here, "another browser": elsewhere} {
		if _, err := e.svc.Authenticate(ctx, sid); err == nil {
			t.Fatalf("%s still signed in after the first passkey", name)
		}
	}
	if _, err := e.svc.Authenticate(ctx, renewed); err != nil {
		t.Fatalf("this browser's new session: %v", err)
	}
	if got := strings.Join(e.session(t, renewed).AMR, " "); got != "pwd" {
		t.Fatalf("the new session's amr: %q", got)
	}
	if _, err := e.svc.AuthenticateAPI(ctx, app.AccessToken); err == nil {
		t.Fatal("the app's access token still works")
	}
	if _, err := e.svc.Refresh(ctx, app.RefreshToken, meta); err == nil {
		t.Fatal("the app's refresh token still works")
	}
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditSessionsRevoked})
	if err != nil || len(events) != 1 || events[0].Detail != "revoked" || len(events[0].Args) == 0 || events[0].Args[0] != "first_passkey" {
		t.Fatalf("audit: %+v %v", events, err)
	}
	e.drain(t)
	msgs := e.smtp.Wait(t, 1)
	if body := msgs[0].Parts()["text/plain"]; !strings.Contains(body, "Every other session and app of your account was signed out") {
		t.Fatalf("the email does not say the other sessions ended: %s", body)
	}

	// A second passkey ends nothing.
	u = mustUser(t, e, u.ID)
	third := e.svc
	_, sid3, challenge, err := third.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
	if err != nil || sid3 != "" {
		t.Fatalf("password: %v", err)
	}
	id, options, err := e.svc.BeginPasskeyStep(ctx, challenge, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := key.Get(options)
	_, other, _, err := e.svc.CompleteSignInWithPasskey(ctx, challenge, id, resp, meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, again := e.addPasskeyIn(t, u, renewed, softkey.New(origin), "Laptop", ""); again != renewed {
		t.Fatal("a second passkey renewed the session")
	}
	if _, err := e.svc.Authenticate(ctx, other); err != nil {
		t.Fatalf("a second passkey ended another session: %v", err)
	}
	e.drain(t)
	msgs = e.smtp.Wait(t, 2)
	if body := msgs[1].Parts()["text/plain"]; strings.Contains(body, "signed out") {
		t.Fatalf("the second passkey's email says sessions ended: %s", body)
	}

	// An account whose second step was its app already: nothing ends.
	v := e.user(t, "kai@example.com", goodPassword)
	secret, _ := enrol(t, e, v)
	v, vsid := signInWithCode(t, e, "kai@example.com", secret)
	e.clock.Advance(30 * time.Second)
	_, vother := signInWithCode(t, e, "kai@example.com", secret)
	e.clock.Advance(30 * time.Second)
	if _, again := e.addPasskeyIn(t, v, vsid, softkey.New(origin), "Key", codeAt(secret, e.clock.Now())); again != vsid {
		t.Fatal("a first passkey beside the app renewed the session")
	}
	if _, err := e.svc.Authenticate(ctx, vother); err != nil {
		t.Fatalf("a first passkey beside the app ended another session: %v", err)
	}
}

// TestFirstPasskeyAtOnce: two first passkeys finished at once, from one
// browser, on two nodes: one is added and ends the other sessions once;
// the other finds its session ended and adds nothing.
func TestFirstPasskeyAtOnce(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		sid := a.signedIn(t, "ada@example.com")
		u = mustUser(t, a, u.ID)
		type ceremony struct {
			id   string
			resp []byte
		}
		var cs []ceremony
		for range 2 {
			id, options, err := a.svc.BeginPasskeyRegistration(ctx, u, sid, "Phone", account.Proof{Password: goodPassword, Code: ""}, meta)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := softkey.New(origin).Create(options)
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, ceremony{id, resp})
		}
		var mu sync.Mutex
		var renewed []string
		var wg sync.WaitGroup
		for i, c := range cs {
			n := []*env{a, b}[i]
			wg.Go(func() {
				added, err := n.svc.FinishPasskeyRegistration(ctx, u, sid, c.id, "Phone", c.resp, meta)
				switch {
				case err == nil:
					mu.Lock()
					renewed = append(renewed, added.Session)
					mu.Unlock()
				case code(err) != airlock.CodeUnauthorized:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		if len(renewed) != 1 || renewed[0] == "" {
			t.Fatalf("added %d first passkeys: %q", len(renewed), renewed)
		}
		if n := mustUser(t, a, u.ID).Passkeys; n != 1 {
			t.Fatalf("%d passkeys", n)
		}
		if _, err := a.svc.Authenticate(ctx, renewed[0]); err != nil {
			t.Fatalf("the new session: %v", err)
		}
		events, _, err := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditSessionsRevoked})
		if err != nil || len(events) != 1 {
			t.Fatalf("sessions ended %d times: %v", len(events), err)
		}
	})
}

// TestPasskeyLimitsPerIP: the passkey ceremonies one client address
// begins are limited (each is a row until it ends or expires), and so are
// its refused passkey answers; good answers use no limit up. Requests
// sent at once to two nodes get exactly the limit's worth through; the
// others get rate_limited with a wait, audited once per window; another
// address is not refused.
func TestPasskeyLimitsPerIP(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		tweak := func(c *account.Config) {
			c.LimitPasskeyOptionsPerIP = account.Rate{N: 6, Per: 10 * time.Minute}
			c.LimitBadPasskeyPerIP = account.Rate{N: 3, Per: 15 * time.Minute}
		}
		a, b = a.withConfig(t, tweak), b.withConfig(t, tweak)
		u := a.user(t, "ada@example.com", goodPassword)
		key := softkey.New(origin)
		a.addPasskey(t, u, a.signedIn(t, "ada@example.com"), key, "Phone", "")

		// Good answers: more than the failure limit, none refused (each
		// also begins a ceremony: 4 of the 6).
		for range 4 {
			a.passkeySignIn(t, key)
		}
		// The options: 2 left of 6, for any number asked at once.
		var ok, limited atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				_, _, err := n.svc.BeginPasskeySignIn(ctx, meta)
				switch e := airlock.AsError(err); {
				case err == nil:
					ok.Add(1)
				case e != nil && e.Code == airlock.CodeRateLimited && e.RetryAfter > 0:
					limited.Add(1)
				default:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 2 || limited.Load() != 8 {
			t.Fatalf("options at once: %d begun, %d limited", ok.Load(), limited.Load())
		}
		if _, _, err := a.svc.BeginPasskeySignIn(ctx, account.Meta{IP: "198.51.100.7"}); err != nil {
			t.Fatalf("another address: %v", err)
		}

		// Refused answers (to ceremonies that do not exist): 3, then
		// rate_limited, whatever is sent at once.
		var refused atomic.Int32
		limited.Store(0)
		for i := range 10 {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				_, _, err := n.svc.FinishPasskeySignIn(ctx, "no-such-ceremony-aaaaaaaaaaaaaaaaaaaaaaaaaaaa", []byte(`{}`), meta)
				switch e := airlock.AsError(err); {
				case e != nil && e.Code == airlock.CodeRateLimited && e.RetryAfter > 0:
					limited.Add(1)
				case code(err) == airlock.CodeUnauthorized:
					refused.Add(1)
				default:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		if refused.Load() != 3 || limited.Load() != 7 {
			t.Fatalf("bad answers at once: %d checked, %d limited", refused.Load(), limited.Load())
		}
		// A good answer from there is refused too, until the wait is over;
		// from another address it goes through.
		a.clock.Advance(time.Minute)
		other := account.Meta{IP: "198.51.100.7"}
		id, options, err := a.svc.BeginPasskeySignIn(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := key.Get(options)
		if _, _, err := a.svc.FinishPasskeySignIn(ctx, id, resp, meta); code(err) != airlock.CodeRateLimited {
			t.Fatalf("an answer from a limited address: %v", err)
		}
		if _, _, err := a.svc.FinishPasskeySignIn(ctx, id, resp, other); err != nil {
			t.Fatalf("from another address: %v", err)
		}
		// The second step after a password counts against the same limit.
		_, _, challenge, err := a.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := a.svc.CompleteSignInWithPasskey(ctx, challenge, "no-such-ceremony-aaaaaaaaaaaaaaaaaaaaaaaaaaaa", []byte(`{}`), meta); code(err) != airlock.CodeRateLimited {
			t.Fatalf("a second step from a limited address: %v", err)
		}

		// Each limit's refusals were audited once in their window.
		events, _, err := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditPasskey})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, ev := range events {
			if ev.Outcome == "rate_limited" {
				seen[ev.Detail]++
			}
		}
		if seen["limit_passkey_options"] != 1 || seen["limit_passkey"] != 1 {
			t.Fatalf("refusals audited: %v", seen)
		}
	})
}

// TestPasskeyResetByFlowCode: a reset by the forgot request's flow and the
// email's code (not the link's token), on an account whose second step is
// a passkey, asks for the passkey, and goes through with it.
func TestPasskeyResetByFlowCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	key := softkey.New(origin)
	e.addPasskey(t, u, e.signedIn(t, "ada@example.com"), key, "Phone", "")
	e.drain(t)
	flow, c := flowCode(t, e, "ada@example.com")
	link := account.ByCode(flow, c)
	if _, _, err := e.svc.CompleteLink(ctx, link, "a brand new passphrase", "", meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("the flow's code alone: %v", err)
	}
	if given, _ := e.svc.LinkCodeGiven(ctx, link); given {
		t.Fatal("the second step is taken before the passkey")
	}
	id, options, err := e.svc.BeginLinkPasskey(ctx, link, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VerifyLinkPasskey(ctx, link, id, resp, meta); err != nil {
		t.Fatalf("the passkey with the flow's code: %v", err)
	}
	if _, _, err := e.svc.CompleteLink(ctx, link, "a brand new passphrase", "", meta); err != nil {
		t.Fatalf("the reset after the passkey: %v", err)
	}
	if _, sid, challenge, err := e.svc.SignIn(ctx, "ada@example.com", "a brand new passphrase", "", meta); err != nil || sid != "" || challenge == "" {
		t.Fatalf("the new password: sid %q, challenge %q, %v", sid, challenge, err)
	}
	if n := mustUser(t, e, u.ID).Passkeys; n != 1 {
		t.Fatalf("%d passkeys after the reset", n)
	}
}

// TestPasskeyBesideTheApp: an account with both an authenticator app and
// a passkey is signed in and reset with either as the second step; once
// the passkey is removed, the app's code still signs in and resets.
func TestPasskeyBesideTheApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "kai@example.com", goodPassword)
	secret, _ := enrol(t, e, u)
	u, sid := signInWithCode(t, e, "kai@example.com", secret)
	e.clock.Advance(30 * time.Second)
	key := softkey.New(origin)
	p := e.addPasskey(t, u, sid, key, "Key", codeAt(secret, e.clock.Now()))
	e.clock.Advance(30 * time.Second)

	// Signing in: the code, or the passkey.
	signInWithCode(t, e, "kai@example.com", secret)
	_, _, challenge, err := e.svc.SignIn(ctx, "kai@example.com", goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	id, options, err := e.svc.BeginPasskeyStep(ctx, challenge, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := key.Get(options)
	if _, s, _, err := e.svc.CompleteSignInWithPasskey(ctx, challenge, id, resp, meta); err != nil || s == "" {
		t.Fatalf("the passkey as second step: %v", err)
	}

	// A reset: the code, or the passkey.
	e.clock.Advance(30 * time.Second)
	link := account.ByToken(e.resetToken(t, "kai@example.com"))
	if _, _, err := e.svc.CompleteLink(ctx, link, "a brand new passphrase", "", meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("the link alone: %v", err)
	}
	if _, _, err := e.svc.VerifyLinkCode(ctx, link, codeAt(secret, e.clock.Now()), meta); err != nil {
		t.Fatalf("the link's code step: %v", err)
	}
	if _, _, err := e.svc.CompleteLink(ctx, link, "a brand new passphrase", "", meta); err != nil {
		t.Fatalf("the reset after the code: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	link = account.ByToken(e.resetToken(t, "kai@example.com"))
	id, options, err = e.svc.BeginLinkPasskey(ctx, link, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = key.Get(options)
	if _, err := e.svc.VerifyLinkPasskey(ctx, link, id, resp, meta); err != nil {
		t.Fatalf("the link's passkey step: %v", err)
	}
	if _, _, err := e.svc.CompleteLink(ctx, link, "another new passphrase", "", meta); err != nil {
		t.Fatalf("the reset after the passkey: %v", err)
	}

	// The passkey removed (password and code): the app's code still signs
	// in and resets; the passkey no longer does.
	const pw = "another new passphrase"
	e.clock.Advance(30 * time.Second)
	_, _, challenge, err = e.svc.SignIn(ctx, "kai@example.com", pw, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	u, sid, _, err = e.svc.CompleteSignIn(ctx, challenge, codeAt(secret, e.clock.Now()), meta)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.RemovePasskey(ctx, u, sid, p.ID, account.Proof{Password: pw, Code: codeAt(secret, e.clock.Now())}, meta); err != nil {
		t.Fatalf("removing the passkey with the code: %v", err)
	}
	if u = mustUser(t, e, u.ID); u.Passkeys != 0 || !u.TwoFactor() {
		t.Fatalf("after the removal: %d passkeys, app %v", u.Passkeys, u.TwoFactor())
	}
	e.clock.Advance(30 * time.Second)
	_, _, challenge, err = e.svc.SignIn(ctx, "kai@example.com", pw, "", meta)
	if err != nil || challenge == "" {
		t.Fatalf("the password: %v", err)
	}
	if _, _, err := e.svc.BeginPasskeyStep(ctx, challenge, meta); err == nil {
		t.Fatal("a passkey is still offered after the password")
	}
	if _, s, _, err := e.svc.CompleteSignIn(ctx, challenge, codeAt(secret, e.clock.Now()), meta); err != nil || s == "" {
		t.Fatalf("the code after the passkey's removal: %v", err)
	}
	id, options, err = e.svc.BeginPasskeySignIn(ctx, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = key.Get(options)
	if _, _, err := e.svc.FinishPasskeySignIn(ctx, id, resp, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("the removed passkey signs in: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	link = account.ByToken(e.resetToken(t, "kai@example.com"))
	if _, _, err := e.svc.CompleteLink(ctx, link, "yet another passphrase", codeAt(secret, e.clock.Now()), meta); err != nil {
		t.Fatalf("a reset with the code after the passkey's removal: %v", err)
	}
}

// TestPasskeyRemovalFromAnEndedSession: a removal asked from a browser
// whose session has ended (signed out) is refused, a right password and
// code notwithstanding, and removes nothing: every change the account page
// guards needs this browser's session, still valid.
func TestPasskeyRemovalFromAnEndedSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	secret, _ := enrol(t, e, u)
	e.clock.Advance(30 * time.Second)
	u, sid := signInWithCode(t, e, "ada@example.com", secret)
	e.clock.Advance(30 * time.Second)
	p := e.addPasskey(t, u, sid, softkey.New(origin), "Phone", codeAt(secret, e.clock.Now()))
	if err := e.svc.SignOut(ctx, sid, meta); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	err := e.svc.RemovePasskey(ctx, mustUser(t, e, u.ID), sid, p.ID, account.Proof{Password: goodPassword, Code: codeAt(secret, e.clock.Now())}, meta)
	if code(err) != airlock.CodeUnauthorized {
		t.Fatalf("a removal from a signed-out browser: %v", err)
	}
	if keys := mustPasskeys(t, e, u); len(keys) != 1 {
		t.Fatalf("%d passkeys left", len(keys))
	}
}
