package main

import (
	"context"
	"encoding/base32"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/totp"
)

// authenticator is a virtual authenticator of Chromium's (DevTools
// WebAuthn domain) in the tab of ctx: a platform authenticator holding
// discoverable passkeys, that verifies its user.
type authenticator struct{ id webauthn.AuthenticatorID }

func addAuthenticator(t *testing.T, ctx context.Context) *authenticator {
	t.Helper()
	a := &authenticator{}
	run1(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
				Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		if err != nil {
			return err
		}
		a.id = res.AuthenticatorID
		return nil
	}))
	return a
}

// credentials returns the passkeys the authenticator holds.
func (a *authenticator) credentials(t *testing.T, ctx context.Context) []*webauthn.Credential {
	t.Helper()
	var out []*webauthn.Credential
	run1(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.id})
		if err == nil {
			out = res.Credentials
		}
		return err
	}))
	return out
}

func (a *authenticator) remove(t *testing.T, ctx context.Context) {
	t.Helper()
	run1(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: a.id})
		return err
	}))
}

// put replaces what the authenticator holds with c.
func (a *authenticator) put(t *testing.T, ctx context.Context, c *webauthn.Credential) {
	t.Helper()
	run1(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: a.id}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, addCredential, addCredentialParams{AuthenticatorID: a.id, Credential: plainCredential{
			CredentialID: c.CredentialID, IsResidentCredential: true, RpID: c.RpID, PrivateKey: c.PrivateKey, UserHandle: c.UserHandle,
			SignCount: c.SignCount, BackupEligibility: c.BackupEligibility, BackupState: c.BackupState}})
		return err
	}))
}

// noAutofill makes the pages of the tab of ctx see a browser without
// conditional mediation (no passkeys in the autofill).
func noAutofill(t *testing.T, ctx context.Context) {
	t.Helper()
	run1(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`})
		return err
	}))
}

// addCredential is WebAuthn.addCredential without the fields this
// Chromium refuses of an authenticator without CMTG keys (cdproto sends
// generateCmtgKeyOnNextOperation always).
var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      plainCredential          `json:"credential"`
}

type plainCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle"`
	SignCount            float64 `json:"signCount"`
	BackupEligibility    bool    `json:"backupEligibility"`
	BackupState          bool    `json:"backupState"`
}

// passkeyProgram is a server whose public URL names a host (localhost):
// WebAuthn has no relying party at an IP address.
func passkeyProgram(t *testing.T, env map[string]string) *program {
	p := newProgram(t, env)
	p.env["AIRLOCK_PUBLIC_URL"] = "http://" + strings.Replace(p.env["AIRLOCK_LISTEN"], "127.0.0.1", "localhost", 1)
	return p
}

var passkeyWords = map[string]map[string]string{
	"en": {"added": "The passkey was added", "none": "You have no passkeys yet.", "cloned": "looks like a copy",
		"removed": "The passkey was removed", "confirm": "Confirm with one of your passkeys too",
		"codes": "Your account now has recovery codes too", "left": "You have 10 unused recovery codes.",
		"left9": "You have 9 unused recovery codes.", "new": "Here are your new recovery codes"},
	"fr": {"added": "La clé d’accès a été ajoutée", "none": "Vous n’avez pas encore de clé d’accès.", "cloned": "semble être la copie",
		"removed": "La clé d’accès a été supprimée", "confirm": "Confirmez aussi avec l’une de vos clés d’accès",
		"codes": "Votre compte a aussi des codes de secours", "left": "Il vous reste 10 codes de secours inutilisés.",
		"left9": "Il vous reste 9 codes de secours inutilisés.", "new": "Voici vos nouveaux codes de secours"},
}

// TestBrowserPasskeys: in Chromium with a virtual authenticator, on each
// database and in English and French: a passkey is added from the account
// page (password asked), which shows the account's new recovery codes
// once, signs in alone from the sign-in page's button, is asked after the
// password as the second step (a recovery code does instead, and a new
// set of codes is made with the password and the passkey), is asked by a
// reset link before the new password, and a copy of it whose counter went
// back (the credential moved to a second authenticator with a lower count)
// is refused; a second one is added with the password and the first one
// (the account has no authenticator app: the add form has no button that
// sends the password alone, its "confirm with a passkey" button asks the
// first passkey); then one is removed (the password and a passkey asked:
// the password alone is refused), and the other is still asked after the
// password.
func TestBrowserPasskeys(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{"sqlite": {"lang": "en"}}
	if dsn := testutil.PostgresURL(t); dsn != "" {
		cases["postgres"] = map[string]string{"lang": "fr", "AIRLOCK_DATABASE_URL": dsn}
	} else {
		cases["sqlite"]["lang"] = "fr" // French at least once
		cases["sqlite, en"] = map[string]string{"lang": "en"}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lang := c["lang"]
			words := passkeyWords[lang]
			smtp := mailtest.Start(t)
			env := map[string]string{"AIRLOCK_SMTP_URL": smtp.URL()}
			maps.Copy(env, c)
			delete(env, "lang")
			p := passkeyProgram(t, env)
			const pw = "violet tractor on the moon"
			if _, err := p.run(pw+"\n", "user", "add", "--email", "ada@example.com", "--language", lang, "--password-stdin"); err != nil {
				t.Fatal(err)
			}
			p.serve()
			ctx := newBrowser(t)
			// The browser asks for the pages in the user's language too.
			run1(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				ua, err := chromedp.Evaluate[string](`navigator.userAgent`)(ctx, tg)
				if err != nil {
					return err
				}
				_, err = cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: lang})
				return err
			}))
			key := addAuthenticator(t, ctx)

			// Added from the account page, with the password.
			run1(t, ctx,
				chromedp.Navigate(p.url("/login")),
				signIn("ada@example.com", pw),
				chromedp.WaitVisible(chromedp.CSS("dl.facts")),
				andLoad(chromedp.Click(chromedp.CSS("#passkeys-link"))),
				chromedp.WaitVisible(chromedp.CSS("#no-passkeys")),
				chromedp.SendKeys(chromedp.CSS("#name"), "Work phone"),
				chromedp.SendKeys(chromedp.CSS("#current_password"), pw),
				andLoad(chromedp.Click(chromedp.CSS("#add-passkey"))),
				chromedp.WaitVisible(chromedp.CSS("#create-passkey")),
				screenshot(t, "passkey-create-"+lang),
				andLoad(chromedp.Click(chromedp.CSS("#create-passkey"))),
				chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
				screenshot(t, "passkey-codes-"+lang),
			)
			// The first passkey brings recovery codes, shown once.
			if s := text(t, ctx, ".notice"); !strings.Contains(s, words["added"]) || !strings.Contains(s, words["codes"]) {
				t.Fatalf("after adding: %q", s)
			}
			codes := strings.Fields(text(t, ctx, "#recovery-codes"))
			if len(codes) != 10 {
				t.Fatalf("recovery codes shown: %q", codes)
			}
			run1(t, ctx,
				chromedp.Navigate(p.url("/account/passkeys")),
				chromedp.WaitVisible(chromedp.CSS("#passkeys")),
				screenshot(t, "passkeys-"+lang),
			)
			if s := text(t, ctx, "#codes-left"); s != words["left"] {
				t.Fatalf("codes left: %q", s)
			}
			if s := text(t, ctx, "#passkeys tbody"); !strings.Contains(s, "Work phone") {
				t.Fatalf("the list: %q", s)
			}
			if n := len(key.credentials(t, ctx)); n != 1 {
				t.Fatalf("the authenticator holds %d passkeys", n)
			}

			// Signing in with it alone: the sign-in page's email field offers
			// it (conditional mediation; the virtual authenticator picks it at
			// once, as a person would in the autofill).
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("form[action='/logout'] button"))),
				chromedp.WaitVisible(chromedp.CSS("dl.facts")),
			)
			if loc := location(t, ctx); loc != p.url("/account") {
				t.Fatalf("the autofill's passkey led to %s", loc)
			}
			// From here the browser offers no autofill, as one without it:
			// the button signs in.
			noAutofill(t, ctx)
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("form[action='/logout'] button"))),
				chromedp.WaitVisible(chromedp.CSS("#passkey-signin")),
			)
			if ac := value(t, ctx, chromedp.Evaluate[string](`document.querySelector("#email").getAttribute("autocomplete")`)); ac != "username webauthn" {
				t.Fatalf("the email field's autocomplete: %q", ac)
			}
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("#passkey-signin"))),
				chromedp.WaitVisible(chromedp.CSS("dl.facts")),
			)

			// The password now asks for the passkey after it.
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("form[action='/logout'] button"))),
				chromedp.WaitVisible(chromedp.CSS("#email")),
				signIn("ada@example.com", pw),
				chromedp.WaitVisible(chromedp.CSS("#passkey-step")),
				screenshot(t, "passkey-step-"+lang),
			)
			if strings.Contains(value(t, ctx, chromedp.Evaluate[string](`document.body.innerHTML`)), `one-time-code`) {
				t.Fatal("an app's code is asked of an account without an authenticator app")
			}
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("#passkey-step"))),
				chromedp.WaitVisible(chromedp.CSS("dl.facts")),
				andLoad(chromedp.Click(chromedp.CSS("form[action='/logout'] button"))),
				chromedp.WaitVisible(chromedp.CSS("#email")),
			)

			// A recovery code in place of the passkey; then a new set, with
			// the password and the passkey.
			run1(t, ctx,
				signIn("ada@example.com", pw),
				chromedp.WaitVisible(chromedp.CSS("#use-recovery-code")),
				chromedp.SendKeys(chromedp.CSS("#otp"), codes[0]),
				andLoad(chromedp.Click(chromedp.CSS("#use-recovery-code"))),
				chromedp.WaitVisible(chromedp.CSS("dl.facts")),
				chromedp.Navigate(p.url("/account/passkeys")),
				chromedp.WaitVisible(chromedp.CSS("#codes-left")),
			)
			if s := text(t, ctx, "#codes-left"); s != words["left9"] {
				t.Fatalf("codes left after one used: %q", s)
			}
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("#new-codes"))),
				chromedp.WaitVisible(chromedp.CSS("#make-codes")),
				chromedp.SendKeys(chromedp.CSS("#current_password"), pw),
				andLoad(chromedp.Click(chromedp.CSS("#make-codes"))),
				chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
			)
			if s := text(t, ctx, ".notice"); !strings.Contains(s, words["new"]) {
				t.Fatalf("after new codes: %q", s)
			}
			if fresh := strings.Fields(text(t, ctx, "#recovery-codes")); len(fresh) != 10 || fresh[0] == codes[0] {
				t.Fatalf("new codes: %q", fresh)
			}
			run1(t, ctx,
				chromedp.Navigate(p.url("/account")),
				andLoad(chromedp.Click(chromedp.CSS("form[action='/logout'] button"))),
				chromedp.WaitVisible(chromedp.CSS("#email")),
			)

			// A reset link asks for the passkey before the new password.
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("#forgot-link"))),
				chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
				andLoad(chromedp.Submit(chromedp.CSS("#email"))),
				chromedp.WaitVisible(chromedp.CSS("p[role=status]")),
			)
			link := regexp.MustCompile(`http://\S+/password/reset\?token=[A-Za-z0-9_-]+`).FindString(smtp.Wait(t, 2)[1].Parts()["text/plain"])
			if link == "" {
				t.Fatal("no reset link")
			}
			run1(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#passkey-reset")), screenshot(t, "passkey-reset-"+lang))
			if strings.Contains(value(t, ctx, chromedp.Evaluate[string](`document.body.innerHTML`)), `id="password"`) {
				t.Fatal("the new password is asked before the passkey")
			}
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("#passkey-reset"))),
				chromedp.WaitVisible(chromedp.CSS("#password_confirm")),
				chromedp.SendKeys(chromedp.CSS("#password"), "a brand new passphrase"),
				chromedp.SendKeys(chromedp.CSS("#password_confirm"), "a brand new passphrase"),
				andLoad(chromedp.Submit(chromedp.CSS("#password"))),
				chromedp.WaitVisible(chromedp.CSS(".notice")),
			)
			if loc := location(t, ctx); !strings.Contains(loc, "/login?m=reset") {
				t.Fatalf("after the reset: %s", loc)
			}

			// A copy of the passkey with its counter set back, in a second
			// authenticator: refused.
			got := key.credentials(t, ctx)[0]
			used := got.SignCount
			cred := &webauthn.Credential{CredentialID: got.CredentialID, IsResidentCredential: true, RpID: got.RpID,
				PrivateKey: got.PrivateKey, UserHandle: got.UserHandle, BackupEligibility: got.BackupEligibility,
				BackupState: got.BackupState, UserName: got.UserName, UserDisplayName: got.UserDisplayName}
			key.remove(t, ctx)
			copyKey := addAuthenticator(t, ctx)
			cred.SignCount = 1
			copyKey.put(t, ctx, cred)
			run1(t, ctx,
				chromedp.Navigate(p.url("/login")),
				andLoad(chromedp.Click(chromedp.CSS("#passkey-signin"))),
				chromedp.WaitVisible(chromedp.CSS("#form-error")),
			)
			if s := text(t, ctx, "#form-error"); !strings.Contains(s, words["cloned"]) {
				t.Fatalf("a copied passkey: %q", s)
			}
			// The real one (its counter ahead) still signs in; then it is
			// removed, with the password and a passkey (the account has no
			// authenticator app): the password alone removes nothing.
			cred.SignCount = used + 10
			copyKey.put(t, ctx, cred)
			run1(t, ctx,
				chromedp.Navigate(p.url("/login")),
				andLoad(chromedp.Click(chromedp.CSS("#passkey-signin"))),
				chromedp.WaitVisible(chromedp.CSS("dl.facts")),
				chromedp.Navigate(p.url("/account/passkeys")),
				chromedp.WaitVisible(chromedp.CSS("#add-with-passkey")),
				screenshot(t, "passkey-add-confirm-"+lang),
			)
			// A second passkey: the password and the first passkey.
			// Its own button sends the password with a recovery code (a
			// field it requires), never the password alone.
			if alone := value(t, ctx, chromedp.Evaluate[bool](`document.querySelectorAll("#add-form button[type=submit]").length > 0 && !document.querySelector("#add-form input#otp[required]")`)); alone {
				t.Fatal("the add form of a passkey-only account sends the password alone")
			}
			run1(t, ctx,
				chromedp.SendKeys(chromedp.CSS("#name"), "Laptop"),
				chromedp.SendKeys(chromedp.CSS("#current_password"), "a brand new passphrase"),
				andLoad(chromedp.Click(chromedp.CSS("#add-with-passkey"))),
				chromedp.WaitVisible(chromedp.CSS("#create-passkey")),
			)
			// The new passkey is made on another device (an authenticator
			// holding one of the account's passkeys makes no second one).
			copyKey.remove(t, ctx)
			laptop := addAuthenticator(t, ctx)
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("#create-passkey"))),
				chromedp.WaitVisible(chromedp.CSS("#passkeys")),
			)
			if s := text(t, ctx, ".notice"); !strings.Contains(s, words["added"]) {
				t.Fatalf("after adding a second: %q", s)
			}
			if s := text(t, ctx, "#passkeys tbody"); !strings.Contains(s, "Work phone") || !strings.Contains(s, "Laptop") {
				t.Fatalf("the list: %q", s)
			}
			if n := len(laptop.credentials(t, ctx)); n != 1 {
				t.Fatalf("the second authenticator holds %d passkeys", n)
			}
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("a.remove-passkey"))),
				chromedp.WaitVisible(chromedp.CSS("#remove-with-passkey")),
				screenshot(t, "passkey-remove-"+lang),
				chromedp.SendKeys(chromedp.CSS("#current_password"), "a brand new passphrase"),
				andLoad(chromedp.Submit(chromedp.CSS("#current_password"))),
				// Said on the recovery code's field, the other way the
				// account has.
				chromedp.WaitVisible(chromedp.CSS("#otp-error")),
			)
			if s := text(t, ctx, "#otp-error"); !strings.Contains(s, words["confirm"]) {
				t.Fatalf("the password alone: %q", s)
			}
			run1(t, ctx,
				chromedp.WaitVisible(chromedp.CSS("#remove-with-passkey")),
				chromedp.SendKeys(chromedp.CSS("#current_password"), "a brand new passphrase"),
				andLoad(chromedp.Click(chromedp.CSS("#remove-with-passkey"))),
				chromedp.WaitVisible(chromedp.CSS(".notice")),
			)
			if s := text(t, ctx, ".notice"); !strings.Contains(s, words["removed"]) {
				t.Fatalf("after removing: %q", s)
			}
			if n := value(t, ctx, chromedp.Evaluate[float64](`document.querySelectorAll("#passkeys tbody tr").length`)); n != 1 {
				t.Fatalf("%v passkeys listed after removing one of two", n)
			}
			run1(t, ctx,
				andLoad(chromedp.Click(chromedp.CSS("form[action='/logout'] button"))),
				chromedp.WaitVisible(chromedp.CSS("#email")),
				signIn("ada@example.com", "a brand new passphrase"),
				chromedp.WaitVisible(chromedp.CSS("#passkey-step")),
				andLoad(chromedp.Click(chromedp.CSS("#passkey-step"))),
				chromedp.WaitVisible(chromedp.CSS("dl.facts")),
			)
			// Every change reached the owner: added twice, the reset (the link
			// and the change), removed; delivered from the outbox, in time.
			subjects := ""
			for _, m := range smtp.Wait(t, 5) {
				subjects += m.Header("Subject") + "\n"
			}
			if strings.Count(subjects, "\n") < 5 {
				t.Fatalf("emails: %s", subjects)
			}

			// Turning the authenticator app on adds a way in: this account's
			// passkey confirms it, in the enrolment form (no button sends the
			// password and the app's code alone). (With PostgreSQL and no
			// AIRLOCK_SECRET_KEY, nobody enrols.)
			if c["AIRLOCK_DATABASE_URL"] != "" {
				return
			}
			run1(t, ctx,
				chromedp.Navigate(p.url("/account/two-factor")),
				chromedp.Click(chromedp.CSS("#show-key")),
				chromedp.WaitVisible(chromedp.CSS("#secret-key")),
				chromedp.WaitVisible(chromedp.CSS("#two-factor-with-passkey")),
			)
			if n := value(t, ctx, chromedp.Evaluate[float64](`document.querySelectorAll("#two-factor-on").length`)); n != 0 {
				t.Fatal("the enrolment form of an account with a passkey sends the password and the code alone")
			}
			appKey, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(text(t, ctx, "#secret-key"), " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			run1(t, ctx,
				chromedp.SendKeys(chromedp.CSS("#otp"), totp.Code(appKey, totp.StepAt(time.Now()))),
				chromedp.SendKeys(chromedp.CSS("#current_password"), "a brand new passphrase"),
				andLoad(chromedp.Click(chromedp.CSS("#two-factor-with-passkey"))),
				chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
			)
		})
	}
}

// TestPasskeyLimitSettings: AIRLOCK_LIMIT_PASSKEY_OPTIONS_PER_IP and
// AIRLOCK_LIMIT_BAD_PASSKEY_PER_IP reach the server: over them, the
// sign-in's options and a refused passkey get 429 with Retry-After.
func TestPasskeyLimitSettings(t *testing.T) {
	t.Parallel()
	p := passkeyProgram(t, map[string]string{"AIRLOCK_LIMIT_PASSKEY_OPTIONS_PER_IP": "2/10m", "AIRLOCK_LIMIT_BAD_PASSKEY_PER_IP": "1/15m"})
	p.serve()
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		res, err := http.PostForm(p.url(path), form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for i, want := range []int{200, 200, 429} {
		if res := post("/login/passkey/options", nil); res.StatusCode != want || want == 429 && res.Header.Get("Retry-After") == "" {
			t.Fatalf("options %d: %d, want %d (Retry-After %q)", i+1, res.StatusCode, want, res.Header.Get("Retry-After"))
		}
	}
	bad := url.Values{"credential": {`{"id":"AAAA","type":"public-key"}`}}
	for i, want := range []int{401, 429} {
		if res := post("/login/passkey", bad); res.StatusCode != want || want == 429 && res.Header.Get("Retry-After") == "" {
			t.Fatalf("refused passkey %d: %d, want %d", i+1, res.StatusCode, want)
		}
	}
}
