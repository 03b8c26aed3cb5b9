package provider

// storage is what the op package asks of Airlock: every decision is
// account's; this file translates between the two.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

type storage struct {
	accounts *account.Service
	keys     *Keys
	store    airlock.Store
	loginURL string
}

var _ op.Storage = (*storage)(nil)
var _ op.ClientCredentialsStorage = (*storage)(nil)
var _ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)

// params are the authorization request's parameters kept while the person
// signs in.
type params struct {
	RedirectURI         string                   `json:"redirect_uri"`
	Scopes              []string                 `json:"scopes"`
	State               string                   `json:"state,omitempty"`
	Nonce               string                   `json:"nonce,omitempty"`
	ResponseType        oidc.ResponseType        `json:"response_type"`
	CodeChallenge       string                   `json:"code_challenge,omitempty"`
	CodeChallengeMethod oidc.CodeChallengeMethod `json:"code_challenge_method,omitempty"`
}

// authRequest is an authorization request as the op package sees it.
type authRequest struct {
	a *airlock.Authorization
	p params
}

func newAuthRequest(a *airlock.Authorization) (*authRequest, error) {
	r := &authRequest{a: a}
	if err := json.Unmarshal(a.Request, &r.p); err != nil {
		return nil, fmt.Errorf("read authorization request: %w", err)
	}
	return r, nil
}

func (r *authRequest) GetID() string { return r.a.ID }

// GetACR says how the person signed in: "2" with two-step sign-in or a
// passkey (a key held by the person, who was verified), "1" with a
// password only.
func (r *authRequest) GetACR() string {
	if slices.Contains(r.a.AMR, "otp") || slices.Contains(r.a.AMR, "user") {
		return "2"
	}
	return "1"
}
func (r *authRequest) GetAMR() []string                   { return r.a.AMR }
func (r *authRequest) GetAudience() []string              { return []string{r.a.ClientID} }
func (r *authRequest) GetAuthTime() time.Time             { return r.a.AuthTime }
func (r *authRequest) GetClientID() string                { return r.a.ClientID }
func (r *authRequest) GetNonce() string                   { return r.p.Nonce }
func (r *authRequest) GetRedirectURI() string             { return r.p.RedirectURI }
func (r *authRequest) GetResponseType() oidc.ResponseType { return r.p.ResponseType }
func (r *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseModeQuery }
func (r *authRequest) GetScopes() []string                { return r.p.Scopes }
func (r *authRequest) GetState() string                   { return r.p.State }
func (r *authRequest) GetSubject() string                 { return r.a.UserID }
func (r *authRequest) Done() bool                         { return !r.a.DoneAt.IsZero() }
func (r *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if r.p.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: r.p.CodeChallenge, Method: r.p.CodeChallengeMethod}
}

// grantRequest is a token request of a refresh token or of a service.
type grantRequest struct {
	g       account.AppGrant
	subject string
}

func (r *grantRequest) GetAMR() []string             { return r.g.AMR }
func (r *grantRequest) GetAudience() []string        { return []string{r.g.ClientID} }
func (r *grantRequest) GetAuthTime() time.Time       { return r.g.AuthTime }
func (r *grantRequest) GetClientID() string          { return r.g.ClientID }
func (r *grantRequest) GetScopes() []string          { return r.g.Scopes }
func (r *grantRequest) GetSubject() string           { return r.subject }
func (r *grantRequest) SetCurrentScopes(sc []string) { r.g.Scopes = sc }

func meta(ctx context.Context) account.Meta {
	if m, ok := ctx.Value(metaKey{}).(account.Meta); ok {
		return m
	}
	return account.Meta{}
}

type metaKey struct{}

// CreateAuthRequest keeps a validated authorization request. PKCE with
// S256 is required of public clients and "plain" is refused of everyone:
// a public client has no secret, so only PKCE binds the code to the app
// that asked for it (RFC 9700 §2.1.1).
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.accounts.Client(ctx, req.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient()
	}
	if !c.Allows(airlock.GrantAuthorizationCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("this application may not use the authorization code grant")
	}
	if req.CodeChallenge == "" && c.Public() {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge is required (PKCE, S256)")
	}
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		// The iss parameter (RFC 9207) is added to query responses.
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	if req.ResponseType != oidc.ResponseTypeCode {
		return nil, oidc.ErrInvalidRequest().WithDescription("response_type must be code")
	}
	if !exactRedirect(c, req.RedirectURI) {
		// Never redirected to: an error page instead.
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri is not registered")
	}
	// Kept for the request's life: bounded, so that no one can make
	// another's database grow with a request (the rows are limited per
	// address too).
	if len(req.State) > 1024 || len(req.Nonce) > 1024 || len(req.Scopes) > 20 || len(req.LoginHint) > 320 {
		return nil, oidc.ErrInvalidRequest().WithDescription("state and nonce hold at most 1024 bytes, scope at most 20 values")
	}
	b, err := json.Marshal(params{RedirectURI: req.RedirectURI, Scopes: req.Scopes, State: req.State, Nonce: req.Nonce,
		ResponseType: req.ResponseType, CodeChallenge: req.CodeChallenge, CodeChallengeMethod: req.CodeChallengeMethod})
	if err != nil {
		return nil, err
	}
	a := &airlock.Authorization{ClientID: c.ID, Request: b, LoginHint: req.LoginHint, Prompt: req.Prompt, MaxAge: -1}
	if airlock.CheckEmail(a.LoginHint) != nil {
		a.LoginHint = "" // only an address is offered on the sign-in page
	}
	if req.MaxAge != nil {
		a.MaxAge = time.Duration(*req.MaxAge) * time.Second
	}
	if err := s.accounts.StartAuthorization(ctx, a, meta(ctx)); err != nil {
		if airlock.ErrorCode(err) == airlock.CodeRateLimited {
			return nil, oidc.ErrServerError().WithDescription("too many sign-in requests from this address: try again later")
		}
		return nil, err
	}
	return newAuthRequest(a)
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, _, err := s.accounts.Authorization(ctx, id)
	if err != nil {
		return nil, oauthError(err)
	}
	return newAuthRequest(a)
}

// AuthRequestByCode reads the code's request: unused, within 60 s
// (account.CodeAuthorization); the exchange that issues tokens uses it.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	a, err := s.accounts.CodeAuthorization(ctx, code, meta(ctx))
	if err != nil {
		return nil, oauthError(err)
	}
	return newAuthRequest(a)
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return oauthError(s.accounts.SaveCode(ctx, id, code))
}

// oauthError says an account error in OAuth's words, with no internal
// detail in its description: a refused grant is invalid_grant, an unknown
// client invalid_client, a request gone invalid_request.
func oauthError(err error) error {
	if err == nil {
		return nil
	}
	var oe *oidc.Error
	if errors.As(err, &oe) {
		return err
	}
	switch airlock.ErrorCode(err) {
	case airlock.CodeInvalidToken:
		return oidc.ErrInvalidGrant().WithParent(err)
	case airlock.CodeNotFound:
		if e := airlock.AsError(err); e != nil && e.Key == "error.client.not_found" {
			return oidc.ErrInvalidClient().WithDescription("unknown client").WithParent(err)
		}
		return oidc.ErrInvalidRequest().WithDescription("this sign-in request has expired or was already answered").WithParent(err)
	case airlock.CodeUnauthorized:
		return oidc.ErrInvalidClient().WithDescription("client authentication failed").WithParent(err)
	case airlock.CodeInvalid:
		return oidc.ErrInvalidRequest().WithDescription("invalid request").WithParent(err)
	}
	return err
}

// DeleteAuthRequest keeps the request: it must outlive its code's exchange
// so that the code presented again revokes what it issued. Requests are
// deleted when they expire.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// grantOf is the grant a token request stands for.
func grantOf(req op.TokenRequest) (account.AppGrant, bool) {
	switch r := req.(type) {
	case *authRequest:
		return account.AppGrant{ClientID: r.a.ClientID, UserID: r.a.UserID, Scopes: r.p.Scopes, AMR: r.a.AMR,
			AuthTime: r.a.AuthTime, AuthorizationID: r.a.ID}, true
	case *grantRequest:
		return r.g, r.g.UserID != ""
	}
	return account.AppGrant{}, false
}

// CreateAccessToken issues an access token without a refresh token. A
// service's token (client_credentials) has no person behind it: it is not
// stored, and works until it expires while the client exists.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, person := grantOf(req)
	if !person {
		id, err := randomID()
		return id, s.accounts.Now().Add(account.AppAccessTokenTTL), err
	}
	t, err := s.accounts.IssueAppTokens(ctx, g, meta(ctx))
	if err != nil {
		return "", time.Time{}, err
	}
	return t.AccessID, t.ExpiresAt, nil
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	g, person := grantOf(req)
	if !person {
		return "", "", time.Time{}, oidc.ErrInvalidGrant()
	}
	var t *account.AppTokens
	var err error
	if current == "" {
		g.Refresh = true
		t, err = s.accounts.IssueAppTokens(ctx, g, meta(ctx))
	} else {
		t, err = s.accounts.RefreshAppTokens(ctx, g.ClientID, current, g.Scopes, meta(ctx))
	}
	if err != nil {
		if airlock.ErrorCode(err) == airlock.CodeInvalidToken {
			return "", "", time.Time{}, oidc.ErrInvalidGrant()
		}
		return "", "", time.Time{}, err
	}
	return t.AccessID, t.Refresh, t.ExpiresAt, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, refresh string) (op.RefreshTokenRequest, error) {
	g, err := s.accounts.AppRefreshGrant(ctx, refresh, meta(ctx))
	if err != nil {
		return nil, oauthError(err)
	}
	return &grantRequest{g: *g, subject: g.UserID}, nil
}

// TerminateSession ends the browser's Airlock session (RP-initiated
// logout), when it is the session of the user the ID token names.
func (s *storage) TerminateSession(ctx context.Context, userID, _ string) error {
	sid, _ := ctx.Value(sessionKey{}).(string)
	if sid == "" || userID == "" {
		return nil
	}
	u, err := s.accounts.Authenticate(ctx, sid)
	if err != nil || u.ID != userID {
		return nil // not this person's session: nothing of theirs to end
	}
	return s.accounts.SignOut(ctx, sid, meta(ctx))
}

type sessionKey struct{}

func (s *storage) RevokeToken(ctx context.Context, token, _, clientID string) *oidc.Error {
	if err := s.accounts.RevokeAppToken(ctx, clientID, token, meta(ctx)); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// GetRefreshTokenInfo hands the refresh token itself on as its id, for
// RevokeToken (which checks it belongs to the client).
func (s *storage) GetRefreshTokenInfo(ctx context.Context, _ string, token string) (string, string, error) {
	g, err := s.accounts.AppRefreshGrant(ctx, token, meta(ctx))
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.UserID, token, nil
}

// SigningKey is the key of the algorithm the request's client signs with.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := jose.RS256
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok && st.alg != "" {
		alg = jose.SignatureAlgorithm(st.alg)
	}
	k, err := s.keys.signing(ctx, alg)
	if err != nil {
		return nil, err
	}
	return opSigningKey{k}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256, jose.ES256}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	ks, err := s.keys.public(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, len(ks))
	for i, k := range ks {
		out[i] = opKey{k}
	}
	return out, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.accounts.Client(ctx, id)
	if err != nil {
		return nil, oauthError(err)
	}
	noteClient(ctx, c)
	return &client{c: c, loginURL: s.loginURL}, nil
}

// requestState is what one request learns along the way: the client it
// is for, whose signing algorithm signs its tokens. The op package asks
// for the signing key without naming the client.
type requestState struct{ alg string }

type stateKey struct{}

func noteClient(ctx context.Context, c *airlock.Client) {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		st.alg = c.SigningAlg
	}
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	_, err := s.accounts.AuthenticateClient(ctx, id, secret)
	return oauthError(err)
}

func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	c, err := s.accounts.AuthenticateClient(ctx, id, secret)
	if err != nil {
		return nil, oauthError(err)
	}
	if !c.Allows(airlock.GrantClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient()
	}
	noteClient(ctx, c)
	return &client{c: c, loginURL: s.loginURL}, nil
}

// ClientCredentialsTokenRequest keeps of the scopes a service asks for
// only those Airlock grants a service (a resource server trusts a token's
// scope claim): groups, none of a person's.
func (s *storage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	var granted []string
	for _, sc := range scopes {
		if sc == scopeGroups && !slices.Contains(granted, sc) {
			granted = append(granted, sc)
		}
	}
	return &serviceRequest{clientID: id, scopes: granted}, nil
}

// serviceRequest is a service's own token request (client_credentials):
// no person, no refresh token.
type serviceRequest struct {
	clientID string
	scopes   []string
}

func (r *serviceRequest) GetSubject() string    { return r.clientID }
func (r *serviceRequest) GetAudience() []string { return []string{r.clientID} }
func (r *serviceRequest) GetScopes() []string   { return r.scopes }

// SetUserinfoFromScopes fills the ID token's claims.
func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	fillUserinfo(info, u, scopes)
	return nil
}

// SetUserinfoFromToken answers /oauth2/userinfo: only while the token, its
// sign-in and the user's rights stand (account.AppAccess).
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	u, fam, err := s.accounts.AppAccess(ctx, tokenID)
	if err != nil {
		return err
	}
	fillUserinfo(info, u, fam.Scopes)
	return nil
}

// SetIntrospectionFromToken answers /oauth2/introspect (RFC 7662) to
// caller, an authenticated client: about its own tokens, or, for a
// service (a resource server: a client with client_credentials), anyone's.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, caller string) error {
	c, err := s.accounts.Client(ctx, caller)
	if err != nil {
		return err
	}
	u, fam, err := s.accounts.AppAccess(ctx, tokenID)
	if err == nil && fam.ClientID != caller && !c.Allows(airlock.GrantClientCredentials) {
		return errors.New("inactive") // another application's token: not this caller's to read
	}
	if airlock.ErrorCode(err) == airlock.CodeUnauthorized {
		// A service's token: active while the service may still get one.
		svc, cerr := s.accounts.Client(ctx, subject)
		if cerr != nil || !svc.Allows(airlock.GrantClientCredentials) || (svc.ID != caller && !c.Allows(airlock.GrantClientCredentials)) {
			return errors.New("inactive")
		}
		resp.Subject, resp.ClientID, resp.TokenType = svc.ID, svc.ID, oidc.BearerToken
		return nil
	}
	if err != nil {
		return err
	}
	info := new(oidc.UserInfo)
	fillUserinfo(info, u, fam.Scopes)
	resp.SetUserInfo(info)
	resp.Subject, resp.ClientID, resp.Scope, resp.TokenType = u.ID, fam.ClientID, fam.Scopes, oidc.BearerToken
	resp.Audience = []string{fam.ClientID}
	return nil
}

// GetPrivateClaimsFromRequest adds to an access token what RFC 9068 says
// it carries besides the standard claims: the scopes granted, and how and
// when the person signed in; and the groups when that scope was granted.
func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	claims, err := s.GetPrivateClaimsFromScopes(ctx, req.GetSubject(), "", req.GetScopes())
	if err != nil {
		return nil, err
	}
	if claims == nil {
		claims = map[string]any{}
	}
	claims["scope"] = strings.Join(req.GetScopes(), " ")
	if g, person := grantOf(req); person {
		claims["amr"] = g.AMR
		if !g.AuthTime.IsZero() {
			claims["auth_time"] = g.AuthTime.Unix()
		}
	}
	return claims, nil
}

// GetPrivateClaimsFromScopes adds the groups to an access token when the
// groups scope was granted.
func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, _ string, scopes []string) (map[string]any, error) {
	if !slices.Contains(scopes, scopeGroups) {
		return nil, nil
	}
	u, err := s.store.UserByID(ctx, userID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, nil // a service's token: no person, no groups
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"groups": u.Groups}, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(ctx context.Context) error { return s.store.Ping(ctx) }

const scopeGroups = "groups"

// fillUserinfo sets the claims the scopes allow.
func fillUserinfo(info *oidc.UserInfo, u *airlock.User, scopes []string) {
	info.Subject = u.ID
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeEmail:
			// The organisation's administrators set every address, and the
			// password comes through them or a link sent to that address.
			info.Email, info.EmailVerified = u.Email, oidc.Bool(true)
		case oidc.ScopeProfile:
			info.GivenName, info.FamilyName = u.FirstName, u.LastName
			if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
				info.Name = n
			}
			if tag, err := language.Parse(u.Language); err == nil && u.Language != "" {
				info.Locale = oidc.NewLocale(tag)
			}
		case scopeGroups:
			info.AppendClaims("groups", u.Groups)
		}
	}
}

// exactRedirect is RFC 8252 §7.3 and §8.4 on top of the op package's
// matching: a URI registered exactly; or, for a native app, a loopback
// http URI that differs from a registered one by its port only (a valid
// port), with no user info and no fragment.
func exactRedirect(c *airlock.Client, raw string) bool {
	if slices.Contains(c.RedirectURIs, raw) {
		return true
	}
	if !c.Public() {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		return false
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port < 1 || port > 65535 {
		return false
	}
	for _, r := range c.RedirectURIs {
		reg, err := url.Parse(r)
		if err != nil || reg.Scheme != "http" || reg.Hostname() != u.Hostname() {
			continue
		}
		if ip := net.ParseIP(reg.Hostname()); (ip == nil || !ip.IsLoopback()) && reg.Hostname() != "localhost" {
			continue
		}
		if reg.Path == u.Path && reg.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}
