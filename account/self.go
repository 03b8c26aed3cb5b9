package account

import (
	"context"
	"time"

	"github.com/airlockhq/airlock"
)

// SessionInfo is one of a user's signed-in browsers, for the account page.
type SessionInfo struct {
	Session *airlock.Session
	// Current is the browser asking.
	Current bool
}

// MySessions lists the sessions of the user of session sid, the current one
// marked, most recently used first.
func (s *Service) MySessions(ctx context.Context, u *airlock.User, sid string) ([]SessionInfo, error) {
	list, err := s.store.ListUserSessions(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	cur := secretHash(sid)
	now := s.clock.Now()
	var out []SessionInfo
	for _, sess := range list {
		if !stillValid(u, sess.AuthEpoch, now) || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.SessionIdle {
			continue // dead already: not worth showing
		}
		out = append(out, SessionInfo{Session: sess, Current: string(sess.IDHash) == string(cur)})
	}
	return out, nil
}

// selfServiceLimit bounds the writes a signed-in user makes to their own
// account without a password (their profile, signing out elsewhere): each
// writes an audit event, and nobody may write those without bound (SPEC
// §6.14). Twenty in ten minutes is more than anyone needs by hand.
var selfServiceLimit = Rate{N: 20, Per: 10 * time.Minute}

// reserveSelf counts one self-service write of u's against its limit.
func (s *Service) reserveSelf(ctx context.Context, u *airlock.User, now time.Time, m Meta) error {
	k := limitKey{"self:account:" + u.ID, selfServiceLimit}
	return s.reserveAlone(ctx, "self-service", k, now, airlock.AuditRateLimited, m, "limit_self")
}

// SignOutOthers ends every session of the user but the one asking, and every
// sign-in of the apps (API token families): "sign out everywhere else".
func (s *Service) SignOutOthers(ctx context.Context, u *airlock.User, sid string, m Meta) (int, error) {
	if !wellFormedSecret(sid) {
		return 0, errNoSession
	}
	m.ActorID = u.ID
	now := s.clock.Now()
	if err := s.reserveSelf(ctx, u, now, m); err != nil {
		return 0, err
	}
	var n int
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if n, err = tx.DeleteOtherSessions(ctx, cur.ID, secretHash(sid)); err != nil {
			return err
		}
		tokens, err := tx.RevokeUserAPITokens(ctx, cur.ID, now)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditSessionsRevoked, m, cur.ID, cur.Email, "success", "revoked", "signed_out_others", n, tokens)
	})
	return n, err
}

// UpdateMyProfile changes the user's own name and language.
func (s *Service) UpdateMyProfile(ctx context.Context, u *airlock.User, first, last, language string, m Meta) (*airlock.User, error) {
	m.ActorID = u.ID
	p := &airlock.User{Email: u.Email, FirstName: first, LastName: last, Language: language}
	if err := normalizeProfile(p); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if err := s.reserveSelf(ctx, u, now, m); err != nil {
		return nil, err
	}
	var out *airlock.User
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if err := tx.SetProfile(ctx, cur.ID, p.FirstName, p.LastName, p.Language, now); err != nil {
			return err
		}
		before := *cur
		cur.FirstName, cur.LastName, cur.Language = p.FirstName, p.LastName, p.Language
		out = cur
		return s.audit(ctx, tx, airlock.AuditUserUpdated, m, cur.ID, cur.Email, "success", "own_profile", changedFields(&before, cur))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
