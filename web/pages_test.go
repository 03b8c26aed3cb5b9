package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/password"
)

func TestLoginPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.get(nil, "/login")
	if r.StatusCode != 200 || !strings.Contains(r.body, `href="/password/forgot"`) || !strings.Contains(r.body, `<label for="email">`) {
		t.Fatalf("login page: %d\n%s", r.StatusCode, r.body)
	}
	r = e.get(nil, "/login", "Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")
	if !strings.Contains(r.body, `lang="fr"`) || !strings.Contains(r.body, "Mot de passe oublié") {
		t.Fatal("no French login page for a French browser")
	}
}

func TestSignInAndOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	b := e.client()
	r := e.post(b, "/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong password"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong email or password") || strings.Contains(r.body, "wrong password") {
		t.Fatalf("bad sign-in: %d", r.StatusCode)
	}
	r = e.post(b, "/login", url.Values{"email": {"ada@example.com"}, "password": {"violet tractor on the moon"}})
	var sess *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "__Host-airlock_session" {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" {
		t.Fatalf("session cookie = %+v", sess)
	}
	if r := e.get(b, "/account"); r.StatusCode != 200 || !strings.Contains(r.body, "ada@example.com") {
		t.Fatalf("account: %d", r.StatusCode)
	}
	// Signing in again renews the id: the earlier one stops working.
	r = e.post(b, "/login", url.Values{"email": {"ada@example.com"}, "password": {"violet tractor on the moon"}})
	first := sess.Value
	sess = r.Cookies()[0]
	if sess.Value == first {
		t.Fatal("the session id was not renewed at sign-in")
	}
	early, _ := http.NewRequest("GET", e.srv.URL+"/account", nil)
	early.AddCookie(&http.Cookie{Name: "__Host-airlock_session", Value: first})
	if res, _ := e.client().Do(early); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session id from before the second sign-in still works: %d", res.StatusCode)
	}
	if r := e.post(b, "/logout", nil); r.Header.Get("Location") != "/login?m=signed_out" {
		t.Fatalf("logout → %q", r.Header.Get("Location"))
	}
	if r := e.get(b, "/account"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("account after logout: %d", r.StatusCode)
	}
	// The old cookie value no longer works even if replayed.
	c := e.client()
	req, _ := http.NewRequest("GET", e.srv.URL+"/account", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-airlock_session", Value: sess.Value})
	res, _ := c.Do(req)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("replayed session: %d", res.StatusCode)
	}
}

func TestPlainHTTPCookies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *options) { o.publicURL = "http://localhost:8080" })
	e.user("ada@example.com", "violet tractor on the moon")
	r := e.post(nil, "/login", url.Values{"email": {"ada@example.com"}, "password": {"violet tractor on the moon"}})
	cs := r.Cookies()
	if len(cs) != 1 || cs[0].Name != "airlock_session" || cs[0].Secure {
		t.Fatalf("cookies over plain HTTP = %+v", cs)
	}
}

func TestForcedPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada@example.com", "violet tractor on the moon")
	if err := e.svc.AdminSetPassword(t.Context(), account.Operator, u.ID, "temporary words for you", "", true, account.Meta{IP: "cli"}); err != nil {
		t.Fatal(err)
	}
	b := e.client()
	r := e.post(b, "/login", url.Values{"email": {"ada@example.com"}, "password": {"temporary words for you"}})
	if r.Header.Get("Location") != "/account/password" {
		t.Fatalf("sign-in with temporary password → %q", r.Header.Get("Location"))
	}
	if r := e.get(b, "/account"); r.Header.Get("Location") != "/account/password" {
		t.Fatalf("account page with temporary password → %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = e.get(b, "/account/password")
	if r.StatusCode != 200 || strings.Contains(r.body, "current_password") {
		t.Fatalf("forced change page asks for the current password: %d", r.StatusCode)
	}
	// What is asked of the person is not styled as a success.
	if !strings.Contains(r.body, `<p class="callout" role="status">You must choose a new password`) || strings.Contains(r.body, `class="notice"`) {
		t.Fatalf("the forced-change notice:\n%s", r.body)
	}
	// Sending current_password on a forced change is an unexpected field.
	r = e.post(b, "/account/password", url.Values{"password": {"temporary words for you"}, "password_confirm": {"temporary words for you"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("keeping the temporary password: %d", r.StatusCode)
	}
	r = e.post(b, "/account/password", url.Values{"password": {"my own chosen phrase"}, "password_confirm": {"my own chosen phrase"}})
	if r.Header.Get("Location") != "/account?m=password_changed" {
		t.Fatalf("change → %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if r := e.get(b, "/account"); r.StatusCode != 200 {
		t.Fatalf("account after the change: %d", r.StatusCode)
	}
}

func TestOwnPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	b, other := e.client(), e.client()
	for _, c := range []*http.Client{b, other} {
		e.post(c, "/login", url.Values{"email": {"ada@example.com"}, "password": {"violet tractor on the moon"}})
	}
	r := e.post(b, "/account/password", url.Values{"current_password": {"not it"}, "password": {"my own chosen phrase"}, "password_confirm": {"my own chosen phrase"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "current password is wrong") {
		t.Fatalf("wrong current: %d", r.StatusCode)
	}
	r = e.post(b, "/account/password", url.Values{"current_password": {"violet tractor on the moon"}, "password": {"my own chosen phrase"}, "password_confirm": {"my own chosen phrase"}})
	if r.Header.Get("Location") != "/account?m=password_changed" {
		t.Fatalf("change: %d", r.StatusCode)
	}
	if r := e.get(b, "/account"); r.StatusCode != 200 {
		t.Fatalf("this browser after its own change: %d", r.StatusCode)
	}
	if r := e.get(other, "/account"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other browser after the change: %d", r.StatusCode)
	}
}

// TestCrossOriginPostsRefused: another site's page cannot submit our forms.
func TestCrossOriginPostsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	form := url.Values{"email": {"ada@example.com"}, "password": {"violet tractor on the moon"}}
	for name, hdr := range map[string][]string{
		"Sec-Fetch-Site": {"Sec-Fetch-Site", "cross-site"},
		"Origin":         {"Origin", "https://evil.example"},
	} {
		for _, path := range []string{"/login", "/password/forgot", "/password/reset", "/account/password", "/logout"} {
			if r := e.post(nil, path, form, hdr...); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", name, path, r.StatusCode)
			}
		}
	}
	if r := e.post(nil, "/login", form, "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin sign-in: %d", r.StatusCode)
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/login", "/password/forgot", "/password/reset", "/nope", "/healthz"} {
		r := e.get(nil, path)
		if r.Header.Get("Referrer-Policy") != "no-referrer" || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, r.Header)
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.get(nil, "/healthz"); r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	if r := e.get(nil, "/readyz"); r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	e.db.Close()
	if r := e.get(nil, "/readyz"); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database closed: %d", r.StatusCode)
	}
}

func TestDevMailbox(t *testing.T) {
	t.Parallel()
	prod := newEnv(t)
	if r := prod.get(nil, "/dev/mail"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("/dev/mail with SMTP configured: %d", r.StatusCode)
	}
	dev := newEnv(t, func(o *options) { o.devMail = true })
	ada := dev.user("ada@example.com", "violet tractor on the moon")
	dev.post(nil, "/password/forgot", url.Values{"email": {"ada@example.com"}})
	dev.drain()
	r := dev.get(nil, "/dev/mail")
	if r.StatusCode != 200 || !strings.Contains(r.body, "https://accounts.example.com/password/reset?token=") {
		t.Fatalf("dev mailbox: %d\n%s", r.StatusCode, r.body)
	}
	// The back office says where the email is: not at a mail server.
	dev.user("admin@example.com", adminPW, airlock.GroupAdmin)
	admin := dev.signIn("admin@example.com", adminPW)
	if r := dev.get(admin, "/admin/users/"+ada.ID); !strings.Contains(r.body, "Kept in the dev mailbox") || strings.Contains(r.body, "Delivered to the mail server") {
		t.Fatalf("the user's emails with the dev mailbox:\n%s", r.body)
	}
	// The HTML part is shown in a sandboxed frame, served with a policy
	// that lets it run nothing and reach nothing.
	frame := regexp.MustCompile(`<iframe class="mail-html" src="(/dev/mail/\d+/html)" sandbox="allow-popups allow-popups-to-escape-sandbox"`).FindStringSubmatch(r.body)
	if frame == nil || !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-src 'self'") {
		t.Fatalf("no sandboxed HTML frame:\n%s", r.body)
	}
	h := dev.get(nil, frame[1])
	if h.StatusCode != 200 || !strings.Contains(h.body, "<html") || !strings.Contains(h.Header.Get("Content-Security-Policy"), "sandbox") ||
		strings.Contains(h.Header.Get("Content-Security-Policy"), "script-src") {
		t.Fatalf("HTML part: %d %q\n%s", h.StatusCode, h.Header.Get("Content-Security-Policy"), h.body)
	}
	// Only this machine may read it, whatever X-Forwarded-For claims.
	req := httptest.NewRequest("GET", "/dev/mail", nil)
	req.RemoteAddr = "203.0.113.7:4000"
	req.Header.Set("X-Forwarded-For", "127.0.0.1")
	w := httptest.NewRecorder()
	dev.handler.ServeHTTP(w, req)
	if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "token=") {
		t.Fatalf("dev mailbox from another machine: %d", w.Code)
	}
	// Nor through a proxy on this machine: the request is someone else's,
	// whatever the proxy adds (an empty first X-Forwarded-For, then the real
	// one, as HAProxy passes a client's empty header on; or only Via).
	for _, hdr := range [][]string{{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-For", "", "X-Forwarded-For", "203.0.113.9"},
		{"X-Forwarded-For", " "}, {"Via", "1.1 proxy"}, {"X-Forwarded-Proto", "https"}, {"Forwarded", "for=203.0.113.9"}} {
		req = httptest.NewRequest("GET", "/dev/mail", nil)
		req.RemoteAddr = "127.0.0.1:4000"
		req.Host = "localhost:8080"
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		w = httptest.NewRecorder()
		dev.handler.ServeHTTP(w, req)
		if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "token=") {
			t.Fatalf("dev mailbox through a local proxy (%q): %d", hdr, w.Code)
		}
	}
}

func TestReturnToApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *options) { o.appURL = "fieldapp://signed-out" })
	if r := e.get(nil, "/login?m=reset&app=1"); !strings.Contains(r.body, `href="fieldapp://signed-out"`) {
		t.Fatal("no Return to the app link after a reset started from the app")
	}
	for _, path := range []string{"/login", "/login?m=reset"} {
		if r := e.get(nil, path); strings.Contains(r.body, "fieldapp://") {
			t.Fatalf("Return to the app shown on %s", path)
		}
	}
}

// TestBusyHashingAnswers503: when every hashing slot is taken for longer
// than a caller may wait, sign-in answers 503 with Retry-After instead of
// piling up memory.
func TestBusyHashingAnswers503(t *testing.T) {
	t.Parallel()
	// One slot, a 1 ms wait, and hashes heavy enough to hold the slot.
	h := password.NewHasher(password.Params{Memory: 64 * 1024, Time: 4, Threads: 1}, 1, time.Millisecond)
	e := newEnv(t, func(o *options) { o.hasher = h })
	e.user("ada@example.com", "violet tractor on the moon")
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Hash(context.Background(), "holding the only slot")
	}()
	for h.Running() == 0 {
		time.Sleep(time.Millisecond)
	}
	r := e.post(nil, "/login", url.Values{"email": {"ada@example.com"}, "password": {"violet tractor on the moon"}})
	<-done
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "busy") {
		t.Fatalf("sign-in while hashing is saturated: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	// Once the slot is free, it works.
	if r := e.post(nil, "/login", url.Values{"email": {"ada@example.com"}, "password": {"violet tractor on the moon"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after: %d", r.StatusCode)
	}
}
