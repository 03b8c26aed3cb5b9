package account_test

// SPEC §6.15 and §6.6 as an attacker tries them: an enrolment key seen by
// an earlier session, sessions opened with the password alone, an
// administrator's own account, guessing after a stolen password, recovery
// codes raced or wasted, and limits that must never lock the owner out.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/i18n"
	"github.com/airlockhq/airlock/totp"
)

// TestEnrolmentKeyBelongsToOneVisit: a key offered for enrolment is shown to
// one visit of one signed-in browser only, lives 10 minutes, and dies with
// any revocation; whoever once held a session (a stolen cookie, a shared
// tablet) never learns the key that is later turned on, so a reset link
// and that key take nothing.
func TestEnrolmentKeyBelongsToOneVisit(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		_, thief := signIn(t, a, u.Email)
		u, owner := signIn(t, b, u.Email)

		// The thief's visit and the owner's each get their own key, and the
		// key waits on the session, not on the account.
		stolen := beginEnrolment(t, a, u, thief)
		shown := beginEnrolment(t, b, u, owner)
		if string(stolen.key) == string(shown.key) {
			t.Fatal("two browsers were shown one key")
		}
		var sealed []byte
		a.db.SQL().QueryRow(`SELECT totp_secret FROM users WHERE id = ?`, u.ID).Scan(&sealed)
		if sealed != nil {
			t.Fatal("a key not yet confirmed is kept on the account, where every session sees it")
		}
		// Each visit gets its own key: visiting the page again replaces it.
		if revisit := beginEnrolment(t, b, u, owner); string(revisit.key) == string(shown.key) {
			t.Fatal("a second visit was shown the first visit's key")
		} else {
			shown, revisit = revisit, shown
			if _, _, err := b.svc.ConfirmTwoFactor(ctx, u, owner, revisit.visit, goodPassword, codeAt(revisit.key, b.clock.Now()), meta); code(err) != airlock.CodeConflict {
				t.Fatalf("the key of an earlier visit confirmed: %v", err)
			}
		}
		// A key shown to one browser is never confirmed from another.
		if _, _, err := a.svc.ConfirmTwoFactor(ctx, u, thief, shown.visit, goodPassword, codeAt(shown.key, a.clock.Now()), meta); code(err) != airlock.CodeConflict {
			t.Fatalf("the owner's key confirmed from the thief's session: %v", err)
		}

		// A password change ends the thief's session and its key; the key
		// the owner's browser was shown before dies too.
		u, err := b.svc.ChangePassword(ctx, u, "", "a brand new passphrase", account.Proof{Password: goodPassword}, meta)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.svc.ConfirmTwoFactor(ctx, u, thief, stolen.visit, "a brand new passphrase", codeAt(stolen.key, a.clock.Now()), meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("a key shown before a password change confirmed after it: %v", err)
		}
		owner, err = b.svc.StartSession(ctx, u, meta)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.svc.ConfirmTwoFactor(ctx, u, owner, shown.visit, "a brand new passphrase", codeAt(shown.key, a.clock.Now()), meta); code(err) != airlock.CodeConflict {
			t.Fatalf("the new session confirmed the key shown before the change: %v", err)
		}
		again, err := b.svc.BeginTwoFactor(ctx, u, owner, shown.visit)
		if err != nil || string(keyOf(t, again)) == string(shown.key) || string(keyOf(t, again)) == string(stolen.key) {
			t.Fatalf("after a password change the page offered an old key: %v", err)
		}

		// A key lives 10 minutes.
		b.clock.Advance(account.EnrolmentTTL + time.Second)
		if _, _, err := b.svc.ConfirmTwoFactor(ctx, u, owner, again.Visit, "a brand new passphrase", codeAt(keyOf(t, again), b.clock.Now()), meta); code(err) != airlock.CodeConflict {
			t.Fatalf("a key 10 minutes old confirmed: %v", err)
		}

		// "Sign out everywhere else" ends another browser's key as well.
		u, other := signInAs(t, a, u.Email, "a brand new passphrase")
		otherKey := beginEnrolment(t, a, u, other)
		if _, err := b.svc.SignOutOthers(ctx, u, owner, meta); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.svc.ConfirmTwoFactor(ctx, u, other, otherKey.visit, "a brand new passphrase", codeAt(otherKey.key, a.clock.Now()), meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("a key of a signed-out session confirmed: %v", err)
		}

		// The owner turns it on with their own visit's key; the thief's key,
		// with a reset link from the owner's mailbox, takes nothing.
		mine := beginEnrolment(t, b, u, owner)
		if _, _, err := b.svc.ConfirmTwoFactor(ctx, u, owner, mine.visit, "a brand new passphrase", codeAt(mine.key, b.clock.Now()), meta); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(totp.Step)
		token := b.resetToken(t, u.Email)
		for _, key := range [][]byte{stolen.key, shown.key, otherKey.key} {
			if _, _, err := a.svc.CompleteLink(ctx, account.ByToken(token), "taken over after all", codeAt(key, a.clock.Now()), meta); code(err) != airlock.CodeUnauthorized {
				t.Fatalf("a reset link with a key the owner never confirmed: %v", err)
			}
		}
		if _, _, err := a.svc.CompleteLink(ctx, account.ByToken(token), "reset by the owner", codeAt(mine.key, a.clock.Now()), meta); err != nil {
			t.Fatalf("the owner's own key: %v", err)
		}
	})
}

// signInAs signs email in with pw and returns the user and session.
func signInAs(t *testing.T, e *env, email, pw string) (*airlock.User, string) {
	t.Helper()
	u, sid, _, err := e.svc.SignIn(context.Background(), email, pw, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	return u, sid
}

// TestTwoFactorOnEndsEveryOtherSession: turning two-step sign-in on ends
// every session and app token opened with the password alone, including
// those that sign-ins racing the enrolment open on both nodes; the browser
// that enrolled goes on in a new session; the email says so.
func TestTwoFactorOnEndsEveryOtherSession(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		var old bag
		_, other := signIn(t, b, u.Email)
		old.session(other)
		tk, err := b.svc.SignInAPI(ctx, u.Email, goodPassword, "", meta)
		if err != nil {
			t.Fatal(err)
		}
		old.tokens(tk)
		u, sid := signIn(t, a, u.Email)
		old.session(sid) // the enrolling browser's old session id dies too (renewed)
		key := beginEnrolment(t, a, u, sid)

		// Sign-ins with the password alone keep coming on both nodes while
		// the enrolment commits.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				n := []*env{a, b}[i%2]
				for {
					select {
					case <-stop:
						return
					default:
					}
					if i < 2 {
						if _, s, _, err := n.svc.SignIn(ctx, u.Email, goodPassword, "", meta); err == nil {
							old.session(s)
						} else if c := code(err); c != airlock.CodeTwoFactorRequired && c != airlock.CodeUnauthorized {
							t.Error(err)
							return
						}
					} else if tk, err := n.svc.SignInAPI(ctx, u.Email, goodPassword, "", meta); err == nil {
						old.tokens(tk)
					} else if c := code(err); c != airlock.CodeTwoFactorRequired && c != airlock.CodeInvalidToken {
						t.Error(err)
						return
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond) // let the racing sign-ins start; what they get is checked below, whatever it is
		_, newSID, err := a.svc.ConfirmTwoFactor(ctx, u, sid, key.visit, goodPassword, codeAt(key.key, a.clock.Now()), meta)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		old.allDead(t, a, b)
		if _, err := b.svc.Authenticate(ctx, newSID); err != nil {
			t.Fatalf("the browser that enrolled was signed out: %v", err)
		}
		events, _, err := a.db.ListAudit(ctx, airlock.AuditFilter{UserID: u.ID, Kind: airlock.AuditSessionsRevoked, Limit: 10})
		if err != nil || len(events) != 1 || events[0].Detail != "revoked" || events[0].Args[0] != "two_factor_enabled" {
			t.Fatalf("the sessions ended are not audited: %+v %v", events, err)
		}
		a.drain(t)
		var mail string
		for _, m := range a.smtp.Messages() {
			if strings.Contains(m.Header("Subject"), "Two-step sign-in was turned on") {
				mail = m.Parts()["text/plain"]
			}
		}
		if !strings.Contains(mail, "Every other session and app of your account was signed out") {
			t.Fatalf("the email does not say the other sessions ended:\n%s", mail)
		}
	})
}

// TestAdministratorsProveItOnTheirOwnAccount: an administrator's session
// or token alone never turns off their own two-step sign-in, nor changes
// their own email address or groups: that needs the account page's proof
// (password and code), or is refused with a message pointing there.
func TestAdministratorsProveItOnTheirOwnAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := e.user(t, "boss@example.com", goodPassword, airlock.GroupAdmin)
	e.user(t, "deputy@example.com", goodPassword, airlock.GroupAdmin)
	before, err := e.svc.SignInAPI(ctx, admin.Email, goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := enrol(t, e, admin)
	if _, err := e.svc.AuthenticateAPI(ctx, before.AccessToken); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("an access token issued before enrolment still works: %v", err)
	}
	admin = mustUser(t, e, admin.ID)

	err = e.svc.AdminResetTwoFactor(ctx, admin, admin.ID, meta)
	if e := airlock.AsError(err); e == nil || e.Code != airlock.CodeForbidden || e.Key != "error.own_account.two_factor" || !strings.Contains(i18n.ErrorText("en", e), "/account/two-factor") {
		t.Fatalf("an administrator turned their own two-step sign-in off: %v", err)
	}
	if !mustUser(t, e, admin.ID).TwoFactor() {
		t.Fatal("it is off")
	}

	newEmail := "boss@elsewhere.example.com"
	for _, c := range []account.UserChanges{
		{Email: &newEmail},
		{Email: &newEmail, CurrentPassword: goodPassword},
		{Email: &newEmail, CurrentPassword: goodPassword, OTP: "000000"},
		{Groups: &[]string{airlock.GroupAdmin, airlock.GroupMobile}},
		{Groups: &[]string{airlock.GroupAdmin, airlock.GroupMobile}, CurrentPassword: goodPassword},
	} {
		if _, err := e.svc.AdminUpdateUser(ctx, admin, admin.ID, c, meta); err == nil {
			t.Fatalf("own change %+v without the full proof went through", c)
		}
	}
	if got := mustUser(t, e, admin.ID); got.Email != admin.Email || got.HasGroup(airlock.GroupMobile) {
		t.Fatal("a refused change changed the account")
	}
	// Names are not rights: the session is enough, as on the account page.
	if _, err := e.svc.AdminUpdateUser(ctx, admin, admin.ID, account.UserChanges{FirstName: ptr("Grace")}, meta); err != nil {
		t.Fatal(err)
	}
	admin = mustUser(t, e, admin.ID)
	got, err := e.svc.AdminUpdateUser(ctx, admin, admin.ID, account.UserChanges{Groups: &[]string{airlock.GroupAdmin, airlock.GroupMobile},
		CurrentPassword: goodPassword, OTP: codeAt(secret, e.clock.Now())}, meta)
	if err != nil || !got.HasGroup(airlock.GroupMobile) {
		t.Fatalf("own change with the password and a code: %v", err)
	}
	// Setting one's own password is the account page's change, which asks
	// the second step too: the back office, which asks none, refuses it,
	// the right password given or not.
	for _, current := range []string{"", goodPassword} {
		if err := e.svc.AdminSetPassword(ctx, admin, admin.ID, "another good passphrase", current, false, meta); code(err) != airlock.CodeForbidden {
			t.Fatalf("own password set with the password %q and no second step: %v", current, err)
		}
	}
}

// TestOwnerToldWhenCodesFailAfterThePassword: after the limit's worth of
// wrong codes following a right password (web or API), the owner is
// emailed once per window, in their language, and it is audited; wrong
// codes with a reset link (no password) tell nothing of the password.
func TestOwnerToldWhenCodesFailAfterThePassword(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		if _, err := a.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{Language: ptr("fr")}, meta); err != nil {
			t.Fatal(err)
		}
		enrol(t, a, u)
		a.drain(t)
		sent := len(a.smtp.Messages())
		told := func() int {
			t.Helper()
			drainAtOnce(t, a, b)
			n := 0
			for _, m := range a.smtp.Messages()[sent:] {
				if m.Header("Subject") == "Quelqu’un a saisi votre mot de passe" {
					n++
					if body := m.Parts()["text/plain"]; !strings.Contains(body, "192.0.2.10") || !strings.Contains(body, "/password/forgot") {
						t.Errorf("the email:\n%s", body)
					}
				}
			}
			return n
		}
		// Nine wrong codes: not yet the limit's worth.
		for i := range 9 {
			_, _, challenge, err := a.svc.SignIn(ctx, u.Email, goodPassword, "", meta)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := []*env{a, b}[i%2].svc.CompleteSignIn(ctx, challenge, fmt.Sprintf("%06d", i), meta); code(err) != airlock.CodeUnauthorized {
				t.Fatalf("wrong code: %v", err)
			}
		}
		if n := told(); n != 0 {
			t.Fatalf("told after 9 wrong codes: %d emails", n)
		}
		// The tenth (through the password grant), and more at once on both
		// nodes: one email.
		if _, err := b.svc.SignInAPI(ctx, u.Email, goodPassword, "999999", meta); code(err) != airlock.CodeInvalidToken {
			t.Fatalf("wrong code: %v", err)
		}
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				_, err := []*env{a, b}[i%2].svc.SignInAPI(ctx, u.Email, goodPassword, "123456", meta)
				if code(err) != airlock.CodeRateLimited {
					t.Errorf("over the limit: %v", err)
				}
			})
		}
		wg.Wait()
		if n := told(); n != 1 {
			t.Fatalf("%d emails after the limit's worth of wrong codes; want 1", n)
		}
		events, _, _ := a.db.ListAudit(ctx, airlock.AuditFilter{UserID: u.ID, Kind: airlock.AuditTwoFactor, Limit: 200})
		alerts := 0
		for _, ev := range events {
			if ev.Detail == "owner_told" {
				alerts++
			}
		}
		if alerts != 1 {
			t.Fatalf("%d audit events of telling the owner; want 1", alerts)
		}
		// A new window, a new email.
		a.clock.Advance(16 * time.Minute)
		for i := range 10 {
			_, _, challenge, err := a.svc.SignIn(ctx, u.Email, goodPassword, "", meta)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := a.svc.CompleteSignIn(ctx, challenge, fmt.Sprintf("%06d", i), meta); code(err) != airlock.CodeUnauthorized {
				t.Fatalf("wrong code: %v", err)
			}
		}
		if n := told(); n != 2 {
			t.Fatalf("%d emails after a second window; want 2", n)
		}
	})
}

// TestWrongCodesWithAResetLinkEndIt: wrong codes typed with reset links
// (the mailbox, not the password) count against the owner's links
// together, not the account's sign-in: after five, spread over three live
// links or not, the owner's links die and the owner is told, once, that
// someone reads their email; nothing says their password is known, and
// their own sign-in with the app's code is not held up at all.
func TestWrongCodesWithAResetLinkEndIt(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		secret, _ := enrol(t, a, u)
		a.drain(t)
		// Three links alive at once (every link works until one is used);
		// the wrong codes are spread over them, two, two and one.
		tokens := []string{a.resetToken(t, u.Email), a.resetToken(t, u.Email), a.resetToken(t, u.Email)}
		sent := len(a.smtp.Messages())
		for i, token := range []string{tokens[0], tokens[0], tokens[1], tokens[1], tokens[2]} {
			if _, _, err := []*env{a, b}[i%2].svc.CompleteLink(ctx, account.ByToken(token), "a new passphrase here", fmt.Sprintf("%06d", i), meta); code(err) != airlock.CodeUnauthorized {
				t.Fatalf("wrong code %d: %v", i+1, err)
			}
		}
		for i, token := range tokens {
			if _, _, err := b.svc.CompleteLink(ctx, account.ByToken(token), "a new passphrase here", codeAt(secret, b.clock.Now()), meta); code(err) != airlock.CodeInvalidToken {
				t.Fatalf("link %d after five wrong codes over three links: %v", i, err)
			}
		}
		drainAtOnce(t, a, b)
		var subjects []string
		for _, m := range a.smtp.Messages()[sent:] {
			subjects = append(subjects, m.Header("Subject"))
		}
		if len(subjects) != 1 || subjects[0] != "Your password reset link was misused" {
			t.Fatalf("emails after five wrong codes with a link: %q", subjects)
		}
		// The owner signs in with the app's code at once.
		_, _, challenge, err := a.svc.SignIn(ctx, u.Email, goodPassword, "", meta)
		if err != nil {
			t.Fatal(err)
		}
		if _, sid, _, err := b.svc.CompleteSignIn(ctx, challenge, codeAt(secret, b.clock.Now()), meta); err != nil || sid == "" {
			t.Fatalf("the owner's sign-in after wrong codes with a link: %v", err)
		}
	})
}

// TestRecoveryCodesSpentOnlyBySuccess: resets racing with one link, each
// with its own recovery code, spend one code (the winner's); a used code
// is refused and audited like a wrong one; the account page counts what is
// left and makes a new set, which kills the old one.
func TestRecoveryCodesSpentOnlyBySuccess(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		_, codes := enrol(t, a, u)
		u = mustUser(t, a, u.ID)
		token := a.resetToken(t, u.Email)
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				_, _, err := []*env{a, b}[i%2].svc.CompleteLink(ctx, account.ByToken(token), fmt.Sprintf("raced passphrase number %d", i), codes[i], meta)
				switch {
				case err == nil:
					won.Add(1)
				case code(err) != airlock.CodeInvalidToken:
					t.Errorf("reset: %v", err)
				}
			})
		}
		wg.Wait()
		u = mustUser(t, a, u.ID)
		if left, err := a.svc.RecoveryCodesLeft(ctx, u); won.Load() != 1 || left != 9 || err != nil {
			t.Fatalf("%d resets won, %d recovery codes left (%v); want 1 and 9", won.Load(), left, err)
		}
		// A used code is refused, and audited as a refused code.
		used := -1
		for i := range 4 {
			if _, _, challenge, err := a.svc.SignIn(ctx, u.Email, fmt.Sprintf("raced passphrase number %d", i), "", meta); err == nil && challenge != "" {
				used = i
			}
		}
		if used < 0 {
			t.Fatal("no raced password was set")
		}
		pw := fmt.Sprintf("raced passphrase number %d", used)
		_, _, challenge, err := a.svc.SignIn(ctx, u.Email, pw, "", meta)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := b.svc.CompleteSignIn(ctx, challenge, codes[used], meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("a used recovery code: %v", err)
		}
		events, _, _ := a.db.ListAudit(ctx, airlock.AuditFilter{UserID: u.ID, Kind: airlock.AuditTwoFactor, Limit: 100})
		if len(events) == 0 || events[0].Outcome != "failure" || events[0].Detail != "recovery_refused" {
			t.Fatalf("the used code is not audited as refused: %+v", events[0])
		}

		// A new set: password and a code (an old recovery code will do).
		if _, err := a.svc.NewRecoveryCodes(ctx, u, pw, "", meta); code(err) != airlock.CodeTwoFactorRequired {
			t.Fatalf("new codes without a code: %v", err)
		}
		if _, err := a.svc.NewRecoveryCodes(ctx, u, "not the password", codes[5], meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("new codes without the password: %v", err)
		}
		fresh, err := b.svc.NewRecoveryCodes(ctx, u, pw, codes[5], meta)
		if err != nil || len(fresh) != 10 {
			t.Fatalf("new codes: %d, %v", len(fresh), err)
		}
		if left, _ := a.svc.RecoveryCodesLeft(ctx, u); left != 10 {
			t.Fatalf("%d codes left after a new set", left)
		}
		_, _, challenge, _ = a.svc.SignIn(ctx, u.Email, pw, "", meta)
		if _, _, _, err := a.svc.CompleteSignIn(ctx, challenge, codes[6], meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an old code after a new set: %v", err)
		}
		if _, sid, _, err := a.svc.CompleteSignIn(ctx, challenge, fresh[0], meta); err != nil || sid == "" {
			t.Fatalf("a new code: %v", err)
		}
	})
}

// TestOwnerRecoversWhenSomeoneUsedTheLimit: someone who knows the password
// uses the per-account code limit up; the owner still resets with a
// recovery code, or signs in with the app once Retry-After has passed.
func TestOwnerRecoversWhenSomeoneUsedTheLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	secret, codes := enrol(t, e, u)
	for i := range 12 {
		_, _, challenge, err := e.svc.SignIn(ctx, u.Email, goodPassword, "", account.Meta{IP: "203.0.113.66", UserAgent: "attacker"})
		if err != nil {
			t.Fatal(err)
		}
		e.svc.CompleteSignIn(ctx, challenge, fmt.Sprintf("%06d", i), meta)
	}
	// The app code waits for the limit, and says how long.
	_, _, challenge, err := e.svc.SignIn(ctx, u.Email, goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = e.svc.CompleteSignIn(ctx, challenge, codeAt(secret, e.clock.Now()), meta)
	retry := airlock.AsError(err)
	if retry == nil || retry.Code != airlock.CodeRateLimited || retry.RetryAfter <= 0 || retry.RetryAfter > 15*time.Minute {
		t.Fatalf("the app code at the limit: %v", err)
	}
	// A wrong recovery code at the limit is one more refusal.
	if _, _, _, err := e.svc.CompleteSignIn(ctx, challenge, "aaaaa-bbbbb-ccccc-ddddd", meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("a wrong recovery code at the limit: %v", err)
	}
	// A reset with a recovery code goes through at once.
	token := e.resetToken(t, u.Email)
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "the owner is back in", codes[2], meta); err != nil {
		t.Fatalf("a reset with a recovery code at the limit: %v", err)
	}
	// Or, waiting out Retry-After, the app code signs in.
	e.clock.Advance(retry.RetryAfter)
	_, _, challenge, err = e.svc.SignIn(ctx, u.Email, "the owner is back in", "", meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, codeAt(secret, e.clock.Now()), meta); err != nil || sid == "" {
		t.Fatalf("the app code after Retry-After: %v", err)
	}
}

// TestRightPasswordNeverUsesALimitUp: 120 right sign-ins from one address
// within a minute, web and API mixed, several at once on two nodes, are
// all let in (a crew behind one NAT at shift start); wrong passwords for
// one email are still refused after the limit's worth (10).
func TestRightPasswordNeverUsesALimitUp(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		crew := make([]string, 12)
		for i := range crew {
			crew[i] = fmt.Sprintf("worker%d@example.com", i)
			a.user(t, crew[i], goodPassword, airlock.GroupMobile)
		}
		nat := account.Meta{IP: "198.51.100.7", UserAgent: "field app"}
		var refused atomic.Int32
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				n := []*env{a, b}[w%2]
				for i := w; i < 120; i += 4 {
					email := crew[i%len(crew)]
					var err error
					if i%3 == 0 {
						_, err = n.svc.SignInAPI(ctx, email, goodPassword, "", nat)
					} else {
						_, _, _, err = n.svc.SignIn(ctx, email, goodPassword, "", nat)
					}
					if err != nil {
						refused.Add(1)
						t.Errorf("right sign-in %d refused: %v", i, err)
					}
				}
			})
		}
		wg.Wait()
		if refused.Load() > 0 {
			t.Fatalf("%d of 120 right sign-ins refused", refused.Load())
		}
		for i := range 11 {
			_, _, _, err := []*env{a, b}[i%2].svc.SignIn(ctx, crew[0], "a wrong guess", "", nat)
			want := airlock.CodeUnauthorized
			if i == 10 {
				want = airlock.CodeRateLimited
			}
			if code(err) != want {
				t.Fatalf("wrong password %d: %v, want %s", i+1, err, want)
			}
		}
		// The owner of that email, from elsewhere, is refused too: the
		// email's limit holds whatever the address.
		if _, _, _, err := a.svc.SignIn(ctx, crew[0], goodPassword, "", meta); code(err) != airlock.CodeRateLimited {
			t.Fatalf("after 10 failures: %v", err)
		}
	})
}

// TestSelfServiceWritesAreLimited: a signed-in user's own profile edits and
// "sign out everywhere else" are limited per account, and the refusals
// write one audit event per window.
func TestSelfServiceWritesAreLimited(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		u, sid := signIn(t, a, u.Email)
		var ok, limited atomic.Int32
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() {
				n := []*env{a, b}[i%2]
				var err error
				if i%2 == 0 {
					_, err = n.svc.UpdateMyProfile(ctx, u, "Ada", fmt.Sprintf("Lovelace %d", i), "en", meta)
				} else {
					_, err = n.svc.SignOutOthers(ctx, u, sid, meta)
				}
				switch code(err) {
				case "":
					ok.Add(1)
				case airlock.CodeRateLimited:
					limited.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 20 || limited.Load() != 40 {
			t.Fatalf("%d self-service writes let through, %d refused; want 20 and 40", ok.Load(), limited.Load())
		}
		events, _, err := a.db.ListAudit(ctx, airlock.AuditFilter{UserID: u.ID, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		refusals := 0
		for _, ev := range events {
			if ev.Outcome == "rate_limited" {
				refusals++
			}
		}
		if refusals != 1 {
			t.Fatalf("%d audit events for 40 refusals; want 1", refusals)
		}
	})
}

// TestSecondStepAfterTemporaryPasswordExpired: a temporary password that
// expires between the password and the code opens nothing, and the code
// is not spent.
func TestSecondStepAfterTemporaryPasswordExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	secret, _ := enrol(t, e, u)
	if err := e.svc.AdminSetPassword(ctx, account.Operator, u.ID, "a temporary passphrase", "", true, meta); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(72*time.Hour - time.Minute)
	_, _, challenge, err := e.svc.SignIn(ctx, u.Email, "a temporary passphrase", "", meta)
	if err != nil || challenge == "" {
		t.Fatalf("first step: %v", err)
	}
	e.clock.Advance(2 * time.Minute)
	code := codeAt(secret, e.clock.Now())
	if _, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, code, meta); err == nil || sid != "" {
		t.Fatalf("signed in after the temporary password expired: %v", err)
	}
	if got := mustUser(t, e, u.ID); got.TOTPLastStep == totp.StepAt(e.clock.Now()) {
		t.Fatal("the code was spent by a sign-in that opened nothing")
	}
}

// TestOneAccountCannotHogTheHasher: right passwords use no limit up, but
// one email's sign-ins, right or wrong, are capped (120 in 10 minutes), so
// its holder cannot keep the password hasher to themselves; another
// account behind the same address signs in all the same.
func TestOneAccountCannotHogTheHasher(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
	e.user(t, "bob@example.com", goodPassword)
	for i := range 120 {
		if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); err != nil {
			t.Fatalf("right sign-in %d: %v", i+1, err)
		}
	}
	if _, err := e.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "", meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("sign-in 121 of one account in 10 minutes: %v", err)
	}
	if _, _, _, err := e.svc.SignIn(ctx, "bob@example.com", goodPassword, "", meta); err != nil {
		t.Fatalf("another account from the same address: %v", err)
	}
	e.clock.Advance(5 * time.Second)
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); err != nil {
		t.Fatalf("one more after a few seconds: %v", err)
	}
}

// TestRepeatedRefusalsWriteOneEvent: what a client may repeat at will with
// what it already holds (revoking a token again, racing a refresh with
// itself, a right password for an account without the app's group) writes
// one audit event, not one a request (SPEC §6.14).
func TestRepeatedRefusalsWriteOneEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
	nomobile := e.user(t, "bob@example.com", goodPassword)
	tk, err := e.svc.SignInAPI(ctx, u.Email, goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	next, err := e.svc.Refresh(ctx, tk.RefreshToken, meta)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := e.svc.Refresh(ctx, tk.RefreshToken, meta); code(err) != airlock.CodeInvalidToken { // within the race window
			t.Fatalf("a raced refresh: %v", err)
		}
		if err := e.svc.RevokeAPIToken(ctx, next.AccessToken, meta); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SignInAPI(ctx, nomobile.Email, goodPassword, "", meta); code(err) != airlock.CodeForbidden {
			t.Fatalf("without the mobile group: %v", err)
		}
	}
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range events {
		count[ev.Detail]++
	}
	for _, d := range []string{"api_raced", "api_signed_out", "api_not_allowed"} {
		if count[d] != 1 {
			t.Errorf("%d events %q for 20 requests, want 1", count[d], d)
		}
	}
}

// TestSecondStepAfterTwoFactorTurnedOff: a half-signed-in state whose
// account's two-step sign-in was turned off meanwhile (by an administrator)
// opens nothing and fails nothing: the sign-in starts again.
func TestSecondStepAfterTwoFactorTurnedOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	enrol(t, e, u)
	_, _, challenge, err := e.svc.SignIn(ctx, u.Email, goodPassword, "", meta)
	if err != nil || challenge == "" {
		t.Fatalf("first step: %v", err)
	}
	if err := e.svc.AdminResetTwoFactor(ctx, account.Operator, u.ID, meta); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.svc.CompleteSignIn(ctx, challenge, "123456", meta); code(err) != airlock.CodeUnauthorized || airlock.AsError(err).Detail != "challenge" {
		t.Fatalf("the second step of an account without it now: %v", err)
	}
}

// TestMakingAnAdministratorAsksForProof: a session or token alone does not
// make anyone an administrator (who could then act on the account it came
// from): creating one, or adding the group, asks for the acting
// administrator's password, and code with two-step sign-in; a file
// imported in the back office makes none; the command line's operator may.
func TestMakingAnAdministratorAsksForProof(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := e.user(t, "boss@example.com", goodPassword, airlock.GroupAdmin)
	secret, _ := enrol(t, e, admin)
	admin = mustUser(t, e, admin.ID)
	n := account.NewUser{Email: "mallory@example.com", Password: "chosen by the intruder", Groups: []string{airlock.GroupAdmin}}
	if _, err := e.svc.AdminCreateUser(ctx, admin, n, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("an administrator created with a session alone: %v", err)
	}
	n.ActorPassword = goodPassword
	if _, err := e.svc.AdminCreateUser(ctx, admin, n, meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("an administrator created without the code: %v", err)
	}
	if _, err := e.db.UserByEmail(ctx, n.Email); err == nil {
		t.Fatal("a refused creation created the user")
	}
	ada := e.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
	promote := account.UserChanges{Groups: &[]string{airlock.GroupAdmin, airlock.GroupMobile}}
	if _, err := e.svc.AdminUpdateUser(ctx, admin, ada.ID, promote, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("the admin group added with a session alone: %v", err)
	}
	if mustUser(t, e, ada.ID).HasGroup(airlock.GroupAdmin) {
		t.Fatal("a refused change made an administrator")
	}
	// Other changes, and an administrator's edit, need no proof.
	if _, err := e.svc.AdminUpdateUser(ctx, admin, ada.ID, account.UserChanges{FirstName: ptr("Augusta")}, meta); err != nil {
		t.Fatal(err)
	}
	promote.CurrentPassword, promote.OTP = goodPassword, codeAt(secret, e.clock.Now())
	if got, err := e.svc.AdminUpdateUser(ctx, admin, ada.ID, promote, meta); err != nil || !got.HasGroup(airlock.GroupAdmin) {
		t.Fatalf("the admin group added with the proof: %v", err)
	}
	// A file makes no administrator from the back office.
	csv := "email,groups\nnew.boss@example.com,admin\nworker@example.com,mobile\n"
	f, err := account.ParseUsersCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	var ie *account.ImportError
	if _, err := e.svc.AdminImportUsers(ctx, admin, f, false, meta, nil); !errorAs(err, &ie) || len(ie.Problems) != 1 ||
		ie.Problems[0].Line != 2 || ie.Problems[0].Key != "import.admin_group" {
		t.Fatalf("a file making an administrator: %v", err)
	}
	f, _ = account.ParseUsersCSV(strings.NewReader(csv))
	if n, err := e.svc.AdminImportUsers(ctx, account.Operator, f, false, meta, nil); err != nil || n != 2 {
		t.Fatalf("the operator's import: %d, %v", n, err)
	}
}

// TestResetCodeStep: a reset link of an account with two-step sign-in can
// take the code first, on its own step, then the new password (issue 26,
// item 7), under every rule of SPEC §6.15: a wrong code is counted and
// records nothing; a right app code is spent at once (a replay on another
// link is refused); a right code counts for that link only, for ten
// minutes; a recovery code is only checked there, and spent by the reset
// that succeeds, not by one the password policy refuses.
func TestResetCodeStep(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		secret, codes := enrol(t, a, u)
		a.drain(t)
		first, other := a.resetToken(t, u.Email), a.resetToken(t, u.Email)
		if _, _, err := a.svc.VerifyLinkCode(ctx, account.ByToken(first), "000000", meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("a wrong code: %v", err)
		}
		if given, _ := b.svc.LinkCodeGiven(ctx, account.ByToken(first)); given {
			t.Fatal("a wrong code was recorded")
		}
		right := codeAt(secret, a.clock.Now())
		if _, _, err := a.svc.VerifyLinkCode(ctx, account.ByToken(first), right, meta); err != nil {
			t.Fatalf("the right code: %v", err)
		}
		// Spent: the same code on the other link is a replay.
		if _, _, err := b.svc.VerifyLinkCode(ctx, account.ByToken(other), right, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("the same app code again, on another link: %v", err)
		}
		// The code counts for its link only.
		if _, _, err := b.svc.CompleteLink(ctx, account.ByToken(other), "a passphrase for the other link", "", meta); err == nil {
			t.Fatal("a link whose code was never given set a password")
		}
		// The password policy still refuses; the code step holds.
		if _, _, err := b.svc.CompleteLink(ctx, account.ByToken(first), "short", "", meta); code(err) != airlock.CodePasswordPolicy {
			t.Fatalf("a weak password after the code step: %v", err)
		}
		if _, _, err := b.svc.CompleteLink(ctx, account.ByToken(first), "set after the code step", "", meta); err != nil {
			t.Fatalf("the password after the code step: %v", err)
		}
		if _, _, challenge, err := a.svc.SignIn(ctx, u.Email, "set after the code step", "", meta); err != nil || challenge == "" {
			t.Fatalf("sign-in after the reset: %v (two-step sign-in still asked: %v)", err, challenge != "")
		}

		// A recovery code: checked at the step, spent only by the reset
		// that succeeds.
		a.clock.Advance(time.Hour) // past the 3-emails-an-hour limit
		u = mustUser(t, a, u.ID)
		link := a.resetToken(t, u.Email)
		if _, _, err := a.svc.VerifyLinkCode(ctx, account.ByToken(link), codes[0], meta); err != nil {
			t.Fatalf("a recovery code at the code step: %v", err)
		}
		if left, _ := a.svc.RecoveryCodesLeft(ctx, u); left != 10 {
			t.Fatalf("%d recovery codes left after the code step, want 10 (none spent yet)", left)
		}
		if _, _, err := a.svc.CompleteLink(ctx, account.ByToken(link), "short", "", meta); code(err) != airlock.CodePasswordPolicy {
			t.Fatalf("a weak password: %v", err)
		}
		if left, _ := a.svc.RecoveryCodesLeft(ctx, u); left != 10 {
			t.Fatalf("%d recovery codes left after a refused password, want 10", left)
		}
		// Ten minutes on, the step has to be taken again.
		a.clock.Advance(11 * time.Minute)
		if _, _, err := a.svc.CompleteLink(ctx, account.ByToken(link), "too late after the code", "", meta); err == nil {
			t.Fatal("a code step ten minutes old still counted")
		}
		if _, _, err := a.svc.VerifyLinkCode(ctx, account.ByToken(link), codes[0], meta); err != nil {
			t.Fatalf("the recovery code again: %v", err)
		}
		if given, _ := a.svc.LinkCodeGiven(ctx, account.ByToken(link)); !given {
			t.Fatal("the recovery code's step not recorded")
		}
		if _, _, err := b.svc.CompleteLink(ctx, account.ByToken(link), "set with a recovery code", "", meta); err != nil {
			t.Fatalf("the reset after a recovery code: %v", err)
		}
		if left, _ := a.svc.RecoveryCodesLeft(ctx, mustUser(t, a, u.ID)); left != 9 {
			t.Fatalf("%d recovery codes left after the reset, want 9", left)
		}
		// Racing resets after one code step, on both nodes: one wins, one
		// recovery code is spent.
		a.clock.Advance(time.Hour)
		link = a.resetToken(t, u.Email)
		if _, _, err := b.svc.VerifyLinkCode(ctx, account.ByToken(link), codes[1], meta); err != nil {
			t.Fatal(err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				if _, _, err := []*env{a, b}[i%2].svc.CompleteLink(ctx, account.ByToken(link), fmt.Sprintf("raced after the step %d", i), "", meta); err == nil {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if left, _ := a.svc.RecoveryCodesLeft(ctx, mustUser(t, a, u.ID)); won.Load() != 1 || left != 8 {
			t.Fatalf("%d racing resets won, %d recovery codes left: want 1 and 8", won.Load(), left)
		}
	})
}

// TestResetCodeStepEndsWithTheKey: a code step taken with a reset link
// ends when the owner's key goes (two-step sign-in turned off, then on with
// a new key): whoever holds the old authenticator and the mailbox cannot
// finish the reset the new key was meant to stop.
func TestResetCodeStepEndsWithTheKey(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		secret, _ := enrol(t, a, u)
		a.drain(t)
		stepped := a.resetToken(t, u.Email)
		if _, _, err := a.svc.VerifyLinkCode(ctx, account.ByToken(stepped), codeAt(secret, a.clock.Now()), meta); err != nil {
			t.Fatal(err)
		}
		if err := a.svc.AdminResetTwoFactor(ctx, account.Operator, u.ID, meta); err != nil {
			t.Fatal(err)
		}
		if given, _ := b.svc.LinkCodeGiven(ctx, account.ByToken(stepped)); given {
			t.Fatal("a code step outlived turning two-step sign-in off")
		}
		_, codes := enrol(t, a, mustUser(t, a, u.ID))
		if _, _, err := b.svc.CompleteLink(ctx, account.ByToken(stepped), "set with the old key's step", "", meta); err == nil {
			t.Fatal("a code step taken with the old key set a password after the new key")
		}
		// A recovery code's step ends when the code is used elsewhere: the
		// page asks for a code again rather than for a password it refuses.
		a.clock.Advance(time.Hour)
		link := a.resetToken(t, u.Email)
		if _, _, err := a.svc.VerifyLinkCode(ctx, account.ByToken(link), codes[0], meta); err != nil {
			t.Fatal(err)
		}
		_, _, challenge, err := a.svc.SignIn(ctx, u.Email, goodPassword, "", meta)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := b.svc.CompleteSignIn(ctx, challenge, codes[0], meta); err != nil {
			t.Fatalf("signing in with the recovery code: %v", err)
		}
		if given, _ := a.svc.LinkCodeGiven(ctx, account.ByToken(link)); given {
			t.Fatal("the step of a recovery code used since still counts")
		}
	})
}
