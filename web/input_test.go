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
