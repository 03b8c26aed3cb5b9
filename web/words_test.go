package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/i18n"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/web"
)

// keyPattern matches text that looks like a message key: a namespace of
// the message files, a dot, more of the same ("admin.count",
// "email.state.sent"), which a page or an email would show if a key had
// no message.
func keyPattern(t *testing.T) *regexp.Regexp {
	spaces := map[string]bool{}
	for _, k := range i18n.Messages().Keys(i18n.Default) {
		if ns, _, ok := strings.Cut(k, "."); ok {
			spaces[regexp.QuoteMeta(ns)] = true
		}
	}
	var alt []string
	for ns := range spaces {
		alt = append(alt, ns)
	}
	slices.Sort(alt)
	if len(alt) < 10 {
		t.Fatalf("namespaces: %v", alt)
	}
	return regexp.MustCompile(`\b(?:` + strings.Join(alt, "|") + `)\.[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\b`)
}

// TestEnumeratedKeysExist: the keys that pages build from a value
// ("group.%s", "email.state.%s", "reason.%s", …) exist for every value.
func TestEnumeratedKeysExist(t *testing.T) {
	t.Parallel()
	var keys []string
	for _, g := range airlock.Groups {
		keys = append(keys, "group."+g)
	}
	for _, s := range []string{airlock.EmailQueued, airlock.EmailSending, airlock.EmailSent, airlock.EmailDeferred, airlock.EmailFailed} {
		keys = append(keys, "email.state."+s, "email.state.short."+s)
	}
	for _, k := range mail.Kinds {
		keys = append(keys, "email.kind."+k)
	}
	for _, p := range []string{account.ProblemRefusedAddress, account.ProblemMailboxFull, account.ProblemRejected, account.ProblemTemporary,
		account.ProblemUnreachable, account.ProblemTLS, account.ProblemOther} {
		keys = append(keys, "email.problem."+p)
	}
	for _, r := range []string{password.ReasonTooShort, password.ReasonTooLong, password.ReasonCommon, password.ReasonHasEmail,
		password.ReasonHasName, password.ReasonInvalidText, password.ReasonUnchanged} {
		keys = append(keys, "reason."+r)
	}
	for _, s := range []string{airlock.InvitationPending, airlock.InvitationExpired} {
		keys = append(keys, "admin."+s)
	}
	for _, l := range i18n.Languages {
		keys = append(keys, "lang."+l)
	}
	for _, k := range web.AuditKinds {
		keys = append(keys, "admin.audit.event."+k)
	}
	for _, o := range web.AuditOutcomes {
		keys = append(keys, "admin.audit.result."+o)
	}
	for _, f := range web.AuditFields {
		keys = append(keys, "admin.audit.field."+f)
	}
	for _, r := range web.AuditRevokeReasons {
		keys = append(keys, "admin.audit.reason."+r)
	}
	for _, k := range keys {
		for _, lang := range i18n.Languages {
			if !i18n.Messages().Has(lang, k) {
				t.Errorf("%s has no message %q", lang, k)
			}
		}
	}
}

// pageState is one page as someone sees it.
type pageState struct {
	name, method, path string
	form               url.Values
	client             *http.Client
}

// TestNoPageShowsAKey walks every page state in English and in French and
// looks for a message key, a fmt mistake ("%!d(MISSING)") or an English
// sentence on a French page.
func TestNoPageShowsAKey(t *testing.T) {
	t.Parallel()
	pattern := keyPattern(t)
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t, func(o *options) { o.devMail = true })
			ctx := context.Background()
			mk := func(email, pw string, groups ...string) *airlock.User {
				u, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: email, FirstName: "Ada", LastName: "Lovelace",
					Language: lang, Password: pw, Groups: groups}, account.Meta{IP: "cli"})
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			mk("boss@example.com", adminPW, airlock.GroupAdmin)
			mk("ada@example.com", "violet tractor on the moon", airlock.GroupMobile)
			temp := mk("temp@example.com", "violet tractor on the moon")
			if err := e.svc.AdminSetPassword(ctx, account.Operator, temp.ID, "handed over the phone", "", true, account.Meta{IP: "cli"}); err != nil {
				t.Fatal(err)
			}
			invited, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "new@example.com", Language: lang, Invite: true,
				Groups: []string{airlock.GroupMobile, airlock.GroupWebReader}}, account.Meta{IP: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			e.post(nil, "/password/forgot", url.Values{"email": {"ada@example.com"}})
			e.drain()
			// A reset link, opened in its own browser.
			e.post(nil, "/password/forgot", url.Values{"email": {"temp@example.com"}})
			e.drain()
			link := regexp.MustCompile(`https://accounts\.example\.com(/password/reset\?token=[A-Za-z0-9_-]+)`).FindAllStringSubmatch(e.get(nil, "/dev/mail").body, -1)
			if len(link) == 0 {
				t.Fatal("no reset link in the dev mailbox")
			}
			resetter := e.client()
			e.get(resetter, link[0][1])

			admin := e.signIn("boss@example.com", adminPW)
			user := e.signIn("ada@example.com", "violet tractor on the moon")
			forced := e.signIn("temp@example.com", "handed over the phone")
			anon := func() *http.Client { return e.client() }
			al := "Accept-Language"
			app, _, err := e.svc.AddClient(ctx, account.Operator, account.ClientSpec{Name: "Reports", FirstParty: true,
				RedirectURIs: []string{"https://reports.example.com/cb"}, PostLogoutURIs: []string{"https://reports.example.com/bye"},
				Grants: []string{airlock.GrantAuthorizationCode, airlock.GrantClientCredentials}}, account.Meta{IP: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			doomed, _, err := e.svc.AddClient(ctx, account.Operator, account.ClientSpec{Name: "Old app", Public: true,
				RedirectURIs: []string{"com.example.app:/cb"}}, account.Meta{IP: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			newApp := url.Values{"name": {"Field app"}, "type": {"public"}, "redirect_uri": {"com.example.fieldapp:/oauth2redirect"},
				"post_logout_redirect_uri": {""}, "grant": {"authorization_code", "password"}}
			csv := "email,first_name,language\nsam@example.com,Sam,xx\nsam@example.com,Sam,en\nnew@example.com,,en\n"
			states := []pageState{
				{"login", "GET", "/login", nil, anon()},
				{"login error", "POST", "/login", url.Values{"email": {"ada@example.com"}, "password": {"not it"}}, anon()},
				{"login bad email", "POST", "/login", url.Values{"email": {"ada"}, "password": {"not it"}}, anon()},
				{"login notices", "GET", "/login?m=reset&app=1", nil, anon()},
				{"signed out", "GET", "/login?m=signed_out", nil, anon()},
				{"account signed out no other", "GET", "/account?m=signed_out_others&n=0", nil, user},
				{"forgot", "GET", "/password/forgot", nil, anon()},
				{"forgot error", "POST", "/password/forgot", url.Values{"email": {"a@b@c"}}, anon()},
				{"forgot sent", "POST", "/password/forgot", url.Values{"email": {"nobody@example.com"}}, anon()},
				{"reset", "GET", "/password/reset", nil, resetter},
				{"reset mismatch", "POST", "/password/reset", url.Values{"password": {"a long new phrase"}, "password_confirm": {"another"}}, resetter},
				{"reset policy", "POST", "/password/reset", url.Values{"password": {"temp123"}, "password_confirm": {"temp123"}}, resetter},
				{"reset invalid", "GET", "/password/reset", nil, anon()},
				{"reset expired", "GET", "/password/reset?invalid=expired", nil, anon()},
				{"not found", "GET", "/no/such/page", nil, anon()},
				{"account", "GET", "/account?m=password_changed", nil, user},
				{"account saved", "GET", "/account?m=profile_saved", nil, user},
				{"account signed out others", "GET", "/account?m=signed_out_others&n=2", nil, user},
				{"account profile error", "POST", "/account/profile", url.Values{"first_name": {"x\u202ey"}, "last_name": {""}, "language": {lang}}, user},
				{"account profile bad language", "POST", "/account/profile", url.Values{"first_name": {"Ada"}, "last_name": {""}, "language": {"de"}}, user},
				{"change", "GET", "/account/password", nil, user},
				{"change wrong", "POST", "/account/password", url.Values{"current_password": {"no"}, "password": {"a long new phrase"}, "password_confirm": {"a long new phrase"}}, user},
				{"change policy", "POST", "/account/password", url.Values{"current_password": {"violet tractor on the moon"}, "password": {"ada lovelace"}, "password_confirm": {"ada lovelace"}}, user},
				{"forbidden", "GET", "/admin/users", nil, user},
				{"not found signed in", "GET", "/nothing", nil, user},
				{"forced change", "GET", "/account/password", nil, forced},
				{"users", "GET", "/admin/users", nil, admin},
				{"users one", "GET", "/admin/users?q=boss", nil, admin},
				{"users none", "GET", "/admin/users?q=nobody-at-all", nil, admin},
				{"users imported", "GET", "/admin/users?m=imported&n=1", nil, admin},
				{"new user", "GET", "/admin/users/new", nil, admin},
				{"new user errors", "POST", "/admin/users/new", url.Values{"email": {"ada@example.com"}, "first_name": {"Ada"}, "last_name": {"x\u202ey"}, "language": {"en"}}, admin},
				{"new user taken", "POST", "/admin/users/new", url.Values{"email": {"ada@example.com"}, "language": {"en"}}, admin},
				{"new user bad group", "POST", "/admin/users/new", url.Values{"email": {"x@example.com"}, "language": {"en"}, "groups": {"pilots"}}, admin},
				{"user", "GET", "/admin/users/" + invited.ID + "?m=invited", nil, admin},
				{"user temp", "GET", "/admin/users/" + temp.ID, nil, admin},
				{"user set password", "POST", "/admin/users/" + temp.ID + "/set-password", url.Values{"password": {"temp@example"}, "password_confirm": {"temp@example"}, "temporary": {"on"}}, admin},
				{"user reset confirm", "GET", "/admin/users/" + temp.ID + "/send-reset", nil, admin},
				{"user reset confirm, no name", "GET", "/admin/users/" + invited.ID + "/send-reset", nil, admin},
				{"user not found", "GET", "/admin/users/nope", nil, admin},
				{"import", "GET", "/admin/users/import", nil, admin},
				{"audit", "GET", "/admin/audit", nil, admin},
				{"audit one", "GET", "/admin/audit?kind=user_updated", nil, admin},
				{"audit filtered", "GET", "/admin/audit?kind=sign_in&user=ada%40example.com&from=2026-01-01&to=2026-12-31", nil, admin},
				{"audit no such user", "GET", "/admin/audit?user=nobody%40example.com", nil, admin},
				{"audit bad date", "GET", "/admin/audit?from=2026-02-30", nil, admin},
				{"audit reversed dates", "GET", "/admin/audit?from=2026-02-03&to=2026-02-01", nil, admin},
				{"dev mailbox", "GET", "/dev/mail", nil, anon()},
				{"applications", "GET", "/admin/applications", nil, admin},
				{"new application", "GET", "/admin/applications/new", nil, admin},
				{"new application errors", "POST", "/admin/applications/new", url.Values{"name": {""}, "redirect_uri": {"ftp://x"}}, admin},
				{"new application bad uri", "POST", "/admin/applications/new", url.Values{"name": {"A"}, "type": {"public"}, "redirect_uri": {"ftp://x"}, "grant": {"authorization_code"}}, admin},
				{"new application public credentials", "POST", "/admin/applications/new", url.Values{"name": {"A"}, "type": {"public"}, "redirect_uri": {"https://a.example.com/cb"}, "grant": {"client_credentials"}}, admin},
				{"application added", "POST", "/admin/applications/new", newApp, admin},
				{"application added, confidential", "POST", "/admin/applications/new", url.Values{"name": {"Server app"}, "type": {"confidential"}, "redirect_uri": {"https://a.example.com/cb"}, "grant": {"authorization_code"}}, admin},
				{"application rotate confirm", "GET", "/admin/applications/" + app.ID + "/rotate-secret", nil, admin},
				{"application rotated", "POST", "/admin/applications/" + app.ID + "/rotate-secret", nil, admin},
				{"application rotate public", "GET", "/admin/applications/" + doomed.ID + "/rotate-secret", nil, admin},
				{"application remove confirm", "GET", "/admin/applications/" + doomed.ID + "/remove", nil, admin},
				{"application remove built-in", "GET", "/admin/applications/mobile/remove", nil, admin},
				{"new application bad signing", "POST", "/admin/applications/new", url.Values{"name": {"A"}, "type": {"public"}, "redirect_uri": {"https://a.example.com/cb"}, "grant": {"authorization_code"}, "signing_alg": {"none"}}, admin},
				{"application removed", "GET", "/admin/applications?m=removed", nil, admin},
				{"application not found", "GET", "/admin/applications/nope/remove", nil, admin},
				{"passkeys", "GET", "/account/passkeys", nil, user},
				{"passkeys added", "GET", "/account/passkeys?m=added", nil, user},
				{"passkey wrong password", "POST", "/account/passkeys/new", url.Values{"name": {"Phone"}, "current_password": {"not it"}}, user},
				{"passkey bad name", "POST", "/account/passkeys/new", url.Values{"name": {""}, "current_password": {"violet tractor on the moon"}}, user},
				{"passkey create", "POST", "/account/passkeys/new", url.Values{"name": {"Phone"}, "current_password": {"violet tractor on the moon"}}, user},
				{"passkey finish stale", "POST", "/account/passkeys", url.Values{"name": {"Phone"}, "credential": {"{}"}}, user},
				{"passkey remove unknown", "GET", "/account/passkeys/AAAA/remove", nil, user},
				{"passkey sign-in stale", "POST", "/login/passkey", url.Values{"credential": {"{}"}}, anon()},
			}
			for _, st := range states {
				var r response
				if st.method == "POST" {
					r = e.post(st.client, st.path, st.form, al, lang)
				} else {
					r = e.get(st.client, st.path, al, lang)
				}
				checkWords(t, st.name, lang, r, pattern)
			}
			// The import, a multipart form.
			r := e.upload(admin, "/admin/users/import", "users.csv", csv, al, lang)
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("import: %d", r.StatusCode)
			}
			checkWords(t, "import refused", lang, r, pattern)
		})
	}
}

// frenchGiveaways are English words a French page must not show (the
// product name, emails and such aside).
var frenchGiveaways = regexp.MustCompile(`\b(?:the|The|Enter|must|your|Your|password|Password|email address|users|events|Sign|not found|Choose)\b`)

func checkWords(t *testing.T, name, lang string, r response, pattern *regexp.Regexp) {
	t.Helper()
	if r.StatusCode >= 500 || r.StatusCode == http.StatusSeeOther {
		t.Errorf("%s (%s): status %d", name, lang, r.StatusCode)
		return
	}
	if m := pattern.FindString(r.body); m != "" {
		t.Errorf("%s (%s) shows the key %q", name, lang, m)
	}
	if strings.Contains(r.body, "%!") {
		t.Errorf("%s (%s) shows a formatting mistake:\n%s", name, lang, r.body)
	}
	if strings.Contains(r.body, "<no value>") {
		t.Errorf("%s (%s) shows <no value>", name, lang)
	}
	if lang == "fr" {
		// What people read: the text between tags, without the addresses
		// and the dev mailbox's copies of the emails.
		// Identifiers in <code> (a grant's name, a URI) are not words.
		text := regexp.MustCompile(`(?s)<pre.*?</pre>|<code.*?</code>|<[^>]*>|[\w.+-]+@[\w.-]+|https?://\S+`).ReplaceAllString(r.body, " ")
		if m := frenchGiveaways.FindString(text); m != "" {
			i := strings.Index(text, m)
			t.Errorf("%s (fr) shows English: %q in …%s…", name, m, text[max(0, i-80):min(len(text), i+80)])
		}
	}
}

// TestAcceptLanguage: the browser's languages pick the pages' language,
// and one it refuses (q=0) is never picked.
func TestAcceptLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for header, want := range map[string]string{
		"fr":                          "fr",
		"fr-CA, en;q=0.5":             "fr",
		"fr;q=0":                      "en",
		"fr;q=0, en;q=0.1":            "en",
		"de-DE, fr;q=0.5":             "fr",
		"de-DE":                       "en",
		"en;q=0.2, fr;q=0.8":          "fr",
		"es, fr;q=0, en-US;q=0.1, de": "en",
	} {
		r := e.get(nil, "/login", "Accept-Language", header)
		if !strings.Contains(r.body, `<html lang="`+want+`">`) || r.Header.Get("Content-Language") != want {
			t.Errorf("Accept-Language %q: Content-Language %q, want %s", header, r.Header.Get("Content-Language"), want)
		}
	}
}

// TestPluralsOnPages: "1 user", "2 users"; French uses the singular for 0
// and 1.
func TestPluralsOnPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	e.user("ada@example.com", "violet tractor on the moon")
	_, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: "chef@example.com", Language: "fr",
		Password: adminPW, Groups: []string{airlock.GroupAdmin}}, account.Meta{IP: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	en, fr := e.signIn("admin@example.com", adminPW), e.signIn("chef@example.com", adminPW)
	for _, tc := range []struct {
		c          *http.Client
		path, want string
	}{
		{en, "/admin/users?q=ada%40", ">1 user<"},
		{en, "/admin/users?q=example", ">3 users<"},
		{en, "/admin/users?q=nobody", ">0 users<"},
		{fr, "/admin/users?q=ada%40", ">1 utilisateur<"},
		{fr, "/admin/users?q=nobody", ">0 utilisateur<"},
		{fr, "/admin/users?q=example", ">3 utilisateurs<"},
		{en, "/admin/audit?kind=user_created&user=ada@example.com", ">1 event<"},
		{fr, "/admin/audit?kind=user_created&user=ada@example.com", ">1 événement<"},
		{fr, "/admin/audit?kind=user_created", ">3 événements<"},
		{en, "/admin/users?m=imported&n=1", "1 user imported."},
		{fr, "/admin/users?m=imported&n=1", "1 utilisateur importé."},
		{fr, "/admin/users?m=imported&n=0", "0 utilisateur importé."},
	} {
		if r := e.get(tc.c, tc.path); !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: no %q", tc.path, tc.want)
		}
	}
	// A refused import: "1 line needs fixing".
	r := e.upload(en, "/admin/users/import", "u.csv", "email\nnot-an-address\n")
	if !strings.Contains(r.body, "Nobody was imported: 1 line needs fixing.") || !strings.Contains(r.body, "Line 2: Enter a valid email address") {
		t.Errorf("refused import:\n%s", r.body)
	}
	r = e.upload(fr, "/admin/users/import", "u.csv", "email\nnot-an-address\n")
	if !strings.Contains(r.body, "1 ligne est à corriger") || !strings.Contains(r.body, "Ligne 2 : Saisissez une adresse e-mail valide") {
		t.Errorf("refused import in French:\n%s", r.body)
	}
}
