package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/airlockhq/airlock/internal/testutil"
)

// The OpenID Provider end to end: the real program, its real sign-in
// pages, and an application built with golang.org/x/oauth2 and go-oidc.

var (
	clientIDRE = regexp.MustCompile(`(?m)^client_id: (\S+)$`)
	emailValRE = regexp.MustCompile(`<input id="email"[^>]*\svalue="([^"]*)"`)
	forAppRE   = regexp.MustCompile(`<p id="for-app">([^<]*)</p>`)
	nextRE     = regexp.MustCompile(`<input type="hidden" name="next" value="([^"]*)">`)
)

// addClient adds an application with `airlock client add` and returns its
// client_id, read off what the command prints.
func addClient(t *testing.T, p *program, args ...string) string {
	t.Helper()
	out, err := p.run("", append([]string{"client", "add"}, args...)...)
	if err != nil {
		t.Fatalf("client add: %v\n%s", err, out)
	}
	m := clientIDRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no client_id in:\n%s", out)
	}
	return m[1]
}

// rp is an application (a relying party) of the program p.
type rp struct {
	t        *testing.T
	provider *oidc.Provider
	conf     oauth2.Config
	verifier string
	clientID string
}

func newRP(t *testing.T, issuer, clientID, redirect string) *rp {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{t: t, provider: p, clientID: clientID, conf: oauth2.Config{ClientID: clientID, Endpoint: p.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}
}

// authURL is a new authorization request: a fresh PKCE verifier (S256)
// and the nonce and state given.
func (a *rp) authURL(state, nonce string, opts ...oauth2.AuthCodeOption) string {
	a.verifier = oauth2.GenerateVerifier()
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier), oidc.Nonce(nonce)}, opts...)
	return a.conf.AuthCodeURL(state, opts...)
}

// signedIn is what an app holds after a code's exchange.
type signedIn struct {
	tok *oauth2.Token
	id  *oidc.IDToken
	raw string // the ID token as issued
}

// answer checks the app's redirect (state, iss, a code) and exchanges the
// code; it returns the tokens, the ID token verified, its nonce checked.
func (a *rp) answer(back *url.URL, state, nonce string) signedIn {
	a.t.Helper()
	q := back.Query()
	if q.Get("error") != "" || q.Get("code") == "" {
		a.t.Fatalf("the app got %s", back)
	}
	if q.Get("state") != state {
		a.t.Fatalf("state %q, want %q", q.Get("state"), state)
	}
	// RFC 9207: the app checks who answered.
	if iss := q.Get("iss"); iss != strings.TrimSuffix(a.provider.Endpoint().AuthURL, "/oauth2/authorize") {
		a.t.Fatalf("iss %q in %s", iss, back)
	}
	tok, err := a.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		a.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := a.provider.Verifier(&oidc.Config{ClientID: a.clientID}).Verify(context.Background(), raw)
	if err != nil {
		a.t.Fatalf("ID token: %v", err)
	}
	if id.Nonce != nonce {
		a.t.Fatalf("nonce %q, want %q", id.Nonce, nonce)
	}
	return signedIn{tok: tok, id: id, raw: raw}
}

// idClaims are the ID token's claims a test reads.
type idClaims struct {
	Email    string   `json:"email"`
	AMR      []string `json:"amr"`
	ACR      string   `json:"acr"`
	AuthTime int64    `json:"auth_time"`
}

func claimsOf(t *testing.T, id *oidc.IDToken) idClaims {
	t.Helper()
	var c idClaims
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// walk follows a browser's redirects while they stay on the node p, and
// returns where it stopped: a page of p (its URL and body, status 200 or
// an error page), or the first address elsewhere (an application's
// redirect), with no body.
func walk(t *testing.T, c *http.Client, p *program, u string) (*url.URL, int, string) {
	t.Helper()
	for range 20 {
		res, body := get(t, c, u)
		at := res.Request.URL
		if res.StatusCode < 300 || res.StatusCode >= 400 {
			return at, res.StatusCode, body
		}
		next, err := at.Parse(res.Header.Get("Location"))
		if err != nil {
			t.Fatalf("redirect from %s: %v", at, err)
		}
		if next.Scheme+"://"+next.Host != p.direct("") {
			return next, res.StatusCode, ""
		}
		u = next.String()
	}
	t.Fatalf("more than 20 redirects from %s", u)
	return nil, 0, ""
}

// submitLogin posts the sign-in form of a page with its next, and walks on.
func submitLogin(t *testing.T, c *http.Client, p *program, page, email, password string) (*url.URL, int, string) {
	t.Helper()
	m := nextRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the sign-in page carries no next:\n%s", page)
	}
	next := html.UnescapeString(m[1])
	res := postForm(t, c, p.direct("/login"), url.Values{"email": {email}, "password": {password}, "next": {next}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	if loc := res.Header.Get("Location"); loc != next {
		t.Fatalf("sign in → %q, want %q", loc, next)
	}
	return walk(t, c, p, p.direct(next))
}

// isSignInPage says whether a walk stopped at the sign-in form.
func isSignInPage(at *url.URL, status int, body string) bool {
	return at.Path == "/login" && status == http.StatusOK && strings.Contains(body, `action="/login"`)
}

// TestOpenIDEndToEnd: a public, first-party native app signs a person in
// through the real sign-in pages (login_hint offered, the app named),
// gets its code with state and iss, exchanges it with its PKCE verifier
// and verifies the ID token; then single sign-on, prompt=login, max_age=0,
// prompt=none without a session, and RP-initiated logout.
func TestOpenIDEndToEnd(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	const pw = "violet tractor on the moon"
	if _, err := p.run(pw+"\n", "user", "add", "--email", "fay@example.com", "--first-name", "Fay", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	clientID := addClient(t, p, "--name", "Field Notes", "--public", "--first-party",
		"--redirect-uri", "http://127.0.0.1/cb", "--post-logout-uri", "http://127.0.0.1/bye")
	otherID := addClient(t, p, "--name", "Partner Board", "--public", "--redirect-uri", "http://127.0.0.1/cb")
	p.serve()
	// A native app listens on a port of its choosing (RFC 8252 §7.3).
	app := newRP(t, p.url(""), clientID, "http://127.0.0.1:49152/cb")
	c := browser()

	// Signing in for the app: the sign-in page names it and offers the
	// address the app gave.
	at, status, body := walk(t, c, p, app.authURL("st-1", "n-1", oauth2.SetAuthURLParam("login_hint", "fay@example.com")))
	if !isSignInPage(at, status, body) {
		t.Fatalf("authorize led to %s (%d)", at, status)
	}
	if m := emailValRE.FindStringSubmatch(body); m == nil || html.UnescapeString(m[1]) != "fay@example.com" {
		t.Fatalf("the email field holds %q, want the login_hint", m)
	}
	if m := forAppRE.FindStringSubmatch(body); m == nil || !strings.Contains(html.UnescapeString(m[1]), "Field Notes") {
		t.Fatalf("the sign-in page does not name the app: %q", m)
	}
	back, _, _ := submitLogin(t, c, p, body, "fay@example.com", pw)
	if back.Host != "127.0.0.1:49152" || back.Path != "/cb" {
		t.Fatalf("after sign-in, the browser went to %s", back)
	}
	got := app.answer(back, "st-1", "n-1")
	first := claimsOf(t, got.id)
	if first.Email != "fay@example.com" || !slices.Equal(first.AMR, []string{"pwd"}) || first.AuthTime == 0 {
		t.Fatalf("ID token claims: %+v", first)
	}
	info, err := app.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(got.tok))
	if err != nil || info.Email != "fay@example.com" || info.Subject != got.id.Subject {
		t.Fatalf("userinfo: %+v %v", info, err)
	}

	// Signed in already: the next authorization needs no page at all.
	back, _, _ = walk(t, c, p, app.authURL("st-2", "n-2"))
	app.answer(back, "st-2", "n-2")

	// prompt=login and max_age=0 ask for the password again, even so; a
	// sign-in completes them.
	for i, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0")} {
		state, nonce := "st-again-"+string(rune('a'+i)), "n-again-"+string(rune('a'+i))
		at, status, body := walk(t, c, p, app.authURL(state, nonce, opt))
		if !isSignInPage(at, status, body) {
			t.Fatalf("%d: a signed-in browser with a request for a new sign-in went to %s (%d)", i, at, status)
		}
		if m := forAppRE.FindStringSubmatch(body); m == nil {
			t.Fatalf("%d: the sign-in page does not name the app", i)
		}
		back, _, _ := submitLogin(t, c, p, body, "fay@example.com", pw)
		got = app.answer(back, state, nonce)
		if c := claimsOf(t, got.id); c.AuthTime < first.AuthTime {
			t.Fatalf("%d: auth_time %d before the first sign-in's %d", i, c.AuthTime, first.AuthTime)
		}
	}

	// prompt=none in a browser with no session: login_required, at the app.
	back, _, _ = walk(t, browser(), p, app.authURL("st-none", "n-none", oauth2.SetAuthURLParam("prompt", "none")))
	if q := back.Query(); back.Path != "/cb" || q.Get("error") != "login_required" || q.Get("state") != "st-none" || q.Get("iss") != p.url("") || q.Has("code") {
		t.Fatalf("prompt=none without a session: the app got %s", back)
	}

	// prompt=none from another party's app, whose consent the person must
	// give on a page: consent_required, though signed in.
	partner := newRP(t, p.url(""), otherID, "http://127.0.0.1:49153/cb")
	back, _, _ = walk(t, c, p, partner.authURL("st-partner", "n-partner", oauth2.SetAuthURLParam("prompt", "none")))
	if q := back.Query(); q.Get("error") != "consent_required" || q.Get("state") != "st-partner" || q.Has("code") {
		t.Fatalf("prompt=none for another party's app: the app got %s", back)
	}

	// RP-initiated logout ends the browser's web session.
	if res, _ := get(t, c, p.url("/account")); res.StatusCode != http.StatusOK {
		t.Fatalf("account page before logout: %d", res.StatusCode)
	}
	logout := p.url("/oauth2/logout?" + url.Values{"id_token_hint": {got.raw},
		"post_logout_redirect_uri": {"http://127.0.0.1/bye"}, "state": {"st-bye"}}.Encode())
	res, _ := get(t, c, logout)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || loc != "http://127.0.0.1/bye?state=st-bye" {
		t.Fatalf("logout: %d → %q", res.StatusCode, loc)
	}
	if res, _ := get(t, c, p.url("/account")); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("account page after logout: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestOpenIDTwoNodes: two `airlock serve` on one PostgreSQL behind one
// public URL, with the same AIRLOCK_SECRET_KEY (the signing keys are
// sealed with it): an authorization started on node one is signed in,
// answered and exchanged on node two, the ID token verifies against node
// one's JWKS, and node two's userinfo answers for the access token.
func TestOpenIDTwoNodes(t *testing.T) {
	t.Parallel()
	dsn := testutil.PostgresURL(t)
	if dsn == "" {
		t.Skipf("%s not set: this test needs PostgreSQL (CI sets it)", testutil.PostgresEnv)
	}
	key := make([]byte, 32)
	rand.Read(key)
	env := map[string]string{"AIRLOCK_DATABASE_URL": dsn, "AIRLOCK_SECRET_KEY": base64.StdEncoding.EncodeToString(key)}
	one := newProgram(t, env)
	two := newProgram(t, env)
	two.env["AIRLOCK_PUBLIC_URL"] = one.url("") // one name for both nodes, as behind a load balancer
	const pw = "violet tractor on the moon"
	if _, err := one.run(pw+"\n", "user", "add", "--email", "fay@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	clientID := addClient(t, one, "--name", "Field Notes", "--public", "--first-party", "--redirect-uri", "http://127.0.0.1/cb")
	one.serve()
	two.serve()
	app := newRP(t, one.url(""), clientID, "http://127.0.0.1:49152/cb")
	app.conf.Endpoint.TokenURL = two.direct("/oauth2/token") // the exchange lands on node two

	c := browser()
	res, _ := get(t, c, app.authURL("st-nodes", "n-nodes", oauth2.SetAuthURLParam("login_hint", "fay@example.com")))
	cont, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound || cont.Path != "/oauth2/continue" {
		t.Fatalf("authorize on node one: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	at, status, body := walk(t, c, two, two.direct(cont.RequestURI()))
	if !isSignInPage(at, status, body) || !strings.Contains(body, `id="for-app"`) {
		t.Fatalf("node two shows %s (%d)", at, status)
	}
	back, _, _ := submitLogin(t, c, two, body, "fay@example.com", pw)
	got := app.answer(back, "st-nodes", "n-nodes") // verified with node one's JWKS
	if c := claimsOf(t, got.id); c.Email != "fay@example.com" {
		t.Fatalf("ID token claims: %+v", c)
	}
	req, _ := http.NewRequest(http.MethodGet, two.direct("/oauth2/userinfo"), nil)
	req.Header.Set("Authorization", "Bearer "+got.tok.AccessToken)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Sub   string `json:"sub"`
		Email string `json:"email"`
	}
	err = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || info.Sub != got.id.Subject || info.Email != "fay@example.com" {
		t.Fatalf("userinfo on node two: %d %+v %v", res.StatusCode, info, err)
	}
}
