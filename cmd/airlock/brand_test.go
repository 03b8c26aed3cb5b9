package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/internal/mailtest"
)

// TestBrandSettings: AIRLOCK_BRAND_LOGO and AIRLOCK_BRAND_COLOR are
// checked at start (a bad one stops it, naming the variable); good ones
// put the logo in the pages' header and the colour on the pages and in
// the emails, which name the service.
func TestBrandSettings(t *testing.T) {
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.svg")
	os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><circle cx="2" cy="2" r="2"/></svg>`), 0o600)
	script := filepath.Join(dir, "bad.svg")
	os.WriteFile(script, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 0o600)
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"AIRLOCK_BRAND_COLOR": "#ffcc00"}, "AIRLOCK_BRAND_COLOR"},
		{map[string]string{"AIRLOCK_BRAND_COLOR": "teal"}, "AIRLOCK_BRAND_COLOR"},
		{map[string]string{"AIRLOCK_BRAND_LOGO": filepath.Join(dir, "missing.png")}, "AIRLOCK_BRAND_LOGO"},
		{map[string]string{"AIRLOCK_BRAND_LOGO": script}, "AIRLOCK_BRAND_LOGO"},
	} {
		_, err := loadConfig(func(k string) string { return tc.env[k] }, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v", tc.env, err)
		}
	}
	_, err := loadConfig(func(k string) string { return map[string]string{"AIRLOCK_BRAND_COLOR": "#ffcc00"}[k] }, nil)
	if err == nil || !strings.Contains(err.Error(), "4.5:1") || !strings.Contains(err.Error(), "a darker shade") {
		t.Errorf("a light colour: %v", err)
	}

	smtp := mailtest.Start(t)
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL(), "AIRLOCK_BRAND_NAME": "Acme Field",
		"AIRLOCK_BRAND_LOGO": logo, "AIRLOCK_BRAND_COLOR": "#0B6E4F"})
	if _, err := p.run("violet tractor on the moon\n", "user", "add", "--email", "ada@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	res, err := http.Get(p.url("/login"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `<img src="/static/brand-logo" alt="" class="logo"><span>Acme Field</span>`) || !strings.Contains(string(body), "Sign in · Acme Field</title>") {
		t.Fatalf("login page:\n%s", body)
	}
	res, err = http.Get(p.url("/static/brand.css"))
	if err != nil {
		t.Fatal(err)
	}
	css, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(css), "--accent: #0b6e4f;") {
		t.Fatalf("brand.css: %s", css)
	}
	postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {"ada@example.com"}})
	m := smtp.Wait(t, 1)[0]
	parts := m.Parts()
	if !strings.Contains(parts["text/html"], `bgcolor="#0b6e4f"`) || !strings.Contains(parts["text/plain"], "your Acme Field account") ||
		!strings.Contains(parts["text/plain"], "You get this email because an account for ada@example.com exists on Acme Field.") {
		t.Fatalf("email:\n%s\n%s", parts["text/plain"], parts["text/html"])
	}
}

// TestServeRefusesUnsafeLogo: serve does not start with a logo that holds
// anything but drawing, and says which element (and attribute) of which
// setting.
func TestServeRefusesUnsafeLogo(t *testing.T) {
	dir := t.TempDir()
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 4 4">`
	for i, tc := range []struct{ content, want string }{
		{svg + `<rect width="4" height="4"><set attributeName="onclick" to="alert(1)"/></rect></svg>`, "<set>"},
		{svg + `<use xlink:href="https://evil.example/sprite.svg#logo"/></svg>`, "<use> has xlink:href="},
		{svg + `<style>@import url(https://evil.example/x.css);</style></svg>`, "<style>"},
		{svg + `<a href="java&#9;script:alert(1)"><rect width="4" height="4"/></a></svg>`, "<a>"},
	} {
		path := filepath.Join(dir, fmt.Sprintf("logo%d.svg", i))
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		p := newProgram(t, map[string]string{"AIRLOCK_BRAND_LOGO": path})
		if err := p.refusedStart(); err == nil || !strings.Contains(err.Error(), "AIRLOCK_BRAND_LOGO") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.want, err)
		}
	}
}
