package main

import (
	"context"
	"encoding/base32"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/totp"
)

// Signing in for an application in a real browser: the app is a loopback
// server (a native app's redirect, RFC 8252 §7.3), registered as
// http://127.0.0.1/cb and listening on a port of its own.

// loopbackApp is the application's redirect endpoint: it keeps the
// address of every redirect it receives and shows a page of its own.
type loopbackApp struct {
	srv *httptest.Server
	got chan *url.URL
}

func startLoopbackApp(t *testing.T) *loopbackApp {
	a := &loopbackApp{got: make(chan *url.URL, 10)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cb" {
			http.NotFound(w, r)
			return
		}
		a.got <- &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>App</title><p id="app-done">Back in the app</p></html>`)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *loopbackApp) redirectURI() string { return a.srv.URL + "/cb" }

// next returns the redirect the app received.
func (a *loopbackApp) next(t *testing.T) *url.URL {
	t.Helper()
	select {
	case u := <-a.got:
		return u
	case <-time.After(20 * time.Second):
		t.Fatal("the app received no redirect")
		return nil
	}
}

// openIDProgram starts serve (with env) with one user whose password is
// "violet tractor on the moon" (language lang when given) and one public
// application named "Field Notes" (first-party or not); it returns the
// program, the app's redirect endpoint and the app's relying party.
func openIDProgram(t *testing.T, env map[string]string, email, lang string, firstParty bool) (*program, *loopbackApp, *rp) {
	t.Helper()
	p := newProgram(t, env)
	args := []string{"user", "add", "--email", email, "--first-name", "Kai", "--password-stdin"}
	if lang != "" {
		args = append(args, "--language", lang)
	}
	if _, err := p.run("violet tractor on the moon\n", args...); err != nil {
		t.Fatal(err)
	}
	client := []string{"--name", "Field Notes", "--public", "--redirect-uri", "http://127.0.0.1/cb"}
	if firstParty {
		client = append(client, "--first-party")
	}
	clientID := addClient(t, p, client...)
	p.serve()
	app := startLoopbackApp(t)
	return p, app, newRP(t, p.url(""), clientID, app.redirectURI())
}

// enrolTwoFactor turns two-step sign-in on for the signed-in user whose
// password is "violet tractor on the moon", as turnOnTwoFactor does, and
// keeps the key read off the page in *key.
func enrolTwoFactor(p *program, key *[]byte) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		return chromedp.Do(ctx, chromedp.Navigate(p.url("/account/two-factor")), confirmTwoFactor(key))
	})
}

// confirmTwoFactor turns two-step sign-in on from the two-step page the
// browser shows, keeping the key read off it in *key.
func confirmTwoFactor(key *[]byte) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#show-key")), chromedp.WaitVisible(chromedp.CSS("#secret-key"))); err != nil {
			return err
		}
		shown, err := chromedp.Text(chromedp.CSS("#secret-key"))(ctx, tg)
		if err != nil {
			return err
		}
		if *key, err = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(shown, " ", "")); err != nil {
			return err
		}
		return chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#otp"), totp.Code(*key, totp.StepAt(time.Now()))),
			chromedp.SendKeys(chromedp.CSS("#current_password"), "violet tractor on the moon"),
			andLoad(chromedp.Click(chromedp.CSS("#two-factor-on"))),
			chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
	})
}

// TestBrowserOpenIDTwoStep: a person with two-step sign-in signs in for
// an application: the password, then the code, then the app's loopback
// redirect gets its code; the ID token says a code was used (amr otp).
func TestBrowserOpenIDTwoStep(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	p, app, rp := openIDProgram(t, nil, "kai@example.com", "", true)
	var key []byte
	run1(t, ctx,
		chromedp.Navigate(p.url("/login")),
		signIn("kai@example.com", "violet tractor on the moon"),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
		enrolTwoFactor(p, &key),
	)
	// Another browser, with no session, follows the app's request.
	other := newTab(t, ctx)
	run1(t, other,
		chromedp.Navigate(rp.authURL("st-2fa", "n-2fa", oauth2.SetAuthURLParam("login_hint", "kai@example.com"))),
		chromedp.WaitVisible(chromedp.CSS("#for-app")),
		screenshot(t, "openid-login"),
	)
	if s := text(t, other, "#for-app"); !strings.Contains(s, "Field Notes") {
		t.Fatalf("the sign-in page says %q", s)
	}
	if v := value(t, other, chromedp.Evaluate[string](`document.querySelector("#email").value`)); v != "kai@example.com" {
		t.Fatalf("the email field holds %q, want the login_hint", v)
	}
	run1(t, other,
		signIn("kai@example.com", "violet tractor on the moon"),
		chromedp.WaitVisible(chromedp.CSS("#otp")),
		screenshot(t, "openid-login-code"),
		// The enrolment used this window's code; an authenticator a little
		// ahead shows the next one, which is accepted (totp.Skew).
		chromedp.SendKeys(chromedp.CSS("#otp"), totp.Code(key, totp.StepAt(time.Now())+1)),
		andLoad(chromedp.Submit(chromedp.CSS("#otp"))),
		chromedp.WaitVisible(chromedp.CSS("#app-done")),
	)
	got := rp.answer(app.next(t), "st-2fa", "n-2fa")
	if c := claimsOf(t, got.id); !slices.Contains(c.AMR, "otp") || !slices.Contains(c.AMR, "pwd") || c.ACR != "2" {
		t.Fatalf("ID token: amr %q, acr %q; want pwd and otp, 2", c.AMR, c.ACR)
	}
}

// TestBrowserOpenIDForgottenPassword: the password is forgotten on the
// sign-in page an application's request led to; the email's link, opened
// in the same browser, sets a new one, and the sign-in page that follows
// says it continues to the app, which gets its code.
func TestBrowserOpenIDForgottenPassword(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	smtp := mailtest.Start(t)
	_, app, rp := openIDProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL()}, "fay@example.com", "", true)
	run1(t, ctx,
		chromedp.Navigate(rp.authURL("st-forgot", "n-forgot", oauth2.SetAuthURLParam("login_hint", "fay@example.com"))),
		chromedp.WaitVisible(chromedp.CSS("#for-app")),
		andLoad(chromedp.Click(chromedp.CSS("#forgot-link"))),
		chromedp.WaitVisible(chromedp.CSS("form[action='/password/forgot']")),
		clearField("#email"),
		chromedp.SendKeys(chromedp.CSS("#email"), "fay@example.com"),
		andLoad(chromedp.Submit(chromedp.CSS("#email"))),
		chromedp.WaitVisible(chromedp.CSS("p[role=status]")),
	)
	link := linkRE.FindString(smtp.Wait(t, 1)[0].Parts()["text/plain"])
	if link == "" {
		t.Fatal("no link in the email")
	}
	run1(t, ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#password_confirm")),
		chromedp.SendKeys(chromedp.CSS("#password"), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), "a brand new passphrase"),
		andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		screenshot(t, "openid-login-after-reset"),
	)
	if s := text(t, ctx, "#for-app"); !strings.Contains(s, "continue to Field Notes") {
		t.Fatalf("after the reset, the sign-in page says %q", s)
	}
	run1(t, ctx,
		signIn("fay@example.com", "a brand new passphrase"),
		chromedp.WaitVisible(chromedp.CSS("#app-done")),
	)
	got := rp.answer(app.next(t), "st-forgot", "n-forgot")
	if c := claimsOf(t, got.id); c.Email != "fay@example.com" {
		t.Fatalf("ID token claims: %+v", c)
	}
}

// TestBrowserOpenIDConsent: another party's application (not first-party)
// is allowed by the person on a page that names it and what it asks;
// Deny sends access_denied to the app, Allow a code. In English and in
// French.
func TestBrowserOpenIDConsent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lang, title, intro, email, allow, deny string }{
		{"en", "Allow this application?", "Field Notes asks to:", "see your email address", "Allow", "Deny"},
		{"fr", "Autoriser cette application\u00a0?", "Field Notes demande à\u00a0:", "voir votre adresse e-mail", "Autoriser", "Refuser"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			ctx := newBrowser(t)
			userAgent := value(t, ctx, chromedp.Evaluate[string](`navigator.userAgent`))
			run1(t, ctx, look(viewports[0], tc.lang, userAgent))
			p, app, rp := openIDProgram(t, nil, "ada@example.com", tc.lang, false)
			run1(t, ctx,
				chromedp.Navigate(rp.authURL("st-deny", "n-deny")),
				chromedp.WaitVisible(chromedp.CSS("#for-app")),
				signIn("ada@example.com", "violet tractor on the moon"),
				chromedp.WaitVisible(chromedp.CSS("#consent-app")),
				screenshot(t, "openid-consent-"+tc.lang),
			)
			if h1, intro, asks := text(t, ctx, "h1"), text(t, ctx, "#consent-app"), text(t, ctx, "#consent-asks"); h1 != tc.title || intro != tc.intro || !strings.Contains(asks, tc.email) {
				t.Fatalf("consent page: %q, %q, %q", h1, intro, asks)
			}
			if a, d := text(t, ctx, "#consent-allow"), text(t, ctx, "#consent-deny"); a != tc.allow || d != tc.deny {
				t.Fatalf("buttons %q and %q", a, d)
			}
			run1(t, ctx, andLoad(chromedp.Click(chromedp.CSS("#consent-deny"))), chromedp.WaitVisible(chromedp.CSS("#app-done")))
			back := app.next(t)
			if q := back.Query(); q.Get("error") != "access_denied" || q.Get("state") != "st-deny" || q.Get("iss") != p.url("") || q.Has("code") {
				t.Fatalf("after Deny the app got %s", back)
			}
			// Asked again (the person is signed in now), allowed this time.
			run1(t, ctx,
				chromedp.Navigate(rp.authURL("st-allow", "n-allow")),
				chromedp.WaitVisible(chromedp.CSS("#consent-app")),
				andLoad(chromedp.Click(chromedp.CSS("#consent-allow"))),
				chromedp.WaitVisible(chromedp.CSS("#app-done")),
			)
			if c := claimsOf(t, rp.answer(app.next(t), "st-allow", "n-allow").id); c.Email != "ada@example.com" {
				t.Fatalf("ID token claims: %+v", c)
			}
		})
	}
}

// TestBrowserOpenIDFirstSteps: what a person must do before anything else
// happens before the application gets its code, and then it does: the
// change of a temporary password, and the enrolment in two-step sign-in
// that the person's group requires (the recovery codes kept, the page
// continues to the app).
func TestBrowserOpenIDFirstSteps(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	p, app, rp := openIDProgram(t, map[string]string{"AIRLOCK_REQUIRE_TWO_FACTOR": "admin"}, "kai@example.com", "", true)
	if _, err := p.run("handed over the phone\n", "user", "set-password", "--email", "kai@example.com", "--password-stdin", "--temporary"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.run("violet tractor on the moon\n", "user", "add", "--email", "boss@example.com", "--group", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	run1(t, ctx,
		chromedp.Navigate(rp.authURL("st-temp", "n-temp")),
		chromedp.WaitVisible(chromedp.CSS("#for-app")),
		signIn("kai@example.com", "handed over the phone"),
		chromedp.WaitVisible(chromedp.CSS("#password_confirm")),
		chromedp.SendKeys(chromedp.CSS("#password"), "my very own phrase now"),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), "my very own phrase now"),
		andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		chromedp.WaitVisible(chromedp.CSS("#app-done")),
	)
	rp.answer(app.next(t), "st-temp", "n-temp")

	boss := newTab(t, ctx)
	var key []byte
	run1(t, boss,
		chromedp.Navigate(rp.authURL("st-enrol", "n-enrol")),
		chromedp.WaitVisible(chromedp.CSS("#for-app")),
		signIn("boss@example.com", "violet tractor on the moon"),
		chromedp.WaitVisible(chromedp.CSS("#open-authenticator")),
		confirmTwoFactor(&key),
		screenshot(t, "openid-two-factor-codes"),
	)
	if s := value(t, boss, chromedp.Evaluate[string](`document.querySelector("#continue-app")?.textContent ?? ""`)); !strings.Contains(s, "continue to Field Notes") {
		t.Fatalf("after the enrolment, the page offers %q", s)
	}
	run1(t, boss, andLoad(chromedp.Click(chromedp.CSS("#continue-app"))), chromedp.WaitVisible(chromedp.CSS("#app-done")))
	got := rp.answer(app.next(t), "st-enrol", "n-enrol")
	if c := claimsOf(t, got.id); !slices.Contains(c.AMR, "otp") || c.Email != "boss@example.com" {
		t.Fatalf("ID token claims: %+v", c)
	}
}
