package account

// The tokens of an application's sign-in: issued for a code, rotated,
// checked, revoked.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/airlockhq/airlock"
)

// AppGrant is what an application's tokens are issued for.
type AppGrant struct {
	ClientID string
	UserID   string
	Scopes   []string
	AMR      []string
	AuthTime time.Time
	// AuthorizationID is the request whose code is exchanged, if any.
	AuthorizationID string
	// Refresh asks for a refresh token too (offline_access).
	Refresh bool
}

// AppTokens is what IssueAppTokens and RefreshAppTokens return: the access
// token's id (its jti), the refresh token if any, and the grant.
type AppTokens struct {
	AccessID  string
	Refresh   string
	ExpiresAt time.Time
	Grant     AppGrant
}

// IssueAppTokens starts an application's sign-in: a token family bound to
// the user's current auth epoch, its access token and, when asked, a
// refresh token. The user must still be allowed to sign in.
func (s *Service) IssueAppTokens(ctx context.Context, g AppGrant, m Meta) (*AppTokens, error) {
	familyID, err := newID()
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var t *AppTokens
	var raced *airlock.Authorization
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		if g.AuthorizationID != "" {
			// The code is used here, in the transaction that issues: of
			// concurrent exchanges exactly one issues tokens.
			won, err := tx.UseAuthorizationCode(ctx, g.AuthorizationID, now)
			if err != nil {
				return err
			}
			if !won {
				// Another exchange won (it committed before this statement
				// returned): a code presented twice leaked, and what the
				// winner got is revoked below, outside this transaction.
				raced, err = tx.AuthorizationByID(ctx, g.AuthorizationID)
				if err != nil {
					return err
				}
				return errBadAuthCode
			}
		}
		u, err := tx.UserByID(ctx, g.UserID)
		if errors.Is(err, airlock.ErrNotFound) {
			return errBadAuthCode
		}
		if err != nil {
			return err
		}
		if !stillValid(u, u.AuthEpoch, now) {
			return errBadAuthCode
		}
		if err := tx.CreateTokenFamily(ctx, &airlock.TokenFamily{ID: familyID, UserID: u.ID, AuthEpoch: u.AuthEpoch,
			CreatedAt: now, ExpiresAt: now.Add(RefreshTokenTTL), ClientID: g.ClientID, Scopes: g.Scopes, AMR: g.AMR,
			AuthTime: g.AuthTime}); err != nil {
			return err
		}
		if g.AuthorizationID != "" {
			if err := tx.SetAuthorizationFamily(ctx, g.AuthorizationID, familyID); err != nil {
				return err
			}
		}
		t, err = s.issueAppPair(ctx, tx, u.ID, familyID, g, now)
		return err
	})
	if raced != nil {
		if rerr := s.revokeCodeTokens(ctx, raced, now, m); rerr != nil {
			return nil, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// issueAppPair adds an access token (and a refresh token when the grant
// asks for one) to a family.
func (s *Service) issueAppPair(ctx context.Context, tx airlock.Tx, userID, familyID string, g AppGrant, now time.Time) (*AppTokens, error) {
	jti, err := newSecret()
	if err != nil {
		return nil, err
	}
	t := &AppTokens{AccessID: jti, ExpiresAt: now.Add(AppAccessTokenTTL), Grant: g}
	if err := tx.InsertAPIToken(ctx, &airlock.APIToken{Hash: secretHash(jti), Kind: airlock.TokenAccess, UserID: userID,
		FamilyID: familyID, CreatedAt: now, ExpiresAt: t.ExpiresAt}); err != nil {
		return nil, err
	}
	if g.Refresh {
		if t.Refresh, err = newSecret(); err != nil {
			return nil, err
		}
		if err := tx.InsertAPIToken(ctx, &airlock.APIToken{Hash: secretHash(t.Refresh), Kind: airlock.TokenRefresh, UserID: userID,
			FamilyID: familyID, CreatedAt: now, ExpiresAt: now.Add(RefreshTokenTTL)}); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// AppRefreshGrant returns the grant of an application's refresh token
// without using it, applying the reuse rule of Refresh: a rotated token
// presented again after the race window revokes its whole family.
func (s *Service) AppRefreshGrant(ctx context.Context, refresh string, m Meta) (*AppGrant, error) {
	if !wellFormedSecret(refresh) {
		return nil, errInvalidGrant
	}
	now := s.clock.Now()
	t, err := s.store.APITokenByHash(ctx, secretHash(refresh))
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errInvalidGrant
	}
	if err != nil {
		return nil, err
	}
	// A token of the JSON API is not an application's to use; the provider
	// checks that the grant's client is the one asking.
	if t.Kind != airlock.TokenRefresh || t.Family.ClientID == "" {
		return nil, errInvalidGrant
	}
	if !t.UsedAt.IsZero() {
		if err := s.refreshReused(ctx, refresh, t.Family.ClientID, m); err != nil {
			return nil, err
		}
		return nil, errInvalidGrant
	}
	if !t.RevokedAt.IsZero() || !t.FamilyRevokedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return nil, errInvalidGrant
	}
	return &AppGrant{ClientID: t.Family.ClientID, UserID: t.UserID, Scopes: t.Family.Scopes, AMR: t.Family.AMR,
		AuthTime: t.Family.AuthTime, Refresh: true}, nil
}

// RefreshAppTokens rotates an application's refresh token: of concurrent
// uses one wins; the family, the user and the user's rights are checked in
// the transaction that issues the new pair (as Refresh does).
func (s *Service) RefreshAppTokens(ctx context.Context, clientID, refresh string, scopes []string, m Meta) (*AppTokens, error) {
	if !wellFormedSecret(refresh) {
		return nil, errInvalidGrant
	}
	now := s.clock.Now()
	var t *AppTokens
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		old, u, err := s.rotateRefresh(ctx, tx, refresh, clientID, stillValid, now)
		if err != nil || old == nil {
			return err // used meanwhile by a concurrent refresh, or no longer valid
		}
		g := AppGrant{ClientID: clientID, UserID: u.ID, Scopes: old.Family.Scopes, AMR: old.Family.AMR,
			AuthTime: old.Family.AuthTime, Refresh: true}
		if len(scopes) > 0 {
			g.Scopes = scopes // narrowed by the request (the provider checked they were granted)
		}
		t, err = s.issueAppPair(ctx, tx, u.ID, old.FamilyID, g, now)
		return err
	})
	if err == errNotThisClient || errors.Is(err, airlock.ErrNotFound) {
		return nil, errInvalidGrant
	}
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	if t == nil {
		return nil, errInvalidGrant
	}
	return t, nil
}

// errNotThisClient: a refresh token of another application, or of the
// JSON API, presented by this one.
var errNotThisClient = errors.New("refresh token of another client")

// AppAccess returns the user and the sign-in of an application's access
// token (by its jti): only while the token, its family and the user's
// rights all still stand. Userinfo and introspection ask this, so that a
// revocation ends their answers at once.
func (s *Service) AppAccess(ctx context.Context, jti string) (*airlock.User, *airlock.TokenFamily, error) {
	if !wellFormedSecret(jti) {
		return nil, nil, errBadBearer
	}
	t, err := s.store.APITokenByHash(ctx, secretHash(jti))
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, nil, errBadBearer
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.clock.Now()
	if t.Kind != airlock.TokenAccess || t.Family.ClientID == "" || !t.RevokedAt.IsZero() || !t.FamilyRevokedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return nil, nil, errBadBearer
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, nil, errBadBearer
	}
	if err != nil {
		return nil, nil, err
	}
	if !stillValid(u, t.FamilyEpoch, now) {
		return nil, nil, errBadBearer
	}
	return u, t.Family, nil
}

// RevokeAppToken revokes an application's access token (by jti) or
// refresh token (RFC 7009), only if it was issued to clientID; revoking a
// refresh token ends the whole sign-in. Unknown tokens are not an error.
func (s *Service) RevokeAppToken(ctx context.Context, clientID, token string, m Meta) error {
	if !wellFormedSecret(token) {
		return nil
	}
	if clientID == "" {
		return nil
	}
	// Another client's token is left alone, answered as unknown: RFC 7009
	// §2.1 says refuse; saying nothing tells nothing.
	return s.revokeToken(ctx, token, clientID, "app_signed_out", m)
}
