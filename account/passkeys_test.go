package account_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
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

const origin = "https://accounts.example.com"

// signedIn signs u in with the password and returns the session id.
func (e *env) signedIn(t *testing.T, email string) string {
	t.Helper()
	_, sid, _, err := e.svc.SignIn(context.Background(), email, goodPassword, "", meta)
	if err != nil || sid == "" {
		t.Fatalf("sign in: %q %v", sid, err)
	}
	return sid
}

// addPasskey registers a passkey of key named name for u from session sid.
// The session sid goes on (a first passkey renews it: addPasskeyIn).
func (e *env) addPasskey(t *testing.T, u *airlock.User, sid string, key *softkey.Key, name, otp string) *airlock.Passkey {
	t.Helper()
	return e.addPasskeyAll(t, u, sid, key, name, otp).Passkey
}

// confirmKeys holds the first passkey each test user added (user id →
// *softkey.Key): the second step that confirms their later changes when
// they have no authenticator app.
var confirmKeys sync.Map

// confirmAnswer is key's answer to the ceremony confirming action on u's
// account in the browser of session sid.
func (e *env) confirmAnswer(t *testing.T, u *airlock.User, sid string, action account.Action, key *softkey.Key) account.PasskeyAnswer {
	t.Helper()
	id, options, err := e.svc.BeginConfirm(context.Background(), u, sid, action, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	return account.PasskeyAnswer{Ceremony: id, Response: resp}
}

// addPasskeyIn is addPasskey, returning also the session this browser
// goes on in: sid, or the new one a first passkey opened. Without otp, an
// account that has passkeys and no authenticator app confirms with its
// first passkey.
func (e *env) addPasskeyIn(t *testing.T, u *airlock.User, sid string, key *softkey.Key, name, otp string) (*airlock.Passkey, string) {
	added := e.addPasskeyAll(t, u, sid, key, name, otp)
	return added.Passkey, added.Session
}

// addPasskeyCodes is addPasskey, returning the recovery codes it gave too.
func (e *env) addPasskeyCodes(t *testing.T, u *airlock.User, sid string, key *softkey.Key, name, otp string) (*airlock.Passkey, []string) {
	added := e.addPasskeyAll(t, u, sid, key, name, otp)
	return added.Passkey, added.Codes
}

// addPasskeyAll is addPasskey, returning all it gave; its Session is the
// one this browser goes on in (sid, or the new one a first passkey opened).
func (e *env) addPasskeyAll(t *testing.T, u *airlock.User, sid string, key *softkey.Key, name, otp string) *account.PasskeyAdded {
	t.Helper()
	ctx := context.Background()
	u, _ = e.db.UserByID(ctx, u.ID)
	proof := account.Proof{Password: goodPassword, Code: otp}
	if otp == "" && u.Passkeys > 0 && !u.TwoFactor() {
		first, ok := confirmKeys.Load(u.ID)
		if !ok {
			t.Fatal("no passkey of the user's known to confirm with")
		}
		proof.Passkey = e.confirmAnswer(t, u, sid, account.ActionAddPasskey, first.(*softkey.Key))
	}
	id, options, err := e.svc.BeginPasskeyRegistration(ctx, u, sid, name, proof, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	added, err := e.svc.FinishPasskeyRegistration(ctx, u, sid, id, name, resp, meta)
	if err != nil {
		t.Fatal(err)
	}
	confirmKeys.LoadOrStore(u.ID, key)
	if added.Session == "" {
		added.Session = sid
	}
	return added
}

// TestPasskeyLifecycle: a passkey is added with the password (audited,
// the owner emailed), listed, signs in alone (amr hwk/swk and user), is
// asked after the password as the second step, and a copy whose counter
// went back is refused and audited; removing it needs the password, is
// audited and emailed, and the password alone signs in again.
func TestPasskeyLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	sid := e.signedIn(t, "ada@example.com")
	key := softkey.New(origin)

	if _, _, err := e.svc.BeginPasskeyRegistration(ctx, u, sid, "Work phone", account.Proof{Password: "wrong password here", Code: ""}, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("a wrong password: %v", err)
	}
	if _, _, err := e.svc.BeginPasskeyRegistration(ctx, u, sid, " \u202e ", account.Proof{Password: goodPassword, Code: ""}, meta); code(err) != airlock.CodeInvalid {
		t.Fatalf("a name of nothing: %v", err)
	}
	p, sid := e.addPasskeyIn(t, u, sid, key, "  Work phone ", "")
	if p.Name != "Work phone" || p.Synced() {
		t.Fatalf("added: %+v", p)
	}
	e.drain(t)
	msgs := e.smtp.Wait(t, 1)
	if s := msgs[0].Header("Subject"); s != "A passkey was added to your account" || !strings.Contains(msgs[0].Parts()["text/plain"], `"Work phone"`) {
		t.Fatalf("email: %q", s)
	}
	u, _ = e.db.UserByID(ctx, u.ID)
	if u.Passkeys != 1 || !u.SecondStep() {
		t.Fatalf("the user has %d passkeys", u.Passkeys)
	}

	// Signing in with the passkey alone.
	id, options, err := e.svc.BeginPasskeySignIn(ctx, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	got, sid2, err := e.svc.FinishPasskeySignIn(ctx, id, resp, meta)
	if err != nil || got.ID != u.ID {
		t.Fatalf("passkey sign-in: %v", err)
	}
	if sess := e.session(t, sid2); strings.Join(sess.AMR, " ") != "hwk user" {
		t.Fatalf("amr %q", sess.AMR)
	}
	// The same answer again: the ceremony is used up.
	if _, _, err := e.svc.FinishPasskeySignIn(ctx, id, resp, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("an answer used twice: %v", err)
	}

	// The password now asks for the passkey.
	_, sid3, challenge, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "/account", meta)
	if err != nil || sid3 != "" || challenge == "" {
		t.Fatalf("password alone: sid %q, challenge %q, %v", sid3, challenge, err)
	}
	id, options, err = e.svc.BeginPasskeyStep(ctx, challenge, meta)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = key.Get(options); err != nil {
		t.Fatal(err)
	}
	_, sid4, next, err := e.svc.CompleteSignInWithPasskey(ctx, challenge, id, resp, meta)
	if err != nil || next != "/account" {
		t.Fatalf("second step: %q %v", next, err)
	}
	if sess := e.session(t, sid4); strings.Join(sess.AMR, " ") != "pwd hwk user" {
		t.Fatalf("amr %q", sess.AMR)
	}

	// A copy of the passkey, its counter behind: refused, audited.
	clone := key.Clone(1)
	id, options, _ = e.svc.BeginPasskeySignIn(ctx, meta)
	resp, _ = clone.Get(options)
	if _, _, err := e.svc.FinishPasskeySignIn(ctx, id, resp, meta); airlock.AsError(err) == nil || airlock.AsError(err).Detail != "passkey_cloned" {
		t.Fatalf("a cloned authenticator: %v", err)
	}
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditPasskey})
	if err != nil || events[0].Detail != "passkey_cloned" || events[0].Outcome != "failure" {
		t.Fatalf("audit: %+v %v", events, err)
	}

	// Removing it: the password, and the passkey.
	u = mustUser(t, e, u.ID)
	id, options, err = e.svc.BeginPasskeyRemoval(ctx, u, sid, p.ID, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = key.Get(options)
	if err := e.svc.RemovePasskey(ctx, u, sid, p.ID, account.Proof{Password: "wrong password here", Code: "", Passkey: account.PasskeyAnswer{Ceremony: id, Response: resp}}, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("removed without the password: %v", err)
	}
	if err := e.svc.RemovePasskey(ctx, u, sid, p.ID, account.Proof{Password: goodPassword, Code: "", Passkey: account.PasskeyAnswer{Ceremony: id, Response: resp}}, meta); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	msgs = e.smtp.Wait(t, 2)
	if s := msgs[1].Header("Subject"); s != "A passkey was removed from your account" {
		t.Fatalf("email: %q", s)
	}
	if _, sid, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); err != nil || sid == "" {
		t.Fatalf("the password alone again: %v", err)
	}
}

func (e *env) session(t *testing.T, sid string) *airlock.Session {
	t.Helper()
	h := sha256.Sum256([]byte(sid))
	sess, err := e.db.SessionByHash(context.Background(), h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// TestPasskeyOneAssertionOneSession: one passkey answer sent many times at
// once, to two nodes, opens one session (SQLite: two services on one file;
// PostgreSQL: two pools).
func TestPasskeyOneAssertionOneSession(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		clock, smtp := testutil.NewClock(), mailtest.Start(t)
		a, b := newNode(t, db, clock, smtp), newNode(t, db, clock, smtp)
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		key := softkey.New(origin)
		a.addPasskey(t, u, a.signedIn(t, "ada@example.com"), key, "Laptop", "")
		id, options, err := a.svc.BeginPasskeySignIn(ctx, meta)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := key.Get(options)
		if err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 12 {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				_, sid, err := n.svc.FinishPasskeySignIn(ctx, id, resp, meta)
				switch {
				case err == nil && sid != "":
					wins.Add(1)
				case code(err) != airlock.CodeUnauthorized:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d sessions from one answer", wins.Load())
		}
	})
}

// TestPasskeyAdminAndRules: an administrator removes a user's passkeys
// (audited, emailed) but never their own this way; a passkey meets
// AIRLOCK_REQUIRE_TWO_FACTOR; the password grant cannot carry a passkey.
func TestPasskeyAdminAndRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *account.Config) { c.RequireTwoFactor = []string{"mobile"} })
	ctx := context.Background()
	admin := e.user(t, "boss@example.com", goodPassword, "admin")
	u := e.user(t, "ada@example.com", goodPassword, "mobile")
	u, _ = e.db.UserByID(ctx, u.ID)
	if !e.svc.TwoFactorRequired(u) {
		t.Fatal("a member of a required group without a second step is not sent to enrol")
	}
	e.addPasskey(t, u, e.signedIn(t, "ada@example.com"), softkey.New(origin), "Phone", "")
	u, _ = e.db.UserByID(ctx, u.ID)
	if e.svc.TwoFactorRequired(u) {
		t.Fatal("a passkey does not meet the requirement")
	}
	if _, err := e.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "", meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("the password grant of a passkey-only account: %v", err)
	}
	if err := e.svc.AdminRemovePasskeys(ctx, admin, admin.ID, meta); code(err) != airlock.CodeForbidden {
		t.Fatalf("an administrator's own passkeys: %v", err)
	}
	if err := e.svc.AdminRemovePasskeys(ctx, u, admin.ID, meta); code(err) != airlock.CodeForbidden {
		t.Fatalf("a non-administrator: %v", err)
	}
	if err := e.svc.AdminRemovePasskeys(ctx, admin, u.ID, meta); err != nil {
		t.Fatal(err)
	}
	u, _ = e.db.UserByID(ctx, u.ID)
	if u.Passkeys != 0 {
		t.Fatal("passkeys left")
	}
	e.drain(t)
	msgs := e.smtp.Wait(t, 2)
	if body := msgs[1].Parts()["text/plain"]; !strings.Contains(body, "removed every passkey") {
		t.Fatalf("email: %s", body)
	}
}

// TestPasskeyBesideTheCode: with two-step sign-in on, adding a passkey
// asks for the code too; after the password either the code or the passkey
// ends the sign-in. A reset link asks for the second step the account has
// (the passkey does it), never adds or removes a passkey; an account whose
// only second step is a passkey cannot be reset without it.
func TestPasskeyBesideTheCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "kai@example.com", goodPassword)
	secret, _ := enrol(t, e, u)
	_, _, challenge, err := e.svc.SignIn(ctx, "kai@example.com", goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	_, sid, _, err := e.svc.CompleteSignIn(ctx, challenge, codeAt(secret, e.clock.Now()), meta)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	u = mustUser(t, e, u.ID)
	if _, _, err := e.svc.BeginPasskeyRegistration(ctx, u, sid, "Key", account.Proof{Password: goodPassword, Code: ""}, meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("a passkey added without the code: %v", err)
	}
	key := softkey.New(origin)
	e.addPasskey(t, u, sid, key, "Key", codeAt(secret, e.clock.Now()))

	// After the password, the passkey instead of the code.
	_, _, challenge, err = e.svc.SignIn(ctx, "kai@example.com", goodPassword, "", meta)
	if err != nil || challenge == "" {
		t.Fatalf("password: %v", err)
	}
	id, options, err := e.svc.BeginPasskeyStep(ctx, challenge, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := key.Get(options)
	if _, _, _, err := e.svc.CompleteSignInWithPasskey(ctx, "another-state-aaaaaaaaaaaaaaaaaaaaaaaaaaaa", id, resp, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("the passkey of another half-signed-in state: %v", err)
	}
	if _, sid, _, err := e.svc.CompleteSignInWithPasskey(ctx, challenge, id, resp, meta); err != nil || sid == "" {
		t.Fatalf("the passkey as second step: %v", err)
	}

	// A reset link: the passkey's step, then the password; the passkey stays.
	token := e.resetToken(t, "kai@example.com")
	if given, _ := e.svc.LinkCodeGiven(ctx, account.ByToken(token)); given {
		t.Fatal("the link's step is taken before anything was given")
	}
	id, options, err = e.svc.BeginLinkPasskey(ctx, account.ByToken(token), meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = key.Get(options)
	if _, err := e.svc.VerifyLinkPasskey(ctx, account.ByToken(token), id, resp, meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "a brand new passphrase", "", meta); err != nil {
		t.Fatalf("the reset after the passkey: %v", err)
	}
	if u = mustUser(t, e, u.ID); u.Passkeys != 1 || !u.TwoFactor() {
		t.Fatalf("after the reset: %d passkeys, two-step %v", u.Passkeys, u.TwoFactor())
	}

	// Passkeys only: the link without the passkey changes nothing.
	v := e.user(t, "pia@example.com", goodPassword)
	e.addPasskey(t, v, e.signedIn(t, "pia@example.com"), softkey.New(origin), "Phone", "")
	token = e.resetToken(t, "pia@example.com")
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "a brand new passphrase", "", meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("a passkey-only account reset with the link alone: %v", err)
	}
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "a brand new passphrase", "123456", meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("a passkey-only account reset with a code: %v", err)
	}
	if _, sid, _, _ := e.svc.SignIn(ctx, "pia@example.com", goodPassword, "", meta); sid != "" {
		t.Fatal("the password alone signs a passkey account in")
	}
}

// anyAllowed is options with their list of allowed passkeys dropped: what
// an attacker's own client answers with any passkey it holds.
func anyAllowed(t *testing.T, options []byte) []byte {
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

// TestPasskeyUnknownCredentialRefused: an answer naming a credential id
// that is not registered (sign-in), or that is another account's (the
// second step, a reset link), is refused as a wrong signature is, not
// "not found" (which would tell which credential ids exist); the owner's
// audit says the passkey was refused.
func TestPasskeyUnknownCredentialRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ada := e.user(t, "ada@example.com", goodPassword)
	bob := e.user(t, "bob@example.com", goodPassword)
	e.addPasskey(t, ada, e.signedIn(t, "ada@example.com"), softkey.New(origin), "Phone", "")
	bobKey := softkey.New(origin)
	_, bobSID := e.addPasskeyIn(t, bob, e.signedIn(t, "bob@example.com"), bobKey, "Laptop", "")

	// A passkey for this server whose registration was never finished.
	stranger := softkey.New(origin)
	bobNow := mustUser(t, e, bob.ID)
	_, regOptions, err := e.svc.BeginPasskeyRegistration(ctx, bobNow, bobSID, "Other",
		account.Proof{Password: goodPassword, Passkey: e.confirmAnswer(t, bobNow, bobSID, account.ActionAddPasskey, bobKey)}, meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.Create(regOptions); err != nil {
		t.Fatal(err)
	}
	id, options, err := e.svc.BeginPasskeySignIn(ctx, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := stranger.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.FinishPasskeySignIn(ctx, id, resp, meta); code(err) != airlock.CodeUnauthorized || airlock.AsError(err).Detail != "passkey_refused" {
		t.Fatalf("an unknown passkey's sign-in: %v", err)
	}

	// Bob's passkey answering Ada's second step.
	_, _, challenge, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
	if err != nil || challenge == "" {
		t.Fatalf("password: %v", err)
	}
	id, options, err = e.svc.BeginPasskeyStep(ctx, challenge, meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = bobKey.Get(anyAllowed(t, options))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.svc.CompleteSignInWithPasskey(ctx, challenge, id, resp, meta); code(err) != airlock.CodeUnauthorized || airlock.AsError(err).Detail != "passkey_refused" {
		t.Fatalf("another account's passkey as the second step: %v", err)
	}
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{UserID: ada.ID, Kind: airlock.AuditPasskey})
	if err != nil || len(events) == 0 || events[0].Outcome != "failure" || events[0].Detail != "passkey_refused" {
		t.Fatalf("the owner's audit: %+v %v", events, err)
	}

	// Bob's passkey answering Ada's reset link.
	token := e.resetToken(t, "ada@example.com")
	id, options, err = e.svc.BeginLinkPasskey(ctx, account.ByToken(token), meta)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = bobKey.Get(anyAllowed(t, options))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VerifyLinkPasskey(ctx, account.ByToken(token), id, resp, meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("another account's passkey for a reset link: %v", err)
	}
	if given, _ := e.svc.LinkCodeGiven(ctx, account.ByToken(token)); given {
		t.Fatal("the link's step taken with another account's passkey")
	}
}

// TestPasskeyLimitInParallel: registrations finished at once, on two
// nodes, never take an account past its 20 passkeys (each add is an audit
// event and an email).
func TestPasskeyLimitInParallel(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		clock, smtp := testutil.NewClock(), mailtest.Start(t)
		a, b := newNode(t, db, clock, smtp), newNode(t, db, clock, smtp)
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword)
		sid := a.signedIn(t, "ada@example.com")
		for i := range 18 {
			_, sid = a.addPasskeyIn(t, u, sid, softkey.New(origin), fmt.Sprintf("Key %d", i), "")
		}
		u = mustUser(t, a, u.ID)
		type answer struct {
			id, name string
			resp     []byte
		}
		var answers []answer
		for i := range 8 {
			first, _ := confirmKeys.Load(u.ID)
			id, options, err := a.svc.BeginPasskeyRegistration(ctx, u, sid, "Late",
				account.Proof{Password: goodPassword, Passkey: a.confirmAnswer(t, u, sid, account.ActionAddPasskey, first.(*softkey.Key))}, meta)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := softkey.New(origin).Create(options)
			if err != nil {
				t.Fatal(err)
			}
			answers = append(answers, answer{id, fmt.Sprintf("Late %d", i), resp})
		}
		var wg sync.WaitGroup
		for i, an := range answers {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				_, err := n.svc.FinishPasskeyRegistration(ctx, u, sid, an.id, an.name, an.resp, meta)
				if err != nil && code(err) != airlock.CodeConflict {
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		if keys, _ := db.ListPasskeys(ctx, u.ID); len(keys) != 20 {
			t.Fatalf("%d passkeys (the limit is 20)", len(keys))
		}
	})
}

// removingStore removes every passkey of the owner of one just read for a
// sign-in: an administrator's removal landing between the check of the
// answer and its use.
type removingStore struct{ airlock.Store }

func (s removingStore) PasskeyByID(ctx context.Context, id []byte) (*airlock.Passkey, error) {
	p, err := s.Store.PasskeyByID(ctx, id)
	if err == nil {
		if err := s.Store.Update(ctx, func(tx airlock.Tx) error {
			_, err := tx.DeleteUserPasskeys(ctx, p.UserID)
			return err
		}); err != nil {
			return nil, err
		}
	}
	return p, err
}

// TestPasskeyRemovedDuringSignIn: a passkey removed while its answer is
// being checked signs nobody in, and is not reported as a copy (a cloned
// authenticator) to the user and the administrators.
func TestPasskeyRemovedDuringSignIn(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newNode(t, db, testutil.NewClock(), mailtest.Start(t))
		ctx := context.Background()
		u := e.user(t, "ada@example.com", goodPassword)
		key := softkey.New(origin)
		e.addPasskey(t, u, e.signedIn(t, "ada@example.com"), key, "Phone", "")
		svc := e.withStore(t, removingStore{e.db})
		id, options, err := svc.BeginPasskeySignIn(ctx, meta)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := key.Get(options)
		if err != nil {
			t.Fatal(err)
		}
		if _, sid, err := svc.FinishPasskeySignIn(ctx, id, resp, meta); sid != "" || code(err) != airlock.CodeUnauthorized || airlock.AsError(err).Detail != "passkey_refused" {
			t.Fatalf("a passkey removed meanwhile: %q %v", sid, err)
		}
		events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{UserID: u.ID, Kind: airlock.AuditPasskey})
		if err != nil || len(events) == 0 || events[0].Detail != "passkey_refused" {
			t.Fatalf("audit: %+v %v", events, err)
		}
	})
}
