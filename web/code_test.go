package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/totp"
)

// emailCodeRE finds the code beside the link in an email.
var emailCodeRE = regexp.MustCompile(`\b[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\b`)

// askWithCode asks for a reset in browser and returns the code of the
// email it sends.
func (e *env) askWithCode(browser *http.Client, email string) string {
	e.t.Helper()
	n := len(e.smtp.Messages())
	r := e.post(browser, "/password/forgot", url.Values{"email": {email}})
	if r.StatusCode != 200 || !strings.Contains(r.body, `action="/password/code"`) || !strings.Contains(r.body, "Enter the code from the email") {
		e.t.Fatalf("forgot: %d\n%s", r.StatusCode, r.body)
	}
	e.drain()
	msgs := e.smtp.Wait(e.t, n+1)
	c := emailCodeRE.FindString(msgs[len(msgs)-1].Parts()["text/plain"])
	if c == "" {
		e.t.Fatal("no code in the email")
	}
	return c
}

// TestResetWithCodeThroughPages: the "check your inbox" page takes the
// code from the email, in the browser that asked: a wrong code says so, a
// right one leads to the new password, as the link does.
func TestResetWithCodeThroughPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "the old password, long enough")
	browser := e.client()
	code := e.askWithCode(browser, "ada@example.com")

	// Another browser has no flow: the code is bound to the one that asked.
	if r := e.post(e.client(), "/password/code", url.Values{"code": {code}}); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `href="/password/forgot"`) {
		t.Fatalf("code in another browser: %d\n%s", r.StatusCode, r.body)
	}
	r := e.post(browser, "/password/code", url.Values{"code": {"BCDF-GHJK"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "That code is wrong") || !strings.Contains(r.body, `aria-invalid="true"`) {
		t.Fatalf("wrong code: %d\n%s", r.StatusCode, r.body)
	}
	r = e.post(browser, "/password/code", url.Values{"code": {strings.ToLower(code)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/password/reset" {
		t.Fatalf("right code: %d → %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	r = e.get(browser, "/password/reset")
	if r.StatusCode != 200 || !strings.Contains(r.body, `name="password_confirm"`) || !strings.Contains(r.body, "ada@example.com") {
		t.Fatalf("form: %d\n%s", r.StatusCode, r.body)
	}
	r = e.post(browser, "/password/reset", url.Values{"password": {"chosen with the code"}, "password_confirm": {"chosen with the code"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?m=reset" {
		t.Fatalf("submit: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.post(e.client(), "/login", url.Values{"email": {"ada@example.com"}, "password": {"chosen with the code"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("new password: %d", r.StatusCode)
	}
}

// TestCodePageEndsAfterFiveWrongCodes: five wrong codes end the flow; the
// page then says to ask again, and the right code no longer works.
func TestCodePageEndsAfterFiveWrongCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "the old password, long enough")
	browser := e.client()
	code := e.askWithCode(browser, "ada@example.com")
	for i := range 5 {
		if r := e.post(browser, "/password/code", url.Values{"code": {"BCDF-GHJK"}}); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("wrong code %d: %d", i, r.StatusCode)
		}
	}
	r := e.post(browser, "/password/code", url.Values{"code": {code}})
	if r.StatusCode != http.StatusGone || !strings.Contains(r.body, "Too many wrong codes") || !strings.Contains(r.body, `href="/password/forgot"`) {
		t.Fatalf("after five wrong codes: %d\n%s", r.StatusCode, r.body)
	}
	if r := e.get(browser, "/password/code"); !strings.Contains(r.body, `href="/password/forgot"`) || strings.Contains(r.body, `name="code"`) {
		t.Fatalf("code page after the end: %d\n%s", r.StatusCode, r.body)
	}
}

// TestResetPageSaysTheCodeDied: a code accepted in this browser whose link
// was used meanwhile (here, its email's link) says so on the reset page.
func TestResetPageSaysTheCodeDied(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "the old password, long enough")
	browser := e.client()
	code := e.askWithCode(browser, "ada@example.com")
	if r := e.post(browser, "/password/code", url.Values{"code": {code}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code: %d", r.StatusCode)
	}
	link := linkRE.FindStringSubmatch(e.smtp.Messages()[0].Parts()["text/plain"])
	other := e.client()
	e.get(other, strings.TrimPrefix(link[1], "https://accounts.example.com"))
	if r := e.post(other, "/password/reset", url.Values{"password": {"set from the link"}, "password_confirm": {"set from the link"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset from the link: %d", r.StatusCode)
	}
	r := e.get(browser, "/password/reset")
	if r.StatusCode != http.StatusGone || !strings.Contains(r.body, "That code is wrong, or its email’s link no longer works") {
		t.Fatalf("reset page after the link was used: %d\n%s", r.StatusCode, r.body)
	}
}

// TestCodePathAsksTheSecondStep: for an account with two-step sign-in, the
// code from the email leads to the reset page's code step first, exactly
// as the link does (SPEC §6.15), then to the new password.
func TestCodePathAsksTheSecondStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	secret, _ := e.enrolOnPage(e.signIn("ada@example.com", "violet tractor on the moon"), "violet tractor on the moon")
	browser := e.client()
	code := e.askWithCode(browser, "ada@example.com")
	if r := e.post(browser, "/password/code", url.Values{"code": {code}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code: %d", r.StatusCode)
	}
	page := e.get(browser, "/password/reset")
	if !strings.Contains(page.body, `name="otp"`) || strings.Contains(page.body, `name="password"`) {
		t.Fatalf("the first step: want the app's code alone\n%s", page.body)
	}
	r := e.post(browser, "/password/reset", url.Values{"password": {"taken over with the mailbox"}, "password_confirm": {"taken over with the mailbox"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="otp-error"`) {
		t.Fatalf("reset without the app's code: %d", r.StatusCode)
	}
	e.clock.Advance(totp.Step)
	if r := e.post(browser, "/password/reset", url.Values{"otp": {totp.Code(secret, totp.StepAt(e.clock.Now()))}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the app's code: %d\n%s", r.StatusCode, r.body)
	}
	if page := e.get(browser, "/password/reset"); !strings.Contains(page.body, `name="password_confirm"`) || strings.Contains(page.body, `name="otp"`) {
		t.Fatalf("the second step: want the new password alone\n%s", page.body)
	}
	if r := e.post(browser, "/password/reset", url.Values{"password": {"a reset with my phone in hand"}, "password_confirm": {"a reset with my phone in hand"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset after the code step: %d\n%s", r.StatusCode, r.body)
	}
}
