package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// tokenWithSecret asks the running server's token endpoint for a
// service's own token (client_credentials) and returns the status.
func tokenWithSecret(t *testing.T, p *program, id, secret string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.url("/oauth2/token"), strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestBrowserApplicationSecretShownOnce: an administrator adds a
// confidential application on the back office's page, as a person does,
// and sees its secret once, with a button that copies it; the secret is
// the one the token endpoint takes; it is in no URL and on no later page
// (the list, the way back); a new secret replaces it at once.
func TestBrowserApplicationSecretShownOnce(t *testing.T) {
	t.Parallel()
	ctx, p := adminInBrowser(t, nil, "")
	run1(t, ctx,
		chromedp.Navigate(p.url("/admin/users")),
		andLoad(chromedp.Click(chromedp.CSS(`nav a[href="/admin/applications"]`))),
		chromedp.WaitVisible(chromedp.CSS("#new-app")),
		andLoad(chromedp.Click(chromedp.CSS("#new-app"))),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Field reports"),
		chromedp.Click(chromedp.CSS("#type-confidential")),
		chromedp.SendKeys(chromedp.CSS("#redirect_uri"), "https://reports.example.com/callback\nhttps://reports.example.com/other"),
		chromedp.Click(chromedp.CSS("#grant-client_credentials")),
		andLoad(chromedp.Click(chromedp.CSS("#add-app"))),
		chromedp.WaitVisible(chromedp.CSS("#client-secret")),
	)
	id := text(t, ctx, "#client-id")
	secret := value(t, ctx, chromedp.Evaluate[string](`document.querySelector("#client-secret").value`))
	if len(secret) < 40 || id == "" {
		t.Fatalf("client_id %q, secret %q", id, secret)
	}
	if loc := location(t, ctx); strings.Contains(loc, secret) || !strings.HasSuffix(loc, "/admin/applications/new") {
		t.Fatalf("the page's URL: %s", loc)
	}
	if s := text(t, ctx, "#secret-once"); !strings.Contains(s, "only time it is shown") {
		t.Fatalf("the page does not say the secret is shown once: %q", s)
	}
	// The copy button shows with script, and copies the secret.
	if hidden := value(t, ctx, chromedp.Evaluate[bool](`document.querySelector("#copy-secret").hidden`)); hidden {
		t.Fatal("no copy button")
	}
	run1(t, ctx, chromedp.Click(chromedp.CSS("#copy-secret")))
	copied := value(t, ctx, chromedp.Evaluate[string](`new Promise(done => { const b = document.querySelector("#copy-secret");
		const check = n => b.textContent === b.dataset.done || n === 0 ? done(b.textContent) : setTimeout(() => check(n - 1), 50); check(40); })`,
		chromedp.EvalAwaitPromise))
	if copied != "Copied" {
		t.Fatalf("after a click the copy button says %q", copied)
	}
	if got := tokenWithSecret(t, p, id, secret); got != http.StatusOK {
		t.Fatalf("the secret shown: token endpoint %d", got)
	}

	// The list shows the application, never its secret; neither does the
	// way back to the answer (no-store: the browser asks the server again).
	run1(t, ctx, andLoad(chromedp.Click(chromedp.CSS("#apps-back"))), chromedp.WaitVisible(chromedp.CSS("table.list")))
	row := text(t, ctx, "#app-"+id)
	if !strings.Contains(row, "Field reports") || !strings.Contains(row, "Confidential") || !strings.Contains(row, "client_credentials") ||
		!strings.Contains(row, "https://reports.example.com/other") {
		t.Fatalf("the row: %q", row)
	}
	if html := value(t, ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, secret) {
		t.Fatal("the list shows the secret")
	}
	// The POST's answer is not kept: going back asks to send the form
	// again (net::ERR_CACHE_MISS) rather than show it.
	if err := chromedp.Do(ctx, chromedp.NavigateBack()); err != nil && !strings.Contains(err.Error(), "ERR_CACHE_MISS") {
		t.Fatal(err)
	}
	if html := value(t, ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, secret) {
		t.Fatal("going back shows the secret again")
	}

	// A new secret, asked first: the old one stops at once.
	run1(t, ctx, chromedp.Navigate(p.url("/admin/applications")), chromedp.WaitVisible(chromedp.CSS("table.list")),
		andLoad(chromedp.Click(chromedp.CSS(`a[href="/admin/applications/`+id+`/rotate-secret"]`))),
		andLoad(chromedp.Click(chromedp.CSS("#confirm-rotate-secret"))),
		chromedp.WaitVisible(chromedp.CSS("#client-secret")))
	secret2 := value(t, ctx, chromedp.Evaluate[string](`document.querySelector("#client-secret").value`))
	if got := tokenWithSecret(t, p, id, secret); secret2 == secret || got == http.StatusOK {
		t.Fatalf("the old secret after a new one: token endpoint %d", got)
	}
	if got := tokenWithSecret(t, p, id, secret2); got != http.StatusOK {
		t.Fatalf("the new secret: token endpoint %d", got)
	}

	// Removing, asked first.
	run1(t, ctx, chromedp.Navigate(p.url("/admin/applications")), chromedp.WaitVisible(chromedp.CSS("table.list")),
		andLoad(chromedp.Click(chromedp.CSS(`a[href="/admin/applications/`+id+`/remove"]`))),
		andLoad(chromedp.Click(chromedp.CSS("#confirm-remove"))),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if gone := value(t, ctx, chromedp.Evaluate[bool](`!document.querySelector("#app-`+id+`") && !!document.querySelector("#app-mobile")`)); !gone {
		t.Fatal("the removed application is still listed, or the built-in one went with it")
	}
	if got := tokenWithSecret(t, p, id, secret2); got == http.StatusOK {
		t.Fatal("a removed application still gets tokens")
	}
}
