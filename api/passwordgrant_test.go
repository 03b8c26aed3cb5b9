package api_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// TestPasswordGrantPerApplication: the deprecated password grant works for
// the app versions that name no registered application (the built-in
// "mobile" one) and for applications given it; it is refused, before any
// password is checked, to an application without it and to every app once
// the built-in application loses it.
func TestPasswordGrantPerApplication(t *testing.T) {
	e := newEnv(t)
	e.user("fay@example.com", "a passphrase long enough", airlock.GroupMobile)
	grant := func(clientID string, basic bool) (int, string) {
		t.Helper()
		f := url.Values{"grant_type": {"password"}, "username": {"fay@example.com"}, "password": {"a passphrase long enough"}}
		hdr := []string{}
		if basic {
			hdr = []string{"Authorization", "Basic " + basicAuth(clientID)}
		} else if clientID != "" {
			f.Set("client_id", clientID)
		}
		res, body := e.raw("POST", "/api/v1/auth/token", "application/x-www-form-urlencoded", f.Encode(), hdr...)
		return res.StatusCode, body
	}
	for _, id := range []string{"", "com.example.fieldapp", account.LegacyClientID} {
		if code, body := grant(id, false); code != 200 {
			t.Fatalf("client_id %q: %d %s", id, code, body)
		}
	}
	web, _, err := e.svc.AddClient(ctx, account.Operator, account.ClientSpec{Name: "Portal", RedirectURIs: []string{"https://portal.example.com/cb"}}, account.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	for _, basic := range []bool{false, true} {
		if code, body := grant(web.ID, basic); code != 403 || !strings.Contains(body, `"forbidden"`) {
			t.Fatalf("an application without the password grant (basic %t): %d %s", basic, code, body)
		}
	}
	if err := e.svc.SetClientGrants(ctx, account.Operator, web.ID, []string{airlock.GrantAuthorizationCode, airlock.GrantPassword}, account.Meta{}); err != nil {
		t.Fatal(err)
	}
	if code, body := grant(web.ID, true); code != 200 {
		t.Fatalf("an application given the password grant: %d %s", code, body)
	}
	// Turned off for the existing app versions.
	if err := e.svc.SetClientGrants(ctx, account.Operator, account.LegacyClientID, []string{airlock.GrantRefreshToken}, account.Meta{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "com.example.fieldapp"} {
		if code, body := grant(id, false); code != 403 {
			t.Fatalf("client_id %q after the grant was turned off: %d %s", id, code, body)
		}
	}
	if err := e.svc.RemoveClient(ctx, account.Operator, account.LegacyClientID, account.Meta{}); err != nil {
		t.Fatal(err)
	}
	if code, _ := grant("", false); code != 403 {
		t.Fatalf("no client_id after the built-in application was removed: %d", code)
	}
	if n := e.svc.PasswordGrants(); n != 4 {
		t.Fatalf("password grant sign-ins counted: %d, want 4", n)
	}
}

func basicAuth(id string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":"))
}
