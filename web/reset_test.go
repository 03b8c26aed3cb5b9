package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/account"
)

func TestResetFlowThroughPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "the old password, long enough")
	link, token := e.resetLink("ada@example.com")
	path := strings.TrimPrefix(link, "https://accounts.example.com")
	browser := e.client()

	// Opening the link: checked, moved to an HttpOnly cookie, 303 to a
	// token-free URL.
	r := e.get(browser, path)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/password/reset" {
		t.Fatalf("open link: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "__Host-airlock_reset" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.Path != "/" || cookie.Value != token {
		t.Fatalf("reset cookie = %+v", cookie)
	}
	// A mail scanner opened it first: still usable.
	e.get(nil, path)
	e.get(nil, path)

	r = e.get(browser, "/password/reset")
	if r.StatusCode != 200 || !strings.Contains(r.body, `name="password_confirm"`) {
		t.Fatalf("form: %d\n%s", r.StatusCode, r.body)
	}
	for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "http") {
		t.Errorf("CSP = %q", csp)
	}
	if strings.Contains(r.body, token) {
		t.Fatal("the token is in the page")
	}
	// One script, ours (static/app.js, allowed by script-src 'self'); no
	// inline script, nothing from elsewhere.
	if strings.Count(r.body, "<script") != 1 || !strings.Contains(r.body, `<script src="/static/app.js" defer></script>`) ||
		strings.Contains(r.body, `src="http`) || strings.Contains(r.body, `src="//`) {
		t.Fatal("the page loads inline scripts or third-party resources")
	}

	// Mismatch and policy failures keep the user on the form with reasons.
	r = e.post(browser, "/password/reset", url.Values{"password": {"a brand new passphrase"}, "password_confirm": {"something else"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not the same") {
		t.Fatalf("mismatch: %d", r.StatusCode)
	}
	r = e.post(browser, "/password/reset", url.Values{"password": {"short"}, "password_confirm": {"short"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "at least 12 characters") || !strings.Contains(r.body, `aria-describedby="password-hint password-error"`) {
		t.Fatalf("policy: %d\n%s", r.StatusCode, r.body)
	}

	r = e.post(browser, "/password/reset", url.Values{"password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?m=reset" {
		t.Fatalf("submit: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	// Not signed in by the reset.
	if r := e.get(browser, "/account"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("account after reset: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = e.get(browser, "/login?m=reset")
	if !strings.Contains(r.body, "Your password has been changed") {
		t.Fatal("no success message on the login page")
	}
	// Sign in with the new password, not the old one.
	if r := e.post(e.client(), "/login", url.Values{"email": {"ada@example.com"}, "password": {"the old password, long enough"}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old password: %d", r.StatusCode)
	}
	if r := e.post(e.client(), "/login", url.Values{"email": {"ada@example.com"}, "password": {"a brand new passphrase"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
		t.Fatalf("new password: %d", r.StatusCode)
	}
	// The used link now says so, and offers a new request.
	r = e.get(e.client(), path)
	if loc := r.Header.Get("Location"); loc != "/password/reset?invalid=used" {
		t.Fatalf("used link → %q", loc)
	}
	r = e.get(nil, "/password/reset?invalid=used")
	if r.StatusCode != http.StatusGone || !strings.Contains(r.body, "already used") || !strings.Contains(r.body, `href="/password/forgot"`) {
		t.Fatalf("used page: %d\n%s", r.StatusCode, r.body)
	}
}

func TestExpiredLinkPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	link, _ := e.resetLink("ada@example.com")
	browser := e.client()
	path := strings.TrimPrefix(link, "https://accounts.example.com")
	e.get(browser, path)
	e.clock.Advance(31 * time.Minute)
	r := e.get(browser, "/password/reset")
	if r.StatusCode != http.StatusGone || !strings.Contains(r.body, "expired") {
		t.Fatalf("expired: %d\n%s", r.StatusCode, r.body)
	}
	r = e.post(browser, "/password/reset", url.Values{"password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}})
	if r.StatusCode != http.StatusGone {
		t.Fatalf("post after expiry: %d", r.StatusCode)
	}
}

func TestBadTokensRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 20 {
		r := e.get(nil, "/password/reset?token="+strings.Repeat("x", 42)+string(rune('a'+i)))
		if r.Header.Get("Location") != "/password/reset?invalid=unknown" {
			t.Fatalf("bad token %d → %q", i, r.Header.Get("Location"))
		}
	}
	r := e.get(nil, "/password/reset?token="+strings.Repeat("y", 43))
	if loc := r.Header.Get("Location"); loc != "/password/reset?invalid=rate_limited" {
		t.Fatalf("21st bad token → %q", loc)
	}
	if r := e.get(nil, "/password/reset?invalid=rate_limited"); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("rate-limited page: %d", r.StatusCode)
	}
}

func TestResetPageInUsersLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada@example.com", "violet tractor on the moon")
	u.Language = "fr"
	e.db.UpdateUser(t.Context(), u)
	link, _ := e.resetLink("ada@example.com")
	browser := e.client()
	e.get(browser, strings.TrimPrefix(link, "https://accounts.example.com"))
	r := e.get(browser, "/password/reset", "Accept-Language", "en")
	if !strings.Contains(r.body, `lang="fr"`) || !strings.Contains(r.body, "Choisissez un nouveau mot de passe") {
		t.Fatalf("reset page not in the user's language:\n%s", r.body)
	}
}

// TestUsedInvitationLinkSaysInvitation: an invitation link that no longer
// works says so as an invitation, in English and French, when opened
// (GET, after another of its links was used) and when the form is sent
// (expired); a reset link still speaks of a reset.
func TestUsedInvitationLinkSaysInvitation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, c := range []struct{ lang, used, expired string }{
		{"en", "This invitation link was already used", "This invitation link has expired."},
		{"fr", "Ce lien d’invitation a déjà servi", "Ce lien d’invitation a expiré."},
	} {
		u, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: c.lang + "@example.com", Language: c.lang, Invite: true}, account.Meta{IP: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		n := len(e.smtp.Messages())
		if err := e.svc.AdminInvite(ctx, account.Operator, u.ID, account.Meta{IP: "cli"}); err != nil {
			t.Fatal(err)
		}
		e.drain()
		msgs := e.smtp.Wait(t, n+2)
		var paths []string
		for _, m := range msgs[n:] {
			paths = append(paths, strings.TrimPrefix(linkRE.FindStringSubmatch(m.Parts()["text/plain"])[1], "https://accounts.example.com"))
		}
		// The first link sets the password; the second is then dead.
		b := e.client()
		e.get(b, paths[0])
		if r := e.post(b, "/password/reset", url.Values{"password": {"my very first passphrase"}, "password_confirm": {"my very first passphrase"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: the invitation: %d\n%s", c.lang, r.StatusCode, r.body)
		}
		r := e.get(nil, paths[1], "Accept-Language", c.lang)
		if loc := r.Header.Get("Location"); loc != "/password/reset?invalid=used&link=invite" {
			t.Fatalf("%s: the other invitation link → %q", c.lang, loc)
		}
		if r := e.get(nil, r.Header.Get("Location"), "Accept-Language", c.lang); r.StatusCode != http.StatusGone || !strings.Contains(r.body, c.used) || strings.Contains(r.body, "réinitialisation") || strings.Contains(r.body, "password reset") {
			t.Fatalf("%s: used invitation page: %d\n%s", c.lang, r.StatusCode, r.body)
		}
	}
	// An expired invitation, opened.
	n := len(e.smtp.Messages())
	if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "late@example.com", Invite: true}, account.Meta{IP: "cli"}); err != nil {
		t.Fatal(err)
	}
	e.drain()
	path := strings.TrimPrefix(linkRE.FindStringSubmatch(e.smtp.Wait(t, n+1)[n].Parts()["text/plain"])[1], "https://accounts.example.com")
	b := e.client()
	e.get(b, path)
	e.clock.Advance(e.svc.Config().InviteTTL + time.Minute)
	if r := e.post(b, "/password/reset", url.Values{"password": {"chosen far too late"}, "password_confirm": {"chosen far too late"}}); r.StatusCode != http.StatusGone || !strings.Contains(r.body, "This invitation link has expired.") {
		t.Fatalf("expired invitation, sent: %d\n%s", r.StatusCode, r.body)
	}
	// A reset link still speaks of a reset.
	if r := e.get(nil, "/password/reset?invalid=used"); !strings.Contains(r.body, "This password reset link was already used") {
		t.Fatalf("reset link page:\n%s", r.body)
	}
}
