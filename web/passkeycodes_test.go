package web_test

import (
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/internal/softkey"
)

var optionsRE = regexp.MustCompile(`data-options="([^"]+)"`)

// addPasskeyOnPage adds a passkey of key through the account page, as
// passkey.js does, and returns the page that answers it.
// With confirm (an account that has passkeys and no app), that passkey
// confirms the add, as the page's button does.
func (e *env) addPasskeyOnPage(c *http.Client, key *softkey.Key, password string, confirm *softkey.Key) response {
	e.t.Helper()
	form := url.Values{"name": {"Phone"}, "current_password": {password}}
	if confirm != nil {
		form.Set("credential", e.confirmByPasskey(c, e.get(c, "/account/passkeys").body, "add-with-passkey", confirm))
	}
	r := e.post(c, "/account/passkeys/new", form)
	m := optionsRE.FindStringSubmatch(r.body)
	if r.StatusCode != 200 || m == nil {
		e.t.Fatalf("begin: %d\n%s", r.StatusCode, r.body)
	}
	cred, err := key.Create([]byte(html.UnescapeString(m[1])))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.post(c, "/account/passkeys", url.Values{"name": {"Phone"}, "credential": {string(cred)}})
}

// TestPasskeyRecoveryPages: the first passkey of an account without the
// app shows its recovery codes once (the second does not); the passkeys
// page says how many are left; one takes the passkey's place at the reset
// page's step and another after the password at sign-in, where no app code
// is asked.
func TestPasskeyRecoveryPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pw = "violet tractor on the moon"
	e.user("pia@example.com", pw)
	c := e.signIn("pia@example.com", pw)
	key := softkey.New("https://accounts.example.com")
	r := e.addPasskeyOnPage(c, key, pw, nil)
	found := codeRE.FindAllStringSubmatch(r.body, -1)
	if r.StatusCode != 200 || len(found) != 10 || !strings.Contains(r.body, "if you lose your passkeys") {
		t.Fatalf("the first passkey: %d, %d codes\n%s", r.StatusCode, len(found), r.body)
	}
	var codes []string
	for _, m := range found {
		codes = append(codes, m[1])
	}
	if r := e.addPasskeyOnPage(c, softkey.New("https://accounts.example.com"), pw, key); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/passkeys?m=added" {
		t.Fatalf("the second passkey: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if page := e.get(c, "/account/passkeys"); !strings.Contains(page.body, `<p id="codes-left">You have 10 unused recovery codes.</p>`) ||
		!strings.Contains(page.body, `href="/account/two-factor/recovery-codes"`) {
		t.Fatalf("the passkeys page:\n%s", page.body)
	}

	// A reset link: the recovery code at the link's step, then the password.
	_, token := e.resetLink("pia@example.com")
	rc := e.client()
	e.get(rc, "/password/reset?token="+token)
	page := e.get(rc, "/password/reset")
	if !strings.Contains(page.body, `id="recovery-next"`) || strings.Contains(page.body, "one-time-code") || strings.Contains(page.body, `id="password"`) {
		t.Fatalf("the reset page's step:\n%s", page.body)
	}
	if r := e.post(rc, "/password/reset", url.Values{"otp": {"abcde-fghij-kmnpq-rstuv"}}); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="otp-error"`) {
		t.Fatalf("a wrong recovery code: %d\n%s", r.StatusCode, r.body)
	}
	if r := e.post(rc, "/password/reset", url.Values{"otp": {codes[0]}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/password/reset" {
		t.Fatalf("a recovery code at the reset's step: %d\n%s", r.StatusCode, r.body)
	}
	const fresh = "a reset without my phone"
	if r := e.post(rc, "/password/reset", url.Values{"password": {fresh}, "password_confirm": {fresh}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the new password: %d\n%s", r.StatusCode, r.body)
	}

	// Sign-in: the password, then a recovery code.
	sc := e.client()
	if r := e.post(sc, "/login", url.Values{"email": {"pia@example.com"}, "password": {fresh}}); r.Header.Get("Location") != "/login/two-factor" {
		t.Fatalf("password: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	page = e.get(sc, "/login/two-factor")
	if !strings.Contains(page.body, `id="use-recovery-code"`) || strings.Contains(page.body, "one-time-code") {
		t.Fatalf("the second step's page:\n%s", page.body)
	}
	if r := e.post(sc, "/login/two-factor", url.Values{"otp": {codes[1]}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
		t.Fatalf("a recovery code after the password: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if page := e.get(sc, "/account/passkeys"); !strings.Contains(page.body, `<p id="codes-left">You have 8 unused recovery codes.</p>`) {
		t.Fatalf("codes left:\n%s", page.body)
	}
	if page := e.get(sc, "/account"); !strings.Contains(page.body, `<p class="hint" id="codes-left">You have 8 unused recovery codes.</p>`) {
		t.Fatalf("codes left on the account page:\n%s", page.body)
	}
}

// TestLostPasskeyRecoveryCodeOnForms: an account whose only second step is
// a passkey, the passkey lost, manages its account with a recovery code in
// the passkey's place: the add, removal and password forms ask for one
// (no app's code), each code good once.
func TestLostPasskeyRecoveryCodeOnForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pw = "violet tractor on the moon"
	e.user("pia@example.com", pw)
	c := e.signIn("pia@example.com", pw)
	r := e.addPasskeyOnPage(c, softkey.New("https://accounts.example.com"), pw, nil) // then lost
	var codes []string
	for _, m := range codeRE.FindAllStringSubmatch(r.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("%d codes with the first passkey", len(codes))
	}
	for _, path := range []string{"/account/passkeys", "/account/password"} {
		if page := e.get(c, path); !strings.Contains(page.body, `<label for="otp">Recovery code</label>`) || strings.Contains(page.body, `autocomplete="one-time-code"`) {
			t.Fatalf("%s asks no recovery code in place of the passkey:\n%s", path, page.body)
		}
	}
	// A new passkey, with the password and a recovery code.
	r = e.post(c, "/account/passkeys/new", url.Values{"name": {"New phone"}, "current_password": {pw}, "otp": {codes[0]}})
	m := optionsRE.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("a new passkey with a recovery code: %d\n%s", r.StatusCode, r.body)
	}
	fresh := softkey.New("https://accounts.example.com")
	cred, err := fresh.Create([]byte(html.UnescapeString(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	if r = e.post(c, "/account/passkeys", url.Values{"name": {"New phone"}, "credential": {string(cred)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("finish: %d\n%s", r.StatusCode, r.body)
	}
	// The same code again: used.
	if r = e.post(c, "/account/passkeys/new", url.Values{"name": {"Again"}, "current_password": {pw}, "otp": {codes[0]}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a recovery code used twice: %d", r.StatusCode)
	}
	// The lost passkey removed, with another code.
	keys, err := e.svc.Passkeys(t.Context(), mustUser(t, e, "pia@example.com"))
	if err != nil || len(keys) != 2 {
		t.Fatalf("passkeys: %v %v", keys, err)
	}
	lost := keys[0]
	if lost.Name != "Phone" {
		lost = keys[1]
	}
	path := "/account/passkeys/" + base64.RawURLEncoding.EncodeToString(lost.ID) + "/remove"
	if r = e.post(c, path, url.Values{"current_password": {pw}, "otp": {codes[1]}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the lost passkey removed with a recovery code: %d\n%s", r.StatusCode, r.body)
	}
	if keys, _ := e.svc.Passkeys(t.Context(), mustUser(t, e, "pia@example.com")); len(keys) != 1 || keys[0].Name != "New phone" {
		t.Fatalf("passkeys left: %v", keys)
	}
}
