package account

// An application's authorization request, from its start to its code:
// who approves it and when, and what its code may be exchanged for.

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"time"

	"github.com/airlockhq/airlock"
)

// authorizePerIP bounds the authorization requests one address may keep
// waiting: each is a row for AuthorizationTTL. A crew behind one address
// opening their apps at shift start stays well within it.
var authorizePerIP = Rate{N: 300, Per: 10 * time.Minute}

// StartAuthorization keeps an application's authorization request while
// the person signs in.
func (s *Service) StartAuthorization(ctx context.Context, a *airlock.Authorization, m Meta) error {
	id, err := newSecret() // in the sign-in pages' URLs: unguessable
	if err != nil {
		return err
	}
	a.ID, a.CreatedAt = id, s.clock.Now()
	a.ExpiresAt = a.CreatedAt.Add(AuthorizationTTL)
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		retry, err := limit(ctx, tx, ipKey("authorize:ip:", m.IP), authorizePerIP, a.CreatedAt, true)
		if err != nil {
			return err
		}
		if retry > 0 {
			return rateLimited(retry)
		}
		return tx.CreateAuthorization(ctx, a)
	})
}

// Authorization returns an authorization request and its application,
// whatever the request's state.
func (s *Service) Authorization(ctx context.Context, id string) (*airlock.Authorization, *airlock.Client, error) {
	if !wellFormedSecret(id) {
		return nil, nil, errAuthorizationGone
	}
	a, err := s.store.AuthorizationByID(ctx, id)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, nil, errAuthorizationGone
	}
	if err != nil {
		return nil, nil, err
	}
	c, err := s.Client(ctx, a.ClientID)
	if err != nil {
		return nil, nil, err
	}
	return a, c, nil
}

// PendingAuthorization is Authorization for a request still waiting for
// the person: expired, approved or refused ones are gone.
func (s *Service) PendingAuthorization(ctx context.Context, id string) (*airlock.Authorization, *airlock.Client, error) {
	a, c, err := s.Authorization(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !a.DoneAt.IsZero() || a.Refused != "" || !s.clock.Now().Before(a.ExpiresAt) {
		return nil, nil, errAuthorizationGone
	}
	return a, c, nil
}

// AuthorizationStep is what an authorization request needs next.
type AuthorizationStep int

// The steps of an authorization request, in order.
const (
	// StepSignIn: no session, or one older than the request allows
	// (prompt=login, max_age).
	StepSignIn AuthorizationStep = iota
	// StepReach: the person must first change a temporary password or
	// turn on two-step sign-in (Reach says which).
	StepReach
	// StepConsent: the person must allow the application.
	StepConsent
	// StepApproved: the application gets its code.
	StepApproved
)

// ContinueAuthorization takes a pending request as far as the browser's
// session (sid) allows: it is approved when the session is fresh enough
// for the request, its user may reach everything, and the application is
// first-party or consent was given.
func (s *Service) ContinueAuthorization(ctx context.Context, id, sid string, consent bool, m Meta) (AuthorizationStep, error) {
	a, c, err := s.PendingAuthorization(ctx, id)
	if err != nil {
		return 0, err
	}
	if sid == "" || !wellFormedSecret(sid) {
		return StepSignIn, nil
	}
	u, err := s.Authenticate(ctx, sid)
	if airlock.ErrorCode(err) == airlock.CodeUnauthorized {
		return StepSignIn, nil
	}
	if err != nil {
		return 0, err
	}
	sess, err := s.store.SessionByHash(ctx, secretHash(sid))
	if errors.Is(err, airlock.ErrNotFound) {
		return StepSignIn, nil
	}
	if err != nil {
		return 0, err
	}
	now := s.clock.Now()
	if !freshEnough(a, sess.CreatedAt, now) {
		return StepSignIn, nil
	}
	if s.Reach(u) != ReachAll {
		return StepReach, nil
	}
	// An application of another party is allowed by the person, each time;
	// prompt=consent asks even for the operator's own.
	if (!c.FirstParty || slices.Contains(a.Prompt, "consent")) && !consent {
		return StepConsent, nil
	}
	amr := sess.AMR
	if len(amr) == 0 {
		// A session made before sessions kept how they were signed in.
		amr = []string{"pwd"}
		if u.TwoFactor() {
			// Two-step sign-in on means this session passed a code: turning
			// it on ends every other session.
			amr = append(amr, "otp")
		}
	}
	m.ActorID = u.ID
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		// Bound to this session: only this browser may take the code to
		// the application (CodeReleasable), not whoever knows the id.
		ok, err := tx.ApproveAuthorization(ctx, a.ID, u.ID, sess.CreatedAt, amr, secretHash(sid), now)
		if err != nil {
			return err
		}
		if !ok {
			return errAuthorizationGone
		}
		return s.audit(ctx, tx, airlock.AuditSignIn, m, u.ID, u.Email, "success", "app", c.Name)
	})
	if err != nil {
		return 0, err
	}
	return StepApproved, nil
}

// freshEnough says whether a session begun at signedIn may answer a: not
// when the request asked for a new sign-in (prompt=login) and the session
// is older than the request, nor when it is older than max_age.
func freshEnough(a *airlock.Authorization, signedIn, now time.Time) bool {
	if slices.Contains(a.Prompt, "login") && signedIn.Before(a.CreatedAt) {
		return false
	}
	if a.MaxAge >= 0 && now.Sub(signedIn) > a.MaxAge && signedIn.Before(a.CreatedAt) {
		return false
	}
	return true
}

// RefuseAuthorization ends a pending request with an OAuth error code
// (login_required, consent_required, access_denied, ...): the application
// gets that error instead of a code.
func (s *Service) RefuseAuthorization(ctx context.Context, id, code string) error {
	if !wellFormedSecret(id) {
		return errAuthorizationGone
	}
	ok, err := s.store.RefuseAuthorization(ctx, id, code, s.clock.Now())
	if err != nil {
		return err
	}
	if !ok {
		return errAuthorizationGone
	}
	return nil
}

// SaveCode stores an approved request's code (its hash): one per request.
func (s *Service) SaveCode(ctx context.Context, id, code string) error {
	ok, err := s.store.SetAuthorizationCode(ctx, id, secretHash(code), s.clock.Now())
	if err != nil {
		return err
	}
	if !ok {
		return errAuthorizationGone
	}
	return nil
}

var errBadAuthCode = &airlock.Error{Code: airlock.CodeInvalidToken, Key: "error.invalid_grant"}

// CodeReleasable says whether the browser of session sid may take an
// approved request's code to the application: only the browser whose
// session approved it. A refusal carries no secret and goes to anyone.
func (s *Service) CodeReleasable(a *airlock.Authorization, sid string) bool {
	if a.Refused != "" {
		return true
	}
	return len(a.SessionHash) > 0 && wellFormedSecret(sid) && subtle.ConstantTimeCompare(secretHash(sid), a.SessionHash) == 1
}

// CodeAuthorization returns the request of an authorization code that may
// still be exchanged: issued less than CodeTTL ago and not used. It uses
// nothing up: the exchange that issues tokens does (IssueAppTokens), so
// that a request refused for a wrong verifier, client or secret leaves the
// code to its rightful holder. A code presented once used means it leaked
// (RFC 6749 §4.1.2): the tokens it was exchanged for are revoked.
func (s *Service) CodeAuthorization(ctx context.Context, code string, m Meta) (*airlock.Authorization, error) {
	if !wellFormedCode(code) {
		return nil, errBadAuthCode
	}
	now := s.clock.Now()
	a, err := s.store.AuthorizationByCode(ctx, secretHash(code))
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errBadAuthCode
	}
	if err != nil {
		return nil, err
	}
	if !a.CodeUsedAt.IsZero() {
		if err := s.revokeCodeTokens(ctx, a, now, m); err != nil {
			return nil, err
		}
		return nil, errBadAuthCode
	}
	if now.Sub(a.CodeAt) > CodeTTL {
		return nil, errBadAuthCode
	}
	return a, nil
}

// wellFormedCode bounds what is hashed and looked up.
func wellFormedCode(code string) bool { return code != "" && len(code) <= 512 }

// revokeCodeTokens revokes what a used code was exchanged for, audited
// once per request however often the code comes back (SPEC §6.14).
func (s *Service) revokeCodeTokens(ctx context.Context, a *airlock.Authorization, now time.Time, m Meta) error {
	if a.FamilyID == "" {
		return nil
	}
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		n, err := tx.RevokeTokenFamily(ctx, a.FamilyID, now)
		if err != nil || n == 0 {
			return err
		}
		m.ActorID = a.UserID
		return s.auditOnce(ctx, tx, "code-reuse:"+a.ID, AuthorizationTTL, now, airlock.AuditSessionsRevoked, m, a.UserID, "", "refused", "code_reuse", n)
	})
}
