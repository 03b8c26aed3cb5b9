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
		c, err := s.adminClient(ctx, tx, actor, id)
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
		c, err := s.adminClient(ctx, tx, actor, id)
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
		c, err := s.adminClient(ctx, tx, actor, id)
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

// adminClient is the start of an administrator's change to application
// id, in the transaction that changes it: the administrator re-read
// (adminInTx), then the application.
func (s *Service) adminClient(ctx context.Context, tx airlock.Tx, actor *airlock.User, id string) (*airlock.Client, error) {
	if err := s.adminInTx(ctx, tx, actor); err != nil {
		return nil, err
	}
	c, err := tx.ClientByID(ctx, id)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errClientNotFound
	}
	return c, err
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
