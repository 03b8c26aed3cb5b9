package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/api"
	"github.com/airlockhq/airlock/client"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/openapitest"
)

var appLinkRE = regexp.MustCompile(`http://\S+/password/reset\?\S+`)

// TestMobileAppEndToEnd plays the field app against the real program: read
// the server directory, choose a server, sign in, ask for a reset, read the
// email off SMTP, complete the reset through the API, and see the old access
// and refresh tokens refused. Every API answer is checked against openapi.json.
func TestMobileAppEndToEnd(t *testing.T) {
	t.Parallel()
	spec, err := openapitest.New(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	smtp := mailtest.Start(t)
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL(), "AIRLOCK_APP_URL": "com.example.fieldapp:/signed-out"})
	p.env["AIRLOCK_SERVERS"] = "eu=Europe=" + p.url("") + ",na=North America=https://na.example.com"
	if _, err := p.run("the old password, long enough\n", "user", "add", "--email", "fay@example.com", "--group", "mobile", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	ctx := context.Background()
	httpc := &http.Client{Transport: spec.Transport(nil)}

	// The login screen lists the servers; the user picks Europe.
	directory := client.New(p.url(""))
	directory.HTTP = httpc
	servers, err := directory.Servers(ctx)
	if err != nil || len(servers) != 2 {
		t.Fatalf("directory: %+v %v", servers, err)
	}
	var chosen client.Server
	for _, s := range servers {
		if s.Name == "Europe" {
			chosen = s
		}
	}
	// The chosen server's issuer is its URL: its OpenID Provider describes
	// itself there, as the issuer every answer of it names.
	if chosen.Issuer != p.url("") {
		t.Fatalf("Europe's issuer %q, want %q", chosen.Issuer, p.url(""))
	}
	disc, err := http.Get(chosen.DiscoveryURL())
	if err != nil {
		t.Fatal(err)
	}
	var discovery struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		IssParameter          bool   `json:"authorization_response_iss_parameter_supported"`
	}
	err = json.NewDecoder(disc.Body).Decode(&discovery)
	disc.Body.Close()
	if err != nil || disc.StatusCode != http.StatusOK || discovery.Issuer != chosen.Issuer || discovery.AuthorizationEndpoint != chosen.Issuer+"/oauth2/authorize" || !discovery.IssParameter {
		t.Fatalf("discovery at %s: %d %+v %v", chosen.DiscoveryURL(), disc.StatusCode, discovery, err)
	}
	app := client.New(chosen.URL)
	app.HTTP = httpc

	old, err := app.SignIn(ctx, "fay@example.com", "the old password, long enough")
	if err != nil {
		t.Fatal(err)
	}
	if me, err := app.Me(ctx, old.AccessToken); err != nil || me.Email != "fay@example.com" {
		t.Fatalf("me: %+v %v", me, err)
	}
	// "Forgot password?" → re-enter the email → OK.
	if _, err := app.Forgot(ctx, "fay@example.com"); err != nil {
		t.Fatal(err)
	}
	text := smtp.Wait(t, 1)[0].Parts()["text/plain"]
	link := appLinkRE.FindString(text)
	if link == "" {
		t.Fatalf("no link in:\n%s", text)
	}
	u, _ := url.Parse(link)
	if u.Query().Get("app") != "1" {
		t.Fatalf("a reset asked for in the app does not say so in its link: %s", link)
	}
	if err := app.Reset(ctx, u.Query().Get("token"), "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Me(ctx, old.AccessToken); client.ErrorCode(err) != "unauthorized" {
		t.Fatalf("old access token after the reset: %v", err)
	}
	if _, err := app.Refresh(ctx, old.RefreshToken); client.ErrorCode(err) != "invalid_grant" {
		t.Fatalf("old refresh token after the reset: %v", err)
	}
	if _, err := app.SignIn(ctx, "fay@example.com", "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if errs := spec.Errors(); len(errs) > 0 {
		t.Fatalf("answers that do not match openapi.json:\n%s", strings.Join(errs, "\n"))
	}

	// The same request completed on the web page offers "Return to the app".
	if _, err := app.Forgot(ctx, "fay@example.com"); err != nil {
		t.Fatal(err)
	}
	link = appLinkRE.FindString(smtp.Wait(t, 3)[2].Parts()["text/plain"])
	c := browser()
	res, _ := get(t, c, link)
	if loc := res.Header.Get("Location"); loc != "/password/reset?app=1" {
		t.Fatalf("open link → %q", loc)
	}
	res = postForm(t, c, p.url("/password/reset?app=1"), url.Values{"password": {"the third passphrase"}, "password_confirm": {"the third passphrase"}})
	loc := res.Header.Get("Location")
	if loc != "/login?m=reset&app=1" {
		t.Fatalf("after the web reset → %q", loc)
	}
	if _, body := get(t, c, p.url(loc)); !strings.Contains(body, `href="com.example.fieldapp:/signed-out"`) {
		t.Fatal("no Return to the app after a reset started from the app")
	}
}
