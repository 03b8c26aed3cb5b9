package account

// Two-step sign-in: turning it on (a key of one visit of one session, confirmed
// with the password and a code), turning it off, and an administrator's reset.

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/totp"
)

var (
	errNoSecretKey = &airlock.Error{Code: airlock.CodeConflict, Detail: "no_secret_key", Key: "error.two_factor.no_key"}
	errBadCode     = &airlock.Error{Code: airlock.CodeUnauthorized, Field: "otp", Detail: "bad_code", Key: "error.two_factor.bad_code"}
	// errBadRecoveryCode is errBadCode for an account without the app (its
	// second step is a passkey): its words speak of recovery codes only.
	errBadRecoveryCode = &airlock.Error{Code: airlock.CodeUnauthorized, Field: "otp", Detail: "bad_code", Key: "error.two_factor.bad_recovery_code"}
	errCodeNeeded      = &airlock.Error{Code: airlock.CodeTwoFactorRequired, Field: "otp", Key: "error.two_factor.code_needed"}
	errChallenge       = &airlock.Error{Code: airlock.CodeUnauthorized, Detail: "challenge", Key: "error.two_factor.challenge"}
)

// EnrolmentTTL is how long a key offered for enrolment lives.
const EnrolmentTTL = 10 * time.Minute

var (
	errAlreadyOn  = &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.already_on"}
	errAlreadyOff = &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.already_off"}
	errStartAgain = &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.start_again"}
)

// Enrolment is what the enrolment page shows: the key as a QR code and as
// text for manual entry.
type Enrolment struct {
	Secret string // base32, grouped for typing
	URI    string // otpauth://
	QRSVG  string // inline SVG
	// Visit is the visit's id, for the page's form to send back: the key
	// opens with it only.
	Visit string
}

// TwoFactorRequired reports whether u must enrol before anything else: a
// member of a group of AIRLOCK_REQUIRE_TWO_FACTOR who has no second step
// (an authenticator app's codes or a passkey: either meets it).
func (s *Service) TwoFactorRequired(u *airlock.User) bool {
	if u.SecondStep() {
		return false
	}
	for _, g := range s.cfg.RequireTwoFactor {
		if u.HasGroup(g) {
			return true
		}
	}
	return false
}

// openTOTP opens u's confirmed key. A key is sealed bound to its user: a
// sealed value moved to another account does not open.
func (s *Service) openTOTP(u *airlock.User) ([]byte, error) {
	if s.cfg.SecretBox == nil {
		return nil, errNoSecretKey
	}
	return s.cfg.SecretBox.Open(u.TOTPSecret, []byte(u.ID))
}

// enrolAAD binds a key offered for enrolment to its user, to the one
// session it was shown to, and to the visit of the page that showed it:
// without the visit's id (in the page's form, never in a cookie) the key
// neither opens nor confirms, so a stolen cookie of that very session
// learns nothing either.
func enrolAAD(userID string, sessionHash []byte, visit string) []byte {
	return append([]byte("enrol\x00"+userID+"\x00"+visit+"\x00"), sessionHash...)
}

// BeginTwoFactor offers a key for enrolment to the signed-in browser of
// session sid, for one visit of the page. A visit (the id of an earlier
// one, as the page's form sends it back) is shown its key again while it
// lives, for the page answering a wrong code (the app has scanned it
// already); with none, or a visit whose key is gone, a new visit gets a
// new key. The key is kept sealed on that session only, for EnrolmentTTL,
// and opens only with the visit's id: no other session or visit ever sees
// it, and it dies with the session, so with any revocation (a password
// change, sessions ended, a deactivation).
func (s *Service) BeginTwoFactor(ctx context.Context, u *airlock.User, sid, visit string) (*Enrolment, error) {
	if s.cfg.SecretBox == nil {
		return nil, errNoSecretKey
	}
	if !wellFormedSecret(sid) {
		return nil, errNoSession
	}
	h := secretHash(sid)
	now := s.clock.Now()
	var secret []byte
	// Under the user's row lock: a visit racing a confirmation sees it.
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if cur.TwoFactor() {
			return errAlreadyOn
		}
		sess, err := s.enrolSession(ctx, tx, cur, h, now)
		if err != nil {
			return err
		}
		if visit != "" {
			if secret = s.enrolKey(cur, sess, visit, now); secret != nil {
				return nil
			}
		}
		if visit, err = newSecret(); err != nil {
			return err
		}
		if secret, err = totp.NewSecret(); err != nil {
			return err
		}
		sealed, err := s.cfg.SecretBox.Seal(secret, enrolAAD(cur.ID, h, visit))
		if err != nil {
			return err
		}
		ok, err := tx.SetEnrolment(ctx, h, cur.ID, sealed, now.Add(EnrolmentTTL))
		if err == nil && !ok {
			return errNoSession
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	uri := totp.URI(s.cfg.BrandName, u.Email, secret)
	svg, err := totp.QRSVG(uri, "QR code")
	if err != nil {
		return nil, err
	}
	return &Enrolment{Secret: totp.Text(secret), URI: uri, QRSVG: svg, Visit: visit}, nil
}

// enrolSession reads, in tx, the session of hash h, and fails unless it
// is u's and still valid for u's current state.
func (s *Service) enrolSession(ctx context.Context, tx airlock.Tx, u *airlock.User, h []byte, now time.Time) (*airlock.Session, error) {
	sess, err := tx.SessionByHash(ctx, h)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if sess.UserID != u.ID || !stillValid(u, sess.AuthEpoch, now) {
		return nil, errNoSession
	}
	return sess, nil
}

// enrolKey is the key sess was offered, if it still lives; nil otherwise.
func (s *Service) enrolKey(u *airlock.User, sess *airlock.Session, visit string, now time.Time) []byte {
	if sess.EnrolSecret == nil || !now.Before(sess.EnrolExpiresAt) {
		return nil
	}
	secret, err := s.cfg.SecretBox.Open(sess.EnrolSecret, enrolAAD(u.ID, sess.IDHash, visit))
	if err != nil {
		return nil // another visit's, or sealed under a key since removed: a new one is offered
	}
	return secret
}

// ConfirmTwoFactor turns two-step sign-in on with the key shown to the
// visit (its id) of the page in the browser of session sid, once the
// user's password and a code from the app (proving the key was scanned)
// are given. It returns the recovery
// codes, shown once (only their hashes are kept), and the id of a new
// session for this browser: every other session and app token of the user
// ends, for they were opened with the password alone (SPEC §6.15). The
// user is told by email.
func (s *Service) ConfirmTwoFactor(ctx context.Context, u *airlock.User, sid, visit, current, code string, m Meta) (codes []string, newSID string, err error) {
	return s.ConfirmTwoFactorProved(ctx, u, sid, visit, Proof{Password: current}, code, m)
}

// ConfirmTwoFactorProved is ConfirmTwoFactor with the account page's
// proof p: an account that has passkeys already has a second step, and
// turning the app on adds a way in (and replaces its recovery codes), so
// one of its passkeys (p.Passkey, confirming ActionNewApp) or a recovery
// code (p.Code) is asked after the password (p.Password).
func (s *Service) ConfirmTwoFactorProved(ctx context.Context, u *airlock.User, sid, visit string, p Proof, code string, m Meta) (codes []string, newSID string, err error) {
	current := p.Password
	if s.cfg.SecretBox == nil {
		return nil, "", errNoSecretKey
	}
	if !wellFormedSecret(sid) {
		return nil, "", errNoSession
	}
	m.ActorID = u.ID
	// A session alone must not turn it on: a stolen cookie would lock the
	// owner out of their account (sign-in and reset links would ask for the
	// thief's codes).
	if err := s.proveSelf(ctx, u, current, m); err != nil {
		return nil, "", err
	}
	h := secretHash(sid)
	now := s.clock.Now()
	sess, err := s.store.SessionByHash(ctx, h)
	if errors.Is(err, airlock.ErrNotFound) || err == nil && (sess.UserID != u.ID || !stillValid(u, sess.AuthEpoch, now)) {
		return nil, "", errNoSession
	}
	if err != nil {
		return nil, "", err
	}
	secret := s.enrolKey(u, sess, visit, now)
	if secret == nil {
		return nil, "", errStartAgain
	}
	k := s.codeLimit(u.ID)
	if err := s.reserveCode(ctx, k, now, m); err != nil {
		return nil, "", err
	}
	step, ok := totp.Match(secret, strings.ReplaceAll(code, " ", ""), now)
	if !ok {
		return nil, "", s.codeRefused(ctx, &codeCheck{u: u, k: k}, m, "enrolment_code_refused")
	}
	// Last, once the app's code is right: with passkeys, the password and
	// a session (a stolen cookie) must not add the thief's app as a way in.
	pr, err := s.proveSecondStep(ctx, u, sid, ActionNewApp, Proof{Code: p.Code, Passkey: p.Passkey}, m)
	if err != nil {
		return nil, "", err
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, "", err
	}
	sealed, err := s.cfg.SecretBox.Seal(secret, []byte(u.ID))
	if err != nil {
		return nil, "", err
	}
	if newSID, err = newSecret(); err != nil {
		return nil, "", err
	}
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		locked, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if locked.TwoFactor() {
			return errAlreadyOn
		}
		// The key confirmed is the one this browser holds now: a key shown
		// before a revocation died with its session.
		cur, err := s.enrolSession(ctx, tx, locked, h, now)
		if err != nil {
			return err
		}
		if !bytes.Equal(cur.EnrolSecret, sess.EnrolSecret) {
			return errStartAgain
		}
		if err := s.useProof(ctx, tx, pr, now, m); err != nil {
			return err
		}
		if err := tx.EnableTOTP(ctx, locked.ID, sealed, now, step, hashes); err != nil {
			return err
		}
		if err := release(ctx, tx, k, now); err != nil {
			return err
		}
		// Every session and app token so far was opened with the password
		// alone: they end, and this browser goes on in a new session.
		if err := s.revokeAccess(ctx, tx, locked, revokeSessionsAndTokens, "two_factor_enabled", now, m); err != nil {
			return err
		}
		if err := s.insertSession(ctx, tx, locked, newSID, now, m, "pwd", "otp"); err != nil {
			return err
		}
		if err := s.enqueueMail(ctx, tx, mail.KindTwoFactorOn, locked, now, false); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditTwoFactor, m, locked.ID, locked.Email, "success", "two_factor_on")
	})
	if err = s.proofOutcome(ctx, pr, m, err); err != nil {
		return nil, "", err
	}
	return codes, newSID, nil
}

// DisableTwoFactor turns two-step sign-in off: the user proves it is them
// with their password and a code. They are told by email.
func (s *Service) DisableTwoFactor(ctx context.Context, u *airlock.User, current, code string, m Meta) error {
	return s.withOwnCode(ctx, u, current, code, m, func(tx airlock.Tx, locked *airlock.User, now time.Time) error {
		return s.turnOffTwoFactor(ctx, tx, locked, "", now, m)
	})
}

// withOwnCode runs act, in the transaction that spends the code, for a user
// with two-step sign-in on who proved it is them with their password and a
// code. The code is spent only if act succeeds, and only if two-step sign-in
// is still on when the account is locked (a concurrent "off" wins once).
func (s *Service) withOwnCode(ctx context.Context, u *airlock.User, current, code string, m Meta, act func(tx airlock.Tx, locked *airlock.User, now time.Time) error) error {
	m.ActorID = u.ID
	if !u.TwoFactor() {
		return errAlreadyOff
	}
	if err := s.proveSelf(ctx, u, current, m); err != nil {
		return err
	}
	c, err := s.checkCode(ctx, u, code, m, true)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		locked, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if !locked.TwoFactor() {
			return errAlreadyOff
		}
		if err := s.useCode(ctx, tx, c, now, m); err != nil {
			return err
		}
		return act(tx, locked, now)
	})
	return s.codeOutcome(ctx, c, m, err)
}

var errOwnTwoFactor = &airlock.Error{Code: airlock.CodeForbidden, Detail: "own_account", Key: "error.own_account.two_factor"}

// AdminResetTwoFactor turns a user's two-step sign-in off for them (a lost
// phone and lost recovery codes): audited, and the user is told by email.
// Administrators never do it to themselves this way: with a session or a
// token alone, it would undo their second step (SPEC §6.15).
func (s *Service) AdminResetTwoFactor(ctx context.Context, actor *airlock.User, id string, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	if actor != Operator && actor.ID == id {
		return errOwnTwoFactor
	}
	m = actorMeta(actor, m)
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		u, err := s.adminTarget(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if !u.TwoFactor() {
			return &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.not_on"}
		}
		by := actorName(actor)
		if by == "" {
			by = "An administrator"
		}
		return s.turnOffTwoFactor(ctx, tx, u, by, s.clock.Now(), m)
	})
}

func (s *Service) turnOffTwoFactor(ctx context.Context, tx airlock.Tx, u *airlock.User, by string, now time.Time, m Meta) error {
	if err := tx.ClearTOTP(ctx, u.ID); err != nil {
		return err
	}
	if err := codesFollowSecondStep(ctx, tx, u.ID); err != nil {
		return err
	}
	if err := s.enqueue(ctx, tx, mailPayload{Kind: mail.KindTwoFactorOff, UserID: u.ID, To: u.Email, Language: u.Language,
		CreatedAt: now, By: by}); err != nil {
		return err
	}
	detail := "two_factor_off"
	if by != "" {
		detail = "two_factor_reset"
	}
	return s.audit(ctx, tx, airlock.AuditTwoFactor, m, u.ID, u.Email, "success", detail)
}
