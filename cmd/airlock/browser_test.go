package main

import (
	"context"
	"encoding/base32"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the time zone test needs no system database
	"unicode"

	"github.com/airlockhq/airlock/totp"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/airlockhq/airlock/internal/mailtest"
)

// chromium finds Debian's Chromium; the browser tests need it. CI installs
// the package, so there they always run.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium binary on this machine (apt-get install chromium): browser tests not run")
	return ""
}

// newBrowser starts headless Chromium with a throw-away profile and
// returns a tab context, good for 90 s.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return startBrowser(t, 90*time.Second)
}

// startBrowser starts headless Chromium with a throw-away profile and
// returns a tab context that ends after limit.
func startBrowser(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// newTab opens another tab with its own cookies (an incognito-like context).
func newTab(t *testing.T, parent context.Context) context.Context {
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return ctx
}

func artifactsDir(t *testing.T) string {
	dir := os.Getenv("AIRLOCK_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the whole page as a test artifact (not committed).
func screenshot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(artifactsDir(t), name+".png"), png, 0o644)
	})
}

// andLoad runs a step that leads to another page (a submit, a link) and
// waits until that page has loaded, so that the next step never queries a
// page in the middle of navigating.
func andLoad(step chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.RunResponse(ctx, step)
		return err
	})
}

// signIn fills the sign-in form of the current page and submits it.
func signIn(email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, step := range []chromedp.Action[chromedp.Void]{
			clearField("#email"), // it may hold the address offered after a reset
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		} {
			if _, err := step(ctx, tg); err != nil {
				return err
			}
		}
		return nil
	})
}

// clearField empties a text field, as selecting its text and deleting it
// would.
func clearField(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`(document.querySelector(`+strconv.Quote(sel)+`).value = "", true)`)(ctx, tg)
		return err
	})
}

func run1(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return value(t, ctx, chromedp.Location())
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return value(t, ctx, chromedp.Text(chromedp.CSS(sel)))
}

// TestBrowserForgottenPassword: from the login page's link to signing in
// with the new password, as a person does it, reading the email off SMTP.
func TestBrowserForgottenPassword(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	smtp := mailtest.Start(t)
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL()})
	if _, err := p.run("the old password, long enough\n", "user", "add", "--email", "fay@example.com", "--first-name", "Fay", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()

	run1(t, ctx,
		chromedp.Navigate(p.url("/login")),
		screenshot(t, "login"),
		andLoad(chromedp.Click(chromedp.CSS("#forgot-link"))),
		chromedp.WaitVisible(chromedp.CSS("form[action='/password/forgot']")),
		chromedp.SendKeys(chromedp.CSS("#email"), "fay@example.com"),
		screenshot(t, "forgot"),
		andLoad(chromedp.Submit(chromedp.CSS("#email"))),
		chromedp.WaitVisible(chromedp.CSS("p[role=status]")),
		screenshot(t, "forgot-sent"),
	)
	if s := text(t, ctx, "h1"); s != "Check your inbox" {
		t.Fatalf("after submitting: %q", s)
	}
	m := linkRE.FindString(smtp.Wait(t, 1)[0].Parts()["text/plain"])
	if m == "" {
		t.Fatal("no link in the email")
	}
	run1(t, ctx, chromedp.Navigate(m), chromedp.WaitVisible(chromedp.CSS("#password_confirm")))
	if loc := location(t, ctx); loc != p.url("/password/reset") {
		t.Fatalf("the token stayed in the address bar: %s", loc)
	}
	run1(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#password"), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), "a brand new passphrase"),
		screenshot(t, "reset"),
		andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		screenshot(t, "login-after-reset"),
	)
	if s := text(t, ctx, ".notice"); !strings.Contains(s, "Your password has been changed") {
		t.Fatalf("login notice: %q", s)
	}
	// The sign-in page offers the address, the focus waits in the password.
	if got := value(t, ctx, chromedp.Evaluate[[]string](`[document.querySelector("#email").value, document.activeElement.id]`)); got[0] != "fay@example.com" || got[1] != "password" {
		t.Fatalf("after the reset: email %q, focus on %q", got[0], got[1])
	}
	run1(t, ctx,
		signIn("fay@example.com", "a brand new passphrase"),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
		screenshot(t, "account"),
	)
	if loc := location(t, ctx); loc != p.url("/account") {
		t.Fatalf("after sign-in: %s", loc)
	}
}

// TestBrowserResetWithCode: the reset finishes in the browser that asked,
// with the code from the email instead of the link: a wrong code is said
// at the field, the right one leads to the new password.
func TestBrowserResetWithCode(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	smtp := mailtest.Start(t)
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL()})
	if _, err := p.run("the old password, long enough\n", "user", "add", "--email", "fay@example.com", "--first-name", "Fay", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()

	run1(t, ctx,
		chromedp.Navigate(p.url("/password/forgot")),
		chromedp.SendKeys(chromedp.CSS("#email"), "fay@example.com"),
		andLoad(chromedp.Submit(chromedp.CSS("#email"))),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	if s := text(t, ctx, "#code-heading"); s != "Enter the code from the email" {
		t.Fatalf("the sent page offers %q", s)
	}
	code := emailCodeRE.FindString(smtp.Wait(t, 1)[0].Parts()["text/plain"])
	if code == "" {
		t.Fatal("no code in the email")
	}
	run1(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), "BCDF-GHJK"),
		andLoad(chromedp.Submit(chromedp.CSS("#code"))),
		chromedp.WaitVisible(chromedp.CSS("#code-error")),
		screenshot(t, "code-wrong"),
	)
	if s := text(t, ctx, "#code-error"); !strings.Contains(s, "That code is wrong") {
		t.Fatalf("wrong code: %q", s)
	}
	run1(t, ctx,
		clearField("#code"),
		chromedp.SendKeys(chromedp.CSS("#code"), strings.ToLower(code)),
		andLoad(chromedp.Submit(chromedp.CSS("#code"))),
		chromedp.WaitVisible(chromedp.CSS("#password_confirm")),
		chromedp.SendKeys(chromedp.CSS("#password"), "chosen with the code"),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), "chosen with the code"),
		andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if s := text(t, ctx, ".notice"); !strings.Contains(s, "Your password has been changed") {
		t.Fatalf("login notice: %q", s)
	}
	run1(t, ctx, signIn("fay@example.com", "chosen with the code"), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
}

// TestBrowserAdminTemporaryPassword: an administrator finds a user by
// search and sets a temporary password; the user is forced to change it.
func TestBrowserAdminTemporaryPassword(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	smtp := mailtest.Start(t)
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL()})
	if _, err := p.run("keeper of the user list\n", "user", "add", "--email", "boss@example.com", "--group", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"sam.field@example.com", "kim.field@example.com", "office@example.com"} {
		if _, err := p.run("", "user", "add", "--email", email, "--group", "mobile"); err != nil {
			t.Fatal(err)
		}
	}
	p.serve()

	run1(t, ctx,
		chromedp.Navigate(p.url("/login")),
		signIn("boss@example.com", "keeper of the user list"),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
		chromedp.Navigate(p.url("/admin/users")),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "kim"),
		andLoad(chromedp.Submit(chromedp.CSS("#q"))),
		chromedp.WaitVisible(chromedp.Search(`//td/a[contains(., "kim.field@example.com")]`)),
		screenshot(t, "admin-users-search"),
	)
	if s := text(t, ctx, "p[role=status]"); s != "1 user" {
		t.Fatalf("search result count: %q", s)
	}
	run1(t, ctx,
		andLoad(chromedp.Click(chromedp.Search(`//td/a[contains(., "kim.field@example.com")]`))),
		chromedp.WaitVisible(chromedp.CSS("#invite")),
		chromedp.Click(chromedp.CSS("summary")),
		chromedp.WaitVisible(chromedp.CSS("#set-password")),
	)
	if !value(t, ctx, chromedp.Evaluate[bool](`document.querySelector("form[action$='/set-password'] #temporary").checked`)) {
		t.Fatal("temporary is not ticked by default")
	}
	run1(t, ctx,
		chromedp.SendKeys(chromedp.CSS("form[action$='/set-password'] #password"), "handed over the phone"),
		chromedp.SendKeys(chromedp.CSS("form[action$='/set-password'] #password_confirm"), "handed over the phone"),
		screenshot(t, "admin-user"),
		andLoad(chromedp.Click(chromedp.CSS("#set-password"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		screenshot(t, "admin-user-password-set"),
	)
	if html := value(t, ctx, chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, "handed over the phone") {
		t.Fatal("the administrator sees the password after submitting")
	}

	// The user, in another browser, must change it at sign-in.
	user := newTab(t, ctx)
	run1(t, user,
		chromedp.Navigate(p.url("/login")),
		signIn("kim.field@example.com", "handed over the phone"),
		chromedp.WaitVisible(chromedp.CSS("#password_confirm")),
		screenshot(t, "forced-change"),
	)
	if loc := location(t, user); loc != p.url("/account/password") {
		t.Fatalf("after sign-in with a temporary password: %s", loc)
	}
	run1(t, user, chromedp.Navigate(p.url("/account")), chromedp.WaitVisible(chromedp.CSS("#password_confirm")))
	if loc := location(t, user); loc != p.url("/account/password") {
		t.Fatalf("the account page did not redirect to the change page: %s", loc)
	}
	run1(t, user,
		chromedp.SendKeys(chromedp.CSS("#password"), "my very own phrase now"),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), "my very own phrase now"),
		andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
	)
	if loc := location(t, user); loc != p.url("/account?m=password_changed") {
		t.Fatalf("after the change: %s", loc)
	}
}

// TestBrowserPhoneViewport: the pages fit a phone's width: no horizontal
// scrolling.
func TestBrowserPhoneViewport(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	p := newProgram(t, nil)
	if _, err := p.run("keeper of the user list\n", "user", "add", "--email", "boss@example.com", "--first-name", "Maximiliana", "--last-name", "Vandenberghe-Oyelaran", "--group", "admin", "--group", "mobile", "--group", "web_contributor", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.run("", "user", "add", "--email", "a.rather.long.address.for.a.field.worker@subsidiary.example.com", "--group", "mobile"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	run1(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulatePortrait))

	check := func(name, path, waitFor string) {
		t.Helper()
		run1(t, ctx,
			chromedp.Navigate(p.url(path)),
			chromedp.WaitVisible(chromedp.CSS(waitFor)),
			screenshot(t, "phone-"+name),
		)
		// clientWidth is the layout viewport (the phone's 390 CSS pixels);
		// window.innerWidth would grow with the content on a mobile browser.
		widths := value(t, ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
		if widths[1] != 390 {
			t.Fatalf("%s: layout viewport is %dpx, want the phone's 390px", path, widths[1])
		}
		if widths[0] > widths[1] {
			t.Errorf("%s scrolls sideways on a phone: page %dpx wide, screen %dpx", path, widths[0], widths[1])
		}
	}
	check("login", "/login", "#email")
	check("forgot", "/password/forgot", "#email")
	check("reset-invalid", "/password/reset", "h1")
	run1(t, ctx,
		chromedp.Navigate(p.url("/login")),
		signIn("boss@example.com", "keeper of the user list"),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
	)
	check("account", "/account", "dl.facts")
	check("change-password", "/account/password", "#password")
	check("admin-users", "/admin/users", "table.list")
	check("admin-new-user", "/admin/users/new", "#email")
	check("admin-audit", "/admin/audit", "table.list")
	run1(t, ctx, chromedp.Navigate(p.url("/admin/users?q=subsidiary")), chromedp.WaitVisible(chromedp.CSS("td a")))
	href := value(t, ctx, chromedp.AttributeValue(chromedp.CSS("td a"), "href"))
	check("admin-user", href.Value, "#invite")
	check("dev-mail", "/dev/mail", "h1")
}

// TestBrowserEmailProblemShown: an email the recipient's server refuses
// (550) is marked failed after one attempt and shown, in words, on the
// user's page in the back office, and the user appears under "Email
// problems"; the others are delivered.
func TestBrowserEmailProblemShown(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	smtp := mailtest.Start(t)
	smtp.RefuseRecipient("lost@example.com")
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL()})
	if _, err := p.run("keeper of the user list\n", "user", "add", "--email", "boss@example.com", "--group", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"lost@example.com", "fine@example.com"} {
		if _, err := p.run("", "user", "add", "--email", email, "--group", "mobile"); err != nil {
			t.Fatal(err)
		}
	}
	p.serve()
	for _, email := range []string{"lost@example.com", "fine@example.com"} {
		postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {email}})
	}
	if msgs := smtp.Wait(t, 1); msgs[0].To[0] != "fine@example.com" {
		t.Fatalf("delivered to %v", msgs[0].To)
	}
	run1(t, ctx,
		chromedp.Navigate(p.url("/login")),
		signIn("boss@example.com", "keeper of the user list"),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
		chromedp.Navigate(p.url("/admin/users?email=problems")),
		chromedp.WaitVisible(chromedp.Search(`//td/a[contains(., "lost@example.com")]`)),
		screenshot(t, "admin-users-email-problems"),
	)
	if s := text(t, ctx, "tbody"); strings.Contains(s, "fine@example.com") {
		t.Fatalf("a user without email problems is listed: %q", s)
	}
	run1(t, ctx,
		andLoad(chromedp.Click(chromedp.Search(`//td/a[contains(., "lost@example.com")]`))),
		chromedp.WaitVisible(chromedp.CSS(".email-state-failed")),
		screenshot(t, "admin-user-email-failed"),
	)
	detail := text(t, ctx, "ul.emails")
	for _, want := range []string{"Failed", "refused the address", "550 5.1.1 no such user", "Send again"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the user's page does not say %q:\n%s", want, detail)
		}
	}
}

// TestBrowserImportAndFirstSignIn: an administrator uploads a CSV file with
// a bad line (nobody is created, the line is named), fixes it and uploads
// again with invitations; an invited field worker opens the welcome email's
// link, chooses a password and signs in for the first time.
func TestBrowserImportAndFirstSignIn(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	smtp := mailtest.Start(t)
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL()})
	if _, err := p.run("keeper of the user list\n", "user", "add", "--email", "boss@example.com", "--group", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.csv"), filepath.Join(dir, "good.csv")
	os.WriteFile(bad, []byte("email,first_name,language,groups\nsam.field@example.com,Sam,en,mobile\nkim.field@example.com,Kim,xx,mobile\n"), 0o600)
	os.WriteFile(good, []byte("email,first_name,language,groups\nsam.field@example.com,Sam,en,mobile\nkim.field@example.com,Kim,fr,mobile\n"), 0o600)
	run1(t, ctx,
		chromedp.Navigate(p.url("/login")),
		signIn("boss@example.com", "keeper of the user list"),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
		chromedp.Navigate(p.url("/admin/users/import")),
		chromedp.WaitVisible(chromedp.CSS("#file")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{bad}),
		andLoad(chromedp.Click(chromedp.CSS("#import"))),
		chromedp.WaitVisible(chromedp.CSS("#import-problems")),
		screenshot(t, "admin-import-refused"),
	)
	if s := text(t, ctx, "#import-problems"); !strings.Contains(s, "Line 3:") || !strings.Contains(s, "language") {
		t.Fatalf("refused import says %q", s)
	}
	run1(t, ctx,
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{good}),
		andLoad(chromedp.Click(chromedp.CSS("#import"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		screenshot(t, "admin-import-done"),
	)
	if s := text(t, ctx, ".notice"); !strings.Contains(s, "2 users imported") {
		t.Fatalf("after the import: %q", s)
	}
	// Sam's welcome email, then Sam's first sign-in in another browser.
	var link string
	for _, m := range smtp.Wait(t, 2) {
		if m.To[0] == "sam.field@example.com" {
			link = appLinkRE.FindString(m.Parts()["text/plain"])
		}
	}
	if link == "" {
		t.Fatal("no invitation for Sam")
	}
	sam := newTab(t, newBrowser(t))
	run1(t, sam,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#password_confirm")),
		screenshot(t, "invitation-choose-password"),
		chromedp.SendKeys(chromedp.CSS("#password"), "my first field password"),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), "my first field password"),
		andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		signIn("sam.field@example.com", "my first field password"),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
	)
	if !strings.HasSuffix(location(t, sam), "/account") {
		t.Fatalf("after the first sign-in: %s", location(t, sam))
	}
}

// TestBrowserTwoFactor: an administrator required to use two-step sign-in
// (AIRLOCK_REQUIRE_TWO_FACTOR=admin) is sent to enrolment at sign-in, reads
// the key off the page, confirms with the app's code, keeps the recovery
// codes; then signs in with a code, and once with a recovery code.
func TestBrowserTwoFactor(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	p := newProgram(t, map[string]string{"AIRLOCK_REQUIRE_TWO_FACTOR": "admin"})
	if _, err := p.run("keeper of the user list\n", "user", "add", "--email", "boss@example.com", "--group", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	run1(t, ctx,
		chromedp.Navigate(p.url("/login")),
		signIn("boss@example.com", "keeper of the user list"),
		chromedp.WaitVisible(chromedp.CSS("#open-authenticator")),
		screenshot(t, "two-factor-enrol"),
	)
	// The key is one step away, for those who cannot scan; the cursor
	// waits in the code field.
	if focus := value(t, ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focus != "otp" {
		t.Fatalf("focus on %q, want the code", focus)
	}
	run1(t, ctx, chromedp.Click(chromedp.CSS("#show-key")), chromedp.WaitVisible(chromedp.CSS("#secret-key")))
	if !strings.HasSuffix(location(t, ctx), "/account/two-factor") {
		t.Fatalf("an administrator who must enrol landed on %s", location(t, ctx))
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(text(t, ctx, "#secret-key"), " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	code := func() string { return totp.Code(key, totp.StepAt(time.Now())) }
	run1(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#otp"), code()),
		chromedp.SendKeys(chromedp.CSS("#current_password"), "keeper of the user list"),
		andLoad(chromedp.Click(chromedp.CSS("#two-factor-on"))),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
		screenshot(t, "two-factor-codes"),
	)
	codes := strings.Fields(text(t, ctx, "#recovery-codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes: %q", codes)
	}
	// Copy and print, besides the download: the clipboard gets the codes
	// one a line, and the browser's print dialog opens (both stood in for:
	// a headless browser has neither a clipboard to read nor a printer).
	value(t, ctx, chromedp.Evaluate[int](`navigator.clipboard.writeText = t => { window.copied = t; return Promise.resolve(); }; window.print = () => { window.printed = true; }; 0`))
	run1(t, ctx,
		chromedp.Click(chromedp.CSS("#copy-codes")),
		chromedp.Click(chromedp.CSS("#print-codes")),
	)
	if got := value(t, ctx, chromedp.Evaluate[[]string](`[String(window.copied), String(window.printed), document.querySelector("#copy-codes").textContent]`)); got[0] != strings.Join(codes, "\n")+"\n" || got[1] != "true" || got[2] != "Copied" {
		t.Fatalf("copy and print: %q", got)
	}
	// Now the password alone is not enough: the code page follows. The
	// enrolment's code is used; wait for the app's next one.
	time.Sleep(time.Until(time.Unix((totp.StepAt(time.Now())+1)*30, 0)) + 100*time.Millisecond)
	other := newTab(t, newBrowser(t))
	run1(t, other,
		chromedp.Navigate(p.url("/login")),
		signIn("boss@example.com", "keeper of the user list"),
		chromedp.WaitVisible(chromedp.CSS("#otp")),
		screenshot(t, "two-factor-login"),
		chromedp.SendKeys(chromedp.CSS("#otp"), code()),
		andLoad(chromedp.Submit(chromedp.CSS("#otp"))),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
	)
	// And once with a recovery code, from a third browser: the switch
	// gives the field a keyboard with letters (a phone's digit pad has none).
	third := newTab(t, newBrowser(t))
	run1(t, third,
		chromedp.Navigate(p.url("/login")),
		signIn("boss@example.com", "keeper of the user list"),
		chromedp.WaitVisible(chromedp.CSS("#otp")),
	)
	if mode := value(t, third, chromedp.Evaluate[string](`document.querySelector("#otp").inputMode`)); mode != "numeric" {
		t.Fatalf("the code field's keyboard: %q", mode)
	}
	run1(t, third, chromedp.Click(chromedp.CSS("#use-recovery")))
	if got := value(t, third, chromedp.Evaluate[[]string](`[document.querySelector("#otp").inputMode, document.activeElement.id, document.querySelector("#use-recovery").textContent]`)); got[0] != "text" || got[1] != "otp" || got[2] != "Use a code from the app" {
		t.Fatalf("after the switch: keyboard %q, focus on %q, switch says %q", got[0], got[1], got[2])
	}
	run1(t, third,
		chromedp.SendKeys(chromedp.CSS("#otp"), codes[4]),
		andLoad(chromedp.Submit(chromedp.CSS("#otp"))),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
		chromedp.Navigate(p.url("/admin/users")),
		chromedp.WaitVisible(chromedp.CSS("#q")),
	)
}

// TestBrowserDevMailboxLinkOpensATab: on the embedded defaults, the first
// thing a newcomer clicks is the button of the reset email in the dev
// mailbox's preview: it opens the reset page in a tab of its own (inside
// the sandboxed frame the page could not work), and the page works there.
func TestBrowserDevMailboxLinkOpensATab(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	p := newProgram(t, nil)
	if _, err := p.run("the old password, long enough\n", "user", "add", "--email", "fay@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	run1(t, ctx,
		chromedp.Navigate(p.url("/password/forgot")),
		chromedp.SendKeys(chromedp.CSS("#email"), "fay@example.com"),
		andLoad(chromedp.Submit(chromedp.CSS("#email"))),
		chromedp.WaitVisible(chromedp.CSS("p[role=status]")),
	)
	var frames []*chromedp.Node // the email's preview
	deadline := time.Now().Add(30 * time.Second)
	for {
		run1(t, ctx, chromedp.Navigate(p.url("/dev/mail")))
		frames = value(t, ctx, chromedp.Nodes(chromedp.CSS("iframe.mail-html"), chromedp.AtLeast(0)))
		if len(frames) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the worker has not sent it yet
	}
	if len(frames) == 0 {
		t.Fatal("no email in the dev mailbox")
	}
	// The sandboxed frame runs in a process of its own (Chromium isolates
	// sandboxed frames): the click is made in its target.
	// The mailbox page may be drawn again as the list changes (a node of
	// the first drawing is gone): asked again.
	for attempt := 0; ; attempt++ {
		err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS("iframe.mail-html")))
		if err == nil {
			break
		}
		if attempt == 10 {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var frameID target.ID
	for frameID == "" {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.Contains(info.URL, "/dev/mail/") {
				frameID = info.TargetID
			}
		}
		if frameID == "" {
			if ctx.Err() != nil {
				t.Fatal("the email's frame is not a target of its own")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	frame, cancelFrame := chromedp.NewContext(ctx, chromedp.WithTargetID(frameID))
	defer cancelFrame()
	opened := chromedp.WaitNewTarget(frame, func(info *target.Info) bool { return strings.Contains(info.URL, "/password/reset") })
	run1(t, frame, chromedp.Click(chromedp.CSS("a[href*='/password/reset']")))
	var id target.ID
	select {
	case id = <-opened:
	case <-time.After(20 * time.Second):
		t.Fatal("the email's button opened no tab")
	}
	tab, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
	defer cancel()
	run1(t, tab, chromedp.WaitVisible(chromedp.CSS("#password_confirm")))
	if loc := location(t, tab); loc != p.url("/password/reset") {
		t.Fatalf("the new tab shows %s", loc)
	}
	if loc := location(t, ctx); loc != p.url("/dev/mail") {
		t.Fatalf("the dev mailbox's tab moved to %s", loc)
	}
}

// TestBrowserNewUserInvitationHidesThePassword: on the new-user form, the
// invitation (ticked by default) hides the password fields, which are then
// not sent; unticking brings them back. A user made with the invitation
// ticked is invited, whatever was typed in the hidden fields.
func TestBrowserNewUserInvitationHidesThePassword(t *testing.T) {
	t.Parallel()
	ctx, p := adminInBrowser(t, map[string]string{"AIRLOCK_SMTP_URL": mailtest.Start(t).URL()}, "")
	run1(t, ctx, chromedp.Navigate(p.url("/admin/users/new")), chromedp.WaitVisible(chromedp.CSS("#email")))
	shown := func() bool {
		return value(t, ctx, chromedp.Evaluate[bool](`document.querySelector("#password").offsetParent !== null`))
	}
	if shown() {
		t.Fatal("the password fields show with the invitation ticked")
	}
	run1(t, ctx, chromedp.Click(chromedp.CSS("#invite")))
	if !shown() {
		t.Fatal("unticking the invitation did not bring the password fields back")
	}
	run1(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#password"), "typed then left behind"),
		chromedp.Click(chromedp.CSS("#invite")),
		chromedp.SendKeys(chromedp.CSS("#email"), "sam@example.com"),
		chromedp.SendKeys(chromedp.CSS("#current_password"), "keeper of the user list"),
		andLoad(chromedp.Submit(chromedp.CSS("#email"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if s := text(t, ctx, ".notice"); !strings.Contains(s, "Invitation sent") {
		t.Fatalf("after creating with the invitation: %q at %s", s, location(t, ctx))
	}
	// On the users list, "New user" and "Import users" are two buttons
	// apart, and the filters' options are capitalised alike.
	run1(t, ctx, chromedp.Navigate(p.url("/admin/users")), chromedp.WaitVisible(chromedp.CSS("#q")))
	gap := value(t, ctx, chromedp.Evaluate[float64](`document.querySelector("a[href='/admin/users/import']").getBoundingClientRect().left - document.querySelector("a[href='/admin/users/new']").getBoundingClientRect().right`))
	if gap < 12 {
		t.Fatalf("%.0f px between New user and Import users", gap)
	}
	options := value(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("select option")).map(o => o.textContent)`))
	for _, o := range options {
		if first := []rune(o)[0]; unicode.IsLower(first) {
			t.Errorf("option %q is not capitalised like the others", o)
		}
	}
}

// TestBrowserBackOfficeUsesTheWidth: on a 1280 px screen the back office's
// pages use the width (the users list and the audit log as wide tables, a
// user's page in two columns); on a phone the user's page is one column.
func TestBrowserBackOfficeUsesTheWidth(t *testing.T) {
	t.Parallel()
	ctx, p := adminInBrowser(t, nil, "", look(viewport{name: "desktop", width: 1280, height: 800}, "en", ""))
	for _, path := range []string{"/admin/users", "/admin/audit"} {
		run1(t, ctx, chromedp.Navigate(p.url(path)), chromedp.WaitVisible(chromedp.CSS("table.list")))
		if w := value(t, ctx, chromedp.Evaluate[float64](`document.querySelector("main").getBoundingClientRect().width`)); w < 1100 {
			t.Errorf("%s: the page is %.0f px wide on a 1280 px screen", path, w)
		}
	}
	columns := `(() => { const a = document.querySelector("#profile-title").getBoundingClientRect(), b = document.querySelector("#pw-title").getBoundingClientRect(); return [a.left, a.top, b.left, b.top]; })()`
	run1(t, ctx, chromedp.Navigate(p.url("/admin/users")), chromedp.WaitVisible(chromedp.CSS("table.list")),
		andLoad(chromedp.Click(chromedp.CSS("table.list a"))), chromedp.WaitVisible(chromedp.CSS("#pw-title")))
	if r := value(t, ctx, chromedp.Evaluate[[]float64](columns)); r[2]-r[0] < 300 || r[1] != r[3] {
		t.Errorf("a user's page on a wide screen, profile at (%.0f, %.0f), password at (%.0f, %.0f): want side by side", r[0], r[1], r[2], r[3])
	}
	run1(t, ctx, look(viewport{name: "phone", width: 390, height: 844, phone: true}, "en", ""), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#pw-title")))
	if r := value(t, ctx, chromedp.Evaluate[[]float64](columns)); r[0] != r[2] || r[3] <= r[1] {
		t.Errorf("a user's page on a phone, profile at (%.0f, %.0f), password at (%.0f, %.0f): want one above the other", r[0], r[1], r[2], r[3])
	}
}

// TestBrowserDatesInTheReadersTime: the back office shows dates and times
// in the browser's time zone and the page's language, with the UTC time
// the server wrote in a tooltip.
func TestBrowserDatesInTheReadersTime(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris") // from the embedded database (time/tzdata)
	if err != nil {
		t.Fatal(err)
	}
	ctx, p := adminInBrowser(t, nil, "fr", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Paris"})
		return err
	}))
	run1(t, ctx, chromedp.Navigate(p.url("/admin/audit")), chromedp.WaitVisible(chromedp.CSS("table.list time")))
	got := value(t, ctx, chromedp.Evaluate[[]string](`(() => { const el = document.querySelector("table.list time"); const s = el.querySelectorAll("span"); return [el.getAttribute("datetime"), s[0].textContent, s[1].textContent, el.title]; })()`))
	at, err := time.Parse(time.RFC3339, got[0])
	if err != nil {
		t.Fatal(err)
	}
	local := at.In(paris)
	if got[2] != local.Format("15:04") || !strings.Contains(got[1], strconv.Itoa(local.Day())) || strings.Contains(got[1], local.Format("2006-")) ||
		got[3] != at.UTC().Format("2006-01-02 15:04:05")+" UTC" {
		t.Fatalf("a time of %s shown as %q %q, tooltip %q: want Paris time %s in French, UTC in the tooltip", got[0], got[1], got[2], got[3], local.Format("15:04"))
	}
}

// adminInBrowser starts serve (with settings env) and a browser signed in
// as boss@example.com, an administrator (language "en" unless given).
func adminInBrowser(t *testing.T, env map[string]string, lang string, before ...chromedp.Action[chromedp.Void]) (context.Context, *program) {
	t.Helper()
	ctx := newBrowser(t)
	p := newProgram(t, env)
	args := []string{"user", "add", "--email", "boss@example.com", "--group", "admin", "--password-stdin"}
	if lang != "" {
		args = append(args, "--language", lang)
	}
	if _, err := p.run("keeper of the user list\n", args...); err != nil {
		t.Fatal(err)
	}
	p.serve()
	run1(t, ctx, append(before,
		chromedp.Navigate(p.url("/login")),
		signIn("boss@example.com", "keeper of the user list"),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")))...)
	return ctx, p
}
