package account_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/softkey"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// codesLeft is how many unused recovery codes u has, as the account page
// says it.
func codesLeft(t *testing.T, e *env, id string) int {
	t.Helper()
	n, err := e.svc.RecoveryCodesLeft(context.Background(), mustUser(t, e, id))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPasskeyRecoveryCodes: an account whose only second step is a
// passkey gets ten recovery codes with its first passkey (shown once, not
// again with the second); one signs in after the password in place of the
// passkey, one takes a reset link's step (given with the new password or
// at the link's own step), never an authenticator code; a new set needs
// the password and a passkey; the codes outlive the removal of a passkey
// but not of the last one, by the owner or an administrator.
func TestPasskeyRecoveryCodes(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newNode(t, db, testutil.NewClock(), mailtest.Start(t))
		ctx := context.Background()
		u := e.user(t, "pia@example.com", goodPassword)
		sid := e.signedIn(t, "pia@example.com")
		key := softkey.New(origin)
		added := e.addPasskeyAll(t, u, sid, key, "Phone", "")
		first, codes := added.Passkey, added.Codes
		sid = added.Session // the first passkey ended the other sessions
		if len(codes) != account.RecoveryCodes || !account.ValidRecoveryCodes(codes) {
			t.Fatalf("codes with the first passkey: %q", codes)
		}
		if n := codesLeft(t, e, u.ID); n != 10 {
			t.Fatalf("%d codes left", n)
		}
		laptop := softkey.New(origin)
		if _, again := e.addPasskeyCodes(t, u, sid, laptop, "Laptop", ""); again != nil {
			t.Fatalf("a second passkey gave codes again: %q", again)
		}

		// After the password, a recovery code in place of the passkey;
		// an authenticator code is no code here.
		_, _, challenge, err := e.svc.SignIn(ctx, "pia@example.com", goodPassword, "", meta)
		if err != nil || challenge == "" {
			t.Fatalf("password: %v", err)
		}
		if _, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, "123456", meta); code(err) != airlock.CodeUnauthorized || sid != "" {
			t.Fatalf("an app code on a passkey-only account: %v", err)
		} else if e := airlock.AsError(err); e.Key != "error.two_factor.bad_recovery_code" {
			t.Fatalf("an app code on a passkey-only account is answered with %q, words for an account with the app", e.Key)
		}
		if _, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, "abcde-fghij-kmnpq-rstuv", meta); code(err) != airlock.CodeUnauthorized || sid != "" {
			t.Fatalf("a recovery code it does not have: %v", err)
		}
		if _, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, codes[0], meta); err != nil || sid == "" {
			t.Fatalf("a recovery code after the password: %v", err)
		}
		_, _, challenge, _ = e.svc.SignIn(ctx, "pia@example.com", goodPassword, "", meta)
		if _, _, _, err := e.svc.CompleteSignIn(ctx, challenge, codes[0], meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("a recovery code used twice: %v", err)
		}
		if n := codesLeft(t, e, u.ID); n != 9 {
			t.Fatalf("%d codes left after one use", n)
		}

		// A reset: the code with the new password, or at the link's step.
		token := e.resetToken(t, "pia@example.com")
		if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "a brand new passphrase", "654321", meta); code(err) != airlock.CodeTwoFactorRequired {
			t.Fatalf("a reset with an app code: %v", err)
		}
		if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "a brand new passphrase", codes[1], meta); err != nil {
			t.Fatalf("a reset with a recovery code: %v", err)
		}
		token = e.resetToken(t, "pia@example.com")
		if _, _, err := e.svc.VerifyLinkCode(ctx, account.ByToken(token), "123456", meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("the link's step with an app code: %v", err)
		}
		if _, _, err := e.svc.VerifyLinkCode(ctx, account.ByToken(token), codes[2], meta); err != nil {
			t.Fatalf("the link's step with a recovery code: %v", err)
		}
		if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), goodPassword, "", meta); err != nil {
			t.Fatalf("the reset after the link's step: %v", err)
		}
		if n := codesLeft(t, e, u.ID); n != 7 {
			t.Fatalf("%d codes left after two resets", n)
		}

		// A new set: the password and a passkey, in this browser.
		sid = e.signedIn2(t, "pia@example.com", key)
		u = mustUser(t, e, u.ID)
		newSet := func(pw string, k *softkey.Key, sid string) ([]string, error) {
			id, options, err := e.svc.BeginNewCodesPasskey(ctx, u, sid, meta)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := k.Get(options)
			if err != nil {
				t.Fatal(err)
			}
			return e.svc.NewRecoveryCodesWithPasskey(ctx, u, sid, pw, id, resp, meta)
		}
		if _, err := newSet("not the password at all", key, sid); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("new codes with a wrong password: %v", err)
		}
		id, options, _ := e.svc.BeginNewCodesPasskey(ctx, u, sid, meta)
		resp, _ := key.Get(options)
		if _, err := e.svc.NewRecoveryCodesWithPasskey(ctx, u, e.signedIn2(t, "pia@example.com", key), goodPassword, id, resp, meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("new codes with another browser's ceremony: %v", err)
		}
		fresh, err := newSet(goodPassword, key, sid)
		if err != nil || len(fresh) != account.RecoveryCodes {
			t.Fatalf("new codes: %q %v", fresh, err)
		}
		_, _, challenge, _ = e.svc.SignIn(ctx, "pia@example.com", goodPassword, "", meta)
		if _, _, _, err := e.svc.CompleteSignIn(ctx, challenge, codes[3], meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("an old code after a new set: %v", err)
		}
		if n := codesLeft(t, e, u.ID); n != 10 {
			t.Fatalf("%d codes left in the new set", n)
		}

		// Removing a passkey keeps them; removing the last one drops them,
		// as turning the app off does.
		if err := e.svc.RemovePasskey(ctx, u, sid, first.ID, account.Proof{Password: goodPassword, Code: "", Passkey: e.removalAnswer(t, u, sid, first.ID, key)}, meta); err != nil {
			t.Fatal(err)
		}
		if n := codesLeft(t, e, u.ID); n != 10 {
			t.Fatalf("%d codes left with a passkey left", n)
		}
		keys, _ := e.svc.Passkeys(ctx, u)
		last := mustUser(t, e, u.ID)
		if err := e.svc.RemovePasskey(ctx, last, sid, keys[0].ID, account.Proof{Password: goodPassword, Code: "", Passkey: e.removalAnswer(t, last, sid, keys[0].ID, laptop)}, meta); err != nil {
			t.Fatal(err)
		}
		if n, _ := e.db.CountRecoveryCodes(ctx, u.ID); n != 0 {
			t.Fatalf("%d codes kept with no second step left", n)
		}
		// The next first passkey gives a new set.
		if _, again := e.addPasskeyCodes(t, u, e.signedIn(t, "pia@example.com"), softkey.New(origin), "Phone", ""); len(again) != 10 {
			t.Fatalf("codes with a first passkey again: %q", again)
		}

		// An administrator's removal of every passkey drops them too.
		admin := e.user(t, "boss@example.com", goodPassword, "admin")
		if err := e.svc.AdminRemovePasskeys(ctx, admin, u.ID, meta); err != nil {
			t.Fatal(err)
		}
		if n, _ := e.db.CountRecoveryCodes(ctx, u.ID); n != 0 {
			t.Fatalf("%d codes kept after an administrator removed the passkeys", n)
		}
	})
}

// signedIn2 signs a passkey-only account in with its password and the
// passkey of key, and returns the session id.
func (e *env) signedIn2(t *testing.T, email string, key *softkey.Key) string {
	t.Helper()
	ctx := context.Background()
	_, _, challenge, err := e.svc.SignIn(ctx, email, goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	id, options, err := e.svc.BeginPasskeyStep(ctx, challenge, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	_, sid, _, err := e.svc.CompleteSignInWithPasskey(ctx, challenge, id, resp, meta)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

// TestPasskeyKeepsTheAppsCodes: an account with the authenticator app
// keeps its recovery codes when it adds a passkey (none are shown), and
// keeps them when the app is turned off while a passkey remains: they then
// stand in for the passkey.
func TestPasskeyKeepsTheAppsCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "kai@example.com", goodPassword)
	secret, codes := enrol(t, e, u)
	_, _, challenge, _ := e.svc.SignIn(ctx, "kai@example.com", goodPassword, "", meta)
	_, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, codeAt(secret, e.clock.Now()), meta)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	if _, given := e.addPasskeyCodes(t, mustUser(t, e, u.ID), sid, softkey.New(origin), "Key", codeAt(secret, e.clock.Now())); given != nil {
		t.Fatalf("codes shown beside the app's: %q", given)
	}
	if n := codesLeft(t, e, u.ID); n != 10 {
		t.Fatalf("%d of the app's codes left", n)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.DisableTwoFactor(ctx, mustUser(t, e, u.ID), goodPassword, codeAt(secret, e.clock.Now()), meta); err != nil {
		t.Fatal(err)
	}
	if n := codesLeft(t, e, u.ID); n != 10 {
		t.Fatalf("%d codes left with the passkey, the app off", n)
	}
	_, _, challenge, _ = e.svc.SignIn(ctx, "kai@example.com", goodPassword, "", meta)
	if _, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, codes[5], meta); err != nil || sid == "" {
		t.Fatalf("the app's recovery code in place of the passkey: %v", err)
	}
}

// TestPasskeyCodesInParallel: two first passkeys added at once give one
// set of codes (the first ends the session the second was begun in, or
// the second sees the first's codes); the app turned off and the
// last passkey removed at once leave no codes, whichever goes first. Both
// databases, two nodes.
func TestPasskeyCodesInParallel(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		clock, smtp := testutil.NewClock(), mailtest.Start(t)
		a, b := newNode(t, db, clock, smtp), newNode(t, db, clock, smtp)
		ctx := context.Background()
		for round := range 3 {
			email := []string{"r0@example.com", "r1@example.com", "r2@example.com"}[round]
			u := a.user(t, email, goodPassword)
			sid := a.signedIn(t, email)
			var ids []string
			var resps [][]byte
			for range 2 {
				id, options, err := a.svc.BeginPasskeyRegistration(ctx, u, sid, "Phone", account.Proof{Password: goodPassword, Code: ""}, meta)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := softkey.New(origin).Create(options)
				if err != nil {
					t.Fatal(err)
				}
				ids, resps = append(ids, id), append(resps, resp)
			}
			var sets atomic.Int32
			var wg sync.WaitGroup
			for i, n := range []*env{a, b} {
				wg.Go(func() {
					added, err := n.svc.FinishPasskeyRegistration(ctx, u, sid, ids[i], "Phone", resps[i], meta)
					switch {
					case err == nil:
						if added.Codes != nil {
							sets.Add(1)
						}
					case code(err) != airlock.CodeUnauthorized:
						// The first passkey ends the other's session: that
						// one is refused, or both were added one after the
						// other (SQLite), the second finding the codes.
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if sets.Load() != 1 {
				t.Fatalf("%d sets of codes shown", sets.Load())
			}
			if n, _ := a.db.CountRecoveryCodes(ctx, u.ID); n != 10 {
				t.Fatalf("%d codes kept", n)
			}
		}

		for round := range 3 {
			email := []string{"s0@example.com", "s1@example.com", "s2@example.com"}[round]
			u := a.user(t, email, goodPassword)
			secret, codes := enrol(t, a, u)
			_, _, challenge, _ := a.svc.SignIn(ctx, email, goodPassword, "", meta)
			_, sid, _, err := a.svc.CompleteSignIn(ctx, challenge, codeAt(secret, clock.Now()), meta)
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(30 * time.Second)
			p := a.addPasskey(t, mustUser(t, a, u.ID), sid, softkey.New(origin), "Phone", codeAt(secret, clock.Now()))
			u = mustUser(t, a, u.ID)
			var wg sync.WaitGroup
			wg.Go(func() {
				if err := a.svc.DisableTwoFactor(ctx, u, goodPassword, codes[0], meta); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				if err := b.svc.RemovePasskey(ctx, u, sid, p.ID, account.Proof{Password: goodPassword, Code: codes[1], Passkey: account.PasskeyAnswer{}}, meta); err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			if v := mustUser(t, a, u.ID); v.SecondStep() {
				t.Fatalf("a second step left: app %v, %d passkeys", v.TwoFactor(), v.Passkeys)
			}
			if n, _ := a.db.CountRecoveryCodes(ctx, u.ID); n != 0 {
				t.Fatalf("%d codes kept with no second step", n)
			}
		}
	})
}
