package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/airlockhq/airlock"
)

// seenRequest is a request a standard OAuth 2.0 client sent.
type seenRequest struct {
	path          string
	basicUser     string // client id in HTTP Basic authentication
	basic         bool
	form          url.Values
	authorization string
}

// recorder keeps the requests it passes on, bodies included.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []seenRequest
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	s := seenRequest{path: req.URL.Path, authorization: req.Header.Get("Authorization")}
	s.basicUser, _, s.basic = req.BasicAuth()
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(b))
		s.form, _ = url.ParseQuery(string(b))
	}
	r.mu.Lock()
	r.seen = append(r.seen, s)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// requests returns the requests sent to path so far.
func (r *recorder) requests(path string) []seenRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []seenRequest
	for _, s := range r.seen {
		if s.path == path {
			out = append(out, s)
		}
	}
	return out
}

// TestOAuth2Client drives the mobile sign-in, refresh and sign-out with
// golang.org/x/oauth2, the standard Go client, sending the client id in
// the body and in HTTP Basic authentication, as different apps do.
func TestOAuth2Client(t *testing.T) {
	t.Parallel()
	const clientID = "field-app"
	for name, style := range map[string]oauth2.AuthStyle{
		"client_id in the body": oauth2.AuthStyleInParams,
		"client_id in Basic":    oauth2.AuthStyleInHeader,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.user("ada@example.com", pw, airlock.GroupMobile)
			rec := &recorder{next: e.http.Transport}
			ctx := context.WithValue(t.Context(), oauth2.HTTPClient, &http.Client{Transport: rec})
			cfg := &oauth2.Config{ClientID: clientID, Endpoint: oauth2.Endpoint{
				TokenURL: e.srv.URL + "/api/v1/auth/token", AuthStyle: style}}
			me := func(c *http.Client) (int, string) {
				t.Helper()
				res, err := c.Get(e.srv.URL + "/api/v1/me")
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var u struct {
					Email string `json:"email"`
				}
				json.NewDecoder(res.Body).Decode(&u)
				return res.StatusCode, u.Email
			}

			// Sign in with the password grant.
			signedIn, err := cfg.PasswordCredentialsToken(ctx, "ada@example.com", pw)
			if err != nil {
				t.Fatalf("password grant: %v", err)
			}
			if signedIn.TokenType != "Bearer" || signedIn.AccessToken == "" || signedIn.RefreshToken == "" || !signedIn.Valid() ||
				time.Until(signedIn.Expiry) < 59*time.Minute || time.Until(signedIn.Expiry) > time.Hour {
				t.Fatalf("token %+v", signedIn)
			}
			if code, email := me(oauth2.NewClient(ctx, cfg.TokenSource(ctx, signedIn))); code != 200 || email != "ada@example.com" {
				t.Fatalf("GET /me with the access token: %d %q", code, email)
			}

			// An hour later the access token has expired, on the server
			// (its clock moves) and for the client (its copy says so): the
			// token source refreshes before the next call.
			e.clock.Advance(time.Hour)
			if code, _ := me(oauth2.NewClient(ctx, oauth2.StaticTokenSource(signedIn))); code != http.StatusUnauthorized {
				t.Fatalf("GET /me with an expired access token: %d", code)
			}
			stale := *signedIn
			stale.Expiry = time.Now().Add(-time.Second)
			ts := cfg.TokenSource(ctx, &stale)
			app := oauth2.NewClient(ctx, ts)
			if code, email := me(app); code != 200 || email != "ada@example.com" {
				t.Fatalf("GET /me after the refresh: %d %q", code, email)
			}
			refreshed, err := ts.Token()
			if err != nil {
				t.Fatal(err)
			}
			if refreshed.AccessToken == signedIn.AccessToken || refreshed.RefreshToken == signedIn.RefreshToken || refreshed.RefreshToken == "" {
				t.Errorf("the refresh did not give a new pair (rotation): %+v", refreshed)
			}

			// The client authenticated as it was told to, and was accepted.
			grants := rec.requests("/api/v1/auth/token")
			if len(grants) != 2 || grants[0].form.Get("grant_type") != "password" || grants[1].form.Get("grant_type") != "refresh_token" {
				t.Fatalf("token requests %+v", grants)
			}
			for _, g := range grants {
				switch style {
				case oauth2.AuthStyleInParams:
					if g.form.Get("client_id") != clientID || g.authorization != "" {
						t.Errorf("%s: client_id %q, Authorization %q", g.form.Get("grant_type"), g.form.Get("client_id"), g.authorization)
					}
				case oauth2.AuthStyleInHeader:
					if !g.basic || g.basicUser != clientID || g.form.Has("client_id") {
						t.Errorf("%s: Basic %v %q, client_id in the body %q", g.form.Get("grant_type"), g.basic, g.basicUser, g.form.Get("client_id"))
					}
				}
			}

			// Sign out: the app revokes its refresh token (RFC 7009), with
			// its client id as on the token endpoint.
			form := url.Values{"token": {refreshed.RefreshToken}, "token_type_hint": {"refresh_token"}}
			if style == oauth2.AuthStyleInParams {
				form.Set("client_id", clientID)
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/api/v1/auth/revoke", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if style == oauth2.AuthStyleInHeader {
				req.SetBasicAuth(url.QueryEscape(clientID), "")
			}
			res, err := (&http.Client{Transport: rec}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"revoked"}` {
				t.Fatalf("revoke: %d %s", res.StatusCode, body)
			}

			// The whole sign-in is over: its access token, and any refresh.
			if code, _ := me(app); code != http.StatusUnauthorized {
				t.Errorf("GET /me after sign-out: %d", code)
			}
			gone := *refreshed
			gone.Expiry = time.Now().Add(-time.Second)
			_, err = cfg.TokenSource(ctx, &gone).Token()
			var refused *oauth2.RetrieveError
			if !errors.As(err, &refused) || refused.Response.StatusCode != http.StatusBadRequest || !strings.Contains(string(refused.Body), `"code":"invalid_grant"`) {
				t.Fatalf("refresh after sign-out: %v", err)
			}
		})
	}
}
