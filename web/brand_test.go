package web_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/web"
)

const svgLogo = `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#0b6e4f"/></svg>`

func writeFile(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadLogo: a PNG or a script-free SVG; anything else is refused at
// start.
func TestReadLogo(t *testing.T) {
	t.Parallel()
	if l, err := web.ReadLogo(writeFile(t, "logo.svg", svgLogo)); err != nil || l.ContentType != "image/svg+xml" {
		t.Fatalf("SVG: %+v %v", l, err)
	}
	if l, err := web.ReadLogo(writeFile(t, "logo.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")); err != nil || l.ContentType != "image/png" {
		t.Fatalf("PNG: %+v %v", l, err)
	}
	for name, content := range map[string]string{
		"script":        `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`,
		"handler":       `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`,
		"foreign":       `<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>`,
		"javascript":    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="javascript:alert(1)"><rect/></a></svg>`,
		"html":          `<html><body>hi</body></html>`,
		"gif":           "GIF89a....",
		"empty":         ``,
		"not xml":       `<svg <<>`,
		"too large svg": `<svg xmlns="http://www.w3.org/2000/svg">` + strings.Repeat(" ", web.MaxLogoBytes) + `</svg>`,
	} {
		if _, err := web.ReadLogo(writeFile(t, "logo", content)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := web.ReadLogo(filepath.Join(t.TempDir(), "missing.svg")); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("missing file: %v", err)
	}
}

// TestBrandOnPages: the product's name in every page's header and title,
// the logo in the header (served sandboxed), the accent in brand.css.
func TestBrandOnPages(t *testing.T) {
	t.Parallel()
	logo, err := web.ReadLogo(writeFile(t, "logo.svg", svgLogo))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *options) { o.brand, o.logo, o.accent = "Acme Field", logo, "#0b6e4f" })
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	for _, r := range []response{e.get(nil, "/login"), e.get(nil, "/password/forgot"), e.get(nil, "/nope"), e.get(c, "/admin/users"), e.get(c, "/account")} {
		if !strings.Contains(r.body, " · Acme Field</title>") || !strings.Contains(r.body, `<a class="brand" href="/"><img src="/static/brand-logo" alt="" class="logo"><span>Acme Field</span></a>`) ||
			strings.Contains(r.body, "Airlock") {
			t.Errorf("%s: the brand is not on the page:\n%s", r.Request.URL.Path, r.body)
		}
	}
	r := e.get(nil, "/static/brand-logo")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/svg+xml" || r.body != svgLogo ||
		!strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("logo: %d %v", r.StatusCode, r.Header)
	}
	r = e.get(nil, "/static/brand.css")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") || !strings.Contains(r.body, "--accent: #0b6e4f;") {
		t.Fatalf("brand.css: %d %q", r.StatusCode, r.body)
	}
	// Without a logo there is none to fetch, and no image in the header.
	plain := newEnv(t)
	if r := plain.get(nil, "/static/brand-logo"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("no logo: %d", r.StatusCode)
	}
	if r := plain.get(nil, "/login"); strings.Contains(r.body, "<img") || !strings.Contains(r.body, "<span>Airlock</span>") {
		t.Fatal("default brand")
	}
	if r := plain.get(nil, "/static/brand.css"); !strings.Contains(r.body, "--accent: "+web.DefaultAccent+";") {
		t.Fatalf("default accent: %q", r.body)
	}
}
