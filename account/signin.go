package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/airlockhq/airlock"
)

// maxPasswordBytes bounds what is ever hashed at sign-in: 128 code points of
// at most 4 bytes. Longer input is refused before any hashing.
const maxPasswordBytes = 4 * 128

// SignIn checks an email and password and opens a session. It returns the
// user and the session id to put in the cookie (never stored as is).
func (s *Service) SignIn(ctx context.Context, email, pass string, m Meta) (*airlock.User, string, error) {
	if err := airlock.CheckEmail(email); err != nil {
		return nil, "", err
	}
	u, err := s.checkPassword(ctx, email, pass, m)
	if err != nil {
		return nil, "", err
	}
	sid, err := s.newSession(ctx, u, m)
	if err != nil {
		return nil, "", err
	}
	return u, sid, nil
}

// checkPassword is sign-in without the session: throttled per email string
// and per client address, with the same work for unknown accounts.
func (s *Service) checkPassword(ctx context.Context, email, pass string, m Meta) (*airlock.User, error) {
	now := s.clock.Now()
	emailKey := hashKey("login:email:", airlock.NormalizeEmail(email))
	ipKey := "login:ip:" + m.IP
	for _, l := range []struct {
		key string
		r   Rate
	}{{emailKey, s.cfg.LimitLoginPerEmail}, {ipKey, s.cfg.LimitLoginPerIP}} {
		retry, err := limit(ctx, s.store, l.key, l.r, now, false)
		if err != nil {
			return nil, err
		}
		if retry > 0 {
			_ = s.store.Update(ctx, func(tx airlock.Tx) error {
				return s.audit(ctx, tx, airlock.AuditSignIn, m, "", email, "rate_limited", "")
			})
			return nil, rateLimited(retry)
		}
	}
	fail := func(u *airlock.User, outcome string, e error) (*airlock.User, error) {
		subjectID := ""
		if u != nil {
			subjectID = u.ID
		}
		err := s.store.Update(ctx, func(tx airlock.Tx) error {
			for _, l := range []struct {
				key string
				r   Rate
			}{{emailKey, s.cfg.LimitLoginPerEmail}, {ipKey, s.cfg.LimitLoginPerIP}} {
				if _, err := limit(ctx, tx, l.key, l.r, now, true); err != nil {
					return err
				}
			}
			return s.audit(ctx, tx, airlock.AuditSignIn, m, subjectID, email, "failure", outcome)
		})
		if err != nil {
			return nil, err
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
	case u.MustChangePassword && !u.TempPasswordExpiresAt.IsZero() && !now.Before(u.TempPasswordExpiresAt):
		return fail(u, "temporary_password_expired", &airlock.Error{Code: airlock.CodeUnauthorized, Detail: "temporary_password_expired",
			Message: "Your temporary password has expired. Ask your administrator for a new one, or reset your password."})
	}
	if rehash {
		// The cost parameters changed since this hash was made: upgrade it now
		// that the password is known.
		if h, err := s.hasher.Hash(ctx, pass); err == nil {
			if err := s.store.UpdatePasswordHash(ctx, u.ID, h); err != nil {
				s.log.Error("rehash", "user", u.ID, "err", err)
			}
		}
	}
	return u, nil
}

// StartSession opens a new web session for u, as after its own password
// change.
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
		if err := tx.CreateSession(ctx, &airlock.Session{IDHash: secretHash(sid), UserID: u.ID, CreatedAt: now,
			LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionAbsolute), IP: m.IP, UserAgent: truncate(m.UserAgent, 300)}); err != nil {
			return err
		}
		m.ActorID = u.ID
		return s.audit(ctx, tx, airlock.AuditSignIn, m, u.ID, u.Email, "success", "")
	})
	if err != nil {
		return "", fmt.Errorf("open session: %w", err)
	}
	return sid, nil
}

var errNoSession = &airlock.Error{Code: airlock.CodeUnauthorized, Message: "Please sign in."}

// Authenticate returns the user of a session id, enforcing the idle and
// absolute timeouts.
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
	if err != nil {
		return nil, err
	}
	if !u.Active {
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
