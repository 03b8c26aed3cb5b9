package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/api"
	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// logAtDebug rewires e so that the API Server and the accounts Service
// log, at debug level (the level that writes a line per request), into
// the returned buffer; the database, clock and SMTP server stay e's.
func logAtDebug(t *testing.T, e *env) *testutil.Buffer {
	t.Helper()
	logs := &testutil.Buffer{}
	log := testsvc.DebugLog(logs)
	e.svc = testsvc.New(t, e.db, e.clock, testsvc.Config(nil), e.smtp.URL(), testsvc.Options{Log: log})
	e.srv.Config.Handler = api.NewServer(log, api.Config{}, e.svc)
	return logs
}

// TestNoSecretInTheAPIRequestLog: with the log at debug level, the password
// grant (and a mistyped one), the access token used, the refresh token
// used, a token revoked, and a reset through the API write a line per
// request, and not one of them holds a token or a password (SPEC §6.12).
func TestNoSecretInTheAPIRequestLog(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnvOn(t, db)
		logs := logAtDebug(t, e)
		const typo, newPW = "a mistyped passphrase", "a brand new passphrase"
		e.user("ada@example.com", pw, airlock.GroupMobile)
		if _, err := e.c.SignIn(ctx, "ada@example.com", typo); errCode(err) != "invalid_grant" {
			t.Fatalf("a wrong password: %v", err)
		}
		first, err := e.c.SignIn(ctx, "ada@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.Me(ctx, first.AccessToken); err != nil {
			t.Fatal(err)
		}
		// A client that puts its token in the query string (RFC 6750 §2.3,
		// which this API does not take) gets no further (a query parameter
		// the route does not take), and the token is not logged with the
		// path.
		if res, body := e.raw("GET", "/api/v1/me?access_token="+first.AccessToken, "", ""); res.StatusCode != http.StatusBadRequest || strings.Contains(body, first.AccessToken) {
			t.Fatalf("a token in the query string: %d %s", res.StatusCode, body)
		}
		second, err := e.c.Refresh(ctx, first.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.Me(ctx, second.AccessToken); err != nil {
			t.Fatal(err)
		}
		if err := e.c.Revoke(ctx, second.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.Forgot(ctx, "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		e.drain()
		m := tokenRE.FindStringSubmatch(e.smtp.Wait(t, 1)[0].Parts()["text/plain"])
		if m == nil {
			t.Fatal("no token in the email")
		}
		if err := e.c.Reset(ctx, m[1], newPW); err != nil {
			t.Fatal(err)
		}

		got := logs.String()
		// The log was captured at debug level: the requests are in it (the
		// log itself is not printed: it would show what leaked).
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`msg=api method=POST .*path="?/api/v1/auth/token\S* `),
			regexp.MustCompile(`msg=api method=GET .*path="?/api/v1/me\S* `),
			regexp.MustCompile(`msg=api method=POST .*path="?/api/v1/password/reset\S* `),
		} {
			if !want.MatchString(got) {
				t.Fatalf("no line matching %s in the log (%d lines)", want, strings.Count(got, "\n"))
			}
		}
		for what, secret := range map[string]string{
			"access token": first.AccessToken, "refresh token": first.RefreshToken,
			"refreshed access token": second.AccessToken, "refreshed refresh token": second.RefreshToken,
			"reset token": m[1], "password": pw, "mistyped password": typo, "new password": newPW,
		} {
			for i, line := range strings.Split(got, "\n") {
				if strings.Contains(line, secret) {
					t.Errorf("the %s is in line %d of the log: %s", what, i+1, strings.ReplaceAll(line, secret, "<"+what+">"))
				}
			}
		}
	})
}
