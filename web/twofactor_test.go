package web_test

import (
	"context"
	"encoding/base32"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/totp"
)

var (
	secretKeyRE = regexp.MustCompile(`id="secret-key">([A-Z2-7 ]+)<`)
	visitRE     = regexp.MustCompile(`name="enrolment" value="([A-Za-z0-9_-]+)"`)
	codeRE      = regexp.MustCompile(`<li><code>([a-z2-9-]{23})</code></li>`)
)

// enrolOnPage turns two-step sign-in on through the account page, as a
// user does: read the key off the page, type the app's code. It returns the
// key and the recovery codes shown. The user's password confirms it.
func (e *env) enrolOnPage(c *http.Client, password string) ([]byte, []string) {
	e.t.Helper()
	page := e.get(c, "/account/two-factor")
	m := secretKeyRE.FindStringSubmatch(page.body)
	if page.StatusCode != 200 || m == nil || !strings.Contains(page.body, "<svg") {
		e.t.Fatalf("enrolment page: %d\n%s", page.StatusCode, page.body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	if err != nil {
		e.t.Fatal(err)
	}
	// On the phone that holds the app: a link that opens it with this key.
	// The cursor waits in the code field; nothing speaks of recovery codes
	// before they exist.
	uri := regexp.MustCompile(`<a class="button secondary" href="(otpauth://totp/[^"]+)" id="open-authenticator">`).FindStringSubmatch(page.body)
	if uri == nil || !strings.Contains(html.UnescapeString(uri[1]), "secret="+strings.ReplaceAll(m[1], " ", "")) {
		e.t.Fatalf("no otpauth link with the key:\n%s", page.body)
	}
	if !regexp.MustCompile(`<input id="otp"[^>]* autofocus>`).MatchString(page.body) || strings.Contains(strings.ToLower(page.body), "recovery code") {
		e.t.Fatalf("enrolment form: focus, or recovery codes mentioned:\n%s", page.body)
	}
	if !strings.Contains(page.body, `<details class="key"><summary id="show-key">`) {
		e.t.Fatalf("the key is not behind its own step:\n%s", page.body)
	}
	r := e.post(c, "/account/two-factor", url.Values{"otp": {totp.Code(secret, totp.StepAt(e.clock.Now()))}, "current_password": {password},
		"enrolment": {visitRE.FindStringSubmatch(page.body)[1]}})
	codes := codeRE.FindAllStringSubmatch(r.body, -1)
	if r.StatusCode != 200 || len(codes) != 10 {
		e.t.Fatalf("confirm: %d, %d codes\n%s", r.StatusCode, len(codes), r.body)
	}
	var out []string
	for _, c := range codes {
		out = append(out, c[1])
	}
	return secret, out
}

// TestTwoFactorPages: enrolment on the account page (QR code and key,
// confirmed by a code, recovery codes shown once and downloadable), then a
// sign-in in two steps bound to the browser, with a code or a recovery
// code; the reset page asks for a code; turning it off needs the password
// and a code.
func TestTwoFactorPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	c := e.signIn("ada@example.com", "violet tractor on the moon")
	pw := url.Values{"current_password": {"violet tractor on the moon"}}
	if r := e.post(c, "/account/two-factor", url.Values{"otp": {"000000"}, "current_password": pw["current_password"]}); r.StatusCode != http.StatusConflict {
		t.Fatalf("a code before the key was shown: %d", r.StatusCode)
	}
	first := e.get(c, "/account/two-factor")
	visit := visitRE.FindStringSubmatch(first.body)[1]
	if r := e.post(c, "/account/two-factor", url.Values{"otp": {"000000"}, "current_password": pw["current_password"], "enrolment": {visit}}); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="otp-error"`) {
		t.Fatalf("a wrong first code: %d", r.StatusCode)
	} else if secretKeyRE.FindStringSubmatch(r.body)[1] != secretKeyRE.FindStringSubmatch(first.body)[1] {
		t.Fatal("the page answering a wrong code changed the key the user has scanned")
	}
	// A session alone (a stolen cookie) cannot turn it on: the password is
	// asked for, even with the right code.
	enrolPage := e.get(c, "/account/two-factor")
	key, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(secretKeyRE.FindStringSubmatch(enrolPage.body)[1], " ", ""))
	if r := e.post(c, "/account/two-factor", url.Values{"otp": {totp.Code(key, totp.StepAt(e.clock.Now()))}, "enrolment": {visitRE.FindStringSubmatch(enrolPage.body)[1]}}); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="current_password-error"`) {
		t.Fatalf("enrolment without the password: %d", r.StatusCode)
	}
	if r := e.get(c, "/account"); strings.Contains(r.body, `id="codes-left"`) {
		t.Fatal("the account page speaks of recovery codes before two-step sign-in is on")
	}
	secret, codes := e.enrolOnPage(c, "violet tractor on the moon")
	// The account page says how many recovery codes are left.
	if r := e.get(c, "/account"); !strings.Contains(r.body, `<p class="hint" id="codes-left">You have 10 unused recovery codes.</p>`) {
		t.Fatalf("account page after enrolment:\n%s", r.body)
	}
	form := url.Values{"codes": codes}
	dl := e.post(c, "/account/two-factor/recovery-codes.txt", form)
	if dl.StatusCode != 200 || !strings.Contains(dl.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(dl.body, codes[9]) {
		t.Fatalf("download: %d %q", dl.StatusCode, dl.Header.Get("Content-Disposition"))
	}
	if r := e.post(c, "/account/two-factor/recovery-codes.txt", url.Values{"codes": {"<script>"}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("download of something else: %d", r.StatusCode)
	}
	e.clock.Advance(2 * totp.Step)

	// The password alone opens no session: the code page comes next, for
	// this browser only.
	b := e.client()
	r := e.post(b, "/login", url.Values{"email": {"ada@example.com"}, "password": {"violet tractor on the moon"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login/two-factor" {
		t.Fatalf("first step: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.get(b, "/account"); r.StatusCode != http.StatusSeeOther {
		t.Fatal("signed in with the password alone")
	}
	if r := e.post(e.client(), "/login/two-factor", url.Values{"otp": {totp.Code(secret, totp.StepAt(e.clock.Now()))}}); r.Header.Get("Location") != "/login?m=two_factor_expired" {
		t.Fatalf("the second step from another browser: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.post(b, "/login/two-factor", url.Values{"otp": {"123456"}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong code: %d", r.StatusCode)
	}
	if r := e.post(b, "/login/two-factor", url.Values{"otp": {totp.Code(secret, totp.StepAt(e.clock.Now()))}}); r.Header.Get("Location") != "/account" {
		t.Fatalf("second step: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.get(b, "/account"); r.StatusCode != 200 {
		t.Fatal("not signed in after the code")
	}
	// A recovery code works once.
	b2 := e.client()
	e.post(b2, "/login", url.Values{"email": {"ada@example.com"}, "password": {"violet tractor on the moon"}})
	if r := e.post(b2, "/login/two-factor", url.Values{"otp": {codes[0]}}); r.Header.Get("Location") != "/account" {
		t.Fatalf("recovery code: %d", r.StatusCode)
	}

	// The reset page asks for the code first, on a step of its own, then
	// the new password: a wrong code costs no passphrase typed twice.
	_, token := e.resetLink("ada@example.com")
	rc := e.client()
	e.get(rc, "/password/reset?token="+token)
	page := e.get(rc, "/password/reset")
	if !strings.Contains(page.body, `name="otp"`) || strings.Contains(page.body, `name="password"`) {
		t.Fatalf("the reset page's first step: want the code alone\n%s", page.body)
	}
	r = e.post(rc, "/password/reset", url.Values{"password": {"taken over with the mailbox"}, "password_confirm": {"taken over with the mailbox"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="otp-error"`) {
		t.Fatalf("reset without the code: %d", r.StatusCode)
	}
	r = e.post(rc, "/password/reset", url.Values{"otp": {"000000"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="otp-error"`) || strings.Contains(r.body, `name="password"`) {
		t.Fatalf("a wrong code at the code step: %d\n%s", r.StatusCode, r.body)
	}
	e.clock.Advance(totp.Step)
	r = e.post(rc, "/password/reset", url.Values{"otp": {totp.Code(secret, totp.StepAt(e.clock.Now()))}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/password/reset" {
		t.Fatalf("the right code: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	page = e.get(rc, "/password/reset")
	if strings.Contains(page.body, `name="otp"`) || !strings.Contains(page.body, `name="password_confirm"`) {
		t.Fatalf("the reset page's second step: want the new password alone\n%s", page.body)
	}
	r = e.post(rc, "/password/reset", url.Values{"password": {"a reset with my phone in hand"}, "password_confirm": {"a reset with my phone in hand"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset after the code step: %d\n%s", r.StatusCode, r.body)
	}

	// Off: the password and a code.
	c = e.client()
	e.post(c, "/login", url.Values{"email": {"ada@example.com"}, "password": {"a reset with my phone in hand"}})
	e.clock.Advance(totp.Step)
	e.post(c, "/login/two-factor", url.Values{"otp": {totp.Code(secret, totp.StepAt(e.clock.Now()))}})
	if r := e.post(c, "/account/two-factor/disable", url.Values{"current_password": {"a reset with my phone in hand"}, "otp": {"000000"}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("off with a wrong code: %d", r.StatusCode)
	}
	if r := e.post(c, "/account/two-factor/disable", url.Values{"current_password": {"a reset with my phone in hand"}, "otp": {codes[1]}}); r.Header.Get("Location") != "/account/two-factor?m=off" {
		t.Fatalf("off: %d", r.StatusCode)
	}
	if u, _ := e.db.UserByEmail(context.Background(), "ada@example.com"); u.TwoFactor() {
		t.Fatal("still on")
	}
}

// TestTwoFactorAdministrators: the back office shows each user's two-step
// status and turns it off for a user; AIRLOCK_REQUIRE_TWO_FACTOR sends an
// administrator to enrolment from every page.
func TestTwoFactorAdministrators(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *options) { o.requireTwoFactor = []string{airlock.GroupAdmin} })
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	for _, path := range []string{"/account", "/admin/users", "/admin/audit"} {
		if r := e.get(c, path); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-factor" {
			t.Fatalf("%s before enrolment: %d %q", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := e.get(c, "/account/two-factor"); r.StatusCode != 200 || !strings.Contains(r.body, "must use two-step sign-in") {
		t.Fatalf("the enrolment page: %d", r.StatusCode)
	}
	e.enrolOnPage(c, adminPW)
	if r := e.get(c, "/admin/users"); r.StatusCode != 200 {
		t.Fatalf("after enrolment: %d", r.StatusCode)
	}
	u := e.user("ada@example.com", "violet tractor on the moon")
	ada := e.signIn("ada@example.com", "violet tractor on the moon")
	e.enrolOnPage(ada, "violet tractor on the moon")
	if r := e.get(c, "/admin/users"); !strings.Contains(html.UnescapeString(r.body), "two-step") {
		t.Fatal("the users list does not show two-step sign-in")
	}
	if r := e.post(c, "/admin/users/"+u.ID+"/two-factor/reset", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset by an administrator: %d", r.StatusCode)
	}
	if got, _ := e.db.UserByID(context.Background(), u.ID); got.TwoFactor() {
		t.Fatal("still on after the administrator's reset")
	}
}

// TestTwoFactorRequiredAfterTemporaryPassword: a member of a group that
// must use two-step sign-in, given a temporary password (the back office's
// default), changes it first, then enrols; neither step sends to the other
// for ever.
func TestTwoFactorRequiredAfterTemporaryPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *options) { o.requireTwoFactor = []string{airlock.GroupAdmin} })
	u := e.user("new.admin@example.com", adminPW, airlock.GroupAdmin)
	if err := e.svc.AdminSetPassword(t.Context(), account.Operator, u.ID, "temporary words for you", "", true, account.Meta{IP: "cli"}); err != nil {
		t.Fatal(err)
	}
	b := e.client()
	if r := e.post(b, "/login", url.Values{"email": {"new.admin@example.com"}, "password": {"temporary words for you"}}); r.Header.Get("Location") != "/account/password" {
		t.Fatalf("sign-in → %q", r.Header.Get("Location"))
	}
	for _, path := range []string{"/account", "/account/two-factor", "/admin/users"} {
		if r := e.get(b, path); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/account/password") {
			t.Fatalf("%s with a temporary password: %d %q", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := e.get(b, "/account/password"); r.StatusCode != 200 {
		t.Fatalf("the forced change's page: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	const chosen = "a passphrase of my own choosing"
	if r := e.post(b, "/account/password", url.Values{"password": {chosen}, "password_confirm": {chosen}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the forced change: %d\n%s", r.StatusCode, r.body)
	}
	if got, _ := e.db.UserByID(t.Context(), u.ID); got.MustChangePassword {
		t.Fatal("the temporary password was not changed")
	}
	if r := e.get(b, "/admin/users"); r.Header.Get("Location") != "/account/two-factor" {
		t.Fatalf("after the change, before enrolment: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	e.enrolOnPage(b, chosen)
	if r := e.get(b, "/admin/users"); r.StatusCode != 200 {
		t.Fatalf("after enrolment: %d", r.StatusCode)
	}
}

// TestTwoFactorPagesKeepTheKeyToOneBrowser: each browser's visit shows a
// key of its own, and the page says that turning it on signs the others
// out; once on, the other browser is signed out and this one is not; the
// page counts the recovery codes left and makes a new set.
func TestTwoFactorPagesKeepTheKeyToOneBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pw = "violet tractor on the moon"
	e.user("ada@example.com", pw)
	a, b := e.signIn("ada@example.com", pw), e.signIn("ada@example.com", pw)
	pa, pb := e.get(a, "/account/two-factor"), e.get(b, "/account/two-factor")
	ka, kb := secretKeyRE.FindStringSubmatch(pa.body), secretKeyRE.FindStringSubmatch(pb.body)
	if ka == nil || kb == nil || ka[1] == kb[1] {
		t.Fatalf("two browsers were shown one key: %q %q", ka, kb)
	}
	if !strings.Contains(pa.body, `id="others-end"`) || !strings.Contains(pa.body, "signs out your other sessions and the apps") {
		t.Fatal("the page does not say that the other sessions end")
	}
	_, codes := e.enrolOnPage(a, pw)
	if r := e.get(b, "/account"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other browser is still signed in: %d", r.StatusCode)
	}
	r := e.get(a, "/account/two-factor")
	if r.StatusCode != 200 || !strings.Contains(r.body, "You have 10 unused recovery codes.") {
		t.Fatalf("the browser that enrolled: %d\n%s", r.StatusCode, r.body)
	}
	if r := e.get(a, "/account/two-factor/recovery-codes"); r.StatusCode != 200 || !strings.Contains(r.body, `action="/account/two-factor/recovery-codes"`) {
		t.Fatalf("the new codes' page: %d", r.StatusCode)
	}
	if r := e.post(a, "/account/two-factor/recovery-codes", url.Values{"current_password": {pw}}); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="otp-error"`) {
		t.Fatalf("new codes without a code: %d", r.StatusCode)
	}
	r = e.post(a, "/account/two-factor/recovery-codes", url.Values{"current_password": {pw}, "otp": {codes[0]}})
	fresh := codeRE.FindAllStringSubmatch(r.body, -1)
	if r.StatusCode != 200 || len(fresh) != 10 || !strings.Contains(r.body, "the old ones no longer work") {
		t.Fatalf("new codes: %d, %d codes", r.StatusCode, len(fresh))
	}
	if r := e.get(a, "/account/two-factor"); !strings.Contains(r.body, "You have 10 unused recovery codes.") {
		t.Fatal("the count after a new set")
	}
}

// TestSecondStepLimitSaysHowLong: once someone has used the account's code
// limit up, the code page tells the owner how long to wait.
func TestSecondStepLimitSaysHowLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pw = "violet tractor on the moon"
	e.user("ada@example.com", pw)
	e.enrolOnPage(e.signIn("ada@example.com", pw), pw)
	c := e.client()
	e.post(c, "/login", url.Values{"email": {"ada@example.com"}, "password": {pw}})
	for range 10 {
		if r := e.post(c, "/login/two-factor", url.Values{"otp": {"123456"}}); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a wrong code: %d", r.StatusCode)
		}
	}
	r := e.post(c, "/login/two-factor", url.Values{"otp": {"123456"}})
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "90" || !strings.Contains(r.body, "Try again in 2 minutes.") {
		t.Fatalf("at the limit: %d %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
}

// TestAdministratorsOwnTwoFactorIsTheirs: the back office never turns an
// administrator's own two-step sign-in off (403, pointing to the account
// page), and their own profile edits are limited like anyone's.
func TestAdministratorsOwnTwoFactorIsTheirs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	e.enrolOnPage(c, adminPW)
	r := e.post(c, "/admin/users/"+admin.ID+"/two-factor/reset", url.Values{})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "/account/two-factor") {
		t.Fatalf("own two-step reset in the back office: %d\n%s", r.StatusCode, r.body)
	}
	if got, _ := e.db.UserByID(context.Background(), admin.ID); !got.TwoFactor() {
		t.Fatal("it is off")
	}
	for i := range 20 {
		if r := e.post(c, "/account/profile", url.Values{"first_name": {"Grace"}, "last_name": {"Hopper"}, "language": {"en"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("profile edit %d: %d", i+1, r.StatusCode)
		}
	}
	if r := e.post(c, "/account/profile", url.Values{"first_name": {"Grace"}, "last_name": {"Hopper"}, "language": {"en"}}); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("profile edit 21: %d", r.StatusCode)
	}
}

// TestEnrolmentKeyIsTheVisitsOwn: someone holding the enrolling browser's
// very session cookie (stolen while the owner enrols) never sees the key of
// the owner's visit, not on an error page nor by visiting the page again,
// and no key they were shown is ever the one turned on.
func TestEnrolmentKeyIsTheVisitsOwn(t *testing.T) {
	e := newEnv(t)
	const pw = "violet tractor on the moon"
	e.user("ada@example.com", pw)
	owner := e.signIn("ada@example.com", pw)
	thief := e.client()
	u, _ := url.Parse(e.srv.URL)
	thief.Jar.SetCookies(u, owner.Jar.Cookies(u)) // the same session
	keyOn := func(r response) string {
		if m := secretKeyRE.FindStringSubmatch(r.body); m != nil {
			return m[1]
		}
		return ""
	}
	page := e.get(owner, "/account/two-factor")
	ownerKey, ownerVisit := keyOn(page), visitRE.FindStringSubmatch(page.body)[1]
	seen := map[string]bool{}
	// An error page of the thief's: a key of its own, not the owner's.
	r := e.post(thief, "/account/two-factor", url.Values{"otp": {"x"}, "enrolment": {"a visit made up"}})
	if k := keyOn(r); k == "" || k == ownerKey {
		t.Fatalf("the thief's error page shows the owner's key (or none): %q", k)
	}
	seen[keyOn(r)] = true
	// The thief visits too; the owner's wrong code then shows the owner a
	// new key, never the thief's.
	seen[keyOn(e.get(thief, "/account/two-factor"))] = true
	r = e.post(owner, "/account/two-factor", url.Values{"otp": {"000000"}, "current_password": {pw}, "enrolment": {ownerVisit}})
	if k := keyOn(r); seen[k] {
		t.Fatal("the owner was shown a key the thief has seen")
	}
	// Whatever is turned on is a key of the owner's own visit.
	secret, _ := e.enrolOnPage(owner, pw)
	for k := range seen {
		key, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(k, " ", ""))
		if string(key) == string(secret) {
			t.Fatal("the key turned on is one the thief saw")
		}
	}
}
