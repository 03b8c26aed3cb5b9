package web_test

import (
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/softkey"
)

// attr returns the value of the attribute named name of the first element
// of body matching the pattern tag (an element's opening, up to the
// attribute), unescaped; it fails the test when there is none.
func attr(t *testing.T, body, tag, name string) string {
	t.Helper()
	m := regexp.MustCompile(tag + `[^>]*?\s` + name + `="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s of %s in:\n%s", name, tag, body)
	}
	return html.UnescapeString(m[1])
}

// formAction returns the action of the form of id in body ("": the first
// form without an id), unescaped.
func formAction(t *testing.T, body, id string) string {
	t.Helper()
	re := `<form method="post" action="([^"]*)" novalidate>`
	if id != "" {
		re = `<form method="post" action="([^"]*)" id="` + id + `"`
	}
	m := regexp.MustCompile(re).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form %q in:\n%s", id, body)
	}
	return html.UnescapeString(m[1])
}

// addPasskeyByPages adds a passkey of key to the account signed in in c,
// through the account's pages, as a browser does.
func (e *env) addPasskeyByPages(c *http.Client, key *softkey.Key, name, pw string) {
	e.t.Helper()
	r := e.post(c, "/account/passkeys/new", url.Values{"name": {name}, "current_password": {pw}})
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("begin: %d\n%s", r.StatusCode, r.body)
	}
	resp, err := key.Create([]byte(attr(e.t, r.body, `<button type="button" id="create-passkey"`, "data-options")))
	if err != nil {
		e.t.Fatal(err)
	}
	r = e.post(c, "/account/passkeys", url.Values{"name": {name}, "credential": {string(resp)}})
	added := r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == "/account/passkeys?m=added"
	// A passkey that brings recovery codes shows them once instead.
	withCodes := r.StatusCode == http.StatusOK && strings.Contains(r.body, `id="recovery-codes"`)
	if !added && !withCodes {
		e.t.Fatalf("finish: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
}

// TestPasskeyPagesFirstAndRemoval: the first passkey, added from the
// account page, ends the other sessions and this browser stays signed in
// (in a new session); removing a passkey asks for the password and, with
// no authenticator app, a passkey in the same form: the password alone
// removes nothing.
func TestPasskeyPagesFirstAndRemoval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pw = "violet tractor on the moon"
	e.user("ada@example.com", pw)
	c, other := e.signIn("ada@example.com", pw), e.signIn("ada@example.com", pw)
	key := softkey.New(e.pub.Scheme + "://" + e.pub.Host)
	e.addPasskeyByPages(c, key, "Phone", pw)
	if r := e.get(c, "/account/passkeys?m=added"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Phone") {
		t.Fatalf("this browser after its first passkey: %d", r.StatusCode)
	}
	if r := e.get(other, "/account"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("another browser after the first passkey: %d", r.StatusCode)
	}

	keys, err := e.svc.Passkeys(t.Context(), mustUser(t, e, "ada@example.com"))
	if err != nil || len(keys) != 1 {
		t.Fatalf("passkeys: %v %v", keys, err)
	}
	path := "/account/passkeys/" + base64.RawURLEncoding.EncodeToString(keys[0].ID) + "/remove"
	r := e.get(c, path)
	if strings.Contains(r.body, `autocomplete="one-time-code"`) || !strings.Contains(r.body, `<label for="otp">Recovery code</label>`) {
		t.Fatal("an app's code is asked of an account without an authenticator app, or no recovery code in place of a lost passkey")
	}
	if got := attr(t, r.body, `<button type="button"[^>]*id="remove-with-passkey"`, "data-options"); got != path+"/options" {
		t.Fatalf("the passkey button asks %q", got)
	}
	if got := attr(t, r.body, `<form method="post" action="`+path+`"`, "id"); got != "remove-form" {
		t.Fatalf("the form: %q", got)
	}
	r = e.post(c, path, url.Values{"current_password": {pw}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Confirm with one of your passkeys too") {
		t.Fatalf("the password alone: %d\n%s", r.StatusCode, r.body)
	}
	if u := mustUser(t, e, "ada@example.com"); u.Passkeys != 1 {
		t.Fatal("removed with the password alone")
	}
	r = e.post(c, path+"/options", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("options: %d %s", r.StatusCode, r.body)
	}
	resp, err := key.Get([]byte(r.body))
	if err != nil {
		t.Fatal(err)
	}
	r = e.post(c, path, url.Values{"current_password": {pw}, "credential": {string(resp)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/passkeys?m=removed" {
		t.Fatalf("the password and the passkey: %d\n%s", r.StatusCode, r.body)
	}
	if u := mustUser(t, e, "ada@example.com"); u.Passkeys != 0 {
		t.Fatal("not removed")
	}
}

// TestPasskeyResetReturnsToApp: a reset link from the app (app=1), on an
// account whose second step is a passkey, keeps the way back to the app
// through the passkey's step: the new password leads to the sign-in page
// offering "Return to the app".
func TestPasskeyResetReturnsToApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *options) { o.appURL = "fieldapp://signed-out" })
	const pw = "violet tractor on the moon"
	e.user("ada@example.com", pw)
	key := softkey.New(e.pub.Scheme + "://" + e.pub.Host)
	e.addPasskeyByPages(e.signIn("ada@example.com", pw), key, "Phone", pw)

	link, _ := e.resetLink("ada@example.com")
	c := e.client()
	r := e.get(c, strings.TrimPrefix(link, e.pub.String())+"&app=1") // the link of a reset asked from the app
	if loc := r.Header.Get("Location"); loc != "/password/reset?app=1" {
		t.Fatalf("the link: %d %s", r.StatusCode, loc)
	}
	r = e.get(c, "/password/reset?app=1")
	action := formAction(t, r.body, "passkey-reset-form")
	options := attr(t, r.body, `<button type="button"[^>]*id="passkey-reset"`, "data-options")
	if strings.Contains(r.body, `id="password"`) {
		t.Fatal("the new password is asked before the passkey")
	}
	r = e.post(c, options, nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("options at %s: %d %s", options, r.StatusCode, r.body)
	}
	resp, err := key.Get([]byte(r.body))
	if err != nil {
		t.Fatal(err)
	}
	r = e.post(c, action, url.Values{"credential": {string(resp)}})
	next := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(next, "/password/reset") {
		t.Fatalf("the passkey step at %s: %d %s\n%s", action, r.StatusCode, next, r.body)
	}
	r = e.get(c, next)
	action = formAction(t, r.body, "")
	const newPW = "a brand new passphrase"
	r = e.post(c, action, url.Values{"password": {newPW}, "password_confirm": {newPW}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the new password: %d\n%s", r.StatusCode, r.body)
	}
	if r = e.get(c, r.Header.Get("Location")); !strings.Contains(r.body, `href="fieldapp://signed-out"`) {
		t.Fatalf("no Return to the app after a reset from the app with a passkey (at %s)", r.Request.URL)
	}
}

// TestPasskeyLimitsPages: the passkey pages answer a client address over
// its limits 429 with Retry-After: the sign-in's options (the script's
// JSON) and a refused passkey's sign-in (the page).
func TestPasskeyLimitsPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *options) {
		o.account = func(c *account.Config) {
			c.LimitPasskeyOptionsPerIP = account.Rate{N: 2, Per: 10 * time.Minute}
			c.LimitBadPasskeyPerIP = account.Rate{N: 1, Per: 15 * time.Minute}
		}
	})
	for range 2 {
		if r := e.post(nil, "/login/passkey/options", nil); r.StatusCode != http.StatusOK {
			t.Fatalf("options: %d %s", r.StatusCode, r.body)
		}
	}
	r := e.post(nil, "/login/passkey/options", nil)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, `"error"`) {
		t.Fatalf("options over the limit: %d %q %s", r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
	bad := url.Values{"credential": {`{"id":"AAAA","type":"public-key"}`}}
	if r := e.post(nil, "/login/passkey", bad); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a refused passkey: %d", r.StatusCode)
	}
	r = e.post(nil, "/login/passkey", bad)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a refused passkey over the limit: %d %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
}
