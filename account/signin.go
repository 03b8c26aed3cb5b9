package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/password"
)

// maxPasswordBytes bounds what is ever hashed at sign-in: the longest a
// password of 128 code points can be typed, decomposed (it is normalised
// before hashing). Longer input is refused before any hashing.
const maxPasswordBytes = password.MaxInputBytes

// SignIn checks an email and password. Without two-step sign-in it opens
// a session and returns its id (sid), to put in the cookie (never stored as
// is). With it, it opens the half-signed-in state instead and returns its
// id (challenge), for the code page (CompleteSignIn); next is where to go
// once signed in.
func (s *Service) SignIn(ctx context.Context, email, pass, next string, m Meta) (u *airlock.User, sid, challenge string, err error) {
	if err := airlock.CheckEmail(email); err != nil {
		return nil, "", "", err
	}
	u, err = s.checkPassword(ctx, email, pass, m)
	if err != nil {
		return nil, "", "", err
	}
	if u.SecondStep() {
		// A code or a passkey comes next. The code has a limit of its own,
		// per account (codeLimit).
		challenge, err := s.startChallenge(ctx, u, next)
		return u, "", challenge, err
	}
	sid, err = s.newSession(ctx, u, m)
	if err == errNoSession {
		// The password or the account changed while it was being checked.
		return nil, "", "", errBadCredentials
	}
	if err != nil {
		return nil, "", "", err
	}
	return u, sid, "", nil
}

// loginLimits are the limits one sign-in attempt counts against: the email
// string typed (whether or not it has an account) and the client's address
// (failures only, given back when the password is right), then the cap of
// every attempt for one email (never given back: signInCap).
func (s *Service) loginLimits(email, ip string) []limitKey {
	return []limitKey{
		{hashKey("login:email:", airlock.NormalizeEmail(email)), s.cfg.LimitLoginPerEmail},
		{ipKey("login:ip:", ip), s.cfg.LimitLoginPerIP},
		{hashKey("login:any:", airlock.NormalizeEmail(email)), s.signInCap()},
	}
}

// signInCap bounds the sign-ins of one email address, right or wrong: far
// above what a person or an app needs (an app refreshes its tokens rather
// than signing in again), it keeps one account's holder from taking the
// password hasher for themselves with right passwords, which no failure
// limit counts (each costs a hash, and a few at once slow every other
// sign-in).
// It is on while the per-email limit is (AIRLOCK_LIMIT_LOGIN_PER_EMAIL=0
// turns both off).
func (s *Service) signInCap() Rate {
	if s.cfg.LimitLoginPerEmail.N <= 0 {
		return Rate{}
	}
	return Rate{N: 120, Per: 10 * time.Minute}
}

// checkPassword is sign-in without the session: throttled per email string
// and per client address, with the same work for unknown accounts. Only
// failures count: the attempt reserved before the hash is given back when
// the password is right (SPEC §6.6), so a crew behind one address signing
// in at once is never refused, while guesses stay limited. The returned
// user is as read before the check; whoever issues a session or a token on
// the strength of it re-checks, in the issuing transaction, that its
// AuthEpoch has not moved since.
func (s *Service) checkPassword(ctx context.Context, email, pass string, m Meta) (*airlock.User, error) {
	now := s.clock.Now()
	keys := s.loginLimits(email, m.IP)
	// The attempt is counted before the password is checked, in the same
	// transaction as the limit check: N guesses sent at once get at most the
	// limit's worth of checks, on any number of nodes.
	var retry time.Duration
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		var refused *limitKey
		var err error
		if retry, refused, err = reserve(ctx, tx, keys, now); err != nil || refused == nil {
			return err
		}
		return s.auditRefusal(ctx, tx, refused, now, airlock.AuditSignIn, m, email, "")
	})
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if retry > 0 {
		return nil, rateLimited(retry)
	}
	// fail records a failed attempt; if the audit cannot be written the
	// request fails, closed (the attempt stays counted).
	fail := func(u *airlock.User, outcome string, e error) (*airlock.User, error) {
		subjectID := ""
		if u != nil {
			subjectID = u.ID
		}
		err := s.store.Update(ctx, func(tx airlock.Tx) error {
			return s.audit(ctx, tx, airlock.AuditSignIn, m, subjectID, email, "failure", outcome)
		})
		if err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
		return nil, e
	}
	if len(pass) > maxPasswordBytes {
		return fail(nil, "password_too_long", errBadCredentials)
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, airlock.ErrNotFound) {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	// Verify even when there is no account or no password (against a dummy
	// hash), so that timing does not tell which accounts exist.
	ok, rehash, err := s.hasher.Verify(ctx, pass, hash)
	if err != nil {
		return nil, err
	}
	switch {
	case u == nil:
		return fail(nil, "no_account", errBadCredentials)
	case !ok:
		return fail(u, "bad_password", errBadCredentials)
	case !u.Active:
		return fail(u, "inactive", errBadCredentials)
	case u.TempPasswordExpired(now):
		return fail(u, "temporary_password_expired", errTempExpired)
	}
	// A right password gives back exactly the attempt it reserved, under
	// every key: it never uses a limit up, and buys no guess at any other
	// account (release never moves a limit below where it would be had the
	// attempt not been made).
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		for _, k := range keys[:2] { // not signInCap's: it counts every sign-in
			if err := release(ctx, tx, k, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if rehash {
		// The cost parameters changed since this hash was made, or it was made
		// from the password as typed rather than normalised: upgrade it now
		// that the password is known, unless it changed meanwhile.
		if h, err := s.hasher.Hash(ctx, pass); err == nil {
			if _, err := s.store.UpdatePasswordHash(ctx, u.ID, hash, h); err != nil {
				s.log.Error("rehash", "user", u.ID, "err", err)
			}
		}
	}
	return u, nil
}

var errTempExpired = &airlock.Error{Code: airlock.CodeUnauthorized, Detail: "temporary_password_expired",
	Key: "error.temp_expired"}

// currentUser re-reads, in the caller's transaction, the user whose
// password was checked (or whose session acts) and fails unless nothing
// that takes access away happened since: same AuthEpoch, still active,
// temporary password not expired. Issuing a session or a token goes
// through it, so a sign-in racing a password change or a deactivation
// issues nothing that outlives it.
func (s *Service) currentUser(ctx context.Context, tx airlock.Tx, seen *airlock.User, now time.Time) (*airlock.User, error) {
	u, err := tx.UserByIDForUpdate(ctx, seen.ID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if !stillValid(u, seen.AuthEpoch, now) {
		return nil, errNoSession
	}
	return u, nil
}

// StartSession opens a new web session for u, as after its own password
// change; u must be the user as that change left it.
func (s *Service) StartSession(ctx context.Context, u *airlock.User, m Meta) (string, error) {
	return s.newSession(ctx, u, m)
}

// newSession opens a session for u; the id is renewed at every sign-in.
func (s *Service) newSession(ctx context.Context, u *airlock.User, m Meta) (string, error) {
	sid, err := newSecret()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		return s.openSession(ctx, tx, cur, sid, now, m, "pwd")
	})
	if err != nil {
		if airlock.AsError(err) != nil {
			return "", err
		}
		return "", fmt.Errorf("open session: %w", err)
	}
	return sid, nil
}

// openSession is a sign-in of u (as read in tx): a new session, audited.
// amr says how the person signed in (OpenID amr values).
func (s *Service) openSession(ctx context.Context, tx airlock.Tx, u *airlock.User, sid string, now time.Time, m Meta, amr ...string) error {
	if err := s.insertSession(ctx, tx, u, sid, now, m, amr...); err != nil {
		return err
	}
	m.ActorID = u.ID
	detail := ""
	if slices.Contains(amr, "user") {
		detail = "passkey"
	}
	return s.audit(ctx, tx, airlock.AuditSignIn, m, u.ID, u.Email, "success", detail)
}

// insertSession stores a session of u (as read in tx) under sid's hash.
func (s *Service) insertSession(ctx context.Context, tx airlock.Tx, u *airlock.User, sid string, now time.Time, m Meta, amr ...string) error {
	return tx.CreateSession(ctx, &airlock.Session{IDHash: secretHash(sid), UserID: u.ID, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionAbsolute), IP: airlock.CleanText(m.IP, 64),
		UserAgent: airlock.CleanText(m.UserAgent, 300), AuthEpoch: u.AuthEpoch, AMR: amr})
}

var errNoSession = &airlock.Error{Code: airlock.CodeUnauthorized, Key: "error.no_session"}

// Authenticate returns the user of a session id, enforcing the idle and
// absolute timeouts and the user's current state: a session works only
// while the user is active, holds no expired temporary password, and has
// the AuthEpoch the session was opened in.
func (s *Service) Authenticate(ctx context.Context, sid string) (*airlock.User, error) {
	if !wellFormedSecret(sid) {
		return nil, errNoSession
	}
	h := secretHash(sid)
	sess, err := s.store.SessionByHash(ctx, h)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.SessionIdle {
		if err := s.store.DeleteSession(ctx, h); err != nil {
			return nil, err
		}
		return nil, errNoSession
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if !stillValid(u, sess.AuthEpoch, now) {
		return nil, errNoSession
	}
	// Record activity at most once a minute to spare the database writes.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.store.TouchSession(ctx, h, now); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, sid string, m Meta) error {
	if !wellFormedSecret(sid) {
		return nil
	}
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		sess, err := tx.SessionByHash(ctx, secretHash(sid))
		if errors.Is(err, airlock.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteSession(ctx, sess.IDHash); err != nil {
			return err
		}
		m.ActorID = sess.UserID
		return s.audit(ctx, tx, airlock.AuditSignOut, m, sess.UserID, "", "success", "")
	})
}
