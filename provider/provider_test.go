package provider_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/provider"
	"github.com/airlockhq/airlock/store"
)

func TestMain(m *testing.M) { os.Exit(testutil.Main(m, 2)) }

const pw = "correct horse battery staple"

// env is an Airlock with its provider on a loopback server, its clock
// set to the real time (tokens' iat come from it and from the library's
// clock), and one user.
type env struct {
	t      testing.TB
	db     *store.DB
	clock  *testutil.Clock
	acc    *account.Service
	keys   *provider.Keys
	issuer string
	user   *airlock.User
	// password is the user's; sid their browser's session once signed in.
	password, sid string
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	clock := testutil.NewClock()
	clock.Advance(time.Since(clock.Now()))
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	public, _ := url.Parse(issuer)
	acc := testsvc.New(t, db, clock, testsvc.Config(public), "", testsvc.Options{Sender: mail.NewDevMailbox(db, clock.Now)})
	keys := provider.NewKeys(db, testsvc.Box, clock)
	if err := keys.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, err := provider.New(provider.Config{Issuer: issuer, SessionID: func(r *http.Request) string {
		c, err := r.Cookie("airlock_session")
		if err != nil {
			return ""
		}
		return c.Value
	}}, acc, db, keys)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	u, err := acc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: "ada@example.com", FirstName: "Ada",
		LastName: "Lovelace", Language: "fr", Groups: []string{airlock.GroupMobile}, Password: pw}, account.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, clock: clock, acc: acc, keys: keys, issuer: issuer, user: u, password: pw}
}

func (e *env) client(spec account.ClientSpec) (*airlock.Client, string) {
	e.t.Helper()
	if spec.Name == "" {
		spec.Name = "Field app"
	}
	c, secret, err := e.acc.AddClient(context.Background(), account.Operator, spec, account.Meta{})
	if err != nil {
		e.t.Fatal(err)
	}
	return c, secret
}

// noRedirects is an HTTP client that shows each redirect.
var noRedirects = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize sends the browser to authURL, signs the person in (as the
// web front does at /oauth2/continue) and returns where the provider
// finally sends the browser.
func (e *env) authorize(authURL string, signIn bool) *url.URL {
	e.t.Helper()
	res, err := noRedirects.Get(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if loc == nil || loc.Path != provider.PathContinue {
		return loc // answered at once (an error, or no redirect at all)
	}
	id := loc.Query().Get("id")
	sid := ""
	if signIn {
		sid = e.session(false)
	}
	step, err := e.acc.ContinueAuthorization(context.Background(), id, sid, true, account.Meta{})
	if err == nil && step == account.StepSignIn && signIn {
		// The session ended (a password change): sign in again.
		step, err = e.acc.ContinueAuthorization(context.Background(), id, e.session(true), true, account.Meta{})
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if step != account.StepApproved {
		if err := e.acc.RefuseAuthorization(context.Background(), id, "login_required"); err != nil {
			e.t.Fatal(err)
		}
	}
	// The browser that approved takes the code: its session cookie.
	cb, _ := http.NewRequest(http.MethodGet, e.issuer+provider.CallbackURL(id), nil)
	if step == account.StepApproved {
		cb.AddCookie(&http.Cookie{Name: "airlock_session", Value: e.sid})
	}
	res, err = noRedirects.Do(cb)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		e.t.Fatalf("callback: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	return back
}

// session returns the person's browser session, signing in when there is
// none yet or again is true.
func (e *env) session(again bool) string {
	e.t.Helper()
	if e.sid == "" || again {
		_, sid, _, err := e.acc.SignIn(context.Background(), e.user.Email, e.password, "", account.Meta{})
		if err != nil {
			e.t.Fatal(err)
		}
		e.sid = sid
	}
	return e.sid
}

// app is a relying party built with golang.org/x/oauth2 and go-oidc.
type app struct {
	conf     oauth2.Config
	provider *oidc.Provider
	verifier string
}

func (e *env) app(c *airlock.Client, secret, redirect string, scopes ...string) *app {
	e.t.Helper()
	p, err := oidc.NewProvider(context.Background(), e.issuer)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile", "groups", oidc.ScopeOfflineAccess}
	}
	return &app{provider: p, verifier: oauth2.GenerateVerifier(), conf: oauth2.Config{ClientID: c.ID, ClientSecret: secret,
		Endpoint: p.Endpoint(), RedirectURL: redirect, Scopes: scopes}}
}

func (a *app) authURL(state, nonce string, opts ...oauth2.AuthCodeOption) string {
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier), oidc.Nonce(nonce)}, opts...)
	return a.conf.AuthCodeURL(state, opts...)
}

func (a *app) exchange(code string) (*oauth2.Token, error) {
	return a.conf.Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier))
}

func oauthError(err error) string {
	var re *oauth2.RetrieveError
	if e, ok := err.(*oauth2.RetrieveError); ok {
		re = e
	}
	if re == nil {
		return ""
	}
	return re.ErrorCode
}

const redirect = "com.example.fieldapp:/oauth2redirect"

func TestCodeFlow(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
		a := e.app(c, "", redirect)

		back := e.authorize(a.authURL("st-123", "n-456", oauth2.SetAuthURLParam("login_hint", "ada@example.com")), true)
		q := back.Query()
		if back.Scheme+":"+back.Path != redirect || q.Get("state") != "st-123" || q.Get("code") == "" {
			t.Fatalf("the app got %s", back)
		}
		if q.Get("iss") != e.issuer {
			t.Fatalf("iss = %q, want %q (RFC 9207)", q.Get("iss"), e.issuer)
		}
		tok, err := a.exchange(q.Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		id, err := a.provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			Email         string   `json:"email"`
			EmailVerified bool     `json:"email_verified"`
			Name          string   `json:"name"`
			GivenName     string   `json:"given_name"`
			FamilyName    string   `json:"family_name"`
			Locale        string   `json:"locale"`
			Groups        []string `json:"groups"`
			AMR           []string `json:"amr"`
			ACR           string   `json:"acr"`
			Nonce         string   `json:"nonce"`
		}
		if err := id.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if id.Subject != e.user.ID || claims.Nonce != "n-456" || claims.Email != "ada@example.com" || !claims.EmailVerified ||
			claims.Name != "Ada Lovelace" || claims.GivenName != "Ada" || claims.FamilyName != "Lovelace" || claims.Locale != "fr" ||
			len(claims.Groups) != 1 || claims.Groups[0] != airlock.GroupMobile || len(claims.AMR) != 1 || claims.AMR[0] != "pwd" || claims.ACR != "1" {
			t.Fatalf("ID token: sub %s %+v", id.Subject, claims)
		}

		// A service verifies the access token offline against the JWKS.
		at, err := a.provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(context.Background(), tok.AccessToken)
		if err != nil || at.Subject != e.user.ID {
			t.Fatalf("access token offline: %v %+v", err, at)
		}
		if time.Until(at.Expiry) > account.AppAccessTokenTTL+time.Second {
			t.Fatalf("access token valid until %s: more than %s", at.Expiry, account.AppAccessTokenTTL)
		}
		info, err := a.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
		if err != nil || info.Email != "ada@example.com" || info.Subject != e.user.ID {
			t.Fatalf("userinfo: %+v %v", info, err)
		}

		// Refresh: rotated; the old token presented again at once (an app
		// that sent it twice) is refused without ending the sign-in.
		tok2, err := a.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil || tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh: %+v %v", tok2, err)
		}
		if _, err := a.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
			t.Fatalf("old refresh token at once: %v", err)
		}
		if _, err := a.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok2)); err != nil {
			t.Fatalf("the winner's tokens died: %v", err)
		}
		// Later, it is reuse: the whole sign-in ends.
		e.clock.Advance(3 * time.Second)
		if _, err := a.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
			t.Fatalf("old refresh token reused: %v", err)
		}
		if _, err := a.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok2)); err == nil {
			t.Fatal("userinfo works after refresh token reuse")
		}
		if _, err := a.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
			t.Fatalf("the family's newest refresh token after reuse: %v", err)
		}
	})
}

func TestRefused(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect, "http://127.0.0.1/cb"}})
		other, _ := e.client(account.ClientSpec{Name: "Other", Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
		a := e.app(c, "", redirect)

		// Unknown client, unregistered redirect URI: an error page, never
		// a redirect to the URI.
		for name, u := range map[string]string{
			"unknown client":      strings.Replace(a.authURL("s", "n"), "client_id="+c.ID, "client_id=nope", 1),
			"unregistered URI":    strings.Replace(a.authURL("s", "n"), url.QueryEscape(redirect), url.QueryEscape("https://evil.example/cb"), 1),
			"registered prefix":   strings.Replace(a.authURL("s", "n"), url.QueryEscape(redirect), url.QueryEscape(redirect+"/more"), 1),
			"loopback other path": strings.Replace(a.authURL("s", "n"), url.QueryEscape(redirect), url.QueryEscape("http://127.0.0.1:5678/other"), 1),
		} {
			res, err := noRedirects.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
				t.Errorf("%s: %d Location %q", name, res.StatusCode, res.Header.Get("Location"))
			}
		}
		// A loopback redirect with any port (RFC 8252 §7.3) is accepted.
		loop := e.app(c, "", "http://127.0.0.1:5678/cb")
		if back := e.authorize(loop.authURL("s", "n"), true); back.Host != "127.0.0.1:5678" || back.Query().Get("code") == "" {
			t.Errorf("loopback redirect on another port: %s", back)
		}

		// A public client without PKCE, or with plain PKCE: an error sent
		// back to the app (with iss), no code.
		for name, u := range map[string]string{
			"no PKCE":    a.conf.AuthCodeURL("s"),
			"plain PKCE": a.conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", a.verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")),
		} {
			res, err := noRedirects.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			back, _ := url.Parse(res.Header.Get("Location"))
			if back == nil || back.Query().Get("error") != "invalid_request" || back.Query().Get("code") != "" || back.Query().Get("iss") != e.issuer {
				t.Errorf("%s: %d %s", name, res.StatusCode, res.Header.Get("Location"))
			}
		}

		// prompt=none without a session: login_required, to the app.
		back := e.authorize(a.authURL("s", "n", oauth2.SetAuthURLParam("prompt", "none")), false)
		if back.Query().Get("error") != "login_required" || back.Query().Get("state") != "s" || back.Query().Get("iss") != e.issuer {
			t.Errorf("prompt=none: %s", back)
		}

		code := func() string { return e.authorize(a.authURL("s", "n"), true).Query().Get("code") }

		// Wrong code_verifier, another client: refused, and the code is
		// not spent (whoever saw it cannot destroy it): its rightful
		// holder exchanges it afterwards.
		k := code()
		wrong := *a
		wrong.verifier = oauth2.GenerateVerifier()
		if _, err := wrong.exchange(k); oauthError(err) != "invalid_grant" {
			t.Errorf("wrong verifier: %v", err)
		}
		thief := e.app(other, "", redirect)
		thief.verifier = a.verifier
		if _, err := thief.exchange(k); err == nil {
			t.Error("a code redeemed by another client")
		}
		if _, err := a.exchange(k); err != nil {
			t.Errorf("the code after refused attempts by others: %v", err)
		}
		// Older than 60 s.
		k = code()
		e.clock.Advance(61 * time.Second)
		if _, err := a.exchange(k); oauthError(err) != "invalid_grant" {
			t.Errorf("code after 61 s: %v", err)
		}
		// Reused: refused, and the tokens it gave die.
		tok, err := a.exchange(code())
		if err != nil {
			t.Fatal(err)
		}
		_ = tok
		k = code()
		tok, err = a.exchange(k)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if _, err := a.exchange(k); oauthError(err) != "invalid_grant" {
				t.Errorf("code reused: %v", err)
			}
		}
		if _, err := a.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo works with the tokens of a reused code")
		}
		// However often it comes back: one audit event (SPEC §6.14).
		events, _, err := db.ListAudit(context.Background(), airlock.AuditFilter{Kind: airlock.AuditSessionsRevoked, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		reuses := 0
		for _, ev := range events {
			if ev.Detail == "code_reuse" {
				reuses++
			}
		}
		if reuses != 1 {
			t.Errorf("%d audit events for one code reused 5 times", reuses)
		}
		if _, err := a.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
			t.Errorf("refresh of a reused code's sign-in: %v", err)
		}

		// A password change (the user's rights taken away) ends refresh and
		// userinfo at once; deactivation too.
		tok, err = a.exchange(code())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.acc.AdminSetPassword(context.Background(), account.Operator, e.user.ID, "another long passphrase here", "", false, account.Meta{}); err != nil {
			t.Fatal(err)
		}
		e.password = "another long passphrase here"
		if _, err := a.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
			t.Errorf("refresh after a password change: %v", err)
		}
		if _, err := a.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo after a password change")
		}
	})
}

func TestDeactivatedUserinfo(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
		a := e.app(c, "", redirect)
		tok, err := a.exchange(e.authorize(a.authURL("s", "n"), true).Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		off := false
		if _, err := e.acc.AdminUpdateUser(context.Background(), account.Operator, e.user.ID, account.UserChanges{Active: &off}, account.Meta{}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("a deactivated user's userinfo")
		}
	})
}

// TestOneCodeOneExchange: of parallel exchanges of one code, exactly one
// gets tokens.
func TestOneCodeOneExchange(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
		a := e.app(c, "", redirect)
		for round := range 3 {
			code := e.authorize(a.authURL("s", "n"), true).Query().Get("code")
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			var winner *oauth2.Token
			for range 8 {
				wg.Go(func() {
					if tok, err := a.exchange(code); err == nil {
						mu.Lock()
						won++
						winner = tok
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if won != 1 {
				t.Fatalf("round %d: %d exchanges of one code got tokens", round, won)
			}
			// The others presented a code already used: what it gave dies.
			if _, err := a.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(winner)); err == nil {
				t.Fatalf("round %d: the winner's tokens survived the code's reuse", round)
			}
		}
	})
}

func TestServicesAndIntrospection(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
		rs, secret := e.client(account.ClientSpec{Name: "Reports", Grants: []string{airlock.GrantClientCredentials}})
		a := e.app(c, "", redirect)
		tok, err := a.exchange(e.authorize(a.authURL("s", "n"), true).Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		got := introspect(t, e, rs.ID, secret, tok.AccessToken)
		if got["active"] != true || got["sub"] != e.user.ID || got["client_id"] != c.ID {
			t.Fatalf("introspection: %v", got)
		}
		if got := introspect(t, e, rs.ID, "wrong", tok.AccessToken); got["active"] == true {
			t.Fatalf("introspection with a wrong secret: %v", got)
		}
		// The service's own token (client_credentials).
		cc := oauth2.Config{ClientID: rs.ID, ClientSecret: secret, Endpoint: a.provider.Endpoint()}
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}
		req, _ := http.NewRequest(http.MethodPost, cc.Endpoint.TokenURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(rs.ID, secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ccTok struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		json.NewDecoder(res.Body).Decode(&ccTok)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || ccTok.AccessToken == "" {
			t.Fatalf("client_credentials: %d %+v", res.StatusCode, ccTok)
		}
		if got := introspect(t, e, rs.ID, secret, ccTok.AccessToken); got["active"] != true || got["client_id"] != rs.ID {
			t.Fatalf("introspection of a service's token: %v", got)
		}
		// A public client gets nothing with client_credentials.
		req, _ = http.NewRequest(http.MethodPost, cc.Endpoint.TokenURL, strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatal("a public client got a client_credentials token")
		}
		// Revocation by the app ends the access token for whoever asks.
		req, _ = http.NewRequest(http.MethodPost, e.issuer+provider.PathRevoke, strings.NewReader(url.Values{"token": {tok.RefreshToken}, "client_id": {c.ID}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		if got := introspect(t, e, rs.ID, secret, tok.AccessToken); got["active"] == true {
			t.Fatalf("introspection after revocation: %v", got)
		}
	})
}

// TestKeyRotation: a rotated key is published before it signs, and the
// tokens the old key signed still verify after the rotation.
func TestKeyRotation(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
		a := e.app(c, "", redirect)
		get := func() (*oauth2.Token, string) {
			tok, err := a.exchange(e.authorize(a.authURL("s", "n"), true).Query().Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			return tok, kid(t, tok.AccessToken)
		}
		old, oldKid := get()
		if _, err := e.keys.Rotate(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if _, k := get(); k != oldKid {
			t.Fatalf("the new key signs before relying parties could fetch it: %s", k)
		}
		e.clock.Advance(provider.PublishLead)
		_, newKid := get()
		if newKid == oldKid {
			t.Fatal("the new key does not sign after its lead")
		}
		// A fresh verifier (a service that fetches the JWKS now) still
		// verifies the old key's token.
		p, err := oidc.NewProvider(context.Background(), e.issuer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Verifier(&oidc.Config{ClientID: c.ID, SkipExpiryCheck: true}).Verify(context.Background(), old.AccessToken); err != nil {
			t.Fatalf("old key's token after rotation: %v", err)
		}
	})
}

func kid(t *testing.T, jwt string) string { return header(t, jwt).Kid }

// TestSigningAlgorithms: RS256 by default; a client that asks for ES256
// gets ID and access tokens signed with it; both keys are published; the
// access token carries RFC 9068's scope, amr and auth_time.
func TestSigningAlgorithms(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for _, alg := range []string{"RS256", "ES256"} {
			c, _ := e.client(account.ClientSpec{Name: alg, Public: true, FirstParty: true, RedirectURIs: []string{redirect}, SigningAlg: alg})
			a := e.app(c, "", redirect)
			tok, err := a.exchange(e.authorize(a.authURL("s", "n"), true).Query().Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			for name, jwt := range map[string]string{"ID token": raw, "access token": tok.AccessToken} {
				if got := header(t, jwt).Alg; got != alg {
					t.Fatalf("%s client's %s signed with %s", alg, name, got)
				}
				if _, err := a.provider.Verifier(&oidc.Config{ClientID: c.ID, SupportedSigningAlgs: []string{alg}}).Verify(context.Background(), jwt); err != nil {
					t.Fatalf("%s client's %s: %v", alg, name, err)
				}
			}
			if _, err := a.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err != nil {
				t.Fatalf("%s client's userinfo: %v", alg, err)
			}
			var claims struct {
				Scope    string   `json:"scope"`
				AMR      []string `json:"amr"`
				AuthTime int64    `json:"auth_time"`
				ClientID string   `json:"client_id"`
				JTI      string   `json:"jti"`
			}
			payload(t, tok.AccessToken, &claims)
			if claims.Scope != "openid email profile groups offline_access" || len(claims.AMR) != 1 || claims.AuthTime == 0 || claims.ClientID != c.ID || claims.JTI == "" {
				t.Fatalf("access token claims: %+v", claims)
			}
		}
		if _, _, err := e.acc.AddClient(context.Background(), account.Operator, account.ClientSpec{Name: "x", Public: true, RedirectURIs: []string{redirect}, SigningAlg: "HS256"}, account.Meta{}); airlock.ErrorCode(err) != airlock.CodeInvalid {
			t.Fatalf("HS256 client: %v", err)
		}
	})
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

func header(t *testing.T, jwt string) jwtHeader {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var head jwtHeader
	if err := json.Unmarshal(b, &head); err != nil {
		t.Fatal(err)
	}
	return head
}

func payload(t *testing.T, jwt string, v any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestAccessTokenType: every access token the token endpoint issues (code
// exchange, refresh, a service's client_credentials) says typ "at+jwt" in
// its header (RFC 9068 §2.1), signed by the key and algorithm of its
// client as the ID token is; the ID token keeps typ "JWT", and its at_hash
// is that of the access token returned with it. Resource servers still
// verify the token offline, userinfo and introspection still take it.
func TestAccessTokenType(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		rs, secret := e.client(account.ClientSpec{Name: "Reports", Grants: []string{airlock.GrantClientCredentials}})
		for _, alg := range []string{"RS256", "ES256"} {
			c, _ := e.client(account.ClientSpec{Name: alg, Public: true, FirstParty: true, RedirectURIs: []string{redirect}, SigningAlg: alg})
			a := e.app(c, "", redirect)
			verifier := a.provider.Verifier(&oidc.Config{ClientID: c.ID, SupportedSigningAlgs: []string{alg}})
			check := func(grant string, tok *oauth2.Token) {
				t.Helper()
				at := header(t, tok.AccessToken)
				if at.Typ != "at+jwt" || at.Alg != alg {
					t.Fatalf("%s %s: access token header %+v, want typ at+jwt", alg, grant, at)
				}
				raw, _ := tok.Extra("id_token").(string)
				if it := header(t, raw); it.Typ != "JWT" || it.Alg != alg || it.Kid != at.Kid {
					t.Fatalf("%s %s: ID token header %+v, access token's %+v", alg, grant, it, at)
				}
				id, err := verifier.Verify(context.Background(), raw)
				if err != nil {
					t.Fatalf("%s %s: ID token: %v", alg, grant, err)
				}
				if id.AccessTokenHash == "" {
					t.Fatalf("%s %s: ID token without at_hash", alg, grant)
				}
				if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
					t.Fatalf("%s %s: at_hash: %v", alg, grant, err)
				}
				if _, err := verifier.Verify(context.Background(), tok.AccessToken); err != nil {
					t.Fatalf("%s %s: access token offline: %v", alg, grant, err)
				}
				if info, err := a.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err != nil || info.Subject != e.user.ID {
					t.Fatalf("%s %s: userinfo: %+v %v", alg, grant, info, err)
				}
				if got := introspect(t, e, rs.ID, secret, tok.AccessToken); got["active"] != true || got["sub"] != e.user.ID {
					t.Fatalf("%s %s: introspection: %v", alg, grant, got)
				}
			}
			tok, err := a.exchange(e.authorize(a.authURL("s", "n"), true).Query().Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			check("authorization_code", tok)
			tok2, err := a.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil || tok2.RefreshToken == tok.RefreshToken {
				t.Fatalf("refresh: %+v %v", tok2, err)
			}
			check("refresh_token", tok2)
		}

		// A service's own token: no ID token, signed with RS256 (its
		// client's default), typ at+jwt, and introspection takes it.
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"groups"}}
		req, _ := http.NewRequest(http.MethodPost, e.issuer+provider.PathToken, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(rs.ID, secret)
		req.Header.Set("Origin", "https://reports.example")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		// Still answered inside the op package's router: a browser app on
		// another origin reads the answer.
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Fatalf("client_credentials: Access-Control-Allow-Origin %q", got)
		}
		var cc struct {
			AccessToken string `json:"access_token"`
			IDToken     string `json:"id_token"`
		}
		json.NewDecoder(res.Body).Decode(&cc)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || cc.AccessToken == "" || cc.IDToken != "" {
			t.Fatalf("client_credentials: %d %+v", res.StatusCode, cc)
		}
		if h := header(t, cc.AccessToken); h.Typ != "at+jwt" || h.Alg != "RS256" {
			t.Fatalf("client_credentials: access token header %+v, want typ at+jwt", h)
		}
		p, err := oidc.NewProvider(context.Background(), e.issuer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Verifier(&oidc.Config{ClientID: rs.ID}).Verify(context.Background(), cc.AccessToken); err != nil {
			t.Fatalf("client_credentials: access token offline: %v", err)
		}
		var claims struct {
			Scope    string `json:"scope"`
			ClientID string `json:"client_id"`
			Sub      string `json:"sub"`
			JTI      string `json:"jti"`
		}
		payload(t, cc.AccessToken, &claims)
		if claims.Scope != "groups" || claims.ClientID != rs.ID || claims.Sub != rs.ID || claims.JTI == "" {
			t.Fatalf("client_credentials: access token claims %+v", claims)
		}
		if got := introspect(t, e, rs.ID, secret, cc.AccessToken); got["active"] != true || got["client_id"] != rs.ID {
			t.Fatalf("client_credentials: introspection: %v", got)
		}
	})
}

// introspect asks the introspection endpoint about token as the client
// user (nil when refused).
func introspect(t *testing.T, e *env, user, pass, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.issuer+provider.PathIntrospect, strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
