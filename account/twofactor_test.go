package account_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/totp"
)

// enrol turns two-step sign-in on for u and returns its key and recovery
// codes, as a user does: sign in, read the key off the page, type a code
// and the password (u's is goodPassword).
func enrol(t *testing.T, e *env, u *airlock.User) ([]byte, []string) {
	t.Helper()
	ctx := context.Background()
	u, sid := signIn(t, e, u.Email)
	shown := beginEnrolment(t, e, u, sid)
	secret := shown.key
	codes, _, err := e.svc.ConfirmTwoFactor(ctx, u, sid, shown.visit, goodPassword, totp.Code(secret, totp.StepAt(e.clock.Now())), meta)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(totp.Step) // the enrolment code is used: the next sign-in needs the next one
	return secret, codes
}

// signIn signs email in with goodPassword and returns the user and session.
func signIn(t *testing.T, e *env, email string) (*airlock.User, string) {
	t.Helper()
	u, sid, _, err := e.svc.SignIn(context.Background(), email, goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	return u, sid
}

// shownKey is what one visit of the enrolment page shows: the key, and the
// visit's id (in the page's form).
type shownKey struct {
	key   []byte
	visit string
}

// beginEnrolment opens the enrolment page in the browser of session sid
// and returns the key it shows, with the visit's id.
func beginEnrolment(t *testing.T, e *env, u *airlock.User, sid string) shownKey {
	t.Helper()
	en, err := e.svc.BeginTwoFactor(context.Background(), u, sid, "")
	if err != nil {
		t.Fatal(err)
	}
	return shownKey{keyOf(t, en), en.Visit}
}

func keyOf(t *testing.T, en *account.Enrolment) []byte {
	t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(en.Secret, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func codeAt(secret []byte, t time.Time) string { return totp.Code(secret, totp.StepAt(t)) }

// mustUser reads a user as it is now.
func mustUser(t *testing.T, e *env, id string) *airlock.User {
	t.Helper()
	u, err := e.db.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestTwoFactorEnrolmentAndSignIn: enrolment is confirmed by one code, gives
// ten single-use recovery codes and an email; the key is never in the
// database in clear; sign-in then asks for a code after the password
// (RFC 6238, ±1 step, each code once), in a short-lived half-signed-in state.
func TestTwoFactorEnrolmentAndSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
	u, sid := signIn(t, e, u.Email)
	en, err := e.svc.BeginTwoFactor(ctx, u, sid, "")
	if err != nil || !strings.HasPrefix(en.URI, "otpauth://totp/Airlock:ada@example.com?") || !strings.HasPrefix(en.QRSVG, "<svg") {
		t.Fatalf("enrolment: %+v %v", en, err)
	}
	again, _ := e.svc.BeginTwoFactor(ctx, u, sid, en.Visit)
	if again.Secret != en.Secret {
		t.Fatal("the page answering a wrong code changed the key the user has scanned")
	}
	secret := keyOf(t, en)
	if _, _, err := e.svc.ConfirmTwoFactor(ctx, u, sid, en.Visit, goodPassword, "000000", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("a wrong code confirmed enrolment: %v", err)
	}
	// A session alone does not turn it on: the password is asked for.
	for _, pw := range []string{"", "not the password at all"} {
		if _, _, err := e.svc.ConfirmTwoFactor(ctx, u, sid, en.Visit, pw, codeAt(secret, e.clock.Now()), meta); code(err) != airlock.CodeUnauthorized || airlock.AsError(err).Field != "current_password" {
			t.Fatalf("enrolment with the password %q: %v", pw, err)
		}
	}
	codes, _, err := e.svc.ConfirmTwoFactor(ctx, u, sid, en.Visit, goodPassword, codeAt(secret, e.clock.Now()), meta)
	if err != nil || len(codes) != 10 {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	e.drain(t)
	if m := e.smtp.Wait(t, 1)[0]; !strings.Contains(m.Header("Subject"), "Two-step sign-in was turned on") {
		t.Fatalf("email %q", m.Header("Subject"))
	}
	// Nothing secret in clear at rest.
	var sealed []byte
	e.db.SQL().QueryRow(`SELECT totp_secret FROM users WHERE id = ?`, u.ID).Scan(&sealed)
	if len(sealed) == 0 || bytes.Contains(sealed, secret) || bytes.Contains(sealed, []byte(base32.StdEncoding.EncodeToString(secret)[:16])) {
		t.Fatal("the key is stored in clear")
	}
	var codeRows int
	e.db.SQL().QueryRow(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, u.ID, []byte(codes[0])).Scan(&codeRows)
	if codeRows != 0 {
		t.Fatal("a recovery code is stored in clear")
	}

	// The password alone no longer signs in.
	if _, sid, challenge, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); err != nil || sid != "" || challenge == "" {
		t.Fatalf("password only: session %q, %v", sid, err)
	}
	e.clock.Advance(2 * totp.Step) // past the enrolment code's step
	_, sid, challenge, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "/account", meta)
	if err != nil || sid != "" || challenge == "" {
		t.Fatalf("first step: %q %q %v", sid, challenge, err)
	}
	if _, _, _, err := e.svc.CompleteSignIn(ctx, challenge, "123456", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("wrong code: %v", err)
	}
	// A code of the previous step still works (a phone a little late).
	late := codeAt(secret, e.clock.Now().Add(-totp.Step))
	_, sid, next, err := e.svc.CompleteSignIn(ctx, challenge, late, meta)
	if err != nil || sid == "" || next != "/account" {
		t.Fatalf("second step: %q %q %v", sid, next, err)
	}
	if _, err := e.svc.Authenticate(ctx, sid); err != nil {
		t.Fatal(err)
	}
	// The same code is refused the second time, even within its window.
	_, _, challenge, _ = e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
	if _, _, _, err := e.svc.CompleteSignIn(ctx, challenge, late, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("replayed code: %v", err)
	}
	// Two steps away is too far.
	if _, _, _, err := e.svc.CompleteSignIn(ctx, challenge, codeAt(secret, e.clock.Now().Add(2*totp.Step)), meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("a code two steps ahead: %v", err)
	}
	// A recovery code works once.
	if _, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, strings.ToUpper(codes[3]), meta); err != nil || sid == "" {
		t.Fatalf("recovery code: %v", err)
	}
	_, _, challenge, _ = e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
	if _, _, _, err := e.svc.CompleteSignIn(ctx, challenge, codes[3], meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("a recovery code used twice: %v", err)
	}
	events, _, _ := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditTwoFactor, Limit: 100})
	found := false
	for _, ev := range events {
		found = found || ev.Detail == "recovery_used" && len(ev.Args) == 1 && ev.Args[0] == "9"
	}
	if !found {
		t.Fatal("the recovery code's use is not audited with how many remain")
	}
	// The half-signed-in state lasts 5 minutes.
	e.clock.Advance(account.ChallengeTTL + time.Second)
	if _, _, _, err := e.svc.CompleteSignIn(ctx, challenge, codeAt(secret, e.clock.Now()), meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("an expired challenge: %v", err)
	}
}

// TestParallelCodesAreCounted: 30 wrong codes sent at once over two nodes
// get at most the limit's worth of checks (10).
func TestParallelCodesAreCounted(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		enrol(t, a, u)
		challenges := make([]string, 30)
		for i := range challenges {
			_, _, challenge, err := a.svc.SignIn(ctx, u.Email, goodPassword, "", meta)
			if err != nil {
				t.Fatal(err)
			}
			challenges[i] = challenge
		}
		var refused, limited atomic.Int32
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() {
				_, _, _, err := []*env{a, b}[i%2].svc.CompleteSignIn(ctx, challenges[i], fmt.Sprintf("%06d", i), meta)
				switch code(err) {
				case airlock.CodeUnauthorized:
					refused.Add(1)
				case airlock.CodeRateLimited:
					limited.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if refused.Load() > 10 || refused.Load()+limited.Load() != 30 {
			t.Fatalf("%d codes checked, %d refused by the limit; want at most 10 checked", refused.Load(), limited.Load())
		}
	})
}

// TestOneChallengeOneSession: second steps sent at once for one
// half-signed-in state, each with a different valid code (recovery codes),
// over two nodes, open one session, not one each.
func TestOneChallengeOneSession(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		_, codes := enrol(t, a, u)
		before, err := a.db.ListUserSessions(ctx, u.ID) // the browser that enrolled
		if err != nil {
			t.Fatal(err)
		}
		_, _, challenge, err := a.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
		if err != nil || challenge == "" {
			t.Fatalf("first step: %q %v", challenge, err)
		}
		var opened atomic.Int32
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				_, sid, _, err := []*env{a, b}[i%2].svc.CompleteSignIn(ctx, challenge, codes[i], meta)
				switch {
				case err == nil && sid != "":
					opened.Add(1)
				case code(err) != airlock.CodeUnauthorized:
					t.Errorf("second step: %v", err)
				}
			})
		}
		wg.Wait()
		sessions, err := a.db.ListUserSessions(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if opened.Load() != 1 || len(sessions) != len(before)+1 {
			t.Fatalf("%d second steps opened a session, %d sessions stored; want 1", opened.Load(), len(sessions)-len(before))
		}
		// Only the code of the one that went on was spent: five are left of
		// the six tried, and nine of ten in all.
		if left, _ := a.svc.RecoveryCodesLeft(ctx, mustUser(t, a, u.ID)); left != 9 {
			t.Fatalf("%d recovery codes left after one sign-in; want 9", left)
		}
	})
}

// TestParallelEnrolmentVisits: visits of the enrolment page at once, from
// several browsers of the user on two nodes, each get a key of their own;
// a visit racing the confirmation never turns two-step sign-in off again,
// and the key turned on is the one confirmed.
func TestParallelEnrolmentVisits(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		sids := make([]string, 8)
		for i := range sids {
			u, sids[i] = signIn(t, a, u.Email)
		}
		keys := make([]string, len(sids))
		visits := make([]string, len(sids))
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				en, err := []*env{a, b}[i%2].svc.BeginTwoFactor(ctx, u, sids[i], "")
				if err != nil {
					t.Error(err)
					return
				}
				keys[i], visits[i] = en.Secret, en.Visit
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Fatalf("two visits were shown one key: %q", keys)
			}
			seen[k] = true
		}
		secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(keys[0], " ", ""))
		var on atomic.Int32
		for i := range 8 {
			wg.Go(func() {
				if i == 0 {
					if _, _, err := a.svc.ConfirmTwoFactor(ctx, u, sids[0], visits[0], goodPassword, codeAt(secret, a.clock.Now()), meta); err != nil {
						t.Error(err)
					}
					on.Add(1)
					return
				}
				_, err := []*env{a, b}[i%2].svc.BeginTwoFactor(ctx, u, sids[i], "")
				if err != nil && code(err) != airlock.CodeConflict && code(err) != airlock.CodeUnauthorized {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, _ := a.db.UserByID(ctx, u.ID)
		if on.Load() != 1 || !got.TwoFactor() {
			t.Fatal("a visit of the enrolment page turned two-step sign-in off again")
		}
		a.clock.Advance(totp.Step)
		_, _, challenge, err := a.svc.SignIn(ctx, u.Email, goodPassword, "", meta)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := b.svc.CompleteSignIn(ctx, challenge, codeAt(secret, a.clock.Now()), meta); err != nil {
			t.Fatalf("the confirmed key does not sign in: %v", err)
		}
	})
}

// TestResetNeverBypassesTwoFactor: for an account with two-step sign-in, a
// reset link alone (a mailbox) does not change the password; with a code
// it does, and the reset still signs nobody in.
func TestResetNeverBypassesTwoFactor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	secret, codes := enrol(t, e, u)
	token := e.resetToken(t, "ada@example.com")
	for _, otp := range []string{"", "000000", "aaaaa-bbbbb-ccccc-ddddd", "not a code at all"} {
		_, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "taken over by the mailbox", otp, meta)
		if c := code(err); c != airlock.CodeTwoFactorRequired && c != airlock.CodeUnauthorized {
			t.Fatalf("reset with otp %q: %v", otp, err)
		}
	}
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", "taken over by the mailbox", "", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("the password changed without the code: %v", err)
	}
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "reset with my phone in hand", codeAt(secret, e.clock.Now()), meta); err != nil {
		t.Fatal(err)
	}
	// The API's reset takes the code the same way (here a recovery code).
	token = e.resetToken(t, "ada@example.com")
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "reset with a recovery code", codes[0], meta); err != nil {
		t.Fatal(err)
	}
}

// TestTwoFactorAPIAndAdministrators: the password grant needs the code of an
// enrolled account (two_factor_required without it); turning it off needs
// the password and a code; an administrator can reset it (audited, emailed);
// AIRLOCK_REQUIRE_TWO_FACTOR makes its groups' members enrol first.
func TestTwoFactorAPIAndAdministrators(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *account.Config) { c.RequireTwoFactor = []string{airlock.GroupAdmin} })
	ctx := context.Background()
	admin := e.user(t, "boss@example.com", goodPassword, airlock.GroupAdmin)
	if !e.svc.TwoFactorRequired(admin) {
		t.Fatal("an administrator is not required to enrol")
	}
	if _, err := e.svc.SignInAPI(ctx, "boss@example.com", goodPassword, "", meta); code(err) != airlock.CodeForbidden {
		t.Fatalf("API tokens for an administrator who must enrol: %v", err)
	}
	u := e.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
	secret, _ := enrol(t, e, u)
	u, _ = e.db.UserByID(ctx, u.ID)
	if _, err := e.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "", meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("password grant without the code: %v", err)
	}
	if _, err := e.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "000000", meta); code(err) != airlock.CodeInvalidToken {
		t.Fatalf("password grant with a wrong code: %v", err)
	}
	if tk, err := e.svc.SignInAPI(ctx, "ada@example.com", goodPassword, codeAt(secret, e.clock.Now()), meta); err != nil || tk.AccessToken == "" {
		t.Fatalf("password grant with the code: %v", err)
	}
	e.clock.Advance(totp.Step)
	if err := e.svc.DisableTwoFactor(ctx, u, "not my password", codeAt(secret, e.clock.Now()), meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("turning it off without the password: %v", err)
	}
	if err := e.svc.DisableTwoFactor(ctx, u, goodPassword, "000000", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("turning it off without a code: %v", err)
	}
	// An administrator resets it for a user who lost everything.
	if err := e.svc.AdminResetTwoFactor(ctx, account.Operator, u.ID, meta); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.db.UserByID(ctx, u.ID); got.TwoFactor() || got.TOTPSecret != nil {
		t.Fatal("still on after an administrator's reset")
	}
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	msgs := e.smtp.Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Header("Subject"), "turned off") || !strings.Contains(last.Parts()["text/plain"], "An administrator turned off") {
		t.Fatalf("email after the reset: %q", last.Header("Subject"))
	}
}
