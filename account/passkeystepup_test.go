package account_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/softkey"
)

// errKey is the message key of err ("" for none).
func errKey(err error) string {
	if e := airlock.AsError(err); e != nil {
		return e.Key
	}
	return ""
}

// TestPasskeyOnlyChangesAskAPasskey: on an account whose only second step
// is a passkey, the password (with a session, say a stolen cookie) is not
// enough to add a passkey, change the password, or, for an administrator,
// change their own rights or make an administrator: a passkey's answer is
// asked, good only for the change it was asked for and in the browser that
// asked it; a recovery code does too, where the account has them.
func TestPasskeyOnlyChangesAskAPasskey(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword, airlock.GroupAdmin)
		key := softkey.New(origin)
		_, sid := a.addPasskeyIn(t, u, a.signedIn(t, "ada@example.com"), key, "Phone", "")
		u = mustUser(t, a, u.ID)
		keys := func(want int) {
			t.Helper()
			if n := mustUser(t, a, u.ID).Passkeys; n != want {
				t.Fatalf("%d passkeys, want %d", n, want)
			}
		}

		// Adding a passkey: the password alone is refused, clearly.
		_, _, err := a.svc.BeginPasskeyRegistration(ctx, u, sid, "Laptop", account.Proof{Password: goodPassword}, meta)
		if code(err) != airlock.CodeTwoFactorRequired || errKey(err) != "error.passkey.confirm" {
			t.Fatalf("a passkey added with the password alone: %v", err)
		}
		// An answer asked for another change, or in another browser of the
		// same account, does not add one either.
		forPassword := a.confirmAnswer(t, u, sid, account.ActionPassword, key)
		if _, _, err := b.svc.BeginPasskeyRegistration(ctx, u, sid, "Laptop", account.Proof{Password: goodPassword, Passkey: forPassword}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an answer for the password change added a passkey: %v", err)
		}
		other := a.passkeySignIn(t, key)
		elsewhere := a.confirmAnswer(t, u, other, account.ActionAddPasskey, key)
		if _, _, err := b.svc.BeginPasskeyRegistration(ctx, u, sid, "Laptop", account.Proof{Password: goodPassword, Passkey: elsewhere}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an answer asked in another browser added a passkey: %v", err)
		}
		// A wrong password with a good answer: refused before the answer.
		good := a.confirmAnswer(t, u, sid, account.ActionAddPasskey, key)
		if _, _, err := b.svc.BeginPasskeyRegistration(ctx, u, sid, "Laptop", account.Proof{Password: "not the password at all", Passkey: good}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("a wrong password: %v", err)
		}
		// The password and the answer for this change, in this browser.
		laptop := softkey.New(origin)
		id, options, err := b.svc.BeginPasskeyRegistration(ctx, u, sid, "Laptop", account.Proof{Password: goodPassword, Passkey: good}, meta)
		if err != nil {
			t.Fatalf("the password and a passkey: %v", err)
		}
		resp, err := laptop.Create(options)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.svc.FinishPasskeyRegistration(ctx, u, sid, id, "Laptop", resp, meta); err != nil {
			t.Fatal(err)
		}
		keys(2)
		// The answer is used up.
		if _, _, err := a.svc.BeginPasskeyRegistration(ctx, u, sid, "Again", account.Proof{Password: goodPassword, Passkey: good}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("one answer added two passkeys: %v", err)
		}

		// An administrator's own rights and making an administrator: the
		// same rule.
		u = mustUser(t, a, u.ID)
		mobile := &[]string{airlock.GroupAdmin, airlock.GroupMobile}
		if _, err := a.svc.AdminUpdateUser(ctx, u, u.ID, account.UserChanges{Groups: mobile, CurrentPassword: goodPassword, Session: sid}, meta); code(err) != airlock.CodeTwoFactorRequired {
			t.Fatalf("own groups changed with the password alone: %v", err)
		}
		if _, err := a.svc.AdminUpdateUser(ctx, u, u.ID, account.UserChanges{Groups: mobile, CurrentPassword: goodPassword}, meta); errKey(err) != "error.passkey.confirm_in_browser" {
			t.Fatalf("from the API, no browser to confirm in: %v", err)
		}
		newAdmin := a.confirmAnswer(t, u, sid, account.ActionNewAdmin, key)
		if _, err := a.svc.AdminUpdateUser(ctx, u, u.ID, account.UserChanges{Groups: mobile, CurrentPassword: goodPassword, Session: sid, Passkey: newAdmin}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an answer for another change changed own groups: %v", err)
		}
		edit := a.confirmAnswer(t, u, sid, account.ActionEditUser(u.ID), key)
		if got, err := b.svc.AdminUpdateUser(ctx, u, u.ID, account.UserChanges{Groups: mobile, CurrentPassword: goodPassword, Session: sid, Passkey: edit}, meta); err != nil || !got.HasGroup(airlock.GroupMobile) {
			t.Fatalf("own groups with the password and a passkey: %v", err)
		}
		u = mustUser(t, a, u.ID)
		grant := account.NewUser{Email: "grace@example.com", FirstName: "Grace", LastName: "Hopper", Groups: []string{airlock.GroupAdmin}, ActorPassword: goodPassword, ActorSession: sid}
		if _, err := a.svc.AdminCreateUser(ctx, u, grant, meta); code(err) != airlock.CodeTwoFactorRequired {
			t.Fatalf("an administrator made with the password alone: %v", err)
		}
		grant.ActorPasskey = a.confirmAnswer(t, u, sid, account.ActionNewAdmin, key)
		if _, err := b.svc.AdminCreateUser(ctx, u, grant, meta); err != nil {
			t.Fatalf("an administrator made with the password and a passkey: %v", err)
		}
		if err := a.svc.AdminSetPassword(ctx, u, u.ID, "a brand new passphrase", goodPassword, false, meta); code(err) != airlock.CodeForbidden {
			t.Fatalf("own password set from the back office with the password alone: %v", err)
		}

		// Changing the password: the same rule, and from an app's token
		// (no browser session) a clear word to use the account page.
		if _, err := a.svc.ChangePassword(ctx, u, sid, "a brand new passphrase", account.Proof{Password: goodPassword}, meta); code(err) != airlock.CodeTwoFactorRequired {
			t.Fatalf("password changed with the password alone: %v", err)
		}
		if _, err := a.svc.ChangePassword(ctx, u, "", "a brand new passphrase", account.Proof{Password: goodPassword}, meta); errKey(err) != "error.passkey.confirm_in_browser" {
			t.Fatalf("password changed by a token with the password alone: %v", err)
		}
		forAdd := a.confirmAnswer(t, u, sid, account.ActionAddPasskey, key)
		if _, err := a.svc.ChangePassword(ctx, u, sid, "a brand new passphrase", account.Proof{Password: goodPassword, Passkey: forAdd}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an answer for adding a passkey changed the password: %v", err)
		}
		if _, err := a.svc.ChangePassword(ctx, u, "", "a brand new passphrase", account.Proof{Password: goodPassword, Passkey: a.confirmAnswer(t, u, sid, account.ActionPassword, key)}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an answer used without its browser's session changed the password: %v", err)
		}
		if _, _, _, err := a.svc.SignIn(ctx, u.Email, goodPassword, "", meta); err != nil {
			t.Fatalf("the password changed on a refusal: %v", err)
		}
		u = mustUser(t, a, u.ID)
		if _, err := b.svc.ChangePassword(ctx, u, sid, "a brand new passphrase", account.Proof{Password: goodPassword, Passkey: a.confirmAnswer(t, u, sid, account.ActionPassword, key)}, meta); err != nil {
			t.Fatalf("password change with the password and a passkey: %v", err)
		}

		// A recovery code, where the account has them, confirms too; a
		// code like an app's does not (there is no app).
		v := a.user(t, "bob@example.com", goodPassword)
		_, vsid := a.addPasskeyIn(t, v, a.signedIn(t, "bob@example.com"), softkey.New(origin), "Key", "")
		codes, hashes, err := account.NewRecoveryCodes()
		if err != nil {
			t.Fatal(err)
		}
		if err := a.db.ReplaceRecoveryCodes(ctx, v.ID, hashes); err != nil {
			t.Fatal(err)
		}
		v = mustUser(t, a, v.ID)
		if _, _, err := a.svc.BeginPasskeyRegistration(ctx, v, vsid, "Other", account.Proof{Password: goodPassword, Code: "123456"}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an app's code on an account without the app: %v", err)
		}
		if _, _, err := a.svc.BeginPasskeyRegistration(ctx, v, vsid, "Other", account.Proof{Password: goodPassword, Code: codes[0]}, meta); err != nil {
			t.Fatalf("a recovery code: %v", err)
		}
		if _, _, err := a.svc.BeginPasskeyRegistration(ctx, v, vsid, "Other", account.Proof{Password: goodPassword, Code: codes[0]}, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("a recovery code used twice: %v", err)
		}
	})
}

// TestPasskeyConfirmOneAnswer: one passkey answer confirming a change,
// sent many times at once to two nodes, confirms it once (the passkey's
// counter stays at 0, as a synced one's does: the ceremony's single use
// alone must hold).
func TestPasskeyConfirmOneAnswer(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		key := &softkey.Key{Origin: origin, NoCounter: true}
		_, sid := a.addPasskeyIn(t, u, a.signedIn(t, "ada@example.com"), key, "Phone", "")
		u = mustUser(t, a, u.ID)
		answer := a.confirmAnswer(t, u, sid, account.ActionAddPasskey, key)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				_, _, err := n.svc.BeginPasskeyRegistration(ctx, u, sid, "Laptop", account.Proof{Password: goodPassword, Passkey: answer}, meta)
				switch {
				case err == nil:
					wins.Add(1)
				case code(err) != airlock.CodeUnauthorized:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d additions begun with one answer", wins.Load())
		}
	})
}

// TestPasskeyAccountTurnsTheAppOnWithAProof: an account whose second step
// is a passkey already has one, and turning the authenticator app on adds
// a way in and replaces its recovery codes: the password, a session (a
// stolen cookie) and the thief's own app's code are not enough. A passkey
// answering for this very change in this browser is, or a recovery code;
// one answer turns it on once, on either node.
func TestPasskeyAccountTurnsTheAppOnWithAProof(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		key := softkey.New(origin)
		added := a.addPasskeyAll(t, u, a.signedIn(t, "ada@example.com"), key, "Phone", "")
		sid, codes := added.Session, added.Codes
		u = mustUser(t, a, u.ID)
		shown := beginEnrolment(t, a, u, sid)
		appOff := func() {
			t.Helper()
			if cur := mustUser(t, a, u.ID); cur.TwoFactor() {
				t.Fatal("the app was turned on")
			}
			if n, err := a.svc.RecoveryCodesLeft(ctx, u); err != nil || n != len(codes) {
				t.Fatalf("%d recovery codes left (%v), want the owner's %d", n, err, len(codes))
			}
		}
		_, _, err := a.svc.ConfirmTwoFactor(ctx, u, sid, shown.visit, goodPassword, codeAt(shown.key, a.clock.Now()), meta)
		if code(err) != airlock.CodeTwoFactorRequired || errKey(err) != "error.passkey.confirm" {
			t.Fatalf("the app turned on with the password alone: %v", err)
		}
		appOff()
		// An answer asked for another change does not turn it on.
		other := a.confirmAnswer(t, u, sid, account.ActionNewCodes, key)
		if _, _, err := b.svc.ConfirmTwoFactorProved(ctx, u, sid, shown.visit, account.Proof{Password: goodPassword, Passkey: other}, codeAt(shown.key, a.clock.Now()), meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an answer for new codes turned the app on: %v", err)
		}
		appOff()
		// One answer for it, sent many times on two nodes: on once.
		answer := a.confirmAnswer(t, u, sid, account.ActionNewApp, key)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 6 {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				_, _, err := n.svc.ConfirmTwoFactorProved(ctx, u, sid, shown.visit, account.Proof{Password: goodPassword, Passkey: answer}, codeAt(shown.key, a.clock.Now()), meta)
				if err == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || !mustUser(t, a, u.ID).TwoFactor() {
			t.Fatalf("%d enrolments with one answer", wins.Load())
		}
	})
}

// TestPasskeyAccountTurnsTheAppOnWithARecoveryCode: the recovery code
// given with the first passkey proves it too, once.
func TestPasskeyAccountTurnsTheAppOnWithARecoveryCode(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		added := a.addPasskeyAll(t, u, a.signedIn(t, "ada@example.com"), softkey.New(origin), "Phone", "")
		u = mustUser(t, a, u.ID)
		shown := beginEnrolment(t, a, u, added.Session)
		if _, _, err := b.svc.ConfirmTwoFactorProved(ctx, u, added.Session, shown.visit, account.Proof{Password: goodPassword, Code: "123456"}, codeAt(shown.key, a.clock.Now()), meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an app-style code turned the app on for a passkey-only account: %v", err)
		}
		if _, _, err := b.svc.ConfirmTwoFactorProved(ctx, u, added.Session, shown.visit, account.Proof{Password: goodPassword, Code: added.Codes[0]}, codeAt(shown.key, a.clock.Now()), meta); err != nil {
			t.Fatal(err)
		}
		if !mustUser(t, a, u.ID).TwoFactor() {
			t.Fatal("the app is not on")
		}
	})
}
