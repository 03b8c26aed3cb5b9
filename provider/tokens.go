package provider

// The token endpoint's grants. The op package checks each request (the
// client, the code and its PKCE verifier, the refresh token, the scopes)
// with its own functions, as it does when it answers; Airlock makes the
// answer, because the op package signs every JWT with typ "JWT", and RFC
// 9068 §2.1 says an access token's header says "at+jwt" (so that a
// resource server cannot be handed an ID token, or another JWT of the
// same issuer, as an access token).

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/crypto"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// accessTokenType is the JOSE header's typ of an access token (RFC 9068 §2.1).
const accessTokenType = "at+jwt"

// tokenGrants is the op package's HTTP interceptor that answers the token
// endpoint's grants that issue access tokens; the other requests (and the
// grants Airlock does not serve, which the op package refuses) go on to
// the op package. Inside the op package's router, a token request has
// the same CORS answer and issuer as before.
func (p *Provider) tokenGrants(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != PathToken {
			next.ServeHTTP(w, r)
			return
		}
		switch oidc.GrantType(r.FormValue("grant_type")) {
		case oidc.GrantTypeCode:
			p.codeExchange(w, r)
		case oidc.GrantTypeRefreshToken:
			p.refreshExchange(w, r)
		case oidc.GrantTypeClientCredentials:
			p.clientCredentialsExchange(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// codeExchange is op.CodeExchange with Airlock's answer.
func (p *Provider) codeExchange(w http.ResponseWriter, r *http.Request) {
	req, err := op.ParseAccessTokenRequest(r, p.op.Decoder())
	if err == nil && req.Code == "" {
		err = oidc.ErrInvalidRequest().WithDescription("code missing")
	}
	var authReq op.AuthRequest
	var c op.Client
	if err == nil {
		authReq, c, err = op.ValidateAccessTokenRequest(r.Context(), req, p.op)
	}
	var resp *oidc.AccessTokenResponse
	if err == nil {
		resp, err = p.tokenResponse(r.Context(), authReq, c, req.Code, "", true)
	}
	p.answer(w, r, resp, err)
}

// refreshExchange is op.RefreshTokenExchange with Airlock's answer.
func (p *Provider) refreshExchange(w http.ResponseWriter, r *http.Request) {
	req, err := op.ParseRefreshTokenRequest(r, p.op.Decoder())
	var refreshReq op.RefreshTokenRequest
	var c op.Client
	if err == nil {
		refreshReq, c, err = op.ValidateRefreshTokenRequest(r.Context(), req, p.op)
	}
	var resp *oidc.AccessTokenResponse
	if err == nil {
		resp, err = p.tokenResponse(r.Context(), refreshReq, c, "", req.RefreshToken, true)
	}
	p.answer(w, r, resp, err)
}

// clientCredentialsExchange is op.ClientCredentialsExchange with
// Airlock's answer: an access token only.
func (p *Provider) clientCredentialsExchange(w http.ResponseWriter, r *http.Request) {
	req, err := op.ParseClientCredentialsRequest(r, p.op.Decoder())
	var tokenReq op.TokenRequest
	var c op.Client
	if err == nil {
		tokenReq, c, err = op.ValidateClientCredentialsRequest(r.Context(), req, p.op)
	}
	var resp *oidc.AccessTokenResponse
	if err == nil {
		resp, err = p.tokenResponse(r.Context(), tokenReq, c, "", "", false)
	}
	p.answer(w, r, resp, err)
}

// answer writes the token response, or the error in the op package's way.
func (p *Provider) answer(w http.ResponseWriter, r *http.Request, resp *oidc.AccessTokenResponse, err error) {
	if err != nil {
		op.RequestError(w, r, err, nil)
		return
	}
	httphelper.MarshalJSON(w, resp)
}

// tokenResponse is op.CreateTokenResponse (without an ID token, op.
// CreateClientCredentialsTokenResponse) with the access token signed as
// RFC 9068 says: the storage issues the tokens (the code's single use,
// refresh rotation and families are account's), the access token is
// signed with typ at+jwt, and the ID token is made with that very access
// token, so that its at_hash is the returned token's.
func (p *Provider) tokenResponse(ctx context.Context, req op.TokenRequest, c op.Client, code, refresh string, withIDToken bool) (*oidc.AccessTokenResponse, error) {
	var id, newRefresh string
	var exp time.Time
	var err error
	if needsRefresh(req, c) {
		id, newRefresh, exp, err = p.storage.CreateAccessAndRefreshTokens(ctx, req, refresh)
	} else {
		id, exp, err = p.storage.CreateAccessToken(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	access, err := p.accessToken(ctx, req, c, id, exp)
	if err != nil {
		return nil, err
	}
	resp := &oidc.AccessTokenResponse{
		AccessToken:  access,
		RefreshToken: newRefresh,
		TokenType:    oidc.BearerToken,
		// exp comes from the injected clock: so does what is left of it.
		ExpiresIn: uint64(max(exp.Add(c.ClockSkew()).Sub(p.storage.accounts.Now()), 0).Seconds()),
		Scope:     req.GetScopes(),
	}
	if !withIDToken {
		return resp, nil // a service's token
	}
	idReq, ok := req.(op.IDTokenRequest)
	if !ok {
		return nil, fmt.Errorf("token request %T: no ID token", req)
	}
	resp.IDToken, err = op.CreateIDToken(ctx, op.IssuerFromContext(ctx), idReq, c.IDTokenLifetime(), access, code, p.storage, c)
	if err != nil {
		return nil, err
	}
	if a, ok := req.(op.AuthRequest); ok {
		if err := p.storage.DeleteAuthRequest(ctx, a.GetID()); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// needsRefresh is the op package's choice of whether a token response
// carries a refresh token: a code exchange that asked for offline_access
// by a client allowed the refresh grant, and every refresh.
func needsRefresh(req op.TokenRequest, c op.Client) bool {
	switch r := req.(type) {
	case op.AuthRequest:
		return slices.Contains(r.GetScopes(), oidc.ScopeOfflineAccess) && r.GetResponseType() == oidc.ResponseTypeCode &&
			op.ValidateGrantType(c, oidc.GrantTypeRefreshToken)
	case op.RefreshTokenRequest:
		return true
	}
	return false
}

// accessToken signs the access token of id (op.CreateJWT's claims: RFC
// 9068's, with GetPrivateClaimsFromRequest's scope, amr, auth_time and
// groups) with the key the client's algorithm signs with now, and typ
// at+jwt.
func (p *Provider) accessToken(ctx context.Context, req op.TokenRequest, c op.Client, id string, exp time.Time) (string, error) {
	claims := oidc.NewAccessTokenClaims(op.IssuerFromContext(ctx), req.GetSubject(), req.GetAudience(), exp, id, c.GetID(), c.ClockSkew())
	// Airlock's GetPrivateClaimsFromRequest reads the request's scopes, not
	// the scopes op.CreateJWT would pass it.
	private, err := p.storage.GetPrivateClaimsFromRequest(ctx, req, nil)
	if err != nil {
		return "", err
	}
	claims.Claims = private
	key, err := p.storage.SigningKey(ctx)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.SignatureAlgorithm(), Key: &jose.JSONWebKey{Key: key.Key(), KeyID: key.ID()}},
		(&jose.SignerOptions{}).WithType(accessTokenType))
	if err != nil {
		return "", fmt.Errorf("access token signer: %w", err)
	}
	return crypto.Sign(claims, signer)
}
