package account

// The rules of Airlock as an OpenID Provider: which applications exist,
// who may approve an application's authorization request and when, and
// what its tokens carry. The protocol itself (parsing, PKCE, signing) is
// the provider package's, built on a maintained library.

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

// Lifetimes of what the OpenID Provider issues.
const (
	// AppAccessTokenTTL bounds how long an access token verified offline
	// (a JWT a service checks against the JWKS) can outlive a revocation:
	// anything that asks Airlock (userinfo, introspection, refresh) sees
	// the revocation at once.
	AppAccessTokenTTL = 5 * time.Minute
	// AuthorizationTTL is how long a person has to sign in (a forgotten
	// password's email included) before the application must start again.
	AuthorizationTTL = 30 * time.Minute
	// CodeTTL is how long an authorization code may wait for its exchange.
	CodeTTL = 60 * time.Second
)

// ClientSpec describes an application to add.
type ClientSpec struct {
	Name           string
	Public         bool
	RedirectURIs   []string
	PostLogoutURIs []string
	Grants         []string
	FirstParty     bool
	// SigningAlg is RS256 (the default) or ES256.
	SigningAlg string
}

var (
	errClientNotFound = &airlock.Error{Code: airlock.CodeNotFound, Key: "error.client.not_found"}
	errBadClient      = &airlock.Error{Code: airlock.CodeUnauthorized, Key: "error.client.credentials"}
	// errAuthorizationGone: the request expired, or was approved or refused already.
	errAuthorizationGone = &airlock.Error{Code: airlock.CodeNotFound, Detail: "expired", Key: "error.authorization.gone"}
)

var privateScheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$`)

// checkRedirectURI accepts what RFC 8252 and RFC 9700 allow: an https URI,
// an http URI on a loopback address (a native app's port varies), or a
// private-use scheme in reverse-domain form (com.example.app:/callback).
// It has no fragment and no user info, and is matched exactly later.
func checkRedirectURI(field, raw string) error {
	bad := &airlock.Error{Code: airlock.CodeInvalid, Field: field, Key: "error.client.redirect_uri", Args: []any{airlock.CleanText(raw, 200)}}
	if raw == "" || len(raw) > 2000 || strings.ContainsAny(raw, " \t\r\n#*") {
		return bad
	}
	u, err := url.Parse(raw)
	if err != nil || u.Fragment != "" || u.User != nil || u.Scheme == "" {
		return bad
	}
	switch {
	case u.Scheme == "https":
		if u.Host == "" {
			return bad
		}
	case u.Scheme == "http":
		// Only a loopback address: a plain-http redirect elsewhere would
		// send the code over the network in clear.
		if h := u.Hostname(); h != "localhost" && (net.ParseIP(h) == nil || !net.ParseIP(h).IsLoopback()) {
			return bad
		}
	case privateScheme.MatchString(u.Scheme):
		// A private-use scheme names the app in reverse-domain form, so two
		// apps cannot both claim it by accident (RFC 8252 §7.1).
	default:
		return bad
	}
	return nil
}

var knownGrants = []string{airlock.GrantAuthorizationCode, airlock.GrantRefreshToken, airlock.GrantClientCredentials, airlock.GrantPassword}

// checkClient checks an application's description.
func checkClient(spec *ClientSpec) error {
	spec.Name = strings.TrimSpace(spec.Name)
	if spec.Name == "" || len([]rune(spec.Name)) > 100 || airlock.CleanText(spec.Name, 400) != spec.Name {
		return &airlock.Error{Code: airlock.CodeInvalid, Field: "name", Key: "error.client.name"}
	}
	switch spec.SigningAlg {
	case "":
		spec.SigningAlg = "RS256"
	case "RS256", "ES256":
	default:
		return &airlock.Error{Code: airlock.CodeInvalid, Field: "signing_alg", Key: "error.client.signing_alg"}
	}
	if len(spec.Grants) == 0 {
		spec.Grants = []string{airlock.GrantAuthorizationCode, airlock.GrantRefreshToken}
	}
	for _, g := range spec.Grants {
		if !slices.Contains(knownGrants, g) {
			return &airlock.Error{Code: airlock.CodeInvalid, Field: "grant", Key: "error.client.grant", Args: []any{airlock.CleanText(g, 100)}}
		}
	}
	slices.Sort(spec.Grants)
	spec.Grants = slices.Compact(spec.Grants)
	if spec.Public && slices.Contains(spec.Grants, airlock.GrantClientCredentials) {
		// A public client has no secret: client_credentials would hand
		// tokens to anyone who knows its id.
		return &airlock.Error{Code: airlock.CodeInvalid, Field: "grant", Key: "error.client.public_credentials"}
	}
	if slices.Contains(spec.Grants, airlock.GrantAuthorizationCode) && len(spec.RedirectURIs) == 0 {
		return &airlock.Error{Code: airlock.CodeInvalid, Field: "redirect_uri", Key: "error.client.redirect_uri_missing"}
	}
	for _, u := range spec.RedirectURIs {
		if err := checkRedirectURI("redirect_uri", u); err != nil {
			return err
		}
	}
	for _, u := range spec.PostLogoutURIs {
		if err := checkRedirectURI("post_logout_redirect_uri", u); err != nil {
			return err
		}
	}
	return nil
}

// AddClient adds an application. A confidential one gets a secret,
// returned once and stored hashed.
func (s *Service) AddClient(ctx context.Context, actor *airlock.User, spec ClientSpec, m Meta) (*airlock.Client, string, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, "", err
	}
	m = actorMeta(actor, m)
	if err := checkClient(&spec); err != nil {
		return nil, "", err
	}
	id, err := newID()
	if err != nil {
		return nil, "", err
	}
	now := s.clock.Now()
	c := &airlock.Client{ID: id, Name: spec.Name, RedirectURIs: spec.RedirectURIs, PostLogoutURIs: spec.PostLogoutURIs,
		Grants: spec.Grants, FirstParty: spec.FirstParty, SigningAlg: spec.SigningAlg, CreatedAt: now, UpdatedAt: now}
	var secret string
	if !spec.Public {
		if secret, err = newSecret(); err != nil {
			return nil, "", err
		}
		c.SecretHash = secretHash(secret)
	}
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		if err := tx.CreateClient(ctx, c); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditApplication, m, "", c.Name, "success", "client_added", c.ID)
	})
	if err != nil {
		return nil, "", fmt.Errorf("add client: %w", err)
	}
	return c, secret, nil
}

// Clients lists the applications.
func (s *Service) Clients(ctx context.Context) ([]*airlock.Client, error) {
	return s.store.ListClients(ctx)
}

// Client returns one application.
func (s *Service) Client(ctx context.Context, id string) (*airlock.Client, error) {
	c, err := s.store.ClientByID(ctx, id)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errClientNotFound
	}
	return c, err
}

// RemoveClient removes an application: its pending authorizations and
// every sign-in it holds end with it.
func (s *Service) RemoveClient(ctx context.Context, actor *airlock.User, id string, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	m = actorMeta(actor, m)
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		c, err := tx.ClientByID(ctx, id)
		if errors.Is(err, airlock.ErrNotFound) {
			return errClientNotFound
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteClient(ctx, id); err != nil {
			return err
		}
		n, err := tx.RevokeClientTokens(ctx, id, now)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditApplication, m, "", c.Name, "success", "client_removed", c.ID, n)
	})
}

// RotateClientSecret gives a confidential application a new secret; the
// old one stops working at once.
func (s *Service) RotateClientSecret(ctx context.Context, actor *airlock.User, id string, m Meta) (string, error) {
	if err := requireAdmin(actor); err != nil {
		return "", err
	}
	m = actorMeta(actor, m)
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		c, err := tx.ClientByID(ctx, id)
		if errors.Is(err, airlock.ErrNotFound) {
			return errClientNotFound
		}
		if err != nil {
			return err
		}
		if c.Public() {
			return &airlock.Error{Code: airlock.CodeInvalid, Key: "error.client.public_secret"}
		}
		if err := tx.SetClientSecret(ctx, id, secretHash(secret), now); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditApplication, m, "", c.Name, "success", "client_secret_rotated", c.ID)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// SetClientGrants replaces the grant types an application may use: the
// password grant turned off for the built-in mobile application, for one.
func (s *Service) SetClientGrants(ctx context.Context, actor *airlock.User, id string, grants []string, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	if len(grants) == 0 {
		return &airlock.Error{Code: airlock.CodeInvalid, Field: "grant", Key: "error.client.no_grant"}
	}
	m = actorMeta(actor, m)
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		c, err := tx.ClientByID(ctx, id)
		if errors.Is(err, airlock.ErrNotFound) {
			return errClientNotFound
		}
		if err != nil {
			return err
		}
		spec := ClientSpec{Name: c.Name, Public: c.Public(), RedirectURIs: c.RedirectURIs, PostLogoutURIs: c.PostLogoutURIs,
			Grants: grants, FirstParty: c.FirstParty, SigningAlg: c.SigningAlg}
		if err := checkClient(&spec); err != nil {
			return err
		}
		if err := tx.SetClientGrants(ctx, id, spec.Grants, s.clock.Now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditApplication, m, "", c.Name, "success", "client_grants_changed", c.ID, strings.Join(spec.Grants, " "))
	})
}

// AuthenticateClient checks a confidential application's secret.
func (s *Service) AuthenticateClient(ctx context.Context, id, secret string) (*airlock.Client, error) {
	c, err := s.store.ClientByID(ctx, id)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errBadClient
	}
	if err != nil {
		return nil, err
	}
	// A public client has no secret to check: it can never authenticate.
	if c.Public() || !wellFormedSecret(secret) || subtle.ConstantTimeCompare(secretHash(secret), c.SecretHash) != 1 {
		return nil, errBadClient
	}
	return c, nil
}

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
	amr := []string{"pwd"}
	if u.TwoFactor() {
		// Two-step sign-in on means this session passed a code: turning it
		// on ends every other session.
		amr = append(amr, "otp")
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
