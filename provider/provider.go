// Package provider makes Airlock an OpenID Provider. The protocol is
// spoken by github.com/zitadel/oidc/v3's op package; what it asks of
// Airlock (who may sign in, what a token carries, whether it still works)
// is answered by package account. The sign-in pages are the web front's:
// an authorization request waits at /oauth2/continue until its person has
// signed in (two-step sign-in, a forced change of password or a forgotten
// password included) and, for another party's application, consented.
package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// The provider's paths (SPEC §4).
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathAuthorize  = "/oauth2/authorize"
	PathCallback   = "/oauth2/authorize/callback"
	PathToken      = "/oauth2/token"
	PathUserinfo   = "/oauth2/userinfo"
	PathRevoke     = "/oauth2/revoke"
	PathIntrospect = "/oauth2/introspect"
	PathLogout     = "/oauth2/logout"
	PathKeys       = "/oauth2/keys"
	// PathContinue is the web front's page where a request waits for its
	// person (the op package's "login URL").
	PathContinue = "/oauth2/continue"
)

// maxBody bounds a request's body: 64 KiB is far more than any of the
// provider's forms.
const maxBody = 64 << 10

// Config is the provider's wiring.
type Config struct {
	// Issuer is AIRLOCK_PUBLIC_URL: the iss of every token.
	Issuer         string
	TrustedProxies []netip.Prefix
	// SessionID returns the browser's Airlock session id ("" for none),
	// for RP-initiated logout.
	SessionID func(*http.Request) string
	Log       *slog.Logger
}

// Provider is the OpenID Provider's HTTP surface.
type Provider struct {
	cfg     Config
	op      *op.Provider
	storage *storage
	mux     *http.ServeMux
}

// New returns the provider. keys must hold a signing key (Keys.Ensure).
func New(cfg Config, accounts *account.Service, store airlock.Store, keys *Keys) (*Provider, error) {
	st := &storage{accounts: accounts, keys: keys, store: store, loginURL: PathContinue}
	p := &Provider{cfg: cfg, storage: st, mux: http.NewServeMux()}
	var cryptoKey [32]byte
	// The op package would encrypt opaque access tokens with this key;
	// Airlock issues JWTs and never decrypts one, so a random key per
	// process means no one, anywhere, can make a token it would accept.
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, err
	}
	conf := &op.Config{
		CryptoKey: cryptoKey,
		// A logout without a known application goes home: the web front
		// shows the account, or the sign-in page.
		DefaultLogoutRedirectURI: "/",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English, language.French},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile, scopeGroups, oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "azp",
			"name", "given_name", "family_name", "locale", "email", "email_verified", "groups"},
	}
	opts := []op.Option{
		op.WithCustomAuthEndpoint(op.NewEndpoint(strings.TrimPrefix(PathAuthorize, "/"))),
		op.WithCustomTokenEndpoint(op.NewEndpoint(strings.TrimPrefix(PathToken, "/"))),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(strings.TrimPrefix(PathUserinfo, "/"))),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(strings.TrimPrefix(PathRevoke, "/"))),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(strings.TrimPrefix(PathIntrospect, "/"))),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(strings.TrimPrefix(PathLogout, "/"))),
		op.WithCustomKeysEndpoint(op.NewEndpoint(strings.TrimPrefix(PathKeys, "/"))),
		// Token requests carry no cookie: any origin may call them, never
		// with credentials.
		// Both algorithms the keys offer, for userinfo's and introspection's
		// own checks of the tokens.
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms("RS256", "ES256")),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms("RS256", "ES256")),
		op.WithCORSOptions(&cors.Options{AllowedOrigins: []string{"*"}, AllowedMethods: []string{http.MethodGet, http.MethodPost},
			AllowedHeaders: []string{"Authorization", "Content-Type"}}),
		// Access tokens with typ at+jwt (tokens.go).
		op.WithHttpInterceptors(p.tokenGrants),
	}
	if u, err := url.Parse(cfg.Issuer); err == nil && u.Scheme == "http" {
		// A loopback public URL (development) is plain http; serve refuses
		// any other http public URL.
		opts = append(opts, op.WithAllowInsecure())
	}
	o, err := op.NewProvider(conf, st, op.StaticIssuer(strings.TrimSuffix(cfg.Issuer, "/")), opts...)
	if err != nil {
		return nil, fmt.Errorf("openid provider: %w", err)
	}
	p.op = o
	p.routes()
	return p, nil
}

// Paths lists the paths the provider serves, for the front that mounts it.
func Paths() []string {
	return []string{PathDiscovery, PathAuthorize, PathCallback, PathToken, PathUserinfo, PathRevoke, PathIntrospect, PathLogout, PathKeys}
}

func (p *Provider) routes() {
	p.mux.HandleFunc("GET "+PathDiscovery, p.handleDiscovery)
	p.mux.Handle("GET "+PathKeys, keysCache(p.op))
	p.mux.Handle(PathAuthorize, withIss(p.issuer(), p.op))
	p.mux.Handle("GET "+PathCallback, withIss(p.issuer(), http.HandlerFunc(p.handleCallback)))
	p.mux.Handle("POST "+PathToken, strictForm(p.op))
	p.mux.Handle(PathUserinfo, bearerOnly(p.op))
	p.mux.Handle("POST "+PathRevoke, strictForm(p.op))
	p.mux.Handle("POST "+PathIntrospect, strictForm(jsonClientError(p.op)))
	p.mux.Handle("GET "+PathLogout, p.op)
	// CORS preflights of what a browser app calls (the op package answers).
	for _, path := range []string{PathToken, PathUserinfo, PathRevoke, PathKeys, PathDiscovery} {
		p.mux.Handle("OPTIONS "+path, p.op)
	}
}

func (p *Provider) issuer() string { return strings.TrimSuffix(p.cfg.Issuer, "/") }

// ServeHTTP serves the provider's paths, with who is asking in the
// context (for the audit log and RP-initiated logout).
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := account.Meta{IP: edge.ClientIP(r, p.cfg.TrustedProxies), UserAgent: r.UserAgent()}
	ctx := context.WithValue(r.Context(), metaKey{}, m)
	ctx = context.WithValue(ctx, stateKey{}, &requestState{})
	if r.URL.Path == PathLogout && p.cfg.SessionID != nil {
		ctx = context.WithValue(ctx, sessionKey{}, p.cfg.SessionID(r))
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	// The provider answers JSON, plain-text errors and redirects: nothing
	// of it is to be sniffed as HTML, run as script, or framed.
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	if r.Body != nil {
		// Token, revocation and introspection requests are small forms.
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	}
	p.mux.ServeHTTP(w, r.WithContext(ctx))
}

// handleDiscovery is the op package's discovery document, with what
// Airlock adds or narrows: the iss response parameter (RFC 9207), S256
// only, the grants and response types it serves, and no device flow.
func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.issuer())
	doc := op.CreateDiscoveryConfig(ctx, p.op, p.storage)
	b, err := json.Marshal(doc)
	if err != nil {
		http.Error(w, "discovery", http.StatusInternalServerError)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(w, "discovery", http.StatusInternalServerError)
		return
	}
	delete(m, "device_authorization_endpoint")
	delete(m, "check_session_iframe")
	m["authorization_response_iss_parameter_supported"] = true
	m["code_challenge_methods_supported"] = []string{"S256"}
	m["response_types_supported"] = []string{"code"}
	m["response_modes_supported"] = []string{"query"}
	m["grant_types_supported"] = []string{airlock.GrantAuthorizationCode, airlock.GrantRefreshToken, airlock.GrantClientCredentials}
	m["token_endpoint_auth_methods_supported"] = []string{"none", "client_secret_basic", "client_secret_post"}
	m["introspection_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post"}
	m["revocation_endpoint_auth_methods_supported"] = []string{"none", "client_secret_basic", "client_secret_post"}
	for _, k := range []string{"token_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported",
		"revocation_endpoint_auth_signing_alg_values_supported", "request_object_signing_alg_values_supported"} {
		delete(m, k)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	// Public, and read by browser apps on other origins.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(m)
}

// keysCache serves the JWKS with caching headers: relying parties may keep
// it for jwksMaxAge, which is why a new key is published PublishLead
// before it signs.
func keysCache(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(jwksMaxAge/time.Second)))
		next.ServeHTTP(w, r)
	})
}

// withIss adds the iss parameter (RFC 9207) to every authorization
// response sent back to an application, code or error, so that an app
// talking to several servers can tell which one answered.
func withIss(issuer string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&issWriter{ResponseWriter: w, issuer: issuer}, r)
	})
}

type issWriter struct {
	http.ResponseWriter
	issuer string
	wrote  bool
}

func (w *issWriter) WriteHeader(code int) {
	if !w.wrote && code >= 300 && code < 400 {
		if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, w.issuer+"/") {
			if u, err := url.Parse(loc); err == nil {
				q := u.Query()
				if !q.Has("iss") {
					q.Set("iss", w.issuer)
					u.RawQuery = q.Encode()
					w.Header().Set("Location", u.String())
				}
			}
		}
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *issWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// handleCallback answers the application once the web front has approved
// or refused its request: a code, or the error the front chose.
func (p *Provider) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.issuer())
	r = r.WithContext(ctx)
	a, _, err := p.storage.accounts.Authorization(ctx, r.URL.Query().Get("id"))
	// A code goes to the application only through the browser that
	// approved the request: an id alone (in a link someone was sent) is
	// not enough. Each request is answered once.
	if err != nil || a.CodeHash != nil || !p.storage.accounts.CodeReleasable(a, p.cfg.SessionID(r)) {
		http.Error(w, "This sign-in request has expired or was already answered: go back to the application and start again.", http.StatusBadRequest)
		return
	}
	if a.Refused == "" {
		op.AuthorizeCallback(w, r, p.op)
		return
	}
	req, err := newAuthRequest(a)
	if err != nil {
		http.Error(w, "unreadable request", http.StatusInternalServerError)
		return
	}
	var e *oidc.Error
	switch a.Refused {
	case "login_required":
		e = oidc.ErrLoginRequired()
	case "access_denied":
		e = oidc.ErrAccessDenied()
	case "consent_required":
		e = &oidc.Error{ErrorType: "consent_required"}
	default:
		e = oidc.ErrInteractionRequired()
	}
	op.AuthRequestError(w, r, req, e, p.op)
}

// CallbackURL is where the web front sends a request once it is approved
// or refused: the op package answers the application from there.
func CallbackURL(id string) string { return PathCallback + "?id=" + url.QueryEscape(id) }

// client is an application as the op package sees it.
type client struct {
	c        *airlock.Client
	loginURL string
}

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutURIs }

// ApplicationType: a public client is a native app (private-use schemes,
// loopback redirects on any port: RFC 8252 §7); a confidential one a web
// server.
func (c *client) ApplicationType() op.ApplicationType {
	if c.c.Public() {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	var gs []oidc.GrantType
	for _, g := range c.c.Grants {
		if g != airlock.GrantPassword {
			gs = append(gs, oidc.GrantType(g))
		}
	}
	return gs
}

func (c *client) LoginURL(id string) string { return c.loginURL + "?id=" + url.QueryEscape(id) }

// AccessTokenType: JWTs (RFC 9068's claims), so services verify them offline.
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return IDTokenTTL }
func (c *client) DevMode() bool                       { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(scope string) bool     { return scope == scopeGroups }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

// randomID is the id of a token nothing stores (a service's).
func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// strictForm refuses a token, revocation or introspection request that
// is not one plain form: parameters in the URL, a parameter sent twice,
// text that is not UTF-8, or a body over maxBody (413).
func strictForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad := func(status int, desc string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": desc})
		}
		if r.URL.RawQuery != "" {
			bad(http.StatusBadRequest, "parameters go in the body, not the URL")
			return
		}
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				bad(http.StatusRequestEntityTooLarge, "the body is too large")
				return
			}
			bad(http.StatusBadRequest, "the body is not a form")
			return
		}
		for k, vs := range r.PostForm {
			if len(vs) != 1 {
				bad(http.StatusBadRequest, "a parameter is sent more than once")
				return
			}
			if !utf8.ValidString(k) || !utf8.ValidString(vs[0]) {
				bad(http.StatusBadRequest, "a parameter is not UTF-8 text")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// bearerOnly answers userinfo as RFC 6750 says: the token in the
// Authorization header or a form body, never in the URL (where logs and
// history keep it); a token that no longer works gets 401 invalid_token.
func bearerOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("access_token") {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request"`)
			http.Error(w, `{"error":"invalid_request","error_description":"the access token goes in the Authorization header"}`, http.StatusBadRequest)
			return
		}
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusForbidden || rec.status == http.StatusUnauthorized {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_token"}`))
			return
		}
		rec.send(w)
	})
}

// jsonClientError answers a failed client authentication at introspection
// in JSON (the op package writes the error's internals as text).
func jsonClientError(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusUnauthorized {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Basic realm="airlock"`)
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		rec.send(w)
	})
}

// recorder keeps an answer to look at before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) send(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	w.Write(r.body.Bytes())
}
