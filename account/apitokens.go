package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

// Lifetimes of the JSON API's bearer tokens (SPEC §4).
const (
	AccessTokenTTL  = time.Hour
	RefreshTokenTTL = 30 * 24 * time.Hour
)

// refreshRaceWindow tells two parallel refreshes of one token (an app that
// sent its refresh twice) from the reuse of a stolen one: a rotated token
// presented again within this window gets invalid_grant and revokes
// nothing, so the winner's new pair keeps working; later, it is reuse and
// the whole family is revoked.
const refreshRaceWindow = 2 * time.Second

// Tokens is what a successful token request answers.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	User         *airlock.User
}

var errInvalidGrant = &airlock.Error{Code: airlock.CodeInvalidToken, Key: "error.invalid_grant"}

var errNoAPIGroup = &airlock.Error{Code: airlock.CodeForbidden, Key: "error.no_mobile_group"}

// mayUseAPI is the one rule for who may hold API tokens of a sign-in made
// in epoch: a user still valid for it (stillValid) in the mobile group, or
// the admin group for the administrators' API.
func mayUseAPI(u *airlock.User, epoch int64, now time.Time) bool {
	return stillValid(u, epoch, now) && (u.HasGroup(airlock.GroupMobile) || u.HasGroup(airlock.GroupAdmin))
}

// SignInAPI is the password grant: the user must be active and in the
// mobile group, or the admin group for the administrators' API. It is
// throttled exactly like the web sign-in. An account with two-step sign-in
// needs its code (otp): without it the answer is CodeTwoFactorRequired.
func (s *Service) SignInAPI(ctx context.Context, email, pass, otp string, m Meta) (*Tokens, error) {
	if err := airlock.CheckEmail(email); err != nil {
		return nil, err
	}
	// Before the password is checked: a refused application costs no hash
	// and learns nothing about the account.
	if err := s.passwordGrantAllowed(ctx, m.ClientID); err != nil {
		return nil, err
	}
	u, err := s.checkPassword(ctx, email, pass, m)
	if err != nil {
		if airlock.ErrorCode(err) == airlock.CodeUnauthorized {
			e := *airlock.AsError(err)
			e.Code = airlock.CodeInvalidToken // OAuth 2.0: bad resource owner credentials are invalid_grant
			return nil, &e
		}
		return nil, err
	}
	now := s.clock.Now()
	m.ActorID = u.ID
	var code *codeCheck
	if !u.TwoFactor() && u.Passkeys > 0 {
		// A passkey is the second step, and no password grant can carry
		// one: the app signs in through the system browser (OpenID).
		return nil, errPasskeyNeeded
	}
	if u.TwoFactor() {
		if strings.TrimSpace(otp) == "" {
			return nil, errCodeNeeded
		}
		if code, err = s.checkCode(ctx, u, otp, m, true); err != nil {
			return nil, apiCodeError(err)
		}
	}
	if s.TwoFactorRequired(u) {
		return nil, &airlock.Error{Code: airlock.CodeForbidden, Detail: "two_factor_enrolment", Key: "error.two_factor.enrol_first"}
	}
	if !mayUseAPI(u, u.AuthEpoch, now) {
		err := s.store.Update(ctx, func(tx airlock.Tx) error {
			// Once per window: a right password given again and again must
			// not write an event each time (SPEC §6.14).
			return s.auditOnce(ctx, tx, "api-refused:account:"+u.ID, s.cfg.LimitLoginPerEmail.Per, now, airlock.AuditSignIn, m, u.ID, u.Email, "refused", "api_not_allowed")
		})
		if err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
		return nil, errNoAPIGroup
	}
	familyID, err := newID()
	if err != nil {
		return nil, err
	}
	var t *Tokens
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if !mayUseAPI(cur, cur.AuthEpoch, now) {
			return errNoSession
		}
		if code != nil {
			// Spent only if the tokens are issued, in this transaction.
			if err := s.useCode(ctx, tx, code, now, m); err != nil {
				return err
			}
		}
		if err := tx.CreateTokenFamily(ctx, &airlock.TokenFamily{ID: familyID, UserID: cur.ID, AuthEpoch: cur.AuthEpoch,
			CreatedAt: now, ExpiresAt: now.Add(RefreshTokenTTL)}); err != nil {
			return err
		}
		if t, err = s.issueTokens(ctx, tx, cur, familyID, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditSignIn, m, cur.ID, cur.Email, "success", "api")
	})
	if err == nil {
		s.passwordGrants.Add(1)
	}
	if code != nil {
		err = apiCodeError(s.codeOutcome(ctx, code, m, err))
	}
	switch {
	case err == errNoSession:
		return nil, errInvalidGrant // the password or the account changed meanwhile
	case airlock.AsError(err) != nil:
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("issue tokens: %w", err)
	}
	return t, nil
}

// apiCodeError is a refused code as the password grant says it: OAuth 2.0
// calls bad credentials invalid_grant.
func apiCodeError(err error) error {
	if airlock.ErrorCode(err) == airlock.CodeUnauthorized && airlock.AsError(err).Field == "otp" {
		return &airlock.Error{Code: airlock.CodeInvalidToken, Field: "otp", Key: errBadCode.Key}
	}
	return err
}

// issueTokens adds an access and a refresh token to a family.
func (s *Service) issueTokens(ctx context.Context, tx airlock.Tx, u *airlock.User, familyID string, now time.Time) (*Tokens, error) {
	access, err := newSecret()
	if err != nil {
		return nil, err
	}
	refresh, err := newSecret()
	if err != nil {
		return nil, err
	}
	for _, t := range []*airlock.APIToken{
		{Hash: secretHash(access), Kind: airlock.TokenAccess, UserID: u.ID, FamilyID: familyID, CreatedAt: now, ExpiresAt: now.Add(AccessTokenTTL)},
		{Hash: secretHash(refresh), Kind: airlock.TokenRefresh, UserID: u.ID, FamilyID: familyID, CreatedAt: now, ExpiresAt: now.Add(RefreshTokenTTL)},
	} {
		if err := tx.InsertAPIToken(ctx, t); err != nil {
			return nil, err
		}
	}
	return &Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: AccessTokenTTL, User: u}, nil
}

// Refresh is the refresh_token grant. The refresh token rotates: it works
// once. Presenting one that was already rotated means it leaked, so the
// whole family (every token of that sign-in) is revoked, as the OAuth 2.0
// Security Best Current Practice advises. The family and the user are
// checked in the transaction that issues the new pair: a family revoked, a
// password changed or a right taken away meanwhile issues nothing that works.
func (s *Service) Refresh(ctx context.Context, refresh string, m Meta) (*Tokens, error) {
	if !wellFormedSecret(refresh) {
		return nil, errInvalidGrant
	}
	now := s.clock.Now()
	var t *Tokens
	var reused bool
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		old, u, err := s.rotateRefresh(ctx, tx, refresh, "", mayUseAPI, now)
		if errors.Is(err, airlock.ErrNotFound) {
			reused, err = s.reusedRefresh(ctx, tx, refresh, "", now, m)
			return err
		}
		if err != nil || old == nil {
			return err
		}
		t, err = s.issueTokens(ctx, tx, u, old.FamilyID, now)
		return err
	})
	if err == errNotThisClient {
		return nil, errInvalidGrant
	}
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	if reused {
		s.log.Warn("rotated refresh token presented again: token family revoked", "ip", m.IP)
	}
	if t == nil {
		return nil, errInvalidGrant
	}
	return t, nil
}

// rotateRefresh uses a refresh token of the sign-ins of clientID ("": the
// JSON API's) in tx, for a new pair, and returns it with its user: of
// concurrent uses one wins (the others get airlock.ErrNotFound). A token
// of another front or application is errNotThisClient, and the caller's
// transaction rolls back, so it stays its holder's. A family revoked, a
// user gone or no longer allowed (may, for the family's epoch) gives
// nil: the sign-in outlived a change of rights, and it ends.
func (s *Service) rotateRefresh(ctx context.Context, tx airlock.Tx, refresh, clientID string,
	may func(*airlock.User, int64, time.Time) bool, now time.Time) (*airlock.APIToken, *airlock.User, error) {
	old, err := tx.UseRefreshToken(ctx, secretHash(refresh), now)
	if err != nil {
		return nil, nil, err
	}
	if old.Family.ClientID != clientID {
		return nil, nil, errNotThisClient
	}
	if !old.FamilyRevokedAt.IsZero() {
		return nil, nil, nil
	}
	u, err := tx.UserByID(ctx, old.UserID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !may(u, old.FamilyEpoch, now) {
		_, err := tx.RevokeTokenFamily(ctx, old.FamilyID, now)
		return nil, nil, err
	}
	return old, u, nil
}

// reusedRefresh applies the reuse rule to a refresh token that could not
// be used, in tx: a token rotated within the race window (two refreshes
// at once) revokes nothing; later, it leaked, and its whole family is
// revoked. Only for the sign-ins of clientID ("": the JSON API's): a token
// presented to the wrong front is plainly invalid.
func (s *Service) reusedRefresh(ctx context.Context, tx airlock.Tx, refresh, clientID string, now time.Time, m Meta) (bool, error) {
	prev, err := tx.APITokenByHash(ctx, secretHash(refresh))
	if err != nil || prev.Kind != airlock.TokenRefresh || prev.UsedAt.IsZero() || !prev.FamilyRevokedAt.IsZero() || prev.Family.ClientID != clientID {
		return false, nil // unknown, expired, revoked or another front's: plainly invalid
	}
	m.ActorID = prev.UserID
	if now.Sub(prev.UsedAt) < refreshRaceWindow {
		// Two refreshes of one token at once: the loser gets
		// invalid_grant, the winner keeps its new pair.
		return false, s.auditOnce(ctx, tx, "raced:family:"+prev.FamilyID, refreshRaceWindow, now, airlock.AuditSignIn, m, prev.UserID, "", "refused", "api_raced")
	}
	n, err := tx.RevokeTokenFamily(ctx, prev.FamilyID, now)
	if err != nil {
		return false, err
	}
	return true, s.audit(ctx, tx, airlock.AuditSessionsRevoked, m, prev.UserID, "", "refresh_token_reuse", "tokens", n)
}

// refreshReused is reusedRefresh in a transaction of its own.
func (s *Service) refreshReused(ctx context.Context, refresh, clientID string, m Meta) error {
	var reused bool
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		var err error
		reused, err = s.reusedRefresh(ctx, tx, refresh, clientID, s.clock.Now(), m)
		return err
	})
	if reused {
		s.log.Warn("rotated refresh token presented again: token family revoked", "ip", m.IP)
	}
	return err
}

// RevokeAPIToken revokes an access or refresh token (RFC 7009); revoking a
// refresh token ends its whole sign-in. Unknown tokens are not an error.
func (s *Service) RevokeAPIToken(ctx context.Context, token string, m Meta) error {
	return s.revokeToken(ctx, token, "", "api_signed_out", m)
}

// revokeToken revokes a token of the sign-ins of clientID ("": the JSON
// API's); any other is left alone, as unknown.
func (s *Service) revokeToken(ctx context.Context, token, clientID, detail string, m Meta) error {
	if !wellFormedSecret(token) {
		return nil
	}
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		t, err := tx.APITokenByHash(ctx, secretHash(token))
		if errors.Is(err, airlock.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if t.Family.ClientID != clientID {
			return nil // another front's or application's token: not the caller's to end
		}
		if !t.FamilyRevokedAt.IsZero() || t.Kind == airlock.TokenAccess && !t.RevokedAt.IsZero() {
			return nil // nothing left to end: no event either (SPEC §6.14)
		}
		if t.Kind == airlock.TokenRefresh {
			if _, err := tx.RevokeTokenFamily(ctx, t.FamilyID, now); err != nil {
				return err
			}
		} else if err := tx.RevokeAPIToken(ctx, t.Hash, now); err != nil {
			return err
		}
		m.ActorID = t.UserID
		return s.audit(ctx, tx, airlock.AuditSignOut, m, t.UserID, "", "success", detail)
	})
}

var errBadBearer = &airlock.Error{Code: airlock.CodeUnauthorized, Key: "error.bad_bearer"}

// AuthenticateAPI returns the user of an access token. The token works
// only while its family is not revoked and the user's current state still
// allows it: same AuthEpoch as the family, active, in the mobile or admin
// group, no expired temporary password.
func (s *Service) AuthenticateAPI(ctx context.Context, access string) (*airlock.User, error) {
	if !wellFormedSecret(access) {
		return nil, errBadBearer
	}
	t, err := s.store.APITokenByHash(ctx, secretHash(access))
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errBadBearer
	}
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	// An application's access token is a JWT; its id (jti) is readable by
	// whoever holds the JWT, so it must never work as a bearer here.
	if t.Kind != airlock.TokenAccess || t.Family.ClientID != "" || !t.RevokedAt.IsZero() || !t.FamilyRevokedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return nil, errBadBearer
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errBadBearer
	}
	if err != nil {
		return nil, err
	}
	if !mayUseAPI(u, t.FamilyEpoch, now) {
		return nil, errBadBearer
	}
	return u, nil
}

// LegacyClientID is the built-in application of the app versions that
// sign in with the password grant (migration 16 adds it): a request with
// no client_id, or one that names no registered application, is its (the
// client_id was accepted and ignored before applications existed).
const LegacyClientID = "mobile"

var errPasswordGrantOff = &airlock.Error{Code: airlock.CodeForbidden, Detail: "password_grant", Key: "error.api.password_grant_off"}

// passwordGrantAllowed is the one rule for who may still use the password
// grant (RFC 9700 §2.4 says it must not be used): an application that has
// the grant, the built-in one for requests that name none. Removing that
// application, or its grant, turns the grant off for existing app versions.
func (s *Service) passwordGrantAllowed(ctx context.Context, clientID string) error {
	var c *airlock.Client
	var err error
	if clientID != "" && len(clientID) <= 200 {
		c, err = s.store.ClientByID(ctx, clientID)
	}
	if c == nil && (err == nil || errors.Is(err, airlock.ErrNotFound)) {
		c, err = s.store.ClientByID(ctx, LegacyClientID)
	}
	switch {
	case errors.Is(err, airlock.ErrNotFound):
		return errPasswordGrantOff
	case err != nil:
		return err
	case !c.Allows(airlock.GrantPassword):
		return errPasswordGrantOff
	}
	return nil
}
