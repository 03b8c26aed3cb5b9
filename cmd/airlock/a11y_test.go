package main

import (
	"context"
	"encoding/base32"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/airlockhq/airlock/totp"
)

// axeEnv names axe-core's browser script (axe.min.js of the npm package
// axe-core), which .ci/run installs, pinned, outside the repository.
const axeEnv = "AIRLOCK_TEST_AXE"

// a11yBrowser starts one headless Chromium for the whole scan (the
// browser tests' newBrowser gives a browser 90 s; the scan needs more).
func a11yBrowser(t *testing.T) context.Context {
	t.Helper()
	return startBrowser(t, 10*time.Minute)
}

// iPhoneSafari is the user agent of a phone a user is also signed in on.
const iPhoneSafari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// viewport is a screen the pages are scanned on.
type viewport struct {
	name          string
	width, height int64
	phone, dark   bool
}

var viewports = []viewport{
	{name: "desktop", width: 1280, height: 800},
	{name: "phone", width: 390, height: 844, phone: true},
	{name: "desktop-dark", width: 1280, height: 800, dark: true},
}

// look sets a tab's screen, colour scheme and browser language.
func look(vp viewport, lang, userAgent string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if vp.phone {
			opts = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait}
		}
		if _, err := chromedp.EmulateViewport(vp.width, vp.height, opts...)(ctx, tg); err != nil {
			return err
		}
		scheme := "light"
		if vp.dark {
			scheme = "dark"
		}
		if _, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: userAgent, AcceptLanguage: lang})
		return err
	})
}

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeResult is what a scan found: the broken rules, and how many rules
// held (none would mean that nothing was checked).
type axeResult struct {
	Violations []axeViolation `json:"violations"`
	Passes     int            `json:"passes"`
}

// scan runs axe-core on the tab's page (its default rules: WCAG 2.x A and
// AA, and best practices) and returns what it found. The page's own frames
// are left out: the dev mailbox's frames show emails, sandboxed without
// scripts.
func scan(axe string) chromedp.Action[axeResult] {
	return func(ctx context.Context, tg *chromedp.Target) (axeResult, error) {
		if _, err := chromedp.Evaluate[bool](axe+"\n;true")(ctx, tg); err != nil {
			return axeResult{}, fmt.Errorf("inject axe-core: %w", err)
		}
		return chromedp.Evaluate[axeResult](`axe.run(document, {iframes: false}).then(r => ({passes: r.passes.length,
			violations: r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
				nodes: v.nodes.map(n => n.target.join(" ") + "  " + n.html.slice(0, 300))}))}))`, chromedp.EvalAwaitPromise)(ctx, tg)
	}
}

// a11yState is one page state: how to reach it from the tab it runs in.
type a11yState struct {
	name   string
	tab    context.Context
	reach  []chromedp.Action[chromedp.Void]
	waitOn string
}

// brokenWords lists the words of the elements sel selects that the
// browser laid out on more than one line.
func brokenWords(sel string) chromedp.Action[[]string] {
	return chromedp.Evaluate[[]string](`(() => {
		const broken = [];
		for (const root of document.querySelectorAll(` + strconv.Quote(sel) + `)) {
			const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
			for (let n = walk.nextNode(); n; n = walk.nextNode()) {
				if (!n.parentElement.checkVisibility()) continue; // a closed <details>
				for (const m of n.data.matchAll(/\S+/g)) {
					const r = document.createRange();
					r.setStart(n, m.index);
					r.setEnd(n, m.index + m[0].length);
					const lines = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
					if (lines.size > 1) broken.push(m[0]);
				}
			}
		}
		return broken;
	})()`)
}

// TestAccessibility scans every page state with axe-core, in English and
// in French (one program each), on a desktop and a phone screen and in
// dark mode, and fails on any violation; each state's screenshot lands in
// artifacts/screenshots/a11y-LANG-SCREEN-STATE.png. It skips, saying so,
// only when AIRLOCK_TEST_AXE is not set; .ci/run sets it.
func TestAccessibility(t *testing.T) {
	t.Parallel()
	path := os.Getenv(axeEnv)
	if path == "" {
		t.Skip(axeEnv + " is not set (the path of axe.min.js of the npm package axe-core, which .ci/run installs): accessibility scans not run")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", axeEnv, err)
	}
	axe := string(src)
	browser := a11yBrowser(t)
	userAgent := value(t, browser, chromedp.Evaluate[string](`navigator.userAgent`))
	// The scanner finds what it should: an image without a text.
	run1(t, browser, chromedp.Navigate("about:blank"))
	value(t, browser, chromedp.Evaluate[bool](`document.documentElement.lang = "en"; document.title = "x"; document.body.innerHTML = '<main><h1>x</h1><img src="data:,"></main>'; true`))
	if r := value(t, browser, scan(axe)); len(r.Violations) == 0 || r.Violations[0].ID != "image-alt" {
		t.Fatalf("axe-core did not find a missing alt text: %+v", r)
	}
	// The check of broken words finds what it should: a word cut in two.
	value(t, browser, chromedp.Evaluate[bool](`document.body.innerHTML = '<main><p style="width: 120px; overflow-wrap: anywhere">a Événement reset_email_sent_to_someone</p></main>'; true`))
	if broken := value(t, browser, brokenWords("main")); strings.Join(broken, " ") != "reset_email_sent_to_someone" {
		t.Fatalf("broken words: %q", broken)
	}
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.svg")
	os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b6e4f"/><path d="M8 22l8-12 8 12z" fill="#fff"/></svg>`), 0o600)
	csv := filepath.Join(dir, "users.csv")
	os.WriteFile(csv, []byte("email,first_name,language,groups\nsam.field@example.com,Sam,en,mobile\nkim.field@example.com,Kim,xx,mobile\nsam.field@example.com,Sam,en,\n"), 0o600)

	for _, lang := range []string{"en", "fr"} {
		t.Run(lang, func(t *testing.T) {
			// Each language in a browser of its own, at the same time: the
			// scans mostly wait on pages and the script.
			t.Parallel()
			browser := a11yBrowser(t)
			env := map[string]string{}
			if lang == "fr" {
				// The French program is branded: a name, a logo, a colour.
				env = map[string]string{"AIRLOCK_BRAND_NAME": "Acme Terrain", "AIRLOCK_BRAND_LOGO": logo, "AIRLOCK_BRAND_COLOR": "#0b6e4f"}
			}
			// A public URL that names a host: passkeys are on (WebAuthn has
			// no relying party at an IP address).
			p := passkeyProgram(t, env)
			for _, u := range []struct{ stdin, email, first string }{
				{"keeper of the user list\n", "boss@example.com", "Maximiliana"},
				{"violet tractor on the moon\n", "ada@example.com", "Ada"},
				{"violet tractor on the moon\n", "temp@example.com", "Tem"},
			} {
				args := []string{"user", "add", "--email", u.email, "--first-name", u.first, "--last-name", "Oyelaran", "--language", lang, "--password-stdin"}
				if u.email == "boss@example.com" {
					args = append(args, "--group", "admin", "--group", "web_contributor")
				}
				if _, err := p.run(u.stdin, args...); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := p.run("handed over the phone\n", "user", "set-password", "--email", "temp@example.com", "--password-stdin", "--temporary"); err != nil {
				t.Fatal(err)
			}
			if _, err := p.run("", "user", "add", "--email", "a.rather.long.address.for.a.field.worker@subsidiary.example.com", "--language", lang, "--group", "mobile", "--invite"); err != nil {
				t.Fatal(err)
			}
			// Kai uses two-step sign-in; codes0..2 each turn it on once, in
			// one viewport each (the recovery codes are shown only once).
			for _, email := range []string{"kai@example.com", "codes0@example.com", "codes1@example.com", "codes2@example.com", "pk@example.com"} {
				if _, err := p.run("violet tractor on the moon\n", "user", "add", "--email", email, "--first-name", "Kai", "--language", lang, "--password-stdin"); err != nil {
					t.Fatal(err)
				}
			}
			// Two applications for the Applications page: the field app
			// (public, first party) and a confidential one.
			if _, err := p.run("", "client", "add", "--name", "Field app", "--public", "--first-party", "--redirect-uri", "com.example.fieldapp:/oauth2redirect",
				"--grant", "authorization_code", "--grant", "refresh_token", "--grant", "password"); err != nil {
				t.Fatal(err)
			}
			out, err := p.run("", "client", "add", "--name", "Field reports", "--confidential", "--redirect-uri", "https://reports.example.com/oauth2/callback",
				"--post-logout-uri", "https://reports.example.com/", "--grant", "authorization_code", "--grant", "client_credentials")
			if err != nil {
				t.Fatal(err)
			}
			reports := "/admin/applications/" + strings.Fields(strings.TrimPrefix(out, "client_id: "))[0]
			// Another party's application: its sign-in page names it, and its
			// consent page asks.
			clientID := addClient(t, p, "--name", "Field Notes", "--public", "--redirect-uri", "http://127.0.0.1/cb")
			p.serve()
			appAuth := (&oauth2.Config{ClientID: clientID, Endpoint: oauth2.Endpoint{AuthURL: p.url("/oauth2/authorize")},
				RedirectURL: "http://127.0.0.1:49152/cb", Scopes: []string{"openid", "email", "profile", "groups", "offline_access"}}).
				AuthCodeURL("a11y", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("nonce", "a11y"),
					oauth2.SetAuthURLParam("login_hint", "ada@example.com"))

			tab := func() context.Context {
				ctx := newTab(t, browser)
				run1(t, ctx, look(viewports[0], lang, userAgent))
				return ctx
			}
			anon, resetter, user, forced, admin, kai, second, enroller := tab(), tab(), tab(), tab(), tab(), tab(), tab(), tab()
			// Pia has a passkey, made in her tab's virtual authenticator; the
			// passkey step is shown in a tab without one.
			keyholder, stepper := tab(), tab()
			addAuthenticator(t, keyholder)
			run1(t, keyholder, chromedp.Navigate(p.url("/login")), signIn("pk@example.com", "violet tractor on the moon"),
				chromedp.WaitVisible(chromedp.CSS("dl.facts")), chromedp.Navigate(p.url("/account/passkeys")),
				chromedp.SendKeys(chromedp.CSS("#name"), "Work phone"), chromedp.SendKeys(chromedp.CSS("#current_password"), "violet tractor on the moon"),
				andLoad(chromedp.Click(chromedp.CSS("#add-passkey"))), chromedp.WaitVisible(chromedp.CSS("#create-passkey")),
				andLoad(chromedp.Click(chromedp.CSS("#create-passkey"))), chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
			run1(t, user, chromedp.Navigate(p.url("/login")), signIn("ada@example.com", "violet tractor on the moon"), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
			run1(t, forced, chromedp.Navigate(p.url("/login")), signIn("temp@example.com", "handed over the phone"), chromedp.WaitVisible(chromedp.CSS("#password_confirm")))
			// Ada is signed in on her phone too: the account page lists two sessions.
			run1(t, tab(), look(viewports[1], lang, iPhoneSafari), chromedp.Navigate(p.url("/login")), signIn("ada@example.com", "violet tractor on the moon"), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
			run1(t, admin, chromedp.Navigate(p.url("/login")), signIn("boss@example.com", "keeper of the user list"), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
			// A reset link for Ada, read off the dev mailbox, opened in its own tab.
			run1(t, anon,
				chromedp.Navigate(p.url("/password/forgot")),
				chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
				andLoad(chromedp.Submit(chromedp.CSS("#email"))),
				chromedp.WaitVisible(chromedp.CSS("p[role=status]")),
			)
			var link string
			for deadline := time.Now().Add(20 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				run1(t, anon, chromedp.Navigate(p.url("/dev/mail")))
				link = value(t, anon, chromedp.Evaluate[string](`(([...document.querySelectorAll(".mail-links a")].map(a => a.href).filter(h => h.includes("/password/reset?token="))[0]) || "")`))
			}
			if link == "" {
				t.Fatal("no reset link in the dev mailbox")
			}
			run1(t, resetter, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#password_confirm")))
			// Kai turns two-step sign-in on.
			run1(t, kai, chromedp.Navigate(p.url("/login")), signIn("kai@example.com", "violet tractor on the moon"), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
			run1(t, kai, turnOnTwoFactor(p))
			run1(t, admin, chromedp.Navigate(p.url("/admin/users?q=kai%40")), chromedp.WaitVisible(chromedp.CSS("td a")))
			kaiPage := value(t, admin, chromedp.AttributeValue(chromedp.CSS("td a"), "href")).Value
			run1(t, admin, chromedp.Navigate(p.url("/admin/users?q=subsidiary")), chromedp.WaitVisible(chromedp.CSS("td a")))
			invited := value(t, admin, chromedp.AttributeValue(chromedp.CSS("td a"), "href")).Value
			run1(t, admin, chromedp.Navigate(p.url("/admin/users?q=ada%40")), chromedp.WaitVisible(chromedp.CSS("td a")))
			ada := value(t, admin, chromedp.AttributeValue(chromedp.CSS("td a"), "href")).Value
			run1(t, admin, chromedp.Navigate(p.url("/admin/users?q=pk%40")), chromedp.WaitVisible(chromedp.CSS("td a")))
			pia := value(t, admin, chromedp.AttributeValue(chromedp.CSS("td a"), "href")).Value
			run1(t, keyholder, chromedp.Navigate(p.url("/account/passkeys")), chromedp.WaitVisible(chromedp.CSS("a.remove-passkey")))
			removeKey := value(t, keyholder, chromedp.AttributeValue(chromedp.CSS("a.remove-passkey"), "href")).Value

			nav := func(path string) []chromedp.Action[chromedp.Void] {
				return []chromedp.Action[chromedp.Void]{chromedp.Navigate(p.url(path))}
			}
			submit := func(path string, fill map[string]string, submit string) []chromedp.Action[chromedp.Void] {
				steps := nav(path)
				for sel, v := range fill {
					steps = append(steps, clearField(sel), chromedp.SendKeys(chromedp.CSS(sel), v))
				}
				return append(steps, andLoad(chromedp.Submit(chromedp.CSS(submit))))
			}
			enrolled := 0
			yesterday, tomorrow := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
			states := []a11yState{
				{"login", anon, nav("/login"), "#email"},
				{"login-error", anon, submit("/login", map[string]string{"#email": "ada@example.com", "#password": "not the password"}, "#password"), ".error"},
				{"login-for-app", anon, []chromedp.Action[chromedp.Void]{chromedp.Navigate(appAuth)}, "#for-app"},
				{"forgot", anon, nav("/password/forgot"), "#email"},
				{"forgot-error", anon, submit("/password/forgot", map[string]string{"#email": "ada@"}, "#email"), "#email-error"},
				{"forgot-sent", anon, submit("/password/forgot", map[string]string{"#email": "nobody@example.com"}, "#email"), "p[role=status]"},
				{"code-error", anon, submit("/password/code", map[string]string{"#code": "BCDF-GHJK"}, "#code"), "#code-error"},
				{"code", anon, nav("/password/code"), "#code"},
				{"reset", resetter, nav("/password/reset"), "#password-checks"},
				{"reset-error", resetter, submit("/password/reset", map[string]string{"#password": "ada", "#password_confirm": "ada"}, "#password"), "#password-error"},
				{"reset-invalid", anon, nav("/password/reset?invalid=expired"), ".error"},
				{"not-found", anon, nav("/no/such/page"), ".error"},
				{"account", user, nav("/account"), "ul.sessions li + li"},
				{"account-saved", user, nav("/account?m=profile_saved"), ".notice"},
				{"account-profile-error", user, append(nav("/account"), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := chromedp.Evaluate[bool](`(document.querySelector("#first_name").value = "Ada\u202eX", true)`)(ctx, tg)
					return err
				}), andLoad(chromedp.Submit(chromedp.CSS("#first_name")))), "#first_name-error"},
				{"change-password", user, nav("/account/password"), "#current_password"},
				{"change-password-error", user, submit("/account/password", map[string]string{"#current_password": "wrong", "#password": "a long new phrase", "#password_confirm": "a long new phrase"}, "#password"), "#current_password-error"},
				{"forbidden", user, nav("/admin/users"), ".error"},
				{"consent", user, []chromedp.Action[chromedp.Void]{chromedp.Navigate(appAuth)}, "#consent-allow"},
				{"forced-change", forced, nav("/account/password"), "#password_confirm"},
				{"admin-users", admin, nav("/admin/users"), "table.list"},
				{"admin-user", admin, nav(invited), "#invite"},
				{"admin-user-password", admin, append(nav(ada), chromedp.Click(chromedp.CSS("summary")), chromedp.WaitVisible(chromedp.CSS("#set-password"))), "#set-password"},
				{"admin-user-reset-confirm", admin, nav(ada + "/send-reset"), "#confirm-send-reset"},
				{"admin-user-new", admin, nav("/admin/users/new"), "#email"},
				{"admin-user-new-error", admin, submit("/admin/users/new", map[string]string{"#email": "ada@example.com"}, "#email"), "#email-error"},
				{"admin-import", admin, nav("/admin/users/import"), "#file"},
				{"admin-import-refused", admin, append(nav("/admin/users/import"), chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{csv}), andLoad(chromedp.Click(chromedp.CSS("#import")))), "#import-problems"},
				{"admin-audit", admin, nav("/admin/audit"), "table.list"},
				{"admin-audit-filtered", admin, nav("/admin/audit?user=ada%40example.com&kind=sign_in&from=" + yesterday + "&to=" + tomorrow), "table.list"},
				{"admin-audit-user-agent", admin, append(nav("/admin/audit?user=ada%40example.com"), chromedp.Click(chromedp.CSS("details.ua summary")), chromedp.WaitVisible(chromedp.CSS("details.ua code"))), "details.ua code"},
				{"admin-audit-bad-date", admin, nav("/admin/audit?kind=sign_in&from=" + tomorrow + "&to=" + yesterday), "#to-error"},
				{"dev-mailbox", anon, nav("/dev/mail"), "article.mail"},
				{"two-factor-enrol", user, nav("/account/two-factor"), "#open-authenticator"},
				{"two-factor-enrol-key", user, append(nav("/account/two-factor"), chromedp.Click(chromedp.CSS("#show-key")), chromedp.WaitVisible(chromedp.CSS("#secret-key"))), "#secret-key"},
				{"two-factor-enrol-error", user, submit("/account/two-factor", map[string]string{"#otp": "000000", "#current_password": "violet tractor on the moon"}, "#otp"), "#otp-error"},
				{"two-factor-on", kai, nav("/account/two-factor"), "#two-factor-off"},
				{"two-factor-off-error", kai, submit("/account/two-factor", map[string]string{"#current_password": "not the password", "#otp": "000000"}, "#two-factor-off"), ".field-error"},
				{"two-factor-codes", enroller, []chromedp.Action[chromedp.Void]{chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					// A fresh account each time: sign out, sign in, turn it on.
					email := fmt.Sprintf("codes%d@example.com", enrolled)
					enrolled++
					return chromedp.Do(ctx, chromedp.Navigate(p.url("/account")), signOutIfIn(p), chromedp.Navigate(p.url("/login")), signIn(email, "violet tractor on the moon"), chromedp.WaitVisible(chromedp.CSS("dl.facts")), turnOnTwoFactor(p))
				})}, "#recovery-codes"},
				{"two-factor-login", second, append(nav("/account"), signOutIfIn(p), chromedp.Navigate(p.url("/login")), signIn("kai@example.com", "violet tractor on the moon")), "#otp"},
				{"two-factor-login-error", second, []chromedp.Action[chromedp.Void]{clearField("#otp"), chromedp.SendKeys(chromedp.CSS("#otp"), "000000"), andLoad(chromedp.Submit(chromedp.CSS("#otp")))}, "#otp-error"},
				{"admin-user-two-factor", admin, nav(kaiPage), "#two-factor-reset"},
				{"admin-apps", admin, nav("/admin/applications"), "table.list"},
				{"admin-app-new", admin, nav("/admin/applications/new"), "#name"},
				{"admin-app-new-no-type", admin, submit("/admin/applications/new", map[string]string{"#name": "Field app 2"}, "#name"), "#type-error"},
				{"admin-app-new-bad-uri", admin, append(nav("/admin/applications/new"), chromedp.SendKeys(chromedp.CSS("#name"), "Field app 2"),
					chromedp.Click(chromedp.CSS("#type-public")), chromedp.SendKeys(chromedp.CSS("#redirect_uri"), "http://app.example.com/callback"),
					andLoad(chromedp.Submit(chromedp.CSS("#name")))), "#redirect_uri-error"},
				{"admin-app-added", admin, append(nav("/admin/applications/new"), chromedp.SendKeys(chromedp.CSS("#name"), "Stock levels"),
					chromedp.Click(chromedp.CSS("#type-confidential")), chromedp.SendKeys(chromedp.CSS("#redirect_uri"), "https://stock.example.com/callback"),
					andLoad(chromedp.Submit(chromedp.CSS("#name")))), "#copy-secret"},
				{"admin-app-rotate-confirm", admin, nav(reports + "/rotate-secret"), "#confirm-rotate-secret"},
				{"admin-app-rotated", admin, append(nav(reports+"/rotate-secret"), andLoad(chromedp.Click(chromedp.CSS("#confirm-rotate-secret")))), "#client-secret"},
				{"admin-app-remove-confirm", admin, nav(reports + "/remove"), "#confirm-remove"},
				{"passkeys-none", user, nav("/account/passkeys"), "#add-passkey"},
				{"passkeys-error", user, submit("/account/passkeys", map[string]string{"#name": "Phone", "#current_password": "not the password"}, "#name"), "#current_password-error"},
				{"passkey-create", user, submit("/account/passkeys", map[string]string{"#name": "Phone", "#current_password": "violet tractor on the moon"}, "#name"), "#create-passkey"},
				{"passkeys", keyholder, nav("/account/passkeys"), "#passkeys"},
				{"passkey-new-codes", keyholder, nav("/account/two-factor/recovery-codes"), "#make-codes"},
				{"passkey-remove", keyholder, nav(removeKey), "#remove-with-passkey"},
				{"passkey-remove-error", keyholder, submit(removeKey, map[string]string{"#current_password": "not the password"}, "#current_password"), "#current_password-error"},
				// Pia's only second step is a passkey: her changes are confirmed with one.
				{"passkeys-add-confirm", keyholder, nav("/account/passkeys"), "#add-with-passkey"},
				{"passkeys-add-confirm-error", keyholder, submit("/account/passkeys", map[string]string{"#name": "Laptop", "#current_password": "not the password"}, "#name"), "#current_password-error"},
				{"change-password-confirm", keyholder, nav("/account/password"), "#password-with-passkey"},
				{"change-password-confirm-error", keyholder, submit("/account/password", map[string]string{"#current_password": "violet tractor on the moon", "#password": "a long new phrase", "#password_confirm": "a long new phrase"}, "#password"), "#otp-error"}, // asked on the recovery code's field
				{"passkey-step", stepper, append(nav("/account"), signOutIfIn(p), chromedp.Navigate(p.url("/login")), signIn("pk@example.com", "violet tractor on the moon")), "#passkey-step"},
				{"admin-user-passkeys", admin, nav(pia), "#passkeys-remove"},
			}
			// Where no word may be broken across two lines (an address may
			// break at its <wbr>s: each piece is a word of its own).
			whole := map[string]string{"admin-users": "table.list", "admin-audit": "main", "admin-audit-filtered": "main", "admin-audit-user-agent": "main", "admin-audit-bad-date": "main"}
			for _, vp := range viewports {
				for _, ctx := range []context.Context{anon, resetter, user, forced, admin} {
					run1(t, ctx, look(vp, lang, userAgent))
				}
				for _, st := range states {
					steps := append(st.reach, chromedp.WaitVisible(chromedp.CSS(st.waitOn)), screenshot(t, "a11y-"+lang+"-"+vp.name+"-"+st.name))
					if err := chromedp.Do(st.tab, steps...); err != nil {
						t.Errorf("%s %s: %v", vp.name, st.name, err)
						continue
					}
					if got := value(t, st.tab, chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
						t.Errorf("%s %s: the page is in %q", vp.name, st.name, got)
					}
					found, err := chromedp.Run(st.tab, scan(axe))
					if err != nil {
						t.Fatalf("%s %s: %v", vp.name, st.name, err)
					}
					if found.Passes < 10 {
						t.Errorf("%s %s: axe-core checked %d rules only", vp.name, st.name, found.Passes)
					}
					for _, v := range found.Violations {
						t.Errorf("%s %s: %s (%s): %s\n\t%s", vp.name, st.name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
					}
					if sel := whole[st.name]; sel != "" {
						if broken := value(t, st.tab, brokenWords(sel)); len(broken) > 0 {
							t.Errorf("%s %s: words broken across lines: %q", vp.name, st.name, broken)
						}
					}
				}
			}
		})
	}
}

// turnOnTwoFactor enrols the signed-in user (whose password is "violet
// tractor on the moon"): the key read off the page, the authenticator's
// code and the password typed, the recovery codes shown.
func turnOnTwoFactor(p *program) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(p.url("/account/two-factor")), chromedp.Click(chromedp.CSS("#show-key")), chromedp.WaitVisible(chromedp.CSS("#secret-key"))); err != nil {
			return err
		}
		shown, err := chromedp.Text(chromedp.CSS("#secret-key"))(ctx, tg)
		if err != nil {
			return err
		}
		key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(shown, " ", ""))
		if err != nil {
			return err
		}
		return chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#otp"), totp.Code(key, totp.StepAt(time.Now()))),
			chromedp.SendKeys(chromedp.CSS("#current_password"), "violet tractor on the moon"),
			andLoad(chromedp.Click(chromedp.CSS("#two-factor-on"))),
			chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
	})
}

// signOutIfIn presses the page's sign-out button when there is one.
func signOutIfIn(p *program) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		in, err := chromedp.Evaluate[bool](`!!document.querySelector("form[action='/logout'] button")`)(ctx, tg)
		if err != nil || !in {
			return err
		}
		return chromedp.Do(ctx, andLoad(chromedp.Click(chromedp.CSS("form[action='/logout'] button"))))
	})
}
