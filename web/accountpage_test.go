package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// signInWith signs in from a browser that sends userAgent.
func (e *env) signInWith(email, pw, userAgent string) *http.Client {
	e.t.Helper()
	c := e.client()
	if r := e.post(c, "/login", url.Values{"email": {email}, "password": {pw}}, "User-Agent", userAgent); r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in %s: %d", email, r.StatusCode)
	}
	return c
}

// TestAccountPageFacts: groups in words, as the back office says them,
// and the last change of password, in English and French.
func TestAccountPageFacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for lang, want := range map[string][]string{
		"en": {"<dd>Mobile user, Web reader</dd>", "<dt>Password</dt><dd>Last changed <time datetime=\"2026-03-02T08:00:00Z\">"},
		"fr": {"<dd>Utilisateur mobile, Lecteur web</dd>", "<dt>Mot de passe</dt><dd>Modifié le <time datetime=\"2026-03-02T08:00:00Z\">"},
	} {
		email := lang + "@example.com"
		if _, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: email, FirstName: "Ada", Language: lang,
			Password: "violet tractor on the moon", Groups: []string{airlock.GroupWebReader, airlock.GroupMobile}}, account.Meta{IP: "cli"}); err != nil {
			t.Fatal(err)
		}
		r := e.get(e.signIn(email, "violet tractor on the moon"), "/account")
		for _, w := range want {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s: no %s", lang, w)
			}
		}
		if strings.Contains(r.body, "<dd>mobile") || strings.Contains(r.body, "web_reader</dd>") {
			t.Errorf("%s: a group shown by its id", lang)
		}
	}
}

// TestAccountSessions: the user sees where they are signed in (browser
// and system, address, last activity), this browser marked; "sign out
// everywhere else" ends the other browsers and the apps' sign-ins, and
// keeps this one.
func TestAccountSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon", airlock.GroupMobile)
	desk := e.signInWith("ada@example.com", "violet tractor on the moon", firefoxOnWindows)
	phone := e.signInWith("ada@example.com", "violet tractor on the moon", safariOnIPhone)
	app, err := e.svc.SignInAPI(context.Background(), "ada@example.com", "violet tractor on the moon", "", account.Meta{IP: "192.0.2.8", UserAgent: "FieldApp/2.3 CFNetwork/1494.0.7 Darwin/23.4.0"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.get(desk, "/account")
	for _, w := range []string{
		`<h2 id="sessions-title">Where you are signed in</h2>`,
		`<p><strong>Firefox 128 on Windows</strong> <span class="badge">This browser</span></p>`,
		`<p><strong>Safari 17 on iOS 17.5</strong></p>`,
		`<p class="hint">127.0.0.1 · last active <time datetime="2026-03-02T08:00:00Z">`,
		`<form method="post" action="/account/sessions/sign-out-others">`,
	} {
		if !strings.Contains(r.body, w) {
			t.Errorf("no %s", w)
		}
	}
	if strings.Index(r.body, "Firefox 128 on Windows") > strings.Index(r.body, "Safari 17 on iOS 17.5") {
		t.Error("this browser is not listed first")
	}
	if n := strings.Count(r.body, `class="badge"`); n != 1 {
		t.Errorf("%d sessions marked as this browser", n)
	}
	if r := e.get(phone, "/account"); !strings.Contains(r.body, `<strong>Safari 17 on iOS 17.5</strong> <span class="badge">This browser</span>`) {
		t.Error("the phone's page does not mark the phone")
	}

	// Another site cannot make the user sign out.
	if r := e.post(desk, "/account/sessions/sign-out-others", nil, "Origin", "https://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site: %d", r.StatusCode)
	}
	if r := e.get(phone, "/account"); r.StatusCode != http.StatusOK {
		t.Fatal("a cross-site request signed the phone out")
	}
	r = e.post(desk, "/account/sessions/sign-out-others", nil, "User-Agent", firefoxOnWindows)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?m=signed_out_others&n=1" {
		t.Fatalf("sign out others: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = e.get(desk, r.Header.Get("Location"))
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Signed out everywhere else: 1 other browser, and the mobile app.") ||
		strings.Contains(r.body, "Safari") {
		t.Fatalf("after signing out the others: %d\n%s", r.StatusCode, r.body)
	}
	if r := e.get(phone, "/account"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("the phone is still signed in: %d", r.StatusCode)
	}
	if _, err := e.svc.AuthenticateAPI(context.Background(), app.AccessToken); err == nil {
		t.Error("the app is still signed in")
	}
	if _, err := e.svc.Refresh(context.Background(), app.RefreshToken, account.Meta{IP: "192.0.2.8"}); err == nil {
		t.Error("the app can still refresh its sign-in")
	}
	events, _, _ := e.db.ListAudit(context.Background(), airlock.AuditFilter{Kind: airlock.AuditSessionsRevoked})
	if len(events) != 1 || events[0].IP != "127.0.0.1" || events[0].UserAgent != firefoxOnWindows {
		t.Errorf("audit: %+v", *events[0])
	}
	// Again, with no other browser left: said as such, not "0 other browsers".
	r = e.post(desk, "/account/sessions/sign-out-others", nil)
	if r.Header.Get("Location") != "/account?m=signed_out_others&n=0" {
		t.Fatalf("sign out others again: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.get(desk, r.Header.Get("Location")); !strings.Contains(r.body, "No other browser was signed in.") || strings.Contains(r.body, "0 other") {
		t.Fatalf("with no other browser:\n%s", r.body)
	}
	// French, and the plural.
	fr := e.signIn("ada@example.com", "violet tractor on the moon")
	if _, err := e.svc.UpdateMyProfile(context.Background(), mustUser(t, e, "ada@example.com"), "Ada", "Lovelace", "fr", account.Meta{IP: "cli"}); err != nil {
		t.Fatal(err)
	}
	e.signIn("ada@example.com", "violet tractor on the moon")
	e.signIn("ada@example.com", "violet tractor on the moon")
	r = e.post(fr, "/account/sessions/sign-out-others", nil)
	if r = e.get(fr, r.Header.Get("Location")); !strings.Contains(r.body, "Déconnecté partout ailleurs : 3 autres navigateurs, et l’application mobile.") ||
		!strings.Contains(r.body, `<span class="badge">Ce navigateur</span>`) || !strings.Contains(r.body, "Où vous êtes connecté") {
		t.Errorf("in French:\n%s", r.body)
	}
}

func mustUser(t *testing.T, e *env, email string) *airlock.User {
	t.Helper()
	u, err := e.db.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAccountProfile: users change their own name and language (the page
// then speaks it), never their email address; bad input is refused under
// its field, with what was typed.
func TestAccountProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	c := e.signIn("ada@example.com", "violet tractor on the moon")
	r := e.get(c, "/account")
	for _, w := range []string{`<form method="post" action="/account/profile" novalidate>`, `id="first_name" name="first_name" type="text" maxlength="100" autocomplete="off" value="Ada"`,
		`<option value="en" selected>English</option><option value="fr">Français</option>`, "Only an administrator can change your email address."} {
		if !strings.Contains(r.body, w) {
			t.Errorf("no %s", w)
		}
	}
	if strings.Contains(r.body, `name="email"`) {
		t.Error("the account page offers to change the email address")
	}

	r = e.post(c, "/account/profile", url.Values{"first_name": {" Augusta Ada "}, "last_name": {"King"}, "language": {"fr"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?m=profile_saved" {
		t.Fatalf("save: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	r = e.get(c, r.Header.Get("Location"))
	if !strings.Contains(r.body, `<html lang="fr">`) || !strings.Contains(r.body, "Votre nom et votre langue sont enregistrés.") || !strings.Contains(r.body, "<dd>Augusta Ada King</dd>") {
		t.Fatalf("after saving:\n%s", r.body)
	}
	u := mustUser(t, e, "ada@example.com")
	if u.FirstName != "Augusta Ada" || u.LastName != "King" || u.Language != "fr" {
		t.Fatalf("saved: %+v", u)
	}
	events, _, _ := e.db.ListAudit(context.Background(), airlock.AuditFilter{Kind: airlock.AuditUserUpdated})
	if len(events) != 1 || events[0].ActorID != u.ID || events[0].Detail != "own_profile" || len(events[0].Args) != 1 || events[0].Args[0] != "first_name last_name language" {
		t.Errorf("audit: %+v", events)
	}

	for _, tc := range []struct {
		form          url.Values
		status        int
		field, reason string
	}{
		{url.Values{"first_name": {"Ada\u202e"}, "last_name": {"King"}, "language": {"fr"}}, http.StatusBadRequest, "first_name", "Le prénom doit comporter"},
		{url.Values{"first_name": {"Ada"}, "last_name": {strings.Repeat("k", 101)}, "language": {"fr"}}, http.StatusBadRequest, "last_name", "Le nom doit comporter"},
		{url.Values{"first_name": {"Ada"}, "last_name": {"King"}, "language": {"de"}}, http.StatusBadRequest, "language", "La langue doit être en ou fr."},
		{url.Values{"first_name": {"Ada"}, "last_name": {"King"}, "language": {"en"}, "email": {"eve@example.com"}}, http.StatusBadRequest, "", "Champ inconnu"},
	} {
		r := e.post(c, "/account/profile", tc.form)
		if r.StatusCode != tc.status || !strings.Contains(r.body, tc.reason) {
			t.Errorf("%v: %d\n%s", tc.form, r.StatusCode, r.body)
			continue
		}
		if tc.field != "" && (!strings.Contains(r.body, `id="`+tc.field+`-error"`) || !strings.Contains(r.body, `aria-invalid="true"`) ||
			!regexp.MustCompile(`id="`+tc.field+`"[^>]*autofocus`).MatchString(r.body)) {
			t.Errorf("%v: the error is not under its field, or not focused", tc.form)
		}
		if v := tc.form.Get("first_name"); tc.field == "first_name" && !strings.Contains(r.body, `value="`+v+`"`) {
			t.Errorf("%v: what was typed is not shown again", tc.form)
		}
	}
	if got := mustUser(t, e, "ada@example.com"); got.Email != "ada@example.com" || got.FirstName != "Augusta Ada" || got.Language != "fr" {
		t.Fatalf("a refused change was written: %+v", got)
	}
	if r := e.post(e.client(), "/account/profile", url.Values{"first_name": {"Eve"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("anonymous: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}
