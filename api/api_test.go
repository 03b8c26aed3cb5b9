package api_test

import (
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/client"
)

const pw = "violet tractor on the moon"

func TestServers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, airlock.Server{ID: "eu", Name: "Europe", URL: "https://eu.example.com/"}, airlock.Server{ID: "na", Name: "North America", URL: "https://na.example.com"},
		airlock.Server{ID: "own", Name: "Our own", URL: "https://api.own.example.com", Issuer: "https://own.example.com"})
	servers, err := e.c.Servers(ctx)
	if err != nil || len(servers) != 3 || servers[1] != (client.Server{ID: "na", Name: "North America", URL: "https://na.example.com", Issuer: "https://na.example.com"}) {
		t.Fatalf("servers = %+v, %v", servers, err)
	}
	// Each server's issuer: its URL's without the trailing slash (Airlock's
	// issuer is its public URL), unless the directory gives one.
	if servers[0].Issuer != "https://eu.example.com" || servers[2].Issuer != "https://own.example.com" ||
		servers[0].DiscoveryURL() != "https://eu.example.com/.well-known/openid-configuration" {
		t.Fatalf("issuers: %+v", servers)
	}
	if servers, err := newEnv(t).c.Servers(ctx); err != nil || len(servers) != 0 || servers == nil {
		t.Fatalf("empty directory = %#v, %v", servers, err)
	}
}

func TestTokensRotateAndReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	t1, err := e.c.SignIn(ctx, "ada@example.com", pw)
	if err != nil || t1.TokenType != "Bearer" || t1.ExpiresIn != 3600 {
		t.Fatalf("sign in: %+v, %v", t1, err)
	}
	if me, err := e.c.Me(ctx, t1.AccessToken); err != nil || me.Email != "ada@example.com" {
		t.Fatalf("me: %+v %v", me, err)
	}
	t2, err := e.c.Refresh(ctx, t1.RefreshToken)
	if err != nil || t2.RefreshToken == t1.RefreshToken {
		t.Fatalf("refresh: %+v %v", t2, err)
	}
	// The rotated refresh token comes back, later: it leaked. The whole
	// family dies, including the tokens the legitimate app just received.
	e.clock.Advance(5 * time.Second)
	if _, err := e.c.Refresh(ctx, t1.RefreshToken); errCode(err) != "invalid_grant" {
		t.Fatalf("reused refresh token: %v", err)
	}
	if _, err := e.c.Me(ctx, t2.AccessToken); errCode(err) != "unauthorized" {
		t.Fatalf("access token of a revoked family: %v", err)
	}
	if _, err := e.c.Refresh(ctx, t2.RefreshToken); errCode(err) != "invalid_grant" {
		t.Fatalf("refresh token of a revoked family: %v", err)
	}
	// Another sign-in (another family) is untouched.
	t3, _ := e.c.SignIn(ctx, "ada@example.com", pw)
	if _, err := e.c.Me(ctx, t3.AccessToken); err != nil {
		t.Fatal(err)
	}
	// Revoke (sign out) ends it; revoking twice or an unknown token is fine.
	if err := e.c.Revoke(ctx, t3.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Me(ctx, t3.AccessToken); errCode(err) != "unauthorized" {
		t.Fatalf("after revoking the refresh token: %v", err)
	}
	if err := e.c.Revoke(ctx, "nonsense"); err != nil {
		t.Fatal(err)
	}
}

func TestAccessTokenExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	tk, _ := e.c.SignIn(ctx, "ada@example.com", pw)
	e.clock.Advance(59 * time.Minute)
	if _, err := e.c.Me(ctx, tk.AccessToken); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.c.Me(ctx, tk.AccessToken); errCode(err) != "unauthorized" {
		t.Fatalf("after an hour: %v", err)
	}
	e.clock.Advance(30*24*time.Hour - time.Hour - time.Second)
	tk, err := e.c.Refresh(ctx, tk.RefreshToken)
	if err != nil {
		t.Fatalf("refresh just before 30 days: %v", err)
	}
	e.clock.Advance(30 * 24 * time.Hour)
	if _, err := e.c.Refresh(ctx, tk.RefreshToken); errCode(err) != "invalid_grant" {
		t.Fatalf("refresh after 30 days: %v", err)
	}
}

func TestTokenEndpointForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	e.user("office@example.com", pw, airlock.GroupWebReader)
	res, body := e.raw("POST", "/api/v1/auth/token", "application/x-www-form-urlencoded", "grant_type=password&username=ada%40example.com&password=violet+tractor+on+the+moon&client_id=field-app")
	if res.StatusCode != 200 || !strings.Contains(body, `"token_type":"Bearer"`) || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("OAuth form: %d %s", res.StatusCode, body)
	}
	if _, err := e.c.SignIn(ctx, "ada@example.com", "wrong password"); errCode(err) != "invalid_grant" {
		t.Fatalf("wrong password: %v", err)
	}
	// Signing in to the API needs the mobile (or admin) group.
	if _, err := e.c.SignIn(ctx, "office@example.com", pw); errCode(err) != "forbidden" {
		t.Fatalf("without group mobile: %v", err)
	}
	for name, b := range map[string]string{
		"unknown grant":    `{"grant_type":"client_credentials"}`,
		"missing password": `{"grant_type":"password","username":"ada@example.com"}`,
		"mixed grants":     `{"grant_type":"refresh_token","refresh_token":"x","username":"ada@example.com"}`,
	} {
		if res, body := e.raw("POST", "/api/v1/auth/token", "application/json", b); res.StatusCode != 400 || !strings.Contains(body, "invalid_request") {
			t.Errorf("%s: %d %s", name, res.StatusCode, body)
		}
	}
	if res, _ := e.raw("POST", "/api/v1/auth/token", "application/x-www-form-urlencoded", "grant_type=password&grant_type=refresh_token"); res.StatusCode != 400 {
		t.Fatalf("repeated form field: %d", res.StatusCode)
	}
}

func TestSignInThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	for range 10 {
		e.c.SignIn(ctx, "ada@example.com", "not the password")
	}
	_, err := e.c.SignIn(ctx, "ada@example.com", pw)
	if ce, ok := err.(*client.Error); !ok || ce.Code != "rate_limited" || ce.Status != 429 || ce.RetryAfter <= 0 {
		t.Fatalf("after 10 failures: %v", err)
	}
}

func TestTemporaryPasswordBlocksEverythingButTheChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada@example.com", pw, airlock.GroupMobile)
	if err := e.svc.AdminSetPassword(ctx, account.Operator, u.ID, "handed over the phone", "", true, metaCLI); err != nil {
		t.Fatal(err)
	}
	tk, err := e.c.SignIn(ctx, "ada@example.com", "handed over the phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Me(ctx, tk.AccessToken); errCode(err) != "password_change_required" {
		t.Fatalf("me with a temporary password: %v", err)
	}
	if err := e.c.ChangePassword(ctx, tk.AccessToken, "", "handed over the phone"); errCode(err) != "password_policy" {
		t.Fatalf("keeping the temporary password: %v", err)
	}
	if err := e.c.ChangePassword(ctx, tk.AccessToken, "", "my own phrase for work"); err != nil {
		t.Fatal(err)
	}
	// Every token stopped working with the change.
	if _, err := e.c.Refresh(ctx, tk.RefreshToken); errCode(err) != "invalid_grant" {
		t.Fatalf("refresh after the change: %v", err)
	}
	tk, _ = e.c.SignIn(ctx, "ada@example.com", "my own phrase for work")
	if me, err := e.c.Me(ctx, tk.AccessToken); err != nil || me.MustChangePassword {
		t.Fatalf("me after the change: %+v %v", me, err)
	}
	// A normal change needs the current password.
	if err := e.c.ChangePassword(ctx, tk.AccessToken, "wrong", "another phrase for work"); errCode(err) != "unauthorized" {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := e.c.ChangePassword(ctx, tk.AccessToken, "my own phrase for work", "short"); errCode(err) != "password_policy" {
		t.Fatalf("short password: %v", err)
	}
}

// TestForgotSameAnswer: the API's forgot answer is the same for an
// existing, unknown or inactive account.
func TestForgotSameAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	gone := e.user("gone@example.com", pw, airlock.GroupMobile)
	gone.Active = false
	e.db.UpdateUser(ctx, gone)
	type answer struct {
		Status  int
		Headers http.Header
		Body    string
	}
	var answers []answer
	for _, email := range []string{"ada@example.com", "nobody@example.com", "gone@example.com"} {
		res, body := e.raw("POST", "/api/v1/password/forgot", "application/json", `{"email":"`+email+`"}`)
		h := res.Header.Clone()
		h.Del("Date")
		// Each answer has a flow of its own, of one shape: the rest is the
		// same bytes.
		flow := flowRE.FindStringSubmatch(body)
		if flow == nil {
			t.Fatalf("no flow in %s", body)
		}
		answers = append(answers, answer{res.StatusCode, h, strings.Replace(body, flow[1], "FLOW", 1)})
	}
	if answers[0].Status != 202 || strings.TrimSpace(answers[0].Body) != `{"status":"accepted","flow":"FLOW"}` {
		t.Fatalf("answer: %+v", answers[0])
	}
	for _, a := range answers[1:] {
		if !reflect.DeepEqual(a, answers[0]) {
			t.Fatalf("answers differ:\n%+v\n%+v", answers[0], a)
		}
	}
	e.drain()
	e.smtp.Wait(t, 1)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d emails, want 1", n)
	}
}

func TestResetThroughAPIRevokesTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	old, _ := e.c.SignIn(ctx, "ada@example.com", pw)
	if _, err := e.c.Forgot(ctx, "ADA@example.com"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	m := tokenRE.FindStringSubmatch(e.smtp.Wait(t, 1)[0].Parts()["text/plain"])
	if m == nil {
		t.Fatal("no token in the email")
	}
	if err := e.c.Reset(ctx, m[1], "short"); errCode(err) != "password_policy" {
		t.Fatalf("policy: %v", err)
	}
	if err := e.c.Reset(ctx, m[1], "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Reset(ctx, m[1], "another brand new one"); errCode(err) != "invalid_grant" {
		t.Fatalf("second use: %v", err)
	}
	if _, err := e.c.Me(ctx, old.AccessToken); errCode(err) != "unauthorized" {
		t.Fatalf("old access token: %v", err)
	}
	if _, err := e.c.Refresh(ctx, old.RefreshToken); errCode(err) != "invalid_grant" {
		t.Fatalf("old refresh token: %v", err)
	}
	if _, err := e.c.SignIn(ctx, "ada@example.com", "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
}

func TestForgotRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for range 20 {
		if _, err := e.c.Forgot(ctx, "x@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.c.Forgot(ctx, "y@example.com")
	if ce, ok := err.(*client.Error); !ok || ce.Status != 429 || ce.RetryAfter <= 0 {
		t.Fatalf("21st forgot: %v", err)
	}
	for range 20 {
		e.c.Reset(ctx, strings.Repeat("A", 43), "a brand new passphrase")
	}
	if err := e.c.Reset(ctx, strings.Repeat("B", 43), "a brand new passphrase"); errCode(err) != "rate_limited" {
		t.Fatalf("21st bad token: %v", err)
	}
}

func TestBearerSchemeCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	tk, _ := e.c.SignIn(ctx, "ada@example.com", pw)
	if res, body := e.raw("GET", "/api/v1/me", "", "", "Authorization", "bearer "+tk.AccessToken); res.StatusCode != 200 {
		t.Fatalf("lower-case scheme: %d %s", res.StatusCode, body)
	}
	if res, _ := e.raw("GET", "/api/v1/me", "", "", "Authorization", "Basic "+tk.AccessToken); res.StatusCode != 401 {
		t.Fatalf("Basic scheme: %d", res.StatusCode)
	}
}

// flowRE finds the flow id in a forgot answer.
var flowRE = regexp.MustCompile(`"flow":"([A-Za-z0-9_-]{43})"`)

// emailCodeRE finds the code beside the link in an email.
var emailCodeRE = regexp.MustCompile(`\b[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\b`)

// TestResetByFlowAndCode: the app finishes a reset with the flow its
// forgot request got and the code from the email, without the link; a
// wrong code says so (field "code"), five end the flow (field "flow"), and
// a code is good once.
func TestResetByFlowAndCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	flow, err := e.c.Forgot(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	e.drain()
	code := emailCodeRE.FindString(e.smtp.Wait(t, 1)[0].Parts()["text/plain"])
	if code == "" {
		t.Fatal("no code in the email")
	}
	if err := e.c.ResetByCode(ctx, flow, "BCDF-GHJK", "a brand new passphrase", ""); errCode(err) != "invalid_grant" || err.(*client.Error).Field != "code" {
		t.Fatalf("wrong code: %v", err)
	}
	if err := e.c.ResetByCode(ctx, flow, code, "short", ""); errCode(err) != "password_policy" {
		t.Fatalf("policy: %v", err)
	}
	if err := e.c.ResetByCode(ctx, flow, strings.ToLower(code), "a brand new passphrase", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.c.ResetByCode(ctx, flow, code, "another brand new one", ""); errCode(err) != "invalid_grant" {
		t.Fatalf("second use: %v", err)
	}
	if _, err := e.c.SignIn(ctx, "ada@example.com", "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	// Five wrong codes end a flow, for an address with no account too.
	other, err := e.c.Forgot(ctx, "nobody@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := e.c.ResetByCode(ctx, other, "BCDF-GHJK", "a brand new passphrase", ""); err.(*client.Error).Field != "code" {
			t.Fatalf("wrong code: %v", err)
		}
	}
	if err := e.c.ResetByCode(ctx, other, "BCDF-GHJK", "a brand new passphrase", ""); errCode(err) != "invalid_grant" || err.(*client.Error).Field != "flow" {
		t.Fatalf("sixth code: %v", err)
	}
}

// TestResetFieldsOneWay: the link is named by its token, or by a flow and
// a code, never both, never half.
func TestResetFieldsOneWay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	flow := strings.Repeat("A", 43)
	for _, body := range []string{
		`{"password":"a brand new passphrase"}`,
		`{"flow":"` + flow + `","password":"a brand new passphrase"}`,
		`{"code":"BCDF-GHJK","password":"a brand new passphrase"}`,
		`{"token":"` + flow + `","flow":"` + flow + `","code":"BCDF-GHJK","password":"a brand new passphrase"}`,
		`{"flow":"` + flow + `","code":"BCDF-GHJK"}`,
		`{"flow":"` + flow + `","code":"ABCD-EFGH","password":"a brand new passphrase"}`,
		`{"flow":"short","code":"BCDF-GHJK","password":"a brand new passphrase"}`,
	} {
		res, out := e.raw("POST", "/api/v1/password/reset", "application/json", body)
		if res.StatusCode != 400 || !strings.Contains(out, `"invalid_request"`) {
			t.Fatalf("%s: %d %s", body, res.StatusCode, out)
		}
	}
}
