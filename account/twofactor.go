package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/totp"
)

// ChallengeTTL is how long the half-signed-in state between the password
// and the code lasts.
const ChallengeTTL = 5 * time.Minute

// RecoveryCodes is how many single-use recovery codes an enrolment gives.
const RecoveryCodes = 10

var (
	errNoSecretKey = &airlock.Error{Code: airlock.CodeConflict, Detail: "no_secret_key", Key: "error.two_factor.no_key"}
	errBadCode     = &airlock.Error{Code: airlock.CodeUnauthorized, Field: "otp", Detail: "bad_code", Key: "error.two_factor.bad_code"}
	errCodeNeeded  = &airlock.Error{Code: airlock.CodeTwoFactorRequired, Field: "otp", Key: "error.two_factor.code_needed"}
	errChallenge   = &airlock.Error{Code: airlock.CodeUnauthorized, Detail: "challenge", Key: "error.two_factor.challenge"}
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
}

// TwoFactorRequired reports whether u must enrol before anything else: a
// member of a group of AIRLOCK_REQUIRE_TWO_FACTOR who has not.
func (s *Service) TwoFactorRequired(u *airlock.User) bool {
	if u.TwoFactor() {
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

// enrolAAD binds a key offered for enrolment to its user and to the one
// session it was shown to.
func enrolAAD(userID string, sessionHash []byte) []byte {
	return append([]byte("enrol\x00"+userID+"\x00"), sessionHash...)
}

// BeginTwoFactor offers a key for enrolment to the signed-in browser of
// session sid. Each visit of the page gets a key of its own (keep false);
// keep shows again the key this browser was shown, while it lives, for the
// page answering a wrong code (the app has scanned it already). The key is
// kept sealed on that session only, for EnrolmentTTL: no other session, of
// the user or anyone, ever sees it, and it dies with the session, so with
// any revocation (a password change, sessions ended, a deactivation).
func (s *Service) BeginTwoFactor(ctx context.Context, u *airlock.User, sid string, keep bool) (*Enrolment, error) {
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
		if keep {
			if secret = s.enrolKey(cur, sess, now); secret != nil {
				return nil
			}
		}
		if secret, err = totp.NewSecret(); err != nil {
			return err
		}
		sealed, err := s.cfg.SecretBox.Seal(secret, enrolAAD(cur.ID, h))
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
	return &Enrolment{Secret: totp.Text(secret), URI: uri, QRSVG: svg}, nil
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
func (s *Service) enrolKey(u *airlock.User, sess *airlock.Session, now time.Time) []byte {
	if sess.EnrolSecret == nil || !now.Before(sess.EnrolExpiresAt) {
		return nil
	}
	secret, err := s.cfg.SecretBox.Open(sess.EnrolSecret, enrolAAD(u.ID, sess.IDHash))
	if err != nil {
		return nil // sealed under a key since removed: a new one is offered
	}
	return secret
}

// ConfirmTwoFactor turns two-step sign-in on with the key shown to the
// browser of session sid, once the user's password and a code from the
// app (proving the key was scanned) are given. It returns the recovery
// codes, shown once (only their hashes are kept), and the id of a new
// session for this browser: every other session and app token of the user
// ends, for they were opened with the password alone (SPEC §6.15). The
// user is told by email.
func (s *Service) ConfirmTwoFactor(ctx context.Context, u *airlock.User, sid, current, code string, m Meta) (codes []string, newSID string, err error) {
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
	secret := s.enrolKey(u, sess, now)
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
		if err := s.insertSession(ctx, tx, locked, newSID, now, m); err != nil {
			return err
		}
		if err := s.enqueueMail(ctx, tx, mail.KindTwoFactorOn, locked, now, false); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditTwoFactor, m, locked.ID, locked.Email, "success", "two_factor_on")
	})
	if err != nil {
		return nil, "", err
	}
	return codes, newSID, nil
}

// DisableTwoFactor turns two-step sign-in off: the user proves it is them
// with their password and a code. They are told by email.
func (s *Service) DisableTwoFactor(ctx context.Context, u *airlock.User, current, code string, m Meta) error {
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
		return s.turnOffTwoFactor(ctx, tx, locked, "", now, m)
	})
	return s.codeOutcome(ctx, c, m, err)
}

// RecoveryCodesLeft says how many of u's recovery codes are unused.
func (s *Service) RecoveryCodesLeft(ctx context.Context, u *airlock.User) (int, error) {
	if !u.TwoFactor() {
		return 0, nil
	}
	return s.store.CountRecoveryCodes(ctx, u.ID)
}

// NewRecoveryCodes makes a new set of recovery codes, with the password and
// a code (an old recovery code will do); the old set dies. The new codes
// are shown once.
func (s *Service) NewRecoveryCodes(ctx context.Context, u *airlock.User, current, code string, m Meta) ([]string, error) {
	m.ActorID = u.ID
	if !u.TwoFactor() {
		return nil, errAlreadyOff
	}
	if err := s.proveSelf(ctx, u, current, m); err != nil {
		return nil, err
	}
	c, err := s.checkCode(ctx, u, code, m, true)
	if err != nil {
		return nil, err
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
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
		if err := tx.ReplaceRecoveryCodes(ctx, locked.ID, hashes); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditTwoFactor, m, locked.ID, locked.Email, "success", "recovery_codes_replaced")
	})
	if err := s.codeOutcome(ctx, c, m, err); err != nil {
		return nil, err
	}
	return codes, nil
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

// codeLimit is the limit on second-factor attempts for an account: like
// passwords, counted before the check.
func (s *Service) codeLimit(userID string) limitKey {
	return limitKey{"2fa:account:" + userID, s.cfg.LimitLoginPerEmail}
}

// reserveCode counts one code attempt before it is checked, in the same
// transaction as the limit check, so that N codes sent at once on any
// number of nodes get at most the limit's worth of checks.
func (s *Service) reserveCode(ctx context.Context, k limitKey, now time.Time, m Meta) error {
	return s.reserveAlone(ctx, "second factor", k, now, airlock.AuditTwoFactor, m, "limit_codes")
}

// codeCheck is a second-factor code checked against the account: an app
// code that matches its key, or a recovery code to look up. It is used up
// by useCode in the transaction of the action it allows, so that a code is
// spent only by a request that succeeds (SPEC §6.15).
type codeCheck struct {
	u        *airlock.User
	k        limitKey
	step     int64  // an app code's time step
	recovery []byte // a recovery code's hash (nil: an app code)
	// limited is the refusal of the per-account limit, when it refused:
	// only a recovery code may still go on (100 random bits, which no
	// limit's worth of guesses finds), so that the owner can recover while
	// someone else has used the limit up; anything else gets this error.
	limited error
	// afterPassword: the code follows a right password (sign-in, the
	// account page), so failures tell the owner their password is known.
	afterPassword bool
}

// errCodeSpent: the code was right once, and is used up (a replay, or a
// recovery code used already).
var errCodeSpent = errors.New("code already used")

// checkCode counts an attempt against u's limit and checks code (an app
// code, or the form of a recovery code) before anything is written. A
// wrong code is audited and refused here.
func (s *Service) checkCode(ctx context.Context, u *airlock.User, code string, m Meta, afterPassword bool) (*codeCheck, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, errCodeNeeded
	}
	now := s.clock.Now()
	c := &codeCheck{u: u, k: s.codeLimit(u.ID), afterPassword: afterPassword}
	digits := strings.ReplaceAll(code, " ", "")
	recovery := len(digits) != totp.Digits && looksLikeRecoveryCode(code)
	if err := s.reserveCode(ctx, c.k, now, m); err != nil {
		if airlock.ErrorCode(err) != airlock.CodeRateLimited {
			return nil, err
		}
		if afterPassword {
			if err := s.store.Update(ctx, func(tx airlock.Tx) error { return s.tellOwner(ctx, tx, c, now, m) }); err != nil {
				return nil, fmt.Errorf("second factor: %w", err)
			}
		}
		if !recovery {
			return nil, err
		}
		c.limited = err
	}
	if recovery {
		c.recovery = recoveryHash(code)
		return c, nil
	}
	if len(digits) != totp.Digits {
		return nil, s.codeRefused(ctx, c, m, "code_refused")
	}
	secret, err := s.openTOTP(u)
	if err != nil {
		return nil, err
	}
	step, ok := totp.Match(secret, digits, now)
	if !ok {
		return nil, s.codeRefused(ctx, c, m, "code_refused")
	}
	c.step = step
	return c, nil
}

// useCode uses c up in the caller's transaction, which must also be the
// one that claims what the code allows (a half-signed-in state, a reset
// link): of parallel requests, only the one that commits spends a code.
// It returns errCodeSpent when the code was used already.
func (s *Service) useCode(ctx context.Context, tx airlock.Tx, c *codeCheck, now time.Time, m Meta) error {
	detail, args := "code_accepted", []any(nil)
	if c.recovery != nil {
		ok, remaining, err := tx.UseRecoveryCode(ctx, c.u.ID, c.recovery, now)
		if err != nil {
			return err
		}
		if !ok {
			return errCodeSpent
		}
		detail, args = "recovery_used", []any{remaining}
	} else {
		// One use per code: of parallel uses of one code, one wins.
		fresh, err := tx.UseTOTPStep(ctx, c.u.ID, c.step)
		if err != nil {
			return err
		}
		if !fresh {
			return errCodeSpent
		}
	}
	if c.limited == nil {
		if err := release(ctx, tx, c.k, now); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, airlock.AuditTwoFactor, m, c.u.ID, c.u.Email, "success", detail, args...)
}

// codeOutcome is the answer of a transaction that used c: a code found
// used up is refused and audited (in a transaction of its own, the
// action's having rolled back), like a wrong one.
func (s *Service) codeOutcome(ctx context.Context, c *codeCheck, m Meta, err error) error {
	if !errors.Is(err, errCodeSpent) {
		return err
	}
	if c.limited != nil {
		return c.limited // at the limit, a wrong recovery code is one more refused attempt
	}
	what := "code_reused"
	if c.recovery != nil {
		what = "recovery_refused"
	}
	return s.codeRefused(ctx, c, m, what)
}

// codeRefused audits a refused code (detail says which refusal: a wrong
// code, one used already, a recovery code unknown or used) and, after a
// right password, tells the owner once the limit's worth of codes failed.
func (s *Service) codeRefused(ctx context.Context, c *codeCheck, m Meta, detail string) error {
	now := s.clock.Now()
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.audit(ctx, tx, airlock.AuditTwoFactor, m, c.u.ID, c.u.Email, "failure", detail); err != nil {
			return err
		}
		if !c.afterPassword {
			return nil
		}
		// No room left under the limit: the limit's worth has failed.
		if retry, err := limit(ctx, tx, c.k.key, c.k.r, now, false); err != nil || retry == 0 {
			return err
		}
		return s.tellOwner(ctx, tx, c, now, m)
	})
	if err != nil {
		return fmt.Errorf("second factor: %w", err)
	}
	return errBadCode
}

// tellOwner emails the owner, once per limit window, that someone who knew
// their password failed the second step (SPEC §6.15): they should change it.
func (s *Service) tellOwner(ctx context.Context, tx airlock.Tx, c *codeCheck, now time.Time, m Meta) error {
	first, err := tx.MarkLimitRefusalAudited(ctx, "2fa-told:account:"+c.u.ID, now, now.Add(c.k.r.Per))
	if err != nil || !first {
		return err
	}
	if err := s.enqueue(ctx, tx, mailPayload{Kind: mail.KindTwoFactorFailed, UserID: c.u.ID, To: c.u.Email, Language: c.u.Language,
		CreatedAt: now, IP: airlock.CleanText(m.IP, 64)}); err != nil {
		return err
	}
	return s.audit(ctx, tx, airlock.AuditTwoFactor, m, c.u.ID, c.u.Email, "refused", "owner_told")
}

// VerifySecondFactor checks a code from the authenticator app (RFC 6238,
// ±1 step, each code accepted once) or a recovery code (each usable once)
// on its own, for an action with nothing else to claim. Attempts are
// counted per account before the check.
func (s *Service) VerifySecondFactor(ctx context.Context, u *airlock.User, code string, m Meta) error {
	if !u.TwoFactor() {
		return nil
	}
	c, err := s.checkCode(ctx, u, code, m, false)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.store.Update(ctx, func(tx airlock.Tx) error { return s.useCode(ctx, tx, c, now, m) })
	return s.codeOutcome(ctx, c, m, err)
}

var recoveryEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// newRecoveryCodes returns codes of 100 random bits ("xxxxx-xxxxx-xxxxx-xxxxx")
// and their hashes; a fast hash is enough at that entropy, with attempts
// limited per account.
func newRecoveryCodes() ([]string, [][]byte, error) {
	var codes []string
	var hashes [][]byte
	for range RecoveryCodes {
		b := make([]byte, 13)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, err
		}
		s := recoveryEncoding.EncodeToString(b)[:20]
		code := s[0:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:20]
		codes = append(codes, code)
		hashes = append(hashes, recoveryHash(code))
	}
	return codes, hashes, nil
}

// normalRecoveryCode is a recovery code as typed without its dashes and
// spaces, in lower case.
func normalRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// recoveryHash normalises a recovery code as typed and hashes it.
func recoveryHash(code string) []byte {
	h := sha256.Sum256([]byte("airlock recovery code\x00" + normalRecoveryCode(code)))
	return h[:]
}

// ValidRecoveryCodes reports whether codes look like recovery codes, for
// the download of the codes just shown (nothing is looked up).
func ValidRecoveryCodes(codes []string) bool {
	if len(codes) == 0 || len(codes) > RecoveryCodes {
		return false
	}
	for _, c := range codes {
		if len(c) != 23 || strings.Count(c, "-") != 3 {
			return false
		}
		if _, err := recoveryEncoding.DecodeString(strings.ReplaceAll(c, "-", "") + "aaaa"); err != nil {
			return false
		}
	}
	return true
}

// startChallenge opens the half-signed-in state after a right password:
// short-lived, bound to the browser that gets its id in a cookie, and to
// the user's state (epoch) when the password was checked.
func (s *Service) startChallenge(ctx context.Context, u *airlock.User, next string) (string, error) {
	id, err := newSecret()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	c := &airlock.Challenge{IDHash: secretHash(id), UserID: u.ID, AuthEpoch: u.AuthEpoch, CreatedAt: now,
		ExpiresAt: now.Add(ChallengeTTL), Next: next}
	if err := s.store.CreateChallenge(ctx, c); err != nil {
		return "", err
	}
	return id, nil
}

// ChallengeUser returns the user a half-signed-in state is for (to show the
// code page in their language), or errChallenge.
func (s *Service) ChallengeUser(ctx context.Context, challenge string) (*airlock.User, error) {
	c, err := s.challenge(ctx, challenge)
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errChallenge
	}
	return u, err
}

func (s *Service) challenge(ctx context.Context, challenge string) (*airlock.Challenge, error) {
	if !wellFormedSecret(challenge) {
		return nil, errChallenge
	}
	c, err := s.store.ChallengeByHash(ctx, secretHash(challenge))
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errChallenge
	}
	if err != nil {
		return nil, err
	}
	if !s.clock.Now().Before(c.ExpiresAt) {
		return nil, errChallenge
	}
	return c, nil
}

// CompleteSignIn is the second step of a sign-in with two-step sign-in: the
// code (or a recovery code) for the half-signed-in state challenge opens
// the session. It returns where to go next.
func (s *Service) CompleteSignIn(ctx context.Context, challenge, code string, m Meta) (*airlock.User, string, string, error) {
	c, err := s.challenge(ctx, challenge)
	if err != nil {
		return nil, "", "", err
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, "", "", errChallenge
	}
	if err != nil {
		return nil, "", "", err
	}
	if !stillValid(u, c.AuthEpoch, s.clock.Now()) {
		return nil, "", "", errChallenge // the account changed since the password was checked
	}
	m.ActorID = u.ID
	cc, err := s.checkCode(ctx, u, code, m, true)
	if err != nil {
		return u, "", "", err
	}
	sid, err := newSecret()
	if err != nil {
		return nil, "", "", err
	}
	now := s.clock.Now()
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		// One half-signed-in state opens one session: of parallel second
		// steps, the one that ends the state goes on, and only its code is
		// spent (ended, used and opened in one transaction).
		ended, err := tx.DeleteChallenge(ctx, c.IDHash)
		if err != nil {
			return err
		}
		if !ended {
			return errChallenge
		}
		if err := s.useCode(ctx, tx, cc, now, m); err != nil {
			return err
		}
		return s.openSession(ctx, tx, cur, sid, now, m)
	})
	if err == errNoSession {
		err = errChallenge // the account changed meanwhile
	}
	if err := s.codeOutcome(ctx, cc, m, err); err != nil {
		return u, "", "", err
	}
	return u, sid, c.Next, nil
}

// looksLikeRecoveryCode reports whether code, as typed, has the form of a
// recovery code (20 characters of their alphabet, dashes and spaces aside).
func looksLikeRecoveryCode(code string) bool {
	c := normalRecoveryCode(code)
	if len(c) != 20 {
		return false
	}
	_, err := recoveryEncoding.DecodeString(c + "aaaa")
	return err == nil
}
