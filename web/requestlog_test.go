package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/web"
)

// logAtDebug rewires e so that the web Server and the accounts Service
// log, at debug level (the level that writes a line per request), into
// the returned buffer; the database, clock and SMTP server stay e's.
func logAtDebug(t *testing.T, e *env) *testutil.Buffer {
	t.Helper()
	logs := &testutil.Buffer{}
	log := testsvc.DebugLog(logs)
	e.svc = testsvc.New(t, e.db, e.clock, testsvc.Config(e.pub), e.smtp.URL(), testsvc.Options{Log: log})
	h, err := web.NewServer(log, web.Config{PublicURL: e.pub}, e.svc, e.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.handler = h
	e.srv.Config.Handler = h
	return logs
}

// TestNoSecretInTheRequestLog: with the request log at debug level, a reset
// link opened (its token in the query string), the new password set, a
// sign-in (and a mistyped one), and the session used write a line per
// request, and not one of them holds the token, the session id or a
// password (SPEC §6.12). The log writes the path, never the query string.
func TestNoSecretInTheRequestLog(t *testing.T) {
	for name, opts := range map[string][]func(*options){"sqlite": nil, "postgres": {onPostgres}} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, opts...)
			logs := logAtDebug(t, e)
			const oldPW, newPW, typo = "the old password, long enough", "a brand new passphrase", "a mistyped passphrase"
			e.user("ada@example.com", oldPW)
			link, token := e.resetLink("ada@example.com")
			browser := e.client()
			if r := e.get(browser, strings.TrimPrefix(link, "https://accounts.example.com")); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("open the link: %d", r.StatusCode)
			}
			if r := e.post(browser, "/password/reset", url.Values{"password": {newPW}, "password_confirm": {newPW}}); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("set the new password: %d", r.StatusCode)
			}
			if r := e.post(e.client(), "/login", url.Values{"email": {"ada@example.com"}, "password": {typo}}); r.StatusCode == http.StatusSeeOther {
				t.Fatal("a wrong password signed in")
			}
			c := e.signIn("ada@example.com", newPW)
			if r := e.get(c, "/account"); r.StatusCode != http.StatusOK {
				t.Fatalf("the session does not work: %d", r.StatusCode)
			}
			srvURL, _ := url.Parse(e.srv.URL)
			var sid string
			for _, ck := range c.Jar.Cookies(srvURL) {
				if strings.HasSuffix(ck.Name, "airlock_session") {
					sid = ck.Value
				}
			}
			if sid == "" {
				t.Fatal("no session cookie")
			}

			got := logs.String()
			// The log was captured at debug level: each request is in it
			// (the log itself is not printed: it would show what leaked).
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`msg=http method=GET .*path="?/password/reset\S* .*status=303`),
				regexp.MustCompile(`msg=http method=POST .*path="?/login\S* .*status=303`),
				regexp.MustCompile(`msg=http method=GET .*path="?/account\S* .*status=200`),
			} {
				if !want.MatchString(got) {
					t.Fatalf("no line matching %s in the request log (%d lines)", want, strings.Count(got, "\n"))
				}
			}
			for what, secret := range map[string]string{"reset token": token, "session id": sid,
				"old password": oldPW, "new password": newPW, "mistyped password": typo} {
				for i, line := range strings.Split(got, "\n") {
					if strings.Contains(line, secret) {
						t.Errorf("the %s is in line %d of the log: %s", what, i+1, strings.ReplaceAll(line, secret, "<"+what+">"))
					}
				}
			}
		})
	}
}
