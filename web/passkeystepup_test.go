package web_test

import (
	"encoding/base32"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/softkey"
	"github.com/airlockhq/airlock/totp"
)

// confirmByPasskey asks the options of the confirm button of id on page
// body (as static/webauthn.js does) and returns key's answer.
func (e *env) confirmByPasskey(c *http.Client, body, id string, key *softkey.Key) string {
	e.t.Helper()
	path := attr(e.t, body, `<button type="button"[^>]*id="`+id+`"`, "data-options")
	r := e.post(c, path, nil)
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("options of %s: %d %s", path, r.StatusCode, r.body)
	}
	resp, err := key.Get([]byte(r.body))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(resp)
}

// TestPasskeyPagesConfirmChanges: on an account whose only second step is
// a passkey, the forms that add a passkey, change the password and (for an
// administrator) change their own rights offer a "confirm with a passkey"
// button in the form with the password; the add and change forms have no
// button that sends the password alone, and the password alone is refused
// with words that say what to do.
func TestPasskeyPagesConfirmChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pw = "violet tractor on the moon"
	e.user("ada@example.com", pw, airlock.GroupAdmin)
	c := e.signIn("ada@example.com", pw)
	key := softkey.New(e.pub.Scheme + "://" + e.pub.Host)
	e.addPasskeyByPages(c, key, "Phone", pw)

	// Adding a second passkey.
	r := e.get(c, "/account/passkeys")
	if got := attr(t, r.body, `<button type="button"[^>]*id="add-with-passkey"`, "data-form"); got != "add-form" {
		t.Fatalf("the confirm button sends %q", got)
	}
	// Its own button sends the password with a recovery code (a lost
	// passkey), a field it requires; never an app's code it has not.
	if strings.Contains(r.body, `autocomplete="one-time-code"`) || !regexp.MustCompile(`<input id="otp" name="otp"[^>]* required`).MatchString(r.body) {
		t.Fatal("the add form sends the password alone, or asks a code the account has not")
	}
	r = e.post(c, "/account/passkeys/new", url.Values{"name": {"Laptop"}, "current_password": {pw}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Confirm with one of your passkeys too") {
		t.Fatalf("added with the password alone: %d\n%s", r.StatusCode, r.body)
	}
	answer := e.confirmByPasskey(c, e.get(c, "/account/passkeys").body, "add-with-passkey", key)
	r = e.post(c, "/account/passkeys/new", url.Values{"name": {"Laptop"}, "current_password": {pw}, "credential": {answer}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("with the password and a passkey: %d\n%s", r.StatusCode, r.body)
	}
	laptop := softkey.New(e.pub.Scheme + "://" + e.pub.Host)
	resp, err := laptop.Create([]byte(attr(t, r.body, `<button type="button" id="create-passkey"`, "data-options")))
	if err != nil {
		t.Fatal(err)
	}
	if r = e.post(c, "/account/passkeys", url.Values{"name": {"Laptop"}, "credential": {string(resp)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("finish: %d\n%s", r.StatusCode, r.body)
	}
	if u := mustUser(t, e, "ada@example.com"); u.Passkeys != 2 {
		t.Fatalf("%d passkeys", u.Passkeys)
	}

	// An administrator's own profile: the button beside the save button
	// (a name needs no proof).
	u := mustUser(t, e, "ada@example.com")
	r = e.get(c, "/admin/users/"+u.ID)
	if got := attr(t, r.body, `<button type="button"[^>]*id="profile-with-passkey"`, "data-options"); got != "/admin/users/"+u.ID+"/confirm/options" {
		t.Fatalf("the profile's confirm button asks %q", got)
	}
	own := url.Values{"email": {u.Email}, "first_name": {"Ada"}, "last_name": {"Lovelace"}, "language": {"en"}, "active": {"on"},
		"groups": {airlock.GroupAdmin, airlock.GroupMobile}, "current_password": {pw}}
	if r = e.post(c, "/admin/users/"+u.ID, own); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("own groups with the password alone: %d", r.StatusCode)
	}
	own.Set("credential", e.confirmByPasskey(c, e.get(c, "/admin/users/"+u.ID).body, "profile-with-passkey", laptop))
	if r = e.post(c, "/admin/users/"+u.ID, own); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("own groups with the password and a passkey: %d\n%s", r.StatusCode, r.body)
	}
	if !mustUser(t, e, "ada@example.com").HasGroup(airlock.GroupMobile) {
		t.Fatal("own groups not changed")
	}

	// Changing the password.
	r = e.get(c, "/account/password")
	if got := attr(t, r.body, `<button type="button"[^>]*id="password-with-passkey"`, "data-form"); got != "password-form" {
		t.Fatalf("the confirm button sends %q", got)
	}
	if form := regexp.MustCompile(`(?s)<form[^>]*id="password-form".*?</form>`).FindString(r.body); form == "" ||
		strings.Contains(form, `type="submit"`) && !regexp.MustCompile(`<input id="otp" name="otp"[^>]* required`).MatchString(form) {
		t.Fatalf("the change form sends the password alone:\n%s", form)
	}
	change := url.Values{"current_password": {pw}, "password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}}
	if r = e.post(c, "/account/password", change); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Confirm with one of your passkeys too") {
		t.Fatalf("changed with the password alone: %d\n%s", r.StatusCode, r.body)
	}
	change.Set("credential", e.confirmByPasskey(c, e.get(c, "/account/password").body, "password-with-passkey", key))
	if r = e.post(c, "/account/password", change); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?m=password_changed" {
		t.Fatalf("with the password and a passkey: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
}

// TestPasskeyAccountTurnsTheAppOnByPage: on an account whose second step
// is a passkey, the app's enrolment form confirms with a passkey (no
// button sends the password and the app's code alone), and the password
// with the new app's code alone is refused, the app left off.
func TestPasskeyAccountTurnsTheAppOnByPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pw = "violet tractor on the moon"
	e.user("ada@example.com", pw)
	c := e.signIn("ada@example.com", pw)
	key := softkey.New(e.pub.Scheme + "://" + e.pub.Host)
	e.addPasskeyByPages(c, key, "Phone", pw)

	page := e.get(c, "/account/two-factor")
	if got := attr(t, page.body, `<button type="button"[^>]*id="two-factor-with-passkey"`, "data-form"); got != "two-factor-form" {
		t.Fatalf("the confirm button sends %q", got)
	}
	if strings.Contains(page.body, `id="two-factor-on"`) {
		t.Fatal("the enrolment form sends the password and the app's code alone")
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(secretKeyRE.FindStringSubmatch(page.body)[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"otp": {totp.Code(secret, totp.StepAt(e.clock.Now()))}, "current_password": {pw},
		"enrolment": {visitRE.FindStringSubmatch(page.body)[1]}}
	if r := e.post(c, "/account/two-factor", form); r.StatusCode != http.StatusUnauthorized || mustUser(t, e, "ada@example.com").TwoFactor() {
		t.Fatalf("the app turned on with the password alone: %d\n%s", r.StatusCode, r.body)
	}
	page = e.get(c, "/account/two-factor?")
	form.Set("enrolment", visitRE.FindStringSubmatch(page.body)[1])
	secret, _ = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(secretKeyRE.FindStringSubmatch(page.body)[1], " ", ""))
	form.Set("otp", totp.Code(secret, totp.StepAt(e.clock.Now())))
	form.Set("credential", e.confirmByPasskey(c, page.body, "two-factor-with-passkey", key))
	if r := e.post(c, "/account/two-factor", form); r.StatusCode != http.StatusOK || len(codeRE.FindAllStringSubmatch(r.body, -1)) != 10 {
		t.Fatalf("with a passkey: %d\n%s", r.StatusCode, r.body)
	}
	if !mustUser(t, e, "ada@example.com").TwoFactor() {
		t.Fatal("the app is not on")
	}
}
