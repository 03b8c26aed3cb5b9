package provider_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/provider"
	"github.com/airlockhq/airlock/store"
)

// TestCodeOnlyToTheApprovingBrowser: whoever started a request (and so
// knows its id and verifier) cannot collect the code a victim's browser
// approved; the victim's browser then gets it.
func TestCodeOnlyToTheApprovingBrowser(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
		a := e.app(c, "", redirect)
		res, err := noRedirects.Get(a.authURL("s", "n"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		id := loc.Query().Get("id")
		// The victim's browser approves (a first-party app: on sight).
		if step, err := e.acc.ContinueAuthorization(context.Background(), id, e.session(false), false, account.Meta{}); err != nil || step != account.StepApproved {
			t.Fatalf("approve: %v %v", step, err)
		}
		// The attacker: no session, then a session of their own.
		other, err := e.acc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: "eve@example.com", Password: pw}, account.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		_, eveSID, _, err := e.acc.SignIn(context.Background(), other.Email, pw, "", account.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		for _, sid := range []string{"", eveSID, "garbage"} {
			req, _ := http.NewRequest(http.MethodGet, e.issuer+provider.CallbackURL(id), nil)
			if sid != "" {
				req.AddCookie(&http.Cookie{Name: "airlock_session", Value: sid})
			}
			res, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest || strings.Contains(res.Header.Get("Location"), "code=") {
				t.Fatalf("callback with session %q: %d %s", sid, res.StatusCode, res.Header.Get("Location"))
			}
		}
		req, _ := http.NewRequest(http.MethodGet, e.issuer+provider.CallbackURL(id), nil)
		req.AddCookie(&http.Cookie{Name: "airlock_session", Value: e.sid})
		res, err = noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		back, _ := url.Parse(res.Header.Get("Location"))
		if back == nil || back.Query().Get("code") == "" {
			t.Fatalf("the approving browser: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		// Answered once.
		res, _ = noRedirects.Do(req)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("callback twice: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// TestFrontsKeepTheirTokens: an application's refresh token gets nothing
// from the JSON API (and stays usable by the app), and its access token's
// id (readable in the JWT) is no bearer token there.
func TestFrontsKeepTheirTokens(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
		a := e.app(c, "", redirect)
		tok, err := a.exchange(e.authorize(a.authURL("s", "n"), true).Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.acc.Refresh(context.Background(), tok.RefreshToken, account.Meta{}); airlock.ErrorCode(err) != airlock.CodeInvalidToken {
			t.Fatalf("an app's refresh token at the JSON API: %v", err)
		}
		var claims struct {
			JTI string `json:"jti"`
		}
		payload(t, tok.AccessToken, &claims)
		if _, err := e.acc.AuthenticateAPI(context.Background(), claims.JTI); airlock.ErrorCode(err) != airlock.CodeUnauthorized {
			t.Fatalf("an access token's jti as a JSON API bearer: %v", err)
		}
		if err := e.acc.RevokeAPIToken(context.Background(), tok.RefreshToken, account.Meta{}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
			t.Fatalf("the app's refresh after the JSON API was handed its token: %v", err)
		}
	})
}

// TestHardenedEndpoints: a service gets only the scopes Airlock grants a
// service; only a service or the token's own app introspects it;
// userinfo says invalid_token with 401; the token endpoint takes one
// plain form; loopback redirects differ from a registered one by the port
// only; one address may keep a bounded number of requests waiting.
func TestHardenedEndpoints(t *testing.T) {
	e := newEnv(t, testutil.OpenStore(t))
	c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect, "http://127.0.0.1/cb"}})
	web, webSecret := e.client(account.ClientSpec{Name: "Portal", RedirectURIs: []string{"https://portal.example.com/cb"}})
	svc, svcSecret := e.client(account.ClientSpec{Name: "Reports", Grants: []string{airlock.GrantClientCredentials}})
	a := e.app(c, "", redirect)
	tok, err := a.exchange(e.authorize(a.authURL("s", "n"), true).Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, user, pass string, form url.Values, query string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.issuer+path+query, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return res.StatusCode, b.String(), res.Header
	}
	code, body, _ := post(provider.PathToken, svc.ID, svcSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"admin root groups"}}, "")
	var cc struct {
		AccessToken string `json:"access_token"`
	}
	decode(t, body, &cc)
	var ccClaims struct {
		Scope string `json:"scope"`
	}
	payload(t, cc.AccessToken, &ccClaims)
	if code != 200 || ccClaims.Scope != "groups" {
		t.Fatalf("a service's scopes: %d %q", code, ccClaims.Scope)
	}
	if _, body, _ := post(provider.PathIntrospect, web.ID, webSecret, url.Values{"token": {tok.AccessToken}}, ""); strings.Contains(body, `"active":true`) {
		t.Fatalf("another web app introspected the field app's token: %s", body)
	}
	if _, body, _ := post(provider.PathIntrospect, svc.ID, svcSecret, url.Values{"token": {tok.AccessToken}}, ""); !strings.Contains(body, `"active":true`) {
		t.Fatalf("a service could not introspect: %s", body)
	}
	if code, body, _ := post(provider.PathIntrospect, svc.ID, "wrong", url.Values{"token": {tok.AccessToken}}, ""); code != 401 || body != `{"error":"invalid_client"}` {
		t.Fatalf("introspection with a wrong secret: %d %s", code, body)
	}
	// userinfo: a dead token is 401 invalid_token; none in the URL.
	if err := e.acc.RevokeAppToken(context.Background(), c.ID, tok.RefreshToken, account.Meta{}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.issuer+provider.PathUserinfo, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("userinfo with a revoked token: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	res, err = http.Get(e.issuer + provider.PathUserinfo + "?access_token=" + tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Fatalf("userinfo with the token in the URL: %d", res.StatusCode)
	}
	// One plain form.
	for name, q := range map[string]string{"repeated": "", "in the URL": "?grant_type=client_credentials"} {
		form := url.Values{"grant_type": {"client_credentials"}}
		if name == "repeated" {
			form["grant_type"] = []string{"client_credentials", "password"}
		}
		if code, _, _ := post(provider.PathToken, svc.ID, svcSecret, form, q); code != 400 {
			t.Errorf("token request with a parameter %s: %d", name, code)
		}
	}
	if code, _, _ := post(provider.PathToken, svc.ID, svcSecret, url.Values{"grant_type": {"client_credentials"}, "x": {strings.Repeat("a", 70<<10)}}, ""); code != 413 {
		t.Errorf("a 70 KiB token request: %d", code)
	}
	// Loopback redirects: the registered host, http, a valid port.
	for _, bad := range []string{"http://localhost:5678/cb", "http://[::1]:5678/cb", "https://127.0.0.1:5678/cb", "http://eve@127.0.0.1:5678/cb",
		"http://127.0.0.1:0/cb", "http://127.0.0.1:99999/cb", "http://127.0.0.2:5678/cb"} {
		u := strings.Replace(a.authURL("s", "n"), url.QueryEscape(redirect), url.QueryEscape(bad), 1)
		res, err := noRedirects.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 || res.Header.Get("Location") != "" {
			t.Errorf("redirect %s: %d %s", bad, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// Big state or nonce: refused, nothing kept.
	if back := e.authorize(a.authURL(strings.Repeat("s", 2000), "n"), true); back.Query().Get("error") != "invalid_request" {
		t.Errorf("a 2000-byte state: %s", back)
	}
}

// TestAuthorizationsPerAddress: one address keeps at most 300 requests
// waiting per 10 minutes; others are not affected.
func TestAuthorizationsPerAddress(t *testing.T) {
	e := newEnv(t, testutil.OpenStore(t))
	c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
	a := e.app(c, "", redirect)
	var wg sync.WaitGroup
	var mu sync.Mutex
	started, refused := 0, 0
	for range 4 {
		wg.Go(func() {
			for range 80 {
				res, err := noRedirects.Get(a.authURL("s", "n"))
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				mu.Lock()
				if strings.HasPrefix(res.Header.Get("Location"), provider.PathContinue) {
					started++
				} else if strings.Contains(res.Header.Get("Location"), "error=server_error") {
					refused++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if started != 300 || refused != 20 {
		t.Fatalf("%d started, %d refused of 320; want 300 and 20", started, refused)
	}
}

func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}
