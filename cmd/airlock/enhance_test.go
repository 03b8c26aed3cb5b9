package main

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// checks reads the live password checklist: each rule and whether it is
// met, as the page shows it (and says it to screen readers).
func checks(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	return value(t, ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(
		[...document.querySelectorAll("#password-checks li[data-check]")].filter(li => li.dataset.check !== "later").map(li =>
			[li.dataset.check, (li.classList.contains("met") ? "met" : "unmet") + ":" + li.querySelector("[data-met]").textContent]))`))
}

// TestBrowserPasswordHelpers: with JavaScript, the change page shows the
// password as typed on demand and checks the rules as they are typed; the
// form is still sent as a password form.
func TestBrowserPasswordHelpers(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	p := newProgram(t, nil)
	if _, err := p.run("violet tractor on the moon\n", "user", "add", "--email", "ada.lovelace@example.com", "--first-name", "Ada",
		"--last-name", "Lovelace", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	run1(t, ctx,
		chromedp.Navigate(p.url("/login")),
		signIn("ada.lovelace@example.com", "violet tractor on the moon"),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")),
		chromedp.Navigate(p.url("/account/password")),
		chromedp.WaitVisible(chromedp.CSS("#password-checks")),
		chromedp.WaitVisible(chromedp.CSS(`button.reveal[data-reveal="password password_confirm"]`)),
	)
	want := func(step string, expect map[string]string) {
		t.Helper()
		got := checks(t, ctx)
		for k, v := range expect {
			if got[k] != v {
				t.Errorf("%s: %s is %q, want %q", step, k, got[k], v)
			}
		}
	}
	want("nothing typed", map[string]string{"length": "unmet:not yet:", "email": "unmet:not yet:", "name": "unmet:not yet:", "match": "unmet:not yet:"})
	run1(t, ctx, chromedp.SendKeys(chromedp.CSS("#password"), "Lovelace"))
	want("a name", map[string]string{"length": "unmet:not yet:", "email": "met:done:", "name": "unmet:not yet:"})
	run1(t, ctx, clearField("#password"), chromedp.SendKeys(chromedp.CSS("#password"), "my ada.lovelace phrase"))
	want("the email", map[string]string{"length": "met:done:", "email": "unmet:not yet:", "name": "unmet:not yet:"})
	run1(t, ctx, clearField("#password"), chromedp.SendKeys(chromedp.CSS("#password"), "a phrase all of mine"),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), "a phrase all of mine"))
	want("a good one", map[string]string{"length": "met:done:", "email": "met:done:", "name": "met:done:", "match": "met:done:"})

	reveal := `button.reveal[data-reveal="password password_confirm"]`
	state := func() []string {
		return value(t, ctx, chromedp.Evaluate[[]string](`[document.querySelector("#password").type, document.querySelector("#password_confirm").type,
			document.querySelector(`+"`"+reveal+"`"+`).getAttribute("aria-pressed")]`))
	}
	run1(t, ctx, chromedp.Click(chromedp.CSS(reveal)))
	if s := state(); s[0] != "text" || s[1] != "text" || s[2] != "true" {
		t.Fatalf("after show: %v", s)
	}
	run1(t, ctx, chromedp.Click(chromedp.CSS(reveal)))
	if s := state(); s[0] != "password" || s[2] != "false" {
		t.Fatalf("after hide: %v", s)
	}
	run1(t, ctx,
		chromedp.Click(chromedp.CSS(reveal)),
		chromedp.SendKeys(chromedp.CSS("#current_password"), "violet tractor on the moon"),
		andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if loc := location(t, ctx); loc != p.url("/account?m=password_changed") {
		t.Fatalf("after the change: %s", loc)
	}
}

// TestBrowserWithoutJavaScript: with scripts off, every form still works
// and nothing the script would show is on the page.
func TestBrowserWithoutJavaScript(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	p := newProgram(t, nil)
	if _, err := p.run("violet tractor on the moon\n", "user", "add", "--email", "ada@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	run1(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	hidden := func(page string) {
		t.Helper()
		n := value(t, ctx, chromedp.Evaluate[int](`[...document.querySelectorAll("button.reveal, #password-checks")].filter(el => el.offsetParent !== null).length`))
		if n != 0 {
			t.Errorf("%s: %d enhancements shown without JavaScript", page, n)
		}
	}
	run1(t, ctx, chromedp.Navigate(p.url("/login")), chromedp.WaitVisible(chromedp.CSS("#email")))
	hidden("login")
	run1(t, ctx, signIn("ada@example.com", "violet tractor on the moon"), chromedp.WaitVisible(chromedp.CSS("dl.facts")),
		chromedp.Navigate(p.url("/account/password")), chromedp.WaitVisible(chromedp.CSS("#password")))
	hidden("change password")
	run1(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#current_password"), "violet tractor on the moon"),
		chromedp.SendKeys(chromedp.CSS("#password"), "short"),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), "short"),
		andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		chromedp.WaitVisible(chromedp.CSS("#password-error")),
	)
	if s := text(t, ctx, "#password-error"); s == "" {
		t.Fatal("no reason shown")
	}
	run1(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#current_password"), "violet tractor on the moon"),
		chromedp.SendKeys(chromedp.CSS("#password"), "a phrase all of mine"),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), "a phrase all of mine"),
		andLoad(chromedp.Submit(chromedp.CSS("#password"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		chromedp.Navigate(p.url("/password/forgot")),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		andLoad(chromedp.Submit(chromedp.CSS("#email"))),
		chromedp.WaitVisible(chromedp.CSS("#send-again")),
		andLoad(chromedp.Click(chromedp.CSS("#send-again"))),
		chromedp.WaitVisible(chromedp.CSS("#send-again")),
	)
}
