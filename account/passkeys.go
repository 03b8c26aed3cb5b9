package account

// Passkeys (WebAuthn): adding one from the account page, signing in with
// one and no password, one as the second step after a password or with a
// reset link, removing them. The ceremonies themselves are package
// passkey's; here is who may, what each proves, what is audited and who is
// told.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/passkey"
)

// Ceremonies is the WebAuthn machinery account asks (package passkey's
// RP): the options of a ceremony and the checks of the browser's answer.
type Ceremonies interface {
	BeginRegistration(u *passkey.User) (options, state []byte, err error)
	FinishRegistration(u *passkey.User, state, response []byte) (*airlock.Passkey, error)
	BeginLogin(u *passkey.User) (options, state []byte, err error)
	FinishLogin(u *passkey.User, state, response []byte, find func(id []byte) (*airlock.Passkey, error)) (*passkey.Assertion, error)
}

// PasskeyCeremonyTTL is how long a ceremony waits for the browser's
// answer: once, in the browser that began it.
const PasskeyCeremonyTTL = 5 * time.Minute

// maxPasskeys bounds one account's passkeys (each add writes an audit
// event and an email, SPEC §6.14); far more than anyone has devices.
const maxPasskeys = 20

// maxPasskeyName bounds a passkey's name, in characters.
const maxPasskeyName = 60

var (
	errPasskeysOff = &airlock.Error{Code: airlock.CodeConflict, Detail: "passkeys_off", Key: "error.passkey.off"}
	// errCeremony: the ceremony is unknown, used, too old, another
	// browser's, or the account changed since it began: start again.
	errCeremony       = &airlock.Error{Code: airlock.CodeUnauthorized, Detail: "ceremony", Key: "error.passkey.ceremony"}
	errPasskeyRefused = &airlock.Error{Code: airlock.CodeUnauthorized, Detail: "passkey_refused", Key: "error.passkey.refused"}
	errPasskeyCloned  = &airlock.Error{Code: airlock.CodeUnauthorized, Detail: "passkey_cloned", Key: "error.passkey.cloned"}
	errTooManyKeys    = &airlock.Error{Code: airlock.CodeConflict, Field: "name", Key: "error.passkey.too_many", Args: []any{maxPasskeys}}
	errNoPasskey      = &airlock.Error{Code: airlock.CodeNotFound, Key: "error.passkey.not_found"}
	// errPasskeyNeeded: the account's second step is a passkey, which only
	// a browser can give (the sign-in page, the reset page).
	errPasskeyNeeded = &airlock.Error{Code: airlock.CodeTwoFactorRequired, Detail: "passkey", Key: "error.passkey.needed"}
	// errConfirmWithPasskey: removing a passkey from an account without an
	// authenticator app needs one of its passkeys after the password.
	errConfirmWithPasskey = &airlock.Error{Code: airlock.CodeTwoFactorRequired, Detail: "passkey", Key: "error.passkey.confirm"}
	// errConfirmInBrowser: the same, asked by an app's token, which cannot
	// carry a passkey's answer (a ceremony is bound to a browser session).
	errConfirmInBrowser = &airlock.Error{Code: airlock.CodeTwoFactorRequired, Detail: "passkey", Key: "error.passkey.confirm_in_browser"}
)

// PasskeyAnswer is a browser's answer to a passkey ceremony: the
// ceremony's id (the cookie of the browser that began it) and the
// credential (PublicKeyCredential as JSON).
type PasskeyAnswer struct {
	Ceremony string
	Response []byte
}

// reservePasskeyOptions counts a passkey ceremony begun by the client
// address of m, before it is stored: each is a row until it is answered or
// expires, and nobody may add rows without bound (SPEC §6.14). A refusal
// is audited once per window.
func (s *Service) reservePasskeyOptions(ctx context.Context, m Meta) error {
	k := limitKey{ipKey("passkey:options:ip:", m.IP), s.cfg.LimitPasskeyOptionsPerIP}
	return s.reserveAlone(ctx, "passkey options", k, s.clock.Now(), airlock.AuditPasskey, m, "limit_passkey_options")
}

// reservePasskeyAnswer counts a passkey answer of the client address of m
// before it is checked, as a failed sign-in is (SPEC §6.6): only failures
// count, for usePasskey gives the attempt back, in the transaction of the
// use, when the answer was good. It returns the key to give back.
func (s *Service) reservePasskeyAnswer(ctx context.Context, m Meta) (limitKey, error) {
	k := limitKey{ipKey("passkey:bad:ip:", m.IP), s.cfg.LimitBadPasskeyPerIP}
	return k, s.reserveAlone(ctx, "passkey", k, s.clock.Now(), airlock.AuditPasskey, m, "limit_passkey")
}

// PasskeysOn says whether this server offers passkeys: its public URL
// names a host (WebAuthn has no IP-address relying party).
func (s *Service) PasskeysOn() bool { return s.cfg.Passkeys != nil }

// Passkeys lists u's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, u *airlock.User) ([]*airlock.Passkey, error) {
	return s.store.ListPasskeys(ctx, u.ID)
}

// checkPasskeyName trims a passkey's name and checks it: 1 to 60
// characters, visible, no control or bidi character.
func checkPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !airlock.CheckText(name) || !airlock.Visible(name) || utf8.RuneCountInString(name) > maxPasskeyName {
		return "", &airlock.Error{Code: airlock.CodeInvalid, Field: "name", Key: "error.passkey.name", Args: []any{maxPasskeyName}}
	}
	return name, nil
}

// ceremonyUser is u as WebAuthn sees them, with their passkeys (read in q).
func ceremonyUser(ctx context.Context, q airlock.Tx, u *airlock.User) (*passkey.User, error) {
	keys, err := q.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &passkey.User{ID: u.ID, Name: u.Email, DisplayName: u.Name(), Passkeys: keys}, nil
}

// beginCeremony stores a ceremony of purpose for user (nil: a sign-in)
// bound to bound, and returns its id (for the browser's cookie) and the
// options for the browser.
func (s *Service) beginCeremony(ctx context.Context, tx airlock.Tx, purpose string, u *passkey.User, bound []byte, now time.Time) (id string, options []byte, err error) {
	var state []byte
	if purpose == airlock.CeremonyRegister {
		options, state, err = s.cfg.Passkeys.BeginRegistration(u)
	} else {
		options, state, err = s.cfg.Passkeys.BeginLogin(u)
	}
	if err != nil {
		return "", nil, err
	}
	if id, err = newSecret(); err != nil {
		return "", nil, err
	}
	c := &airlock.PasskeyCeremony{IDHash: secretHash(id), Purpose: purpose, BoundHash: bound, State: state,
		CreatedAt: now, ExpiresAt: now.Add(PasskeyCeremonyTTL)}
	if u != nil {
		c.UserID = u.ID
	}
	if err := tx.CreatePasskeyCeremony(ctx, c); err != nil {
		return "", nil, err
	}
	return id, options, nil
}

// ceremony reads the ceremony of id and checks that it is of purpose,
// alive, and bound to bound; it is not used up here (endCeremony does, in
// the transaction of what it allows).
func (s *Service) ceremony(ctx context.Context, id, purpose string, bound []byte) (*airlock.PasskeyCeremony, error) {
	if !wellFormedSecret(id) {
		return nil, errCeremony
	}
	c, err := s.store.PasskeyCeremonyByHash(ctx, secretHash(id))
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errCeremony
	}
	if err != nil {
		return nil, err
	}
	if c.Purpose != purpose || !s.clock.Now().Before(c.ExpiresAt) || string(c.BoundHash) != string(bound) {
		return nil, errCeremony
	}
	return c, nil
}

// endCeremony uses c up in the caller's transaction: of parallel answers
// to one ceremony (one assertion sent twice), one goes on.
func endCeremony(ctx context.Context, tx airlock.Tx, c *airlock.PasskeyCeremony) error {
	ended, err := tx.DeletePasskeyCeremony(ctx, c.IDHash)
	if err != nil {
		return err
	}
	if !ended {
		return errCeremony
	}
	return nil
}

// BeginPasskeyRegistration starts adding a passkey named name to u's
// account, from the browser of session sid: the password and a second step
// the account has (Proof; a passkey's answer confirms ActionAddPasskey)
// prove it is them: a session alone, say a stolen cookie, with a password
// must not add a way in. It returns the ceremony's id, for this browser
// only, and the options for navigator.credentials.create.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, u *airlock.User, sid, name string, p Proof, m Meta) (string, []byte, error) {
	if s.cfg.Passkeys == nil {
		return "", nil, errPasskeysOff
	}
	if !wellFormedSecret(sid) {
		return "", nil, errNoSession
	}
	if _, err := checkPasskeyName(name); err != nil {
		return "", nil, err
	}
	if u.Passkeys >= maxPasskeys {
		return "", nil, errTooManyKeys
	}
	m.ActorID = u.ID
	var id string
	var options []byte
	err := s.guardedChange(ctx, u, sid, ActionAddPasskey, p, m, func(tx airlock.Tx, cur *airlock.User, now time.Time) error {
		pu, err := ceremonyUser(ctx, tx, cur)
		if err != nil {
			return err
		}
		// Bound to this session: it dies with it (a revocation), and no
		// other browser can finish it.
		id, options, err = s.beginCeremony(ctx, tx, airlock.CeremonyRegister, pu, secretHash(sid), now)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return id, options, nil
}

// PasskeyAdded is what adding a passkey gives the browser that added it.
type PasskeyAdded struct {
	Passkey *airlock.Passkey
	// Codes are the recovery codes made with it, to show once; nil when
	// none were (passkeyRecoveryCodes).
	Codes []string
	// Session is the new session this browser goes on in when the passkey
	// ended every other one; "" when the session goes on.
	Session string
}

// FinishPasskeyRegistration adds the passkey the browser of session sid
// made for ceremony id (its answer, PublicKeyCredential as JSON), named
// name. Audited; the owner is told by email. A passkey that turns the
// second step on (the account had neither an authenticator app nor a
// passkey) ends every other session and app sign-in of the user, as
// turning two-step sign-in on does (SPEC §6.15): they were opened with the
// password alone. This browser then goes on in a new session. An account
// with no recovery codes left and no authenticator app gets a set, to be
// shown once.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, u *airlock.User, sid, id, name string, response []byte, m Meta) (*PasskeyAdded, error) {
	if s.cfg.Passkeys == nil {
		return nil, errPasskeysOff
	}
	name, err := checkPasskeyName(name)
	if err != nil {
		return nil, err
	}
	if !wellFormedSecret(sid) {
		return nil, errNoSession
	}
	c, err := s.ceremony(ctx, id, airlock.CeremonyRegister, secretHash(sid))
	if err != nil {
		return nil, err
	}
	if c.UserID != u.ID {
		return nil, errCeremony
	}
	pu, err := ceremonyUser(ctx, s.store, u)
	if err != nil {
		return nil, err
	}
	m.ActorID = u.ID
	p, err := s.cfg.Passkeys.FinishRegistration(pu, c.State, response)
	if err != nil {
		if errors.Is(err, passkey.ErrRefused) {
			s.log.Info("passkey registration refused", "user", u.ID, "err", err)
			return nil, errPasskeyRefused
		}
		return nil, err
	}
	renewed, err := newSecret()
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	p.UserID, p.Name, p.CreatedAt = u.ID, name, now
	added := &PasskeyAdded{Passkey: p}
	first := false
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		// Under the user's row lock: of two first passkeys finished at
		// once, one ends the sessions, and the other finds its own ended.
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		sess, err := s.enrolSession(ctx, tx, cur, secretHash(sid), now)
		if err != nil {
			return errCeremony // the session ended meanwhile (a revocation)
		}
		if err := endCeremony(ctx, tx, c); err != nil {
			return err
		}
		// Counted again now that the user's row is locked: cur's count was
		// read in the statement that waited for the lock, and on PostgreSQL
		// misses a passkey added meanwhile (parallel adds would pass 20).
		keys, err := tx.ListPasskeys(ctx, cur.ID)
		if err != nil {
			return err
		}
		if len(keys) >= maxPasskeys {
			return errTooManyKeys
		}
		first = !cur.SecondStep()
		if err := tx.CreatePasskey(ctx, p); err != nil {
			return err
		}
		if first {
			// Every session and app sign-in so far was opened with the
			// password alone: they end, and this browser goes on in a new
			// session, signed in as it was.
			if err := s.revokeAccess(ctx, tx, cur, revokeSessionsAndTokens, "first_passkey", now, m); err != nil {
				return err
			}
			if err := s.insertSession(ctx, tx, cur, renewed, now, m, sess.AMR...); err != nil {
				return err
			}
		}
		if added.Codes, err = s.passkeyRecoveryCodes(ctx, tx, cur, m); err != nil {
			return err
		}
		if err := s.enqueue(ctx, tx, mailPayload{Kind: mail.KindPasskeyAdded, UserID: cur.ID, To: cur.Email, Language: cur.Language,
			CreatedAt: now, Passkey: name, SignedOut: first}); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditPasskey, m, cur.ID, cur.Email, "success", "passkey_added", name, syncedArg(p))
	})
	if err != nil {
		return nil, err
	}
	if first {
		added.Session = renewed
	}
	return added, nil
}

func syncedArg(p *airlock.Passkey) string {
	if p.Synced() {
		return "synced"
	}
	return "device"
}

// BeginConfirm starts the passkey that confirms action on u's account,
// in the browser of session sid: any of u's passkeys may answer, and the
// answer confirms that action only, from that browser only (Proof).
func (s *Service) BeginConfirm(ctx context.Context, u *airlock.User, sid string, action Action, m Meta) (string, []byte, error) {
	if s.cfg.Passkeys == nil {
		return "", nil, errPasskeysOff
	}
	if !wellFormedSecret(sid) {
		return "", nil, errNoSession
	}
	return s.beginUserCeremony(ctx, u.ID, airlock.CeremonyConfirm, confirmBound(sid, action), m)
}

// BeginPasskeyRemoval starts the passkey that confirms the removal of u's
// passkey id, in the browser of session sid: any of u's passkeys may
// answer, the one being removed too (it proves the same possession).
func (s *Service) BeginPasskeyRemoval(ctx context.Context, u *airlock.User, sid string, id []byte, m Meta) (string, []byte, error) {
	if s.cfg.Passkeys == nil {
		return "", nil, errPasskeysOff
	}
	p, err := s.store.PasskeyByID(ctx, id)
	if errors.Is(err, airlock.ErrNotFound) || err == nil && p.UserID != u.ID {
		return "", nil, errNoPasskey
	}
	if err != nil {
		return "", nil, err
	}
	return s.BeginConfirm(ctx, u, sid, ActionRemovePasskey(id), m)
}

// RemovePasskey removes one of u's passkeys (its id), asked from the
// browser of session sid, with the password and a second step the account
// has (Proof; a passkey's answer confirms ActionRemovePasskey(id)). A
// session and a password (a shoulder-surfed one) must not take away a
// second step. Audited; the owner is told.
func (s *Service) RemovePasskey(ctx context.Context, u *airlock.User, sid string, id []byte, p Proof, m Meta) error {
	m.ActorID = u.ID
	return s.guardedChange(ctx, u, sid, ActionRemovePasskey(id), p, m, func(tx airlock.Tx, cur *airlock.User, now time.Time) error {
		k, err := tx.PasskeyByID(ctx, id)
		if errors.Is(err, airlock.ErrNotFound) || err == nil && k.UserID != cur.ID {
			return errNoPasskey
		}
		if err != nil {
			return err
		}
		if _, err := tx.DeletePasskey(ctx, cur.ID, id); err != nil {
			return err
		}
		return s.passkeysRemoved(ctx, tx, cur, k.Name, "", now, m)
	})
}

// passkeysRemoved tells the owner and audits that name (all of them when
// "") went, by the administrator by ("" the owner).
func (s *Service) passkeysRemoved(ctx context.Context, tx airlock.Tx, u *airlock.User, name, by string, now time.Time, m Meta) error {
	if err := codesFollowSecondStep(ctx, tx, u.ID); err != nil {
		return err
	}
	if err := s.enqueue(ctx, tx, mailPayload{Kind: mail.KindPasskeyRemoved, UserID: u.ID, To: u.Email, Language: u.Language,
		CreatedAt: now, Passkey: name, By: by}); err != nil {
		return err
	}
	if by != "" {
		return s.audit(ctx, tx, airlock.AuditPasskey, m, u.ID, u.Email, "success", "passkeys_removed_by_admin")
	}
	return s.audit(ctx, tx, airlock.AuditPasskey, m, u.ID, u.Email, "success", "passkey_removed", name)
}

// AdminRemovePasskeys removes every passkey of a user (a lost phone, a
// departure): audited, and the user is told by email. An administrator
// never adds one: a passkey is made by its owner's authenticator. Their
// own go from their account page, with their password.
func (s *Service) AdminRemovePasskeys(ctx context.Context, actor *airlock.User, id string, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	if actor != Operator && actor.ID == id {
		// With a session or a token alone, it would undo their own second step.
		return &airlock.Error{Code: airlock.CodeForbidden, Detail: "own_account", Key: "error.own_account.passkeys"}
	}
	m = actorMeta(actor, m)
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		u, err := s.adminTarget(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		n, err := tx.DeleteUserPasskeys(ctx, u.ID)
		if err != nil {
			return err
		}
		if n == 0 {
			return &airlock.Error{Code: airlock.CodeConflict, Key: "error.passkey.none"}
		}
		by := actorName(actor)
		if by == "" {
			by = "An administrator"
		}
		return s.passkeysRemoved(ctx, tx, u, "", by, s.clock.Now(), m)
	})
}

// passkeyAMR is what a passkey's use proves, as OpenID amr values: a key
// held in hardware (device-bound) or in software (a synced passkey, kept
// by a password manager), and the person's presence and verification.
func passkeyAMR(p *airlock.Passkey) []string {
	if p.Synced() {
		return []string{"swk", "user"}
	}
	return []string{"hwk", "user"}
}

// BeginPasskeySignIn starts a sign-in with a passkey, no password: any
// passkey of this server may answer (the browser offers them, in the email
// field's autofill or in its own dialog). It returns the ceremony's id,
// for this browser's cookie, and the options for navigator.credentials.get.
func (s *Service) BeginPasskeySignIn(ctx context.Context, m Meta) (string, []byte, error) {
	if s.cfg.Passkeys == nil {
		return "", nil, errPasskeysOff
	}
	if err := s.reservePasskeyOptions(ctx, m); err != nil {
		return "", nil, err
	}
	var id string
	var options []byte
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		var err error
		id, options, err = s.beginCeremony(ctx, tx, airlock.CeremonySignIn, nil, nil, s.clock.Now())
		return err
	})
	return id, options, err
}

// FinishPasskeySignIn signs in with the passkey that answered ceremony
// id: a discoverable passkey with the person verified signs them in
// completely (it is the second step too). It returns the user and the new
// session's id.
func (s *Service) FinishPasskeySignIn(ctx context.Context, id string, response []byte, m Meta) (*airlock.User, string, error) {
	if s.cfg.Passkeys == nil {
		return nil, "", errPasskeysOff
	}
	k, err := s.reservePasskeyAnswer(ctx, m)
	if err != nil {
		return nil, "", err
	}
	c, err := s.ceremony(ctx, id, airlock.CeremonySignIn, nil)
	if err != nil {
		return nil, "", err
	}
	a, err := s.cfg.Passkeys.FinishLogin(nil, c.State, response, func(cid []byte) (*airlock.Passkey, error) {
		return s.store.PasskeyByID(ctx, cid)
	})
	if err != nil {
		return nil, "", s.passkeyFailed(ctx, nil, err, m)
	}
	u, err := s.store.UserByID(ctx, a.Passkey.UserID)
	if err != nil {
		return nil, "", err
	}
	if !u.Active || u.TempPasswordExpired(s.clock.Now()) {
		return nil, "", s.passkeyFailed(ctx, u, errPasskeyRefused, m)
	}
	sid, err := newSecret()
	if err != nil {
		return nil, "", err
	}
	err = s.usePasskey(ctx, u, c, a, k, m, func(tx airlock.Tx, cur *airlock.User, now time.Time) error {
		return s.openSession(ctx, tx, cur, sid, now, m, passkeyAMR(a.Passkey)...)
	})
	if err != nil {
		return nil, "", err
	}
	return u, sid, nil
}

// usePasskey is the use of a passkey's checked answer a to ceremony c by
// u: a counter gone back is refused and audited (a cloned authenticator);
// else, in one transaction, the answer is spent (spendPasskey) and act
// does what the passkey allows.
func (s *Service) usePasskey(ctx context.Context, u *airlock.User, c *airlock.PasskeyCeremony, a *passkey.Assertion, k limitKey, m Meta, act func(tx airlock.Tx, cur *airlock.User, now time.Time) error) error {
	m.ActorID = u.ID
	if a.CounterWentBack {
		return s.passkeyFailed(ctx, u, errPasskeyCloned, m, a.Passkey.Name)
	}
	now := s.clock.Now()
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if err := spendPasskey(ctx, tx, c, a, k, now); err != nil {
			return err
		}
		return act(tx, cur, now)
	})
	if err == errNoSession {
		return errCeremony // the account changed meanwhile
	}
	return s.passkeyOutcome(ctx, u, a, m, err)
}

// spendPasskey spends a passkey's checked answer a to ceremony c in the
// caller's transaction, that of what it allows: the ceremony is used up,
// the counter, backup state and time written back, and the attempt
// reserved under k given back (a good answer uses no limit up).
func spendPasskey(ctx context.Context, tx airlock.Tx, c *airlock.PasskeyCeremony, a *passkey.Assertion, k limitKey, now time.Time) error {
	if err := endCeremony(ctx, tx, c); err != nil {
		return err
	}
	// The counter only goes up, in one statement: of two copies of a
	// passkey used at once, one is refused.
	ok, err := tx.UsePasskey(ctx, a.Passkey.ID, a.SignCount, a.BackupState, now)
	if err != nil {
		return err
	}
	if !ok {
		// Removed since it was read (by its owner, an administrator):
		// refused, but no copy to report.
		if _, err := tx.PasskeyByID(ctx, a.Passkey.ID); errors.Is(err, airlock.ErrNotFound) {
			return errPasskeyRefused
		} else if err != nil {
			return err
		}
		return errPasskeyCloned
	}
	return release(ctx, tx, k, now)
}

// passkeyOutcome is the answer of a transaction that spent u's answer a:
// a copy or a removed passkey found there is refused and audited, in a
// transaction of its own.
func (s *Service) passkeyOutcome(ctx context.Context, u *airlock.User, a *passkey.Assertion, m Meta, err error) error {
	if err == errPasskeyCloned || err == errPasskeyRefused {
		return s.passkeyFailed(ctx, u, err, m, a.Passkey.Name)
	}
	return err
}

// passkeyFailed audits a refused passkey of u's (nil: no account known,
// nothing audited) and returns what to say.
func (s *Service) passkeyFailed(ctx context.Context, u *airlock.User, cause error, m Meta, args ...any) error {
	e := airlock.AsError(cause)
	// A credential id unknown here, or not this user's, is refused as a
	// wrong signature is: the answer must not tell which credential ids
	// are registered (airlock.ErrNotFound is an *airlock.Error, a 404).
	if e == nil || errors.Is(cause, airlock.ErrNotFound) {
		if !errors.Is(cause, passkey.ErrRefused) && !errors.Is(cause, airlock.ErrNotFound) {
			return cause
		}
		s.log.Info("passkey refused", "err", cause)
		e = errPasskeyRefused
	}
	if u == nil {
		return e
	}
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		return s.audit(ctx, tx, airlock.AuditPasskey, m, u.ID, u.Email, "failure", e.Detail, args...)
	})
	if err != nil {
		return fmt.Errorf("passkey: %w", err)
	}
	return e
}

// BeginPasskeyStep starts the second step with a passkey after a right
// password, for the half-signed-in state challenge: only that user's
// passkeys may answer, and only in the browser holding the state.
func (s *Service) BeginPasskeyStep(ctx context.Context, challenge string, m Meta) (string, []byte, error) {
	if s.cfg.Passkeys == nil {
		return "", nil, errPasskeysOff
	}
	c, err := s.challenge(ctx, challenge)
	if err != nil {
		return "", nil, err
	}
	return s.beginUserCeremony(ctx, c.UserID, airlock.CeremonyStep, c.IDHash, m)
}

// beginUserCeremony begins a ceremony that only userID's passkeys answer,
// bound to bound, for the client of m (counted: reservePasskeyOptions).
func (s *Service) beginUserCeremony(ctx context.Context, userID, purpose string, bound []byte, m Meta) (string, []byte, error) {
	if err := s.reservePasskeyOptions(ctx, m); err != nil {
		return "", nil, err
	}
	var id string
	var options []byte
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		pu, err := ceremonyUser(ctx, tx, u)
		if err != nil {
			return err
		}
		if len(pu.Passkeys) == 0 {
			return errNoPasskey
		}
		id, options, err = s.beginCeremony(ctx, tx, purpose, pu, bound, s.clock.Now())
		return err
	})
	return id, options, err
}

// finishUserCeremony checks the answer to a ceremony begun by
// beginUserCeremony for u.
func (s *Service) finishUserCeremony(ctx context.Context, u *airlock.User, id, purpose string, bound, response []byte, m Meta) (*airlock.PasskeyCeremony, *passkey.Assertion, error) {
	c, err := s.ceremony(ctx, id, purpose, bound)
	if err != nil {
		return nil, nil, err
	}
	if c.UserID != u.ID {
		return nil, nil, errCeremony
	}
	pu, err := ceremonyUser(ctx, s.store, u)
	if err != nil {
		return nil, nil, err
	}
	a, err := s.cfg.Passkeys.FinishLogin(pu, c.State, response, nil)
	if err != nil {
		return nil, nil, s.passkeyFailed(ctx, u, err, actorMeta(u, m))
	}
	return c, a, nil
}

// CompleteSignInWithPasskey is the second step of a sign-in with a
// passkey instead of a code: the half-signed-in state challenge opens one
// session, however many answers are sent for it at once.
func (s *Service) CompleteSignInWithPasskey(ctx context.Context, challenge, id string, response []byte, m Meta) (*airlock.User, string, string, error) {
	if s.cfg.Passkeys == nil {
		return nil, "", "", errPasskeysOff
	}
	k, err := s.reservePasskeyAnswer(ctx, m)
	if err != nil {
		return nil, "", "", err
	}
	ch, err := s.challenge(ctx, challenge)
	if err != nil {
		return nil, "", "", err
	}
	u, err := s.store.UserByID(ctx, ch.UserID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, "", "", errChallenge
	}
	if err != nil {
		return nil, "", "", err
	}
	if !stillValid(u, ch.AuthEpoch, s.clock.Now()) {
		return nil, "", "", errChallenge // the account changed since the password was checked
	}
	c, a, err := s.finishUserCeremony(ctx, u, id, airlock.CeremonyStep, ch.IDHash, response, m)
	if err != nil {
		return u, "", "", err
	}
	sid, err := newSecret()
	if err != nil {
		return nil, "", "", err
	}
	err = s.usePasskey(ctx, u, c, a, k, m, func(tx airlock.Tx, cur *airlock.User, now time.Time) error {
		// One half-signed-in state opens one session.
		ended, err := tx.DeleteChallenge(ctx, ch.IDHash)
		if err != nil {
			return err
		}
		if !ended {
			return errChallenge
		}
		return s.openSession(ctx, tx, cur, sid, now, m, append([]string{"pwd"}, passkeyAMR(a.Passkey)...)...)
	})
	if err != nil {
		return u, "", "", err
	}
	return u, sid, ch.Next, nil
}

// BeginLinkPasskey starts the second step of a reset (or invitation)
// link with a passkey, for an account that has one: only the owner's
// passkeys answer, and only for this link (its token, whichever way it was
// given: the link itself, or a flow and the email's code).
func (s *Service) BeginLinkPasskey(ctx context.Context, l Link, m Meta) (string, []byte, error) {
	if s.cfg.Passkeys == nil {
		return "", nil, errPasskeysOff
	}
	u, _, hash, err := s.checkLink(ctx, l, m)
	if err != nil {
		return "", nil, err
	}
	return s.beginUserCeremony(ctx, u.ID, airlock.CeremonyReset, hash, m)
}

// VerifyLinkPasskey is the second step of a reset link with a passkey:
// the link records it for linkCodeLife, as a right code, and the new
// password may then be set (CompleteLink). A reset never adds or removes
// a passkey.
func (s *Service) VerifyLinkPasskey(ctx context.Context, l Link, id string, response []byte, m Meta) (*airlock.User, error) {
	if s.cfg.Passkeys == nil {
		return nil, errPasskeysOff
	}
	u, _, hash, err := s.checkLink(ctx, l, m)
	if err != nil {
		return nil, err
	}
	k, err := s.reservePasskeyAnswer(ctx, m)
	if err != nil {
		return u, err
	}
	c, a, err := s.finishUserCeremony(ctx, u, id, airlock.CeremonyReset, hash, response, m)
	if err != nil {
		return u, err
	}
	err = s.usePasskey(ctx, u, c, a, k, m, func(tx airlock.Tx, cur *airlock.User, now time.Time) error {
		ok, err := tx.MarkResetTokenCode(ctx, hash, now, now.Add(linkCodeLife), nil)
		if err != nil {
			return err
		}
		if !ok {
			return invalidToken(TokenUsed) // used or revoked meanwhile
		}
		return s.audit(ctx, tx, airlock.AuditPasskey, actorMeta(cur, m), cur.ID, cur.Email, "success", "passkey_used_reset", a.Passkey.Name)
	})
	return u, err
}
