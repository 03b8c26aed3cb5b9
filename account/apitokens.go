package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/airlockhq/airlock"
)

// Lifetimes of the JSON API's bearer tokens (SPEC §4).
const (
	AccessTokenTTL  = time.Hour
	RefreshTokenTTL = 30 * 24 * time.Hour
)

// Tokens is what a successful token request answers.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	User         *airlock.User
}

var errInvalidGrant = &airlock.Error{Code: airlock.CodeInvalidToken, Message: "The credentials or the refresh token are not valid."}

// SignInAPI is the password grant: the user must be active and in the
// mobile group, or the admin group for the administrators' API. It is
// throttled exactly like the web sign-in.
func (s *Service) SignInAPI(ctx context.Context, email, pass string, m Meta) (*Tokens, error) {
	if err := airlock.CheckEmail(email); err != nil {
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
	if !u.HasGroup(airlock.GroupMobile) && !u.HasGroup(airlock.GroupAdmin) {
		_ = s.store.Update(ctx, func(tx airlock.Tx) error {
			return s.audit(ctx, tx, airlock.AuditSignIn, m, u.ID, u.Email, "refused", "api: not in group mobile or admin")
		})
		return nil, &airlock.Error{Code: airlock.CodeForbidden, Message: "This account may not use the mobile app: ask your administrator for the Mobile user group."}
	}
	familyID, err := newID()
	if err != nil {
		return nil, err
	}
	var t *Tokens
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		var err error
		if t, err = s.issueTokens(ctx, tx, u, familyID); err != nil {
			return err
		}
		m.ActorID = u.ID
		return s.audit(ctx, tx, airlock.AuditSignIn, m, u.ID, u.Email, "success", "api")
	})
	if err != nil {
		return nil, fmt.Errorf("issue tokens: %w", err)
	}
	return t, nil
}

func (s *Service) issueTokens(ctx context.Context, tx airlock.Tx, u *airlock.User, familyID string) (*Tokens, error) {
	now := s.clock.Now()
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
// Security Best Current Practice advises.
func (s *Service) Refresh(ctx context.Context, refresh string, m Meta) (*Tokens, error) {
	if !wellFormedSecret(refresh) {
		return nil, errInvalidGrant
	}
	now := s.clock.Now()
	var t *Tokens
	var reused bool
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		old, err := tx.UseRefreshToken(ctx, secretHash(refresh), now)
		if errors.Is(err, airlock.ErrNotFound) {
			prev, err := tx.APITokenByHash(ctx, secretHash(refresh))
			if err != nil || prev.Kind != airlock.TokenRefresh || prev.UsedAt.IsZero() {
				return nil // unknown, expired or revoked: plainly invalid
			}
			reused = true
			n, err := tx.RevokeAPITokenFamily(ctx, prev.FamilyID, now)
			if err != nil {
				return err
			}
			return s.audit(ctx, tx, airlock.AuditSessionsRevoked, m, prev.UserID, "", "refresh_token_reuse", fmt.Sprintf("%d tokens", n))
		}
		if err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, old.UserID)
		if err != nil {
			return err
		}
		if !u.Active {
			return nil
		}
		t, err = s.issueTokens(ctx, tx, u, old.FamilyID)
		return err
	})
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

// RevokeAPIToken revokes an access or refresh token (RFC 7009); revoking a
// refresh token ends its whole sign-in. Unknown tokens are not an error.
func (s *Service) RevokeAPIToken(ctx context.Context, token string, m Meta) error {
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
		if t.Kind == airlock.TokenRefresh {
			if _, err := tx.RevokeAPITokenFamily(ctx, t.FamilyID, now); err != nil {
				return err
			}
		} else if err := tx.RevokeAPIToken(ctx, t.Hash, now); err != nil {
			return err
		}
		m.ActorID = t.UserID
		return s.audit(ctx, tx, airlock.AuditSignOut, m, t.UserID, "", "success", "api: "+t.Kind+" token revoked")
	})
}

var errBadBearer = &airlock.Error{Code: airlock.CodeUnauthorized, Message: "Missing, expired or revoked access token."}

// AuthenticateAPI returns the user of an access token.
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
	if t.Kind != airlock.TokenAccess || !t.RevokedAt.IsZero() || !s.clock.Now().Before(t.ExpiresAt) {
		return nil, errBadBearer
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	if !u.Active {
		return nil, errBadBearer
	}
	return u, nil
}
