package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
)

var (
	shownSecretRE   = regexp.MustCompile(`<input id="client-secret" type="text" readonly value="([^"]+)"`)
	shownClientIDRE = regexp.MustCompile(`<code id="client-id">([^<]+)</code>`)
)

// shownSecret reads the client_id and the secret off the page that shows
// them once.
func shownSecret(t *testing.T, r response) (id, secret string) {
	t.Helper()
	m, s := shownClientIDRE.FindStringSubmatch(r.body), shownSecretRE.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil || s == nil {
		t.Fatalf("no client_id or secret shown: %d\n%s", r.StatusCode, r.body)
	}
	return m[1], s[1]
}

// TestApplicationsAddListRotateRemove: an administrator adds a
// confidential application on the page and sees its secret once, on the
// answer to the form (never in a URL), which is the secret Airlock checks;
// the list shows the application without it; a new secret replaces the
// old one at once; removing asks first; every change is in the audit log
// in the administrator's name.
func TestApplicationsAddListRotateRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	ctx := context.Background()

	r := e.get(c, "/admin/applications")
	// The built-in application of the password grant is there from the start.
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "1 application<") || !strings.Contains(r.body, `<tr id="app-mobile">`) ||
		!strings.Contains(r.body, "Mobile app (password grant)<p class=\"hint\">Built in") || !strings.Contains(r.body, `<a href="/admin/applications" aria-current="page">Applications</a>`) ||
		!strings.Contains(r.body, `<code id="issuer">https://accounts.example.com</code>`) || strings.Contains(r.body, `id="no-key"`) {
		t.Fatalf("empty list: %d\n%s", r.StatusCode, r.body)
	}
	r = e.get(c, "/admin/applications/new")
	for _, want := range []string{`name="name"`, `id="type-public"`, `id="type-confidential"`, `<textarea id="redirect_uri" name="redirect_uri"`,
		`<textarea id="post_logout_redirect_uri"`, `id="grant-authorization_code" name="grant" value="authorization_code" checked`,
		`id="grant-refresh_token" name="grant" value="refresh_token" checked`, `id="grant-client_credentials" name="grant" value="client_credentials">`,
		`id="grant-password" name="grant" value="password">`, `id="first_party" name="first_party" value="on">`, `<option value="RS256" selected>RS256</option><option value="ES256">ES256</option>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the form has no %s", want)
		}
	}

	form := url.Values{"name": {"Field reports"}, "type": {"confidential"}, "first_party": {"on"},
		"redirect_uri":             {"https://reports.example.com/callback\r\n\r\nhttps://reports.example.com/other\r\n"},
		"post_logout_redirect_uri": {"https://reports.example.com/bye"},
		"grant":                    {"authorization_code", "refresh_token", "client_credentials"}, "signing_alg": {"ES256"}}
	r = e.post(c, "/admin/applications/new", form)
	id, secret := shownSecret(t, r)
	if r.Header.Get("Cache-Control") != "no-store" || strings.Count(r.body, secret) != 1 || !strings.Contains(r.body, `id="secret-once"`) ||
		!strings.Contains(r.body, `id="copy-secret" data-copy="client-secret"`) || strings.Contains(r.body, "no longer works") {
		t.Fatalf("the secret page: %v\n%s", r.Header, r.body)
	}
	got, err := e.svc.AuthenticateClient(ctx, id, secret)
	if err != nil || got.Name != "Field reports" || got.Public() || !got.FirstParty ||
		strings.Join(got.RedirectURIs, " ") != "https://reports.example.com/callback https://reports.example.com/other" ||
		strings.Join(got.PostLogoutURIs, " ") != "https://reports.example.com/bye" || strings.Join(got.Grants, " ") != "authorization_code client_credentials refresh_token" ||
		got.SigningAlg != "ES256" {
		t.Fatalf("the application: %+v, %v", got, err)
	}
	// A public application: no secret, and the page says why.
	r = e.post(c, "/admin/applications/new", url.Values{"name": {"Field app"}, "type": {"public"}, "redirect_uri": {"com.example.fieldapp:/oauth2redirect"},
		"post_logout_redirect_uri": {""}, "grant": {"authorization_code", "refresh_token", "password"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `id="no-secret"`) || strings.Contains(r.body, "client-secret") {
		t.Fatalf("public: %d\n%s", r.StatusCode, r.body)
	}
	publicID := shownClientIDRE.FindStringSubmatch(r.body)[1]

	r = e.get(c, "/admin/applications")
	row := regexp.MustCompile(`(?s)<tr id="app-` + id + `">.*?</tr>`).FindString(r.body)
	for _, want := range []string{"Field reports", `<code class="break">` + id + `</code>`, ">Confidential<", `<td data-label="First party">Yes</td>`,
		"<code>client_credentials</code>", `<td data-label="Signing"><code>ES256</code></td>`, `<code class="break">https://reports.example.com/other</code>`, `<code class="break">https://reports.example.com/bye</code>`,
		"<time datetime=", `href="/admin/applications/` + id + `/rotate-secret"`, `href="/admin/applications/` + id + `/remove"`} {
		if !strings.Contains(row, want) {
			t.Errorf("the row has no %s:\n%s", want, row)
		}
	}
	publicRow := regexp.MustCompile(`(?s)<tr id="app-` + publicID + `">.*?</tr>`).FindString(r.body)
	if !strings.Contains(r.body, "3 applications") || !strings.Contains(publicRow, ">Public<") || !strings.Contains(publicRow, "<code>RS256</code>") || strings.Contains(publicRow, "rotate-secret") ||
		strings.Contains(r.body, secret) {
		t.Fatalf("the list:\n%s", r.body)
	}

	// A new secret: asked first, shown once, the old one dead at once.
	r = e.get(c, "/admin/applications/"+id+"/rotate-secret")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<form method="post" action="/admin/applications/`+id+`/rotate-secret"`) ||
		!strings.Contains(r.body, `id="confirm-rotate-secret"`) {
		t.Fatalf("rotate confirm: %d\n%s", r.StatusCode, r.body)
	}
	if _, err := e.svc.AuthenticateClient(ctx, id, secret); err != nil {
		t.Fatal("opening the confirmation changed the secret")
	}
	r = e.post(c, "/admin/applications/"+id+"/rotate-secret", nil)
	_, secret2 := shownSecret(t, r)
	if secret2 == secret || !strings.Contains(r.body, "The previous secret no longer works") {
		t.Fatalf("rotated: %s", r.body)
	}
	if _, err := e.svc.AuthenticateClient(ctx, id, secret); err == nil {
		t.Fatal("the old secret still works")
	}
	if _, err := e.svc.AuthenticateClient(ctx, id, secret2); err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	// A public application has no secret to rotate.
	if r := e.get(c, "/admin/applications/"+publicID+"/rotate-secret"); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "no secret to rotate") {
		t.Fatalf("rotate public (page): %d", r.StatusCode)
	}
	if r := e.post(c, "/admin/applications/"+publicID+"/rotate-secret", nil); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("rotate public: %d", r.StatusCode)
	}

	// Removing asks first.
	r = e.get(c, "/admin/applications/"+id+"/remove")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Field reports will be removed") || !strings.Contains(r.body, `id="confirm-remove"`) {
		t.Fatalf("remove confirm: %d\n%s", r.StatusCode, r.body)
	}
	if _, err := e.svc.Client(ctx, id); err != nil {
		t.Fatal("opening the confirmation removed the application")
	}
	r = e.post(c, "/admin/applications/"+id+"/remove", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/applications?m=removed" {
		t.Fatalf("remove: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if _, err := e.svc.Client(ctx, id); airlock.ErrorCode(err) != airlock.CodeNotFound {
		t.Fatalf("removed application: %v", err)
	}
	r = e.get(c, "/admin/applications?m=removed")
	if !strings.Contains(r.body, "The application was removed") || !strings.Contains(r.body, "2 applications") || strings.Contains(r.body, id) {
		t.Fatalf("after removal:\n%s", r.body)
	}
	for _, path := range []string{"/admin/applications/" + id + "/remove", "/admin/applications/" + id + "/rotate-secret"} {
		if r := e.get(c, path); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s of a removed application: %d", path, r.StatusCode)
		}
		if r := e.post(c, path, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s of a removed application: %d", path, r.StatusCode)
		}
	}
	// Removing the built-in application says what it turns off.
	if r := e.get(c, "/admin/applications/mobile/remove"); !strings.Contains(r.body, `id="builtin-remove"`) || !strings.Contains(r.body, "turns the password grant off") {
		t.Errorf("the built-in application's removal:\n%s", r.body)
	}
	if r := e.get(c, "/admin/applications?m=x&m=y"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("a repeated parameter: %d", r.StatusCode)
	}

	// Every change, in the administrator's name.
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditApplication})
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, ev := range events {
		if ev.ActorID != admin.ID {
			t.Errorf("%s by %q, want the administrator", ev.Detail, ev.ActorID)
		}
		details = append(details, ev.Detail)
	}
	for _, want := range []string{"client_added", "client_secret_rotated", "client_removed"} {
		if !strings.Contains(strings.Join(details, " "), want) {
			t.Errorf("no %s in the audit log: %q", want, details)
		}
	}
}

// TestApplicationFormErrors: each mistake is shown under its field, what
// was typed stays, and nothing is added.
func TestApplicationFormErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	good := func(change func(url.Values)) url.Values {
		v := url.Values{"name": {"Field app"}, "type": {"public"}, "redirect_uri": {"com.example.fieldapp:/oauth2redirect"},
			"post_logout_redirect_uri": {""}, "grant": {"authorization_code", "refresh_token"}}
		change(v)
		return v
	}
	for name, tc := range map[string]struct {
		form  url.Values
		field string
		says  string
	}{
		"no type":            {good(func(v url.Values) { v.Del("type") }), "type", "public or confidential"},
		"odd type":           {good(func(v url.Values) { v.Set("type", "secret") }), "type", "public or confidential"},
		"no grant":           {good(func(v url.Values) { v.Del("grant") }), "grant", "Tick at least one grant"},
		"unknown grant":      {good(func(v url.Values) { v["grant"] = []string{"implicit"} }), "grant", "Unknown grant &#34;implicit&#34;"},
		"public credentials": {good(func(v url.Values) { v["grant"] = []string{"client_credentials"} }), "grant", "cannot use client_credentials"},
		"no name":            {good(func(v url.Values) { v.Set("name", "  ") }), "name", "Give the application a name"},
		"bidi name":          {good(func(v url.Values) { v.Set("name", "App\u202eX") }), "name", "Give the application a name"},
		"no redirect":        {good(func(v url.Values) { v.Set("redirect_uri", "\r\n") }), "redirect_uri", "needs at least one redirect URI"},
		"plain http":         {good(func(v url.Values) { v.Set("redirect_uri", "http://app.example.com/cb") }), "redirect_uri", "Redirect URI &#34;http://app.example.com/cb&#34; is not allowed"},
		"wildcard":           {good(func(v url.Values) { v.Set("redirect_uri", "https://*.example.com/cb") }), "redirect_uri", "is not allowed"},
		"bad logout": {good(func(v url.Values) {
			v.Set("post_logout_redirect_uri", "https://ok.example.com/\r\njavascript:alert(1)")
		}), "post_logout_redirect_uri", "is not allowed"},
		"odd signing":   {good(func(v url.Values) { v.Set("signing_alg", "HS256") }), "signing_alg", "RS256 or ES256"},
		"too many":      {good(func(v url.Values) { v.Set("redirect_uri", strings.Repeat("https://a.example.com/cb\n", 51)) }), "redirect_uri", "at most 50"},
		"repeated name": {good(func(v url.Values) { v["name"] = []string{"a", "b"} }), "name", "more than once"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.post(c, "/admin/applications/new", tc.form)
			if r.StatusCode != http.StatusBadRequest {
				t.Fatalf("%d\n%s", r.StatusCode, r.body)
			}
			if tc.field == "" {
				if !strings.Contains(r.body, `id="form-error"`) || !strings.Contains(r.body, tc.says) {
					t.Fatalf("no message at the top:\n%s", r.body)
				}
				return
			}
			m := regexp.MustCompile(`<p class="field-error" id="` + tc.field + `-error" role="alert">([^<]*)</p>`).FindStringSubmatch(r.body)
			if m == nil || !strings.Contains(m[1], tc.says) || strings.Contains(r.body, `id="form-error"`) {
				t.Fatalf("want %q under %s:\n%s", tc.says, tc.field, r.body)
			}
			if tc.field != "name" && !strings.Contains(r.body, `value="Field app"`) {
				t.Error("the name typed is gone")
			}
		})
	}
	if cs, err := e.svc.Clients(context.Background()); err != nil || len(cs) != 1 { // the built-in one
		t.Fatalf("added: %d %v", len(cs), err)
	}
	// The URIs typed come back in their box; the boxes ticked stay ticked.
	r := e.post(c, "/admin/applications/new", good(func(v url.Values) {
		v.Set("redirect_uri", "https://ok.example.com/cb\nftp://x")
		v["grant"] = []string{"refresh_token", "password"}
		v.Set("first_party", "on")
	}))
	for _, want := range []string{">https://ok.example.com/cb\nftp://x</textarea>", `value="password" checked`, `value="refresh_token" checked`,
		`value="authorization_code">`, `name="first_party" value="on" checked`, `value="public" checked`, `aria-invalid="true" autofocus>https://ok`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("no %q", want)
		}
	}
}

// TestApplicationsWithoutSecretKey: on a server without AIRLOCK_SECRET_KEY
// (the provider is off, and serve would not start again once an
// application exists) the pages say so.
func TestApplicationsWithoutSecretKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *options) { o.noSecretKey = true })
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	for _, path := range []string{"/admin/applications", "/admin/applications/new"} {
		if r := e.get(c, path); !strings.Contains(r.body, `<p class="callout" id="no-key">AIRLOCK_SECRET_KEY is not set`) {
			t.Errorf("%s says nothing of the missing key", path)
		}
	}
}
