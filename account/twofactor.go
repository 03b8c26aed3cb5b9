package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
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
	errNoSecretKey = &airlock.Error{Code: airlock.CodeConflict, Detail: "no_secret_key", Key: "error.two_factor.no_key",
		Message: "Two-step sign-in needs AIRLOCK_SECRET_KEY on this server: ask your operator."}
	errBadCode = &airlock.Error{Code: airlock.CodeUnauthorized, Field: "otp", Detail: "bad_code", Key: "error.two_factor.bad_code",
		Message: "That code is not valid. Enter the current code from your app, or a recovery code."}
	errCodeNeeded = &airlock.Error{Code: airlock.CodeTwoFactorRequired, Field: "otp", Key: "error.two_factor.code_needed",
		Message: "This account uses two-step sign-in: enter the code from your authenticator app, or a recovery code."}
	errChallenge = &airlock.Error{Code: airlock.CodeUnauthorized, Detail: "challenge", Key: "error.two_factor.challenge",
		Message: "The sign-in took too long. Sign in again."}
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

// sealTOTP and openTOTP bind a sealed key to its user: a sealed value moved
// to another account does not open.
func (s *Service) openTOTP(u *airlock.User) ([]byte, error) {
	if s.cfg.SecretBox == nil {
		return nil, errNoSecretKey
	}
	return s.cfg.SecretBox.Open(u.TOTPSecret, []byte(u.ID))
}

// BeginTwoFactor starts enrolment: a new key, kept sealed until a code
// confirms it. Asking again before confirming shows the same key.
func (s *Service) BeginTwoFactor(ctx context.Context, u *airlock.User) (*Enrolment, error) {
	if s.cfg.SecretBox == nil {
		return nil, errNoSecretKey
	}
	var secret []byte
	// Under the user's row lock: of parallel first visits one makes the key
	// and the others show it, and a visit racing a confirmation cannot
	// replace the key just turned on (which would turn it off).
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		locked, err := s.currentUser(ctx, tx, u, s.clock.Now())
		if err != nil {
			return err
		}
		if locked.TwoFactor() {
			return &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.already_on", Message: "Two-step sign-in is already on."}
		}
		if locked.TOTPSecret != nil {
			if secret, _ = s.openTOTP(locked); secret != nil { // a key sealed under a removed key is replaced below
				return nil
			}
		}
		if secret, err = totp.NewSecret(); err != nil {
			return err
		}
		sealed, err := s.cfg.SecretBox.Seal(secret, []byte(u.ID))
		if err != nil {
			return err
		}
		return tx.SetTOTP(ctx, u.ID, sealed)
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

// ConfirmTwoFactor turns two-step sign-in on once the user's password
// and a code from the app (proving the key was scanned) are given, and
// returns the recovery codes, shown once (only their hashes are kept). The
// user is told by email.
func (s *Service) ConfirmTwoFactor(ctx context.Context, u *airlock.User, current, code string, m Meta) ([]string, error) {
	m.ActorID = u.ID
	// A session alone must not turn it on: a stolen cookie would lock the
	// owner out of their account (sign-in and reset links would ask for the
	// thief's codes).
	if err := s.proveSelf(ctx, u, current, m); err != nil {
		return nil, err
	}
	cur, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if cur.TwoFactor() {
		return nil, &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.already_on", Message: "Two-step sign-in is already on."}
	}
	if cur.TOTPSecret == nil {
		return nil, &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.start_again", Message: "Start again: scan the code first."}
	}
	secret, err := s.openTOTP(cur)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	k := s.codeLimit(cur.ID)
	if err := s.reserveCode(ctx, k, now, m); err != nil {
		return nil, err
	}
	step, ok := totp.Match(secret, code, now)
	if !ok {
		return nil, s.codeRefused(ctx, cur, m, "enrolment")
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		locked, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if !slices.Equal(locked.TOTPSecret, cur.TOTPSecret) || locked.TwoFactor() {
			return &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.start_again", Message: "Start again: scan the code first."}
		}
		if err := tx.EnableTOTP(ctx, locked.ID, now, step, hashes); err != nil {
			return err
		}
		if err := release(ctx, tx, k, now); err != nil {
			return err
		}
		if err := s.enqueueMail(ctx, tx, mail.KindTwoFactorOn, locked, now, false); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditTwoFactor, m, locked.ID, locked.Email, "success", "enrolled")
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTwoFactor turns two-step sign-in off: the user proves it is them
// with their password and a code. They are told by email.
func (s *Service) DisableTwoFactor(ctx context.Context, u *airlock.User, current, code string, m Meta) error {
	m.ActorID = u.ID
	if !u.TwoFactor() {
		return &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.already_off", Message: "Two-step sign-in is already off."}
	}
	if err := s.proveSelf(ctx, u, current, m); err != nil {
		return err
	}
	if err := s.VerifySecondFactor(ctx, u, code, m); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		locked, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		return s.turnOffTwoFactor(ctx, tx, locked, "", now, m)
	})
}

// AdminResetTwoFactor turns a user's two-step sign-in off for them (a lost
// phone and lost recovery codes): audited, and the user is told by email.
func (s *Service) AdminResetTwoFactor(ctx context.Context, actor *airlock.User, id string, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	m = actorMeta(actor, m)
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		u, err := s.adminTarget(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if u.TOTPSecret == nil {
			return &airlock.Error{Code: airlock.CodeConflict, Key: "error.two_factor.not_on", Message: "This user does not use two-step sign-in."}
		}
		by := actorName(actor)
		if by == "" {
			by = "An administrator"
		}
		return s.turnOffTwoFactor(ctx, tx, u, by, s.clock.Now(), m)
	})
}

func (s *Service) turnOffTwoFactor(ctx context.Context, tx airlock.Tx, u *airlock.User, by string, now time.Time, m Meta) error {
	if err := tx.SetTOTP(ctx, u.ID, nil); err != nil {
		return err
	}
	if err := s.enqueue(ctx, tx, mailPayload{Kind: mail.KindTwoFactorOff, UserID: u.ID, To: u.Email, Language: u.Language,
		CreatedAt: now, By: by}); err != nil {
		return err
	}
	detail := "disabled"
	if by != "" {
		detail = "reset by an administrator"
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
	return s.reserveAlone(ctx, "second factor", k, now, airlock.AuditTwoFactor, m, "codes per account")
}

func (s *Service) codeRefused(ctx context.Context, u *airlock.User, m Meta, what string) error {
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		return s.audit(ctx, tx, airlock.AuditTwoFactor, m, u.ID, u.Email, "failure", "code refused: "+what)
	})
	if err != nil {
		return fmt.Errorf("second factor: %w", err)
	}
	return errBadCode
}

// VerifySecondFactor checks a code from the authenticator app (RFC 6238,
// ±1 step, each code accepted once) or a recovery code (each usable once).
// Attempts are counted per account before the check.
func (s *Service) VerifySecondFactor(ctx context.Context, u *airlock.User, code string, m Meta) error {
	if !u.TwoFactor() {
		return nil
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return errCodeNeeded
	}
	now := s.clock.Now()
	k := s.codeLimit(u.ID)
	if err := s.reserveCode(ctx, k, now, m); err != nil {
		return err
	}
	if len(strings.ReplaceAll(code, " ", "")) == totp.Digits {
		secret, err := s.openTOTP(u)
		if err != nil {
			return err
		}
		step, ok := totp.Match(secret, strings.ReplaceAll(code, " ", ""), now)
		if !ok {
			return s.codeRefused(ctx, u, m, "app")
		}
		return s.store.Update(ctx, func(tx airlock.Tx) error {
			// One use per code: of parallel uses of one code, one wins.
			fresh, err := tx.UseTOTPStep(ctx, u.ID, step)
			if err != nil {
				return err
			}
			if !fresh {
				if err := s.audit(ctx, tx, airlock.AuditTwoFactor, m, u.ID, u.Email, "failure", "code already used"); err != nil {
					return err
				}
				return errBadCode
			}
			if err := release(ctx, tx, k, now); err != nil {
				return err
			}
			return s.audit(ctx, tx, airlock.AuditTwoFactor, m, u.ID, u.Email, "success", "code accepted")
		})
	}
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		ok, remaining, err := tx.UseRecoveryCode(ctx, u.ID, recoveryHash(code), now)
		if err != nil {
			return err
		}
		if !ok {
			if err := s.audit(ctx, tx, airlock.AuditTwoFactor, m, u.ID, u.Email, "failure", "recovery code refused"); err != nil {
				return err
			}
			return errBadCode
		}
		if err := release(ctx, tx, k, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditTwoFactor, m, u.ID, u.Email, "success", fmt.Sprintf("recovery code used, %d left", remaining))
	})
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

// recoveryHash normalises a recovery code as typed (case, spaces, dashes)
// and hashes it.
func recoveryHash(code string) []byte {
	c := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
	h := sha256.Sum256([]byte("airlock recovery code\x00" + c))
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
	if u.AuthEpoch != c.AuthEpoch || !u.Active {
		return nil, "", "", errChallenge // the account changed since the password was checked
	}
	if err := s.VerifySecondFactor(ctx, u, code, m); err != nil {
		return u, "", "", err
	}
	// One half-signed-in state opens one session: of parallel second steps
	// with valid codes, the one that ends the state goes on.
	ended, err := s.store.DeleteChallenge(ctx, c.IDHash)
	if err != nil {
		return nil, "", "", err
	}
	if !ended {
		return nil, "", "", errChallenge
	}
	sid, err := s.newSession(ctx, u, m)
	if err != nil {
		return nil, "", "", err
	}
	if err := s.releaseLogin(ctx, u.Email); err != nil {
		return nil, "", "", err
	}
	return u, sid, c.Next, nil
}
