package account

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/passkey"
	"github.com/airlockhq/airlock/password"
)

// ChangePassword is a signed-in user's own change, from the browser of
// session sid ("" for an app's token). The current password and a second
// step the account has (Proof) are asked unless the change is forced (a
// temporary password). Every session and API token of the user ends; the
// web front then opens a new session for the browser that made the change
// (StartSession with the user returned). The change applies only if the
// session or token that asked for it is still valid when it is written.
func (s *Service) ChangePassword(ctx context.Context, u *airlock.User, sid, newPassword string, p Proof, m Meta) (*airlock.User, error) {
	m.ActorID = u.ID
	if u.TempPasswordExpired(s.clock.Now()) {
		return nil, errTempExpired
	}
	var pr *proof
	if !u.MustChangePassword {
		if err := s.proveSelf(ctx, u, p.Password, m); err != nil {
			return nil, err
		}
		if password.Same(p.Password, newPassword) {
			return nil, &airlock.Error{Code: airlock.CodePasswordPolicy, Field: "password", Key: "error.password.unchanged", Reasons: []string{password.ReasonUnchanged}}
		}
		if err := s.policy.Check(newPassword, u); err != nil {
			return nil, err
		}
		// Last, once nothing else can refuse: a code or a passkey's answer
		// is not worth asking for a password the policy refuses.
		var err error
		if pr, err = s.proveSecondStep(ctx, u, sid, ActionPassword, p, m); err != nil {
			return nil, err
		}
	}
	if u.MustChangePassword {
		if err := s.policy.Check(newPassword, u); err != nil {
			return nil, err
		}
		// A temporary password cannot be kept as the new one.
		same, _, err := s.hasher.Verify(ctx, newPassword, u.PasswordHash)
		if err != nil {
			return nil, err
		}
		if same {
			return nil, &airlock.Error{Code: airlock.CodePasswordPolicy, Field: "password", Key: "error.password.unchanged_temporary", Reasons: []string{password.ReasonUnchanged}}
		}
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var changed *airlock.User
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if err := s.useProof(ctx, tx, pr, now, m); err != nil {
			return err
		}
		changed = cur
		return s.passwordChanged(ctx, tx, cur, airlock.PasswordChange{Hash: hash, ChangedAt: now}, true, m)
	})
	if err = s.proofOutcome(ctx, pr, m, err); err != nil {
		if airlock.AsError(err) != nil {
			return nil, err
		}
		return nil, fmt.Errorf("change password: %w", err)
	}
	return changed, nil
}

// proveSelf checks that whoever acts on u's account knows its current
// password, as anyone must before changing their own password or email
// (SPEC §6.10: administrators too). The check is throttled like a sign-in.
func (s *Service) proveSelf(ctx context.Context, u *airlock.User, current string, m Meta) error {
	wrong := &airlock.Error{Code: airlock.CodeUnauthorized, Field: "current_password", Key: "error.bad_current"}
	if current == "" {
		return &airlock.Error{Code: airlock.CodeUnauthorized, Field: "current_password", Key: "error.current_password.missing"}
	}
	if _, err := s.checkPassword(ctx, u.Email, current, m); err != nil {
		if airlock.ErrorCode(err) == airlock.CodeUnauthorized {
			return wrong
		}
		return err
	}
	return nil
}

// Proof is what a signed-in user gives before a change the account page
// guards (a new password, adding or removing a passkey, an
// administrator's own rights): the current password, and a second step
// the account has. A session alone (a stolen cookie) and a password (a
// shoulder-surfed one) must not add a way in or take one away.
type Proof struct {
	Password string
	// Code is a code from the authenticator app, or a recovery code.
	Code string
	// Passkey is the answer of one of the account's passkeys to the
	// ceremony BeginConfirm began for this very change, in this browser.
	Passkey PasskeyAnswer
}

// Action names a change a passkey confirms: the ceremony is bound to it,
// so that an answer asked for one change never allows another.
type Action string

// Changes a passkey confirms.
const (
	ActionAddPasskey Action = "add_passkey"
	ActionPassword   Action = "password"
	ActionNewAdmin   Action = "new_admin" // creating an administrator
	ActionNewCodes   Action = "new_codes" // a new set of recovery codes
	ActionNewApp     Action = "new_app"   // turning the authenticator app on
)

// ActionRemovePasskey is the removal of the passkey id.
func ActionRemovePasskey(id []byte) Action {
	return Action("remove\x00" + base64.RawURLEncoding.EncodeToString(id))
}

// ActionEditUser is an administrator's edit of the user id that needs
// their proof (their own email or groups, making someone an administrator).
func ActionEditUser(id string) Action { return Action("edit_user\x00" + id) }

// confirmBound is what a ceremony confirming action is bound to: the
// browser of session sid, and that action.
func confirmBound(sid string, action Action) []byte {
	return secretHash(string(action) + "\x00" + sid)
}

// proof is a second step checked before the change it allows: a code, or
// a passkey's answer. It is used up by useProof in the transaction of the
// change, so that it is spent only by a change that is made.
type proof struct {
	code *codeCheck
	// A passkey's answer a to ceremony c by u, its attempt reserved under k.
	u *airlock.User
	c *airlock.PasskeyCeremony
	a *passkey.Assertion
	k limitKey
}

// proveSelfFully is proveSelf with a second step the account has: the
// account page's proof, for the changes it guards, asked from the browser
// of session sid ("" for an app's token, which cannot carry a passkey).
// The proof returned (nil for an account without a second step) is to be
// used up, with useProof, in the transaction of the change.
func (s *Service) proveSelfFully(ctx context.Context, u *airlock.User, sid string, action Action, p Proof, m Meta) (*proof, error) {
	if err := s.proveSelf(ctx, u, p.Password, m); err != nil {
		return nil, err
	}
	return s.proveSecondStep(ctx, u, sid, action, p, m)
}

// proveSecondStep is proveSelfFully's second step, once the password was
// checked: with an authenticator app, its code, a recovery code or a
// passkey; with passkeys only, a passkey (or a recovery code, where the
// account has them). An account with a second step never goes on with the
// password alone.
func (s *Service) proveSecondStep(ctx context.Context, u *airlock.User, sid string, action Action, p Proof, m Meta) (*proof, error) {
	if len(p.Passkey.Response) > 0 {
		if s.cfg.Passkeys == nil {
			return nil, errPasskeysOff
		}
		k, err := s.reservePasskeyAnswer(ctx, m)
		if err != nil {
			return nil, err
		}
		if !wellFormedSecret(sid) {
			return nil, errCeremony // no browser session: nothing the answer can be bound to
		}
		c, a, err := s.finishUserCeremony(ctx, u, p.Passkey.Ceremony, airlock.CeremonyConfirm, confirmBound(sid, action), p.Passkey.Response, m)
		if err != nil {
			return nil, err
		}
		if a.CounterWentBack {
			return nil, s.passkeyFailed(ctx, u, errPasskeyCloned, m, a.Passkey.Name)
		}
		return &proof{u: u, c: c, a: a, k: k}, nil
	}
	if !u.SecondStep() {
		return nil, nil
	}
	if !u.TwoFactor() && strings.TrimSpace(p.Code) == "" {
		if sid == "" {
			return nil, errConfirmInBrowser
		}
		return nil, errConfirmWithPasskey
	}
	code, err := s.checkCode(ctx, u, p.Code, m, true)
	if err != nil {
		return nil, err
	}
	return &proof{code: code}, nil
}

// guardedChange makes a change the account page guards, asked from the
// browser of session sid: the password and a second step checked first
// (proveSelfFully, for action), then in one transaction, with u's row
// locked, this browser's session still valid (a revocation meanwhile
// wins), the proof used up and act done; the answer is the proof's
// outcome (a wrong code counted, a cloned passkey reported).
func (s *Service) guardedChange(ctx context.Context, u *airlock.User, sid string, action Action, p Proof, m Meta, act func(tx airlock.Tx, cur *airlock.User, now time.Time) error) error {
	if !wellFormedSecret(sid) {
		return errNoSession
	}
	proof, err := s.proveSelfFully(ctx, u, sid, action, p, m)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if _, err := s.enrolSession(ctx, tx, cur, secretHash(sid), now); err != nil {
			return err
		}
		if err := s.useProof(ctx, tx, proof, now, m); err != nil {
			return err
		}
		return act(tx, cur, now)
	})
	return s.proofOutcome(ctx, proof, m, err)
}

// useProof uses p up in the caller's transaction, that of the change it
// allows: of parallel requests with one code or one passkey answer, one
// goes on.
func (s *Service) useProof(ctx context.Context, tx airlock.Tx, p *proof, now time.Time, m Meta) error {
	switch {
	case p == nil:
		return nil
	case p.code != nil:
		return s.useCode(ctx, tx, p.code, now, m)
	}
	return spendPasskey(ctx, tx, p.c, p.a, p.k, now)
}

// proofOutcome is the answer of a transaction that used p (codeOutcome,
// passkeyOutcome).
func (s *Service) proofOutcome(ctx context.Context, p *proof, m Meta, err error) error {
	switch {
	case p == nil:
		return err
	case p.code != nil:
		return s.codeOutcome(ctx, p.code, m, err)
	}
	return s.passkeyOutcome(ctx, p.u, p.a, m, err)
}

// newHash checks a new password against the policy for u, then hashes it.
// The policy runs first so that an over-long password is refused before
// any costly work.
func (s *Service) newHash(ctx context.Context, newPassword string, u *airlock.User) (string, error) {
	if err := s.policy.Check(newPassword, u); err != nil {
		return "", err
	}
	return s.hasher.Hash(ctx, newPassword)
}

// setPassword is an administrator's (or the operator's) change of a user's
// password, without the email flow. A temporary password must be replaced
// at next sign-in and expires after the temporary-password lifetime.
func (s *Service) setPassword(ctx context.Context, actor *airlock.User, userID, newPassword string, temporary bool, m Meta) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	hash, err := s.newHash(ctx, newPassword, u)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	p := airlock.PasswordChange{Hash: hash, ChangedAt: now, MustChange: temporary}
	if temporary {
		p.TempExpiresAt = now.Add(s.cfg.TempPasswordTTL)
	}
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		cur, err := tx.UserByIDForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		return s.passwordChanged(ctx, tx, cur, p, true, m)
	})
}
