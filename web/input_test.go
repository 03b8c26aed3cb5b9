package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDecomposedPasswordThroughPages: a new password typed decomposed in
// one field and composed in the other is the same password (SPEC §6.7);
// the reset page takes it, and the sign-in page then opens the account
// with either spelling.
func TestDecomposedPasswordThroughPages(t *testing.T) {
	t.Parallel()
	const (
		nfc = "cr\u00e8me br\u00fbl\u00e9e for dessert"
		nfd = "cre\u0300me bru\u0302le\u0301e for dessert"
	)
	e := newEnv(t)
	e.user("ada@example.com", "the old password, long enough")
	link, _ := e.resetLink("ada@example.com")
	browser := e.client()
	e.get(browser, strings.TrimPrefix(link, "https://accounts.example.com"))
	r := e.post(browser, "/password/reset", url.Values{"password": {nfd}, "password_confirm": {nfc}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?m=reset" {
		t.Fatalf("reset, confirmed in the other spelling: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	for _, typed := range []string{nfc, nfd} {
		if r := e.post(e.client(), "/login", url.Values{"email": {"ada@example.com"}, "password": {typed}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
			t.Errorf("sign in typed %+q: %d", typed, r.StatusCode)
		}
	}
}

// TestBlankNameRefusedOnTheAccountPage: a name with no visible character
// is refused under its field, in the user's language, and nothing changes.
func TestBlankNameRefusedOnTheAccountPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	c := e.signIn("ada@example.com", "violet tractor on the moon")
	for _, tc := range []struct {
		form          url.Values
		field, reason string
	}{
		{url.Values{"first_name": {"\u3164"}, "last_name": {"King"}, "language": {"en"}}, "first_name", "The first name needs at least one visible character"},
		{url.Values{"first_name": {"Ada"}, "last_name": {"\u2800 \u2800"}, "language": {"en"}}, "last_name", "The last name needs at least one visible character"},
	} {
		r := e.post(c, "/account/profile", tc.form)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, tc.reason) || !strings.Contains(r.body, `id="`+tc.field+`-error"`) {
			t.Errorf("%+q: %d\n%s", tc.form, r.StatusCode, r.body)
		}
	}
	if r := e.post(c, "/account/profile", url.Values{"first_name": {"Ada"}, "last_name": {"King"}, "language": {"fr"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a good change: %d", r.StatusCode)
	}
	r := e.post(c, "/account/profile", url.Values{"first_name": {"\uffa0"}, "last_name": {"King"}, "language": {"fr"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "Le prénom doit contenir au moins un caractère visible") {
		t.Errorf("in French: %d\n%s", r.StatusCode, r.body)
	}
	if u := mustUser(t, e, "ada@example.com"); u.FirstName != "Ada" || u.LastName != "King" {
		t.Fatalf("a refused change was written: %q %q", u.FirstName, u.LastName)
	}
}
