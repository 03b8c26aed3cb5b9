package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// TestFrenchErrorsOnFrenchPages: a domain error is shown in the page's
// language, by its key, and once.
func TestFrenchErrorsOnFrenchPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: "chef@example.com", Language: "fr",
		Password: adminPW, Groups: []string{airlock.GroupAdmin}}, account.Meta{IP: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		form       url.Values
		client     *http.Client
		want       string
	}{
		{"forgot", "/password/forgot", url.Values{"email": {"ada"}}, nil, "Saisissez une adresse e-mail valide, comme nom@exemple.fr."},
		{"forgot empty", "/password/forgot", url.Values{"email": {""}}, nil, "Saisissez une adresse e-mail."},
		{"login", "/login", url.Values{"email": {"ada@"}, "password": {"x"}}, nil, "Saisissez une adresse e-mail valide"},
		{"unknown field", "/password/forgot", url.Values{"email": {"ada@example.com"}, "cc": {"x"}}, nil, "Champ inconnu : « cc »."},
		{"new user", "/admin/users/new", url.Values{"email": {"ada@@example.com"}, "language": {"fr"}}, e.signIn("chef@example.com", adminPW), "Saisissez une adresse e-mail valide"},
		{"new user name", "/admin/users/new", url.Values{"email": {"ada@example.com"}, "first_name": {"A\u202eda"}, "language": {"fr"}}, e.signIn("chef@example.com", adminPW), "Le prénom doit comporter au plus 100 caractères"},
		{"new user taken", "/admin/users/new", url.Values{"email": {"chef@example.com"}, "language": {"fr"}}, e.signIn("chef@example.com", adminPW), "Un utilisateur a déjà cette adresse e-mail."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(tc.client, tc.path, tc.form, "Accept-Language", "fr-FR,fr;q=0.9")
			if r.StatusCode < 400 || !strings.Contains(r.body, `lang="fr"`) || !strings.Contains(r.body, tc.want) {
				t.Fatalf("%d, want the French error %q:\n%s", r.StatusCode, tc.want, r.body)
			}
			if n := strings.Count(r.body, tc.want); n != 1 {
				t.Errorf("the error is shown %d times, want once", n)
			}
			if strings.Contains(r.body, "Enter") || strings.Contains(r.body, "already exists") || strings.Contains(r.body, "Unknown field") {
				t.Errorf("English error on a French page:\n%s", r.body)
			}
		})
	}
}

// TestEmailErrorShownOnce: an error about a field is shown under it, not
// again at the top of the page; the field is marked, described by it and
// focused.
func TestEmailErrorShownOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.post(nil, "/password/forgot", url.Values{"email": {"ada"}})
	msg := "Enter a valid email address, like name@example.com."
	if r.StatusCode != http.StatusBadRequest || strings.Count(r.body, msg) != 1 || strings.Contains(r.body, `class="error"`) {
		t.Fatalf("%d, the error %d times:\n%s", r.StatusCode, strings.Count(r.body, msg), r.body)
	}
	input := regexp.MustCompile(`<input id="email"[^>]*>`).FindString(r.body)
	for _, want := range []string{`aria-invalid="true"`, `aria-describedby="email-error"`, "autofocus", `value="ada"`} {
		if !strings.Contains(input, want) {
			t.Errorf("email field without %s: %s", want, input)
		}
	}
}

// TestReturnToAfterSignIn: a page that needs signing in comes back after
// it; only a path of this site is ever a destination.
func TestReturnToAfterSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	deep := "/admin/audit?user=ada%40example.com&kind=sign_in"
	b := e.client()
	r := e.get(b, deep)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next="+url.QueryEscape(deep) {
		t.Fatalf("deep link while signed out: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = e.get(b, r.Header.Get("Location"))
	if !strings.Contains(r.body, `<input type="hidden" name="next" value="/admin/audit?user=ada%40example.com&amp;kind=sign_in">`) {
		t.Fatalf("the sign-in form does not carry the page:\n%s", r.body)
	}
	r = e.post(b, "/login", url.Values{"email": {"admin@example.com"}, "password": {adminPW}, "next": {deep}})
	if r.Header.Get("Location") != deep {
		t.Fatalf("after sign-in → %q, want %q", r.Header.Get("Location"), deep)
	}
	if r := e.get(b, "/login?next="+url.QueryEscape("/admin/users?q=x")); r.Header.Get("Location") != "/admin/users?q=x" {
		t.Errorf("signed in, /login?next → %q", r.Header.Get("Location"))
	}
	for _, evil := range []string{
		"//evil.example", "//evil.example/admin", "/\\evil.example", "\\\\evil.example", "https://evil.example/", "http:evil.example",
		"javascript:alert(1)", "/\t/evil.example", "/\n/evil.example", " //evil.example", "evil.example", "/%2F%2Fevil.example",
		"/login?next=//evil.example", "/logout",
	} {
		r := e.post(nil, "/login", url.Values{"email": {"admin@example.com"}, "password": {adminPW}, "next": {evil}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
			t.Errorf("next=%q → %d %q, want /account", evil, r.StatusCode, r.Header.Get("Location"))
		}
		if r := e.get(nil, "/login?next="+url.QueryEscape(evil)); strings.Contains(r.body, `name="next"`) {
			t.Errorf("next=%q is carried by the sign-in form", evil)
		}
	}
	// A temporary password: the change page first, then the page.
	u := e.user("ada@example.com", "violet tractor on the moon")
	if err := e.svc.AdminSetPassword(context.Background(), account.Operator, u.ID, "handed over the phone", "", true, account.Meta{IP: "cli"}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	r = e.post(c, "/login", url.Values{"email": {"ada@example.com"}, "password": {"handed over the phone"}, "next": {"/account?m=x"}})
	if r.Header.Get("Location") != "/account/password?next=%2Faccount%3Fm%3Dx" {
		t.Fatalf("forced change → %q", r.Header.Get("Location"))
	}
	r = e.get(c, r.Header.Get("Location"))
	if !strings.Contains(r.body, `name="next" value="/account?m=x"`) {
		t.Fatalf("the change page does not carry the page:\n%s", r.body)
	}
	r = e.post(c, "/account/password", url.Values{"password": {"my own chosen phrase"}, "password_confirm": {"my own chosen phrase"}, "next": {"/account?m=x"}})
	if r.Header.Get("Location") != "/account?m=x" {
		t.Fatalf("after the change → %q", r.Header.Get("Location"))
	}
}

// TestSendAgain: the check-inbox page offers to send the link again; that
// gets the same answer as the first request, under the same limits.
func TestSendAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	first := e.post(nil, "/password/forgot", url.Values{"email": {"ada@example.com"}})
	again := regexp.MustCompile(`(?s)<form method="post" action="/password/forgot" class="again">\s*<input type="hidden" name="email" value="([^"]*)">\s*<button type="submit" class="secondary" id="send-again">Send the link again</button>`).FindStringSubmatch(first.body)
	if again == nil || again[1] != "ada@example.com" {
		t.Fatalf("no send-again form:\n%s", first.body)
	}
	// Sent again four times: the same page each time; the account gets
	// three emails in all (AIRLOCK_LIMIT_RESET_PER_ACCOUNT), the rest are
	// dropped without a word.
	for i := range 4 {
		r := e.post(nil, "/password/forgot", url.Values{"email": {again[1]}})
		if r.StatusCode != first.StatusCode || r.body != first.body {
			t.Fatalf("send again #%d: %d, a different answer:\n%s", i+1, r.StatusCode, r.body)
		}
	}
	e.drain()
	e.smtp.Wait(t, 3)
	if n := len(e.smtp.Messages()); n != 3 {
		t.Fatalf("%d emails, want 3", n)
	}
	// The per-address limit (20 in 10 minutes) counts them too: 5 so far.
	for range 15 {
		e.post(nil, "/password/forgot", url.Values{"email": {"someone@example.com"}})
	}
	if r := e.post(nil, "/password/forgot", url.Values{"email": {again[1]}}); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("send again past the limit: %d", r.StatusCode)
	}
}

// TestEmailOfferedAfterReset: after a reset the sign-in page offers the
// account's email, kept in a short-lived HttpOnly cookie, never in a URL,
// once.
func TestEmailOfferedAfterReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	_, token := e.resetLink("ada@example.com")
	b := e.client()
	e.get(b, "/password/reset?token="+token)
	r := e.post(b, "/password/reset", url.Values{"password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}})
	loc := r.Header.Get("Location")
	if loc != "/login?m=reset" || strings.Contains(loc, "ada") {
		t.Fatalf("after the reset → %q", loc)
	}
	var kept *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "__Host-airlock_signin_email" {
			kept = c
		}
	}
	if kept == nil || !kept.HttpOnly || !kept.Secure || kept.MaxAge <= 0 || kept.MaxAge > 600 || strings.Contains(kept.Value, "ada@") {
		t.Fatalf("cookie: %+v", kept)
	}
	r = e.get(b, loc)
	if !strings.Contains(r.body, `value="ada@example.com"`) || !regexp.MustCompile(`<input id="password"[^>]* autofocus>`).MatchString(r.body) {
		t.Fatalf("the sign-in page does not offer the email, with the focus on the password:\n%s", r.body)
	}
	if r := e.get(b, loc); strings.Contains(r.body, "ada@example.com") {
		t.Fatal("the email is offered again")
	}
	// A cookie that holds no address offers nothing.
	req, _ := http.NewRequest("GET", e.srv.URL+"/login?m=reset", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-airlock_signin_email", Value: "PHNjcmlwdD4"})
	res, err := e.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `name="email" type="email" autocomplete="username webauthn" required maxlength="254" value=""`) {
		t.Fatalf("a cookie that holds no address fills the field:\n%s", body)
	}
}

// TestErrorPages: a 404 is "Page not found"; a signed-in user refused a
// page (403) or lost (404) is offered the way to their account, not the
// sign-in page.
func TestErrorPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	b := e.signIn("ada@example.com", "violet tractor on the moon")
	r := e.get(nil, "/no/such/page")
	if r.StatusCode != 404 || !strings.Contains(r.body, "<title>Page not found · Airlock</title>") || !strings.Contains(r.body, `<a href="/login">Back to sign in</a>`) {
		t.Fatalf("404:\n%s", r.body)
	}
	for path, status := range map[string]int{"/admin/users": 403, "/no/such/page": 404} {
		r := e.get(b, path)
		if r.StatusCode != status || !strings.Contains(r.body, `<a href="/">Back to your account</a>`) || strings.Contains(r.body, "Back to sign in") {
			t.Errorf("%s signed in: %d\n%s", path, r.StatusCode, r.body)
		}
	}
	if r := e.get(b, "/admin/users"); !strings.Contains(r.body, "<h1>Not allowed</h1>") {
		t.Error("403 title")
	}
}

// TestNavigationMarksCurrentPage: aria-current in the navigation.
func TestNavigationMarksCurrentPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	for path, want := range map[string]string{
		"/admin/users":             `<a href="/admin/users" aria-current="page">`,
		"/admin/users/" + admin.ID: `<a href="/admin/users" aria-current="true">`,
		"/admin/audit":             `<a href="/admin/audit" aria-current="page">`,
		"/admin/applications":      `<a href="/admin/applications" aria-current="page">`,
		"/admin/applications/new":  `<a href="/admin/applications" aria-current="true">`,
		"/account":                 `<a href="/account" aria-current="page">`,
	} {
		r := e.get(c, path)
		if !strings.Contains(r.body, want) || strings.Count(r.body, "aria-current") != 1 {
			t.Errorf("%s: want one %s", path, want)
		}
	}
}

// TestAdminSetPasswordSpeaksOfTheUser: on the administrator's page the
// password rules are about the user's email and name, not "your".
func TestAdminSetPasswordSpeaksOfTheUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	u := e.user("ada@example.com", "violet tractor on the moon")
	c := e.signIn("admin@example.com", adminPW)
	r := e.get(c, "/admin/users/"+u.ID)
	for _, want := range []string{"does not contain the user&#39;s email address", "does not contain the user&#39;s name"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("checklist without %q", want)
		}
	}
	r = e.post(c, "/admin/users/"+u.ID+"/set-password", url.Values{"password": {"ada lovelace 1"}, "password_confirm": {"ada lovelace 1"}, "temporary": {"on"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("%d", r.StatusCode)
	}
	reasons := regexp.MustCompile(`(?s)<div class="field-error" id="password-error" role="alert">.*?</div>`).FindString(r.body)
	for _, want := range []string{"<li>it must not contain the user&#39;s email address</li>", "<li>it must not contain the user&#39;s name</li>"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons without %q:\n%s", want, reasons)
		}
	}
	if strings.Contains(reasons, "your") || strings.Contains(reasons, ";</li>") {
		t.Errorf("reasons speak of \"your\", or end with \";\":\n%s", reasons)
	}
	// On one's own page, they speak of "your", without ";" either.
	b := e.signIn("ada@example.com", "violet tractor on the moon")
	r = e.post(b, "/account/password", url.Values{"current_password": {"violet tractor on the moon"}, "password": {"ada"}, "password_confirm": {"ada"}})
	if !strings.Contains(r.body, "<li>it must have at least 12 characters</li>") || !strings.Contains(r.body, "<li>it must not contain your email address</li>") {
		t.Errorf("own reasons:\n%s", r.body)
	}
}

// TestAutofocus: the first field, or the first field in error, has the
// focus when the page opens; one field at most.
func TestAutofocus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	focused := func(body string) string {
		all := regexp.MustCompile(`<(?:input|select)[^>]* id="([^"]+)"[^>]* autofocus>|<(?:input|select) id="([^"]+)"[^>]* autofocus>`).FindAllStringSubmatch(body, -1)
		if len(all) != 1 {
			return "none or several"
		}
		return all[0][1] + all[0][2]
	}
	for _, tc := range []struct {
		name string
		r    response
		want string
	}{
		{"login", e.get(nil, "/login"), "email"},
		{"login error", e.post(nil, "/login", url.Values{"email": {"ada@example.com"}, "password": {"no"}}), "password"},
		{"login bad email", e.post(nil, "/login", url.Values{"email": {"ada"}, "password": {"no"}}), "email"},
		{"forgot", e.get(nil, "/password/forgot"), "email"},
		{"forgot error", e.post(nil, "/password/forgot", url.Values{"email": {"ada"}}), "email"},
	} {
		if got := focused(tc.r.body); got != tc.want {
			t.Errorf("%s: focus on %s, want %s", tc.name, got, tc.want)
		}
	}
	b := e.signIn("ada@example.com", "violet tractor on the moon")
	if got := focused(e.get(b, "/account/password").body); got != "current_password" {
		t.Errorf("change page: focus on %s", got)
	}
	r := e.post(b, "/account/password", url.Values{"current_password": {"violet tractor on the moon"}, "password": {"short"}, "password_confirm": {"short"}})
	if got := focused(r.body); got != "password" {
		t.Errorf("policy error: focus on %s", got)
	}
	if r := e.get(b, "/account"); strings.Contains(r.body, "autofocus") {
		t.Error("a page without a form takes the focus")
	}
}

// TestScriptIsOurs: one script, ours, allowed by the CSP ('self' only);
// the pages work without it (the forms are plain forms, the buttons it
// shows are hidden until it runs).
func TestScriptIsOurs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.get(nil, "/login")
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src 'self' ") {
		t.Errorf("CSP %q", csp)
	}
	if !strings.Contains(r.body, `<button type="button" class="reveal" data-reveal="password" aria-pressed="false" hidden>Show password</button>`) {
		t.Error("no hidden show-password button")
	}
	js := e.get(nil, "/static/app.js")
	if js.StatusCode != 200 || !strings.Contains(js.Header.Get("Content-Type"), "javascript") || !strings.Contains(js.body, "aria-pressed") {
		t.Fatalf("app.js: %d %q", js.StatusCode, js.Header.Get("Content-Type"))
	}
	if regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(r.body) {
		t.Error("an inline event handler")
	}
}
