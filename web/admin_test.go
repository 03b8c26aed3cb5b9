package web_test

import (
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

const adminPW = "keeper of the user list"

func (e *env) signIn(email, pw string) *http.Client {
	e.t.Helper()
	c := e.client()
	r := e.post(c, "/login", url.Values{"email": {email}, "password": {pw}})
	if r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in %s: %d\n%s", email, r.StatusCode, r.body)
	}
	return c
}

// adminIn signs in a new administrator whose language is lang (the pages
// of a signed-in user speak the user's language) and returns the browser.
func (e *env) adminIn(lang string) *http.Client {
	e.t.Helper()
	email := "admin-" + lang + "@example.com"
	if _, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: email, FirstName: "Admin", Language: lang,
		Password: adminPW, Groups: []string{airlock.GroupAdmin}}, account.Meta{IP: "cli"}); err != nil {
		e.t.Fatal(err)
	}
	return e.signIn(email, adminPW)
}

// TestAdminRoutesNeedAdmin: every back-office route refuses a signed-in
// non-administrator with 403 and sends anonymous visitors to sign in.
func TestAdminRoutesNeedAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	e.user("worker@example.com", "out in the sunny fields", airlock.GroupMobile, airlock.GroupWebContributor)
	worker := e.signIn("worker@example.com", "out in the sunny fields")
	app, appSecret, err := e.svc.AddClient(context.Background(), account.Operator, account.ClientSpec{Name: "Reports",
		RedirectURIs: []string{"https://reports.example.com/cb"}}, account.Meta{IP: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	routes := []struct{ method, path string }{
		{"GET", "/admin/users"},
		{"GET", "/admin/users?q=a"},
		{"GET", "/admin/users/new"},
		{"POST", "/admin/users/new"},
		{"GET", "/admin/users/" + admin.ID},
		{"POST", "/admin/users/" + admin.ID},
		{"POST", "/admin/users/" + admin.ID + "/send-reset"},
		{"POST", "/admin/users/" + admin.ID + "/set-password"},
		{"GET", "/admin/audit"},
		{"GET", "/admin/audit.csv"},
		{"GET", "/admin/users/" + admin.ID + "/send-reset"},
		{"GET", "/admin/applications"},
		{"GET", "/admin/applications/new"},
		{"POST", "/admin/applications/new"},
		{"GET", "/admin/applications/" + app.ID + "/remove"},
		{"POST", "/admin/applications/" + app.ID + "/remove"},
		{"GET", "/admin/applications/" + app.ID + "/rotate-secret"},
		{"POST", "/admin/applications/" + app.ID + "/rotate-secret"},
	}
	form := url.Values{"email": {"x@example.com"}, "password": {"stolen by a worker!"}, "password_confirm": {"stolen by a worker!"},
		"name": {"Stolen"}, "type": {"public"}, "redirect_uri": {"https://evil.example.com/cb"}, "grant": {"authorization_code"}}.Encode()
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			if r := e.do(worker, rt.method, rt.path, form); r.StatusCode != http.StatusForbidden {
				t.Errorf("non-admin: %d, want 403", r.StatusCode)
			}
			// A page comes back after signing in; a form post does not.
			want := "/login"
			if rt.method == "GET" {
				want = "/login?next=" + url.QueryEscape(rt.path)
			}
			if r := e.do(nil, rt.method, rt.path, form); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
				t.Errorf("anonymous: %d %q, want 303 %s", r.StatusCode, r.Header.Get("Location"), want)
			}
		})
	}
	// Nothing changed.
	if _, total, _ := e.db.ListUsers(context.Background(), airlock.UserFilter{}); total != 2 {
		t.Fatalf("%d users, want 2", total)
	}
	if _, _, _, err := e.svc.SignIn(context.Background(), "admin@example.com", adminPW, "", account.Meta{IP: "192.0.2.1"}); err != nil {
		t.Fatalf("admin password changed: %v", err)
	}
	if cs, _ := e.svc.Clients(context.Background()); len(cs) != 2 { // with the built-in one
		t.Fatalf("%d applications, want 2", len(cs))
	}
	if _, err := e.svc.AuthenticateClient(context.Background(), app.ID, appSecret); err != nil {
		t.Fatalf("the application's secret changed: %v", err)
	}
}

func TestAdminUsersListSearchAndPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	for i := range 30 {
		e.user(fmt.Sprintf("worker%02d@example.com", i), "", airlock.GroupMobile)
	}
	c := e.signIn("admin@example.com", adminPW)
	r := e.get(c, "/admin/users")
	if r.StatusCode != 200 || !strings.Contains(r.body, "31 users") || !strings.Contains(r.body, `rel="next"`) {
		t.Fatalf("list: %d\n%s", r.StatusCode, r.body)
	}
	r = e.get(c, "/admin/users?q=worker2&group=mobile&active=yes")
	if !strings.Contains(r.body, "10 users") || !strings.Contains(r.body, "worker21@example.com") || strings.Contains(r.body, "worker11@") {
		t.Fatalf("search: %s", r.body)
	}
	r = e.get(c, "/admin/users?page=2")
	if !strings.Contains(r.body, "worker29@example.com") || strings.Contains(r.body, "worker00@") || !strings.Contains(r.body, `rel="prev"`) {
		t.Fatal("page 2 is wrong")
	}
	if r := e.get(c, "/admin/users?active=no"); !strings.Contains(r.body, "0 users") {
		t.Fatal("inactive filter")
	}
}

func TestAdminCreateAndEdit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	form := url.Values{"email": {"New.Hire@Example.com"}, "first_name": {"Noor"}, "last_name": {"Haddad"}, "language": {"fr"},
		"groups": {"mobile", "web_reader"}, "password": {""}, "password_confirm": {""}, "temporary": {"on"}}
	r := e.post(c, "/admin/users/new", form)
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?m=created_no_password") {
		t.Fatalf("create: %d %q\n%s", r.StatusCode, loc, r.body)
	}
	r = e.get(c, loc)
	// A user without a password is offered an invitation, not a reset
	// email that would speak of a password they never had.
	if !strings.Contains(r.body, "Send an invitation") || !strings.Contains(r.body, `id="invite"`) || strings.Contains(r.body, `id="send-reset"`) {
		t.Fatal("no offer to send an invitation to a user without a password")
	}
	u, err := e.db.UserByEmail(context.Background(), "new.hire@example.com")
	if err != nil || u.Language != "fr" || strings.Join(u.Groups, ",") != "mobile,web_reader" || u.PasswordHash != "" {
		t.Fatalf("created user = %+v, %v", u, err)
	}
	// A taken email is refused with a message, and nothing changes.
	r = e.post(c, "/admin/users/new", url.Values{"email": {"admin@EXAMPLE.com"}})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "already exists") {
		t.Fatalf("duplicate: %d", r.StatusCode)
	}
	// Edit: unknown group refused; valid edit saved.
	r = e.post(c, "/admin/users/"+u.ID, url.Values{"email": {u.Email}, "language": {"en"}, "groups": {"superuser"}, "active": {"on"}})
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown group: %d", r.StatusCode)
	}
	r = e.post(c, "/admin/users/"+u.ID, url.Values{"email": {u.Email}, "first_name": {"Noor"}, "last_name": {"Haddad-Smith"},
		"language": {"en"}, "groups": {"mobile"}})
	if !strings.HasSuffix(r.Header.Get("Location"), "?m=saved") {
		t.Fatalf("edit: %d\n%s", r.StatusCode, r.body)
	}
	got, _ := e.db.UserByID(context.Background(), u.ID)
	if got.LastName != "Haddad-Smith" || got.Active || strings.Join(got.Groups, ",") != "mobile" {
		t.Fatalf("after edit: %+v", got)
	}
	if r := e.get(c, "/admin/users/nope"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown user: %d", r.StatusCode)
	}
}

// TestAdminSetsTemporaryPassword: the user's sessions end, the user is told
// by email, must change the password at sign-in, and the administrator never
// sees the password again.
func TestAdminSetsTemporaryPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	u := e.user("ada@example.com", "violet tractor on the moon")
	userBrowser := e.signIn("ada@example.com", "violet tractor on the moon")
	c := e.signIn("admin@example.com", adminPW)

	// The form has "temporary" ticked by default.
	r := e.get(c, "/admin/users/"+u.ID)
	if !strings.Contains(r.body, `name="temporary" value="on" checked`) {
		t.Fatal("temporary is not ticked by default")
	}
	const temp = "handed over the phone"
	r = e.post(c, "/admin/users/"+u.ID+"/set-password", url.Values{"password": {temp}, "password_confirm": {temp}, "temporary": {"on"}})
	if !strings.HasSuffix(r.Header.Get("Location"), "?m=password_set") {
		t.Fatalf("set password: %d\n%s", r.StatusCode, r.body)
	}
	r = e.get(c, r.Header.Get("Location"))
	if strings.Contains(r.body, temp) {
		t.Fatal("the administrator sees the password after submitting")
	}
	if !strings.Contains(r.body, "temporary password is set") {
		t.Fatal("the page does not say the password is temporary")
	}
	// The user's existing session ended.
	if r := e.get(userBrowser, "/account"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("user session after admin change: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	e.drain()
	if m := e.smtp.Wait(t, 1)[0]; m.Header("Subject") != "Your password was changed" || m.To[0] != "ada@example.com" {
		t.Fatalf("email: %q to %v", m.Header("Subject"), m.To)
	}
	// Forced to the change page at sign-in; every other page redirects there.
	b := e.client()
	r = e.post(b, "/login", url.Values{"email": {"ada@example.com"}, "password": {temp}})
	if r.Header.Get("Location") != "/account/password" {
		t.Fatalf("sign-in → %q", r.Header.Get("Location"))
	}
	for path, want := range map[string]string{"/account": "/account/password", "/admin/users": "/account/password?next=%2Fadmin%2Fusers", "/": ""} {
		if r := e.get(b, path); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want && want != "" {
			t.Errorf("%s with a temporary password: %d %q", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// A policy failure keeps the password out of the page too.
	r = e.post(c, "/admin/users/"+u.ID+"/set-password", url.Values{"password": {"password1234"}, "password_confirm": {"password1234"}})
	if r.StatusCode != http.StatusUnprocessableEntity || strings.Contains(r.body, "password1234") || !strings.Contains(r.body, "too common") {
		t.Fatalf("policy failure: %d", r.StatusCode)
	}
	// The audit log records the administrator as the actor, with no secret.
	events, _, _ := e.db.ListAudit(context.Background(), airlock.AuditFilter{Kind: airlock.AuditPasswordChanged})
	if len(events) != 1 || events[0].ActorEmail != "admin@example.com" || events[0].SubjectID != u.ID || events[0].IP == "" {
		t.Fatalf("audit: %+v", events[0])
	}
	r = e.get(c, "/admin/audit?user=ada@example.com&kind=password_changed")
	if !strings.Contains(r.body, "1 event<") || !strings.Contains(r.body, `<span class="email">admin@example.com</span>`) || strings.Contains(r.body, temp) {
		t.Fatalf("audit page:\n%s", r.body)
	}
}

// TestAdminSendResetAsksFirst: "Send a reset email" on the user page is a
// link to a page that says to whom, where and for how long, and only that
// page's form sends the email; the steps work without JavaScript.
func TestAdminSendResetAsksFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	u := e.user("ada@example.com", "violet tractor on the moon")
	c := e.signIn("admin@example.com", adminPW)
	page := e.get(c, "/admin/users/"+u.ID)
	if !strings.Contains(page.body, `<a class="button" href="/admin/users/`+u.ID+`/send-reset" id="send-reset">Send a reset email…</a>`) ||
		strings.Contains(page.body, `action="/admin/users/`+u.ID+`/send-reset"`) {
		t.Fatalf("the user page sends the email without asking:\n%s", page.body)
	}
	for lang, want := range map[string][]string{
		"en": {"<h1>Send a password reset email?</h1>", "Ada Lovelace will get an email at <span class=\"email\">ada@example.com</span> with a link to choose a new password, valid for 30 minutes.",
			"The user&#39;s current password keeps working until the link is used.", `<button type="submit" id="confirm-send-reset">Send the reset email</button>`,
			`<a class="button secondary" href="/admin/users/` + u.ID + `">Cancel</a>`},
		"fr": {"Ada Lovelace recevra à l’adresse <span class=\"email\">ada@example.com</span> un e-mail avec un lien pour choisir un nouveau mot de passe, valable 30 minutes.", "Annuler"},
	} {
		r := e.get(e.adminIn(lang), "/admin/users/"+u.ID+"/send-reset")
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<form method="post" action="/admin/users/`+u.ID+`/send-reset"`) {
			t.Fatalf("%s: confirmation page: %d\n%s", lang, r.StatusCode, r.body)
		}
		for _, w := range want {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s: the confirmation page does not say %q", lang, w)
			}
		}
	}
	// Looking at the confirmation sends nothing.
	e.drain()
	if n := len(e.smtp.Messages()); n != 0 {
		t.Fatalf("%d emails sent before confirming", n)
	}
	if events, _, _ := e.db.ListAudit(context.Background(), airlock.AuditFilter{Kind: airlock.AuditResetEmailSent}); len(events) != 0 {
		t.Fatal("a reset email recorded before confirming")
	}
	r := e.post(c, "/admin/users/"+u.ID+"/send-reset", nil)
	if r.StatusCode != http.StatusSeeOther || !strings.HasSuffix(r.Header.Get("Location"), "?m=reset_sent") {
		t.Fatalf("send reset: %d", r.StatusCode)
	}
	e.drain()
	m := e.smtp.Wait(t, 1)[0]
	if !linkRE.MatchString(m.Parts()["text/plain"]) || m.To[0] != "ada@example.com" {
		t.Fatal("no reset email")
	}
	if r := e.get(c, "/admin/users/nope/send-reset"); r.StatusCode != http.StatusNotFound {
		t.Errorf("confirmation for nobody: %d", r.StatusCode)
	}
}

// TestAdminUserPageTitleDatesAndWords: the user page is titled with the
// user's name (or address), its dates never wrap inside, and it speaks of
// "the user's" password, never "your", in English and French.
func TestAdminUserPageTitleDatesAndWords(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	ada := e.user("ada@example.com", "violet tractor on the moon")
	nameless, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: "a.long.address@field.example.com", Invite: true}, account.Meta{IP: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	e.drain()
	c := e.signIn("admin@example.com", adminPW)
	r := e.get(c, "/admin/users/"+ada.ID)
	if !strings.Contains(r.body, "<title>Ada Lovelace · Airlock</title>") || !strings.Contains(r.body, "<h1>Ada Lovelace</h1>") ||
		!strings.Contains(r.body, `<p class="subtitle"><span class="email">ada@example.com</span></p>`) {
		t.Errorf("the user page is not titled with the user's name:\n%s", r.body)
	}
	r = e.get(c, "/admin/users/"+nameless.ID)
	if !strings.Contains(r.body, "<title>a.long.address@field.example.com · Airlock</title>") ||
		!strings.Contains(r.body, `<h1><span class="email">a<wbr>.long<wbr>.address@<wbr>field<wbr>.example<wbr>.com</span></h1>`) {
		t.Errorf("a user without a name is not titled with the address:\n%s", r.body)
	}
	// Every date on the page (password, invitation, emails, creation) is
	// held on one line.
	date := regexp.MustCompile(`(.{0,40})\d{4}-\d{2}-\d{2}`)
	for _, id := range []string{ada.ID, nameless.ID} {
		body := e.get(c, "/admin/users/"+id).body
		found := date.FindAllStringSubmatch(body, -1)
		if len(found) < 2 {
			t.Fatalf("%d dates on the user page", len(found))
		}
		for _, m := range found {
			if !strings.HasSuffix(m[1], `<span class="nowrap">`) && !strings.HasSuffix(m[1], `datetime="`) {
				t.Errorf("a date that may wrap: %q", m[0])
			}
		}
	}
	// "The user's" password: nothing in the page's content about another
	// user says "your", not even the reasons a password is refused.
	main := func(body string) string {
		i, j := strings.Index(body, "<main"), strings.Index(body, "</main>")
		return body[i:j]
	}
	for lang, your := range map[string]*regexp.Regexp{"en": regexp.MustCompile(`(?i)\byours?\b`), "fr": regexp.MustCompile(`(?i)\b(?:votre|vos)\b`)} {
		c := e.adminIn(lang)
		for _, r := range []response{
			e.get(c, "/admin/users/"+ada.ID),
			e.get(c, "/admin/users/"+ada.ID+"/send-reset"),
			e.post(c, "/admin/users/"+ada.ID+"/set-password", url.Values{"password": {"ada@example.com lovelace"}, "password_confirm": {"ada@example.com lovelace"}}),
			e.post(c, "/admin/users/"+ada.ID+"/set-password", url.Values{"password": {"lovelace, in a long phrase"}, "password_confirm": {"lovelace, in a long phrase"}}),
		} {
			if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s: %d", lang, r.StatusCode)
			}
			if m := your.FindString(main(r.body)); m != "" {
				t.Errorf("%s: the page about another user says %q:\n%s", lang, m, main(r.body))
			}
		}
	}
	r = e.post(c, "/admin/users/"+ada.ID+"/set-password", url.Values{"password": {"ada@example.com lovelace"}, "password_confirm": {"ada@example.com lovelace"}})
	if !strings.Contains(r.body, "it must not contain the user&#39;s email address") {
		t.Errorf("the reasons do not speak of the user's address:\n%s", r.body)
	}
}

func TestAdminCannotDemoteSelf(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	r := e.post(c, "/admin/users/"+admin.ID, url.Values{"email": {"admin@example.com"}, "language": {"en"}, "groups": {"mobile"}, "active": {"on"}})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "own administrator group") {
		t.Fatalf("self-demotion: %d", r.StatusCode)
	}
	r = e.post(c, "/admin/users/"+admin.ID, url.Values{"email": {"admin@example.com"}, "language": {"en"}, "groups": {"admin"}})
	if r.StatusCode != http.StatusConflict {
		t.Fatalf("self-deactivation: %d", r.StatusCode)
	}
}

func TestAdminCrossOriginRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	u := e.user("ada@example.com", "violet tractor on the moon")
	c := e.signIn("admin@example.com", adminPW)
	form := url.Values{"password": {"attacker chosen words"}, "password_confirm": {"attacker chosen words"}}
	r := e.post(c, "/admin/users/"+u.ID+"/set-password", form, "Origin", "https://evil.example")
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site set-password: %d", r.StatusCode)
	}
	if _, _, _, err := e.svc.SignIn(context.Background(), "ada@example.com", "violet tractor on the moon", "", account.Meta{IP: "192.0.2.1"}); err != nil {
		t.Fatal("the password changed")
	}
}

// TestAdministratorActingOnThemselves: on the back office, administrators
// prove it is them (current password) before changing their own email, and
// set their own password only with it; a form showing an old version of a
// user never undoes a newer change.
func TestAdministratorActingOnThemselves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	page := e.get(c, "/admin/users/"+admin.ID)
	if strings.Contains(page.body, `action="/admin/users/`+admin.ID+`/set-password"`) || !strings.Contains(page.body, `name="current_password"`) {
		t.Fatal("own user page offers set-password without proof, or no current password field")
	}
	profile := url.Values{"email": {"new-admin@example.net"}, "first_name": {"Ada"}, "last_name": {"Lovelace"}, "language": {"en"},
		"groups": {"admin"}, "active": {"on"}, "version": {fmt.Sprint(admin.Version)}}
	for _, current := range []string{"", "not the password at all"} {
		profile.Set("current_password", current)
		if r := e.post(c, "/admin/users/"+admin.ID, profile); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="current_password-error"`) {
			t.Fatalf("own email with current %q: %d", current, r.StatusCode)
		}
		pw := url.Values{"password": {"taken over by a thief"}, "password_confirm": {"taken over by a thief"}, "current_password": {current}}
		if r := e.post(c, "/admin/users/"+admin.ID+"/set-password", pw); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("own password with current %q: %d", current, r.StatusCode)
		}
	}
	if got, _ := e.db.UserByID(context.Background(), admin.ID); got.Email != "admin@example.com" || got.PasswordHash != admin.PasswordHash {
		t.Fatal("a change without proof was written")
	}

	// Another administrator deactivates a user while this form is open.
	u := e.user("worker@example.com", "out in the sunny fields", airlock.GroupMobile)
	stale := e.get(c, "/admin/users/"+u.ID)
	off := false
	if _, err := e.svc.AdminUpdateUser(context.Background(), account.Operator, u.ID, account.UserChanges{Active: &off}, account.Meta{IP: "cli"}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"email": {"worker@example.com"}, "first_name": {"Renamed"}, "last_name": {""}, "language": {"en"},
		"groups": {"mobile"}, "active": {"on"}, "version": {versionRE.FindStringSubmatch(stale.body)[1]}}
	if r := e.post(c, "/admin/users/"+u.ID, form); r.StatusCode != http.StatusConflict {
		t.Fatalf("save of a stale form: %d", r.StatusCode)
	}
	if got, _ := e.db.UserByID(context.Background(), u.ID); got.Active || got.FirstName == "Renamed" {
		t.Fatal("a stale form undid a deactivation")
	}
}

var versionRE = regexp.MustCompile(`name="version" value="(\d+)"`)

// TestAuditFilterByUnknownAddress: filtering the audit log by an address
// nobody has shows an empty list, on SQLite and on PostgreSQL (a sentinel
// value with a NUL byte once made PostgreSQL answer 500).
func TestAuditFilterByUnknownAddress(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]func(*options){"sqlite": nil, "postgres": {onPostgres}} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, opts...)
			e.user("admin@example.com", adminPW, airlock.GroupAdmin)
			c := e.signIn("admin@example.com", adminPW)
			r := e.get(c, "/admin/audit?user="+url.QueryEscape("nobody@example.com"))
			if r.StatusCode != http.StatusOK || strings.Contains(r.body, "<tbody>") || !strings.Contains(r.body, "No user has the address nobody@example.com.") {
				t.Fatalf("%d\n%s", r.StatusCode, r.body)
			}
			if r := e.get(c, "/admin/audit?user="+url.QueryEscape("admin@example.com")); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<td data-label="Event"><span class="nowrap">Sign-in</span></td>`) {
				t.Fatalf("known address: %d", r.StatusCode)
			}
		})
	}
}

// TestInvitedUsersInTheList: the users list says who is invited, since when
// and whether the invitation email went out, and filters them.
func TestInvitedUsersInTheList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	form := url.Values{"email": {"sam@example.com"}, "first_name": {"Sam"}, "last_name": {""}, "language": {"en"},
		"groups": {"mobile"}, "password": {""}, "password_confirm": {""}, "temporary": {"on"}, "invite": {"on"}}
	r := e.post(c, "/admin/users/new", form)
	if r.StatusCode != http.StatusSeeOther || !strings.HasSuffix(r.Header.Get("Location"), "?m=invited") {
		t.Fatalf("create with an invitation: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	// The notice gives the link's real lifetime (AIRLOCK_INVITE_TTL).
	if r := e.get(c, r.Header.Get("Location")); !strings.Contains(r.body, "Invitation sent: the link is valid for 3 days.") {
		t.Fatalf("invited notice:\n%s", r.body)
	}
	e.drain()
	e.smtp.Wait(t, 1)
	r = e.get(c, "/admin/users?invitation=invited")
	if !strings.Contains(r.body, "sam@example.com") || !strings.Contains(r.body, "invited, pending") || !strings.Contains(r.body, "email delivered") ||
		strings.Contains(r.body, "admin@example.com</td>") {
		t.Fatalf("invited filter:\n%s", r.body)
	}
	if r := e.get(c, "/admin/users?invitation=invitation_expired"); strings.Contains(r.body, "sam@example.com") {
		t.Fatal("a pending invitation listed as expired")
	}
	// Both a password and an invitation: refused, nothing created.
	form.Set("email", "kim@example.com")
	form.Set("password", "a password as well, long")
	form.Set("password_confirm", "a password as well, long")
	if r := e.post(c, "/admin/users/new", form); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("password and invitation: %d", r.StatusCode)
	}
}

// TestImportUploadFields: the upload takes the file and the invite box
// ("on" or absent), nothing else.
func TestImportUploadFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	upload := func(fields map[string]string) response {
		var b strings.Builder
		w := multipart.NewWriter(&b)
		for k, v := range fields {
			if k == "file" {
				fw, _ := w.CreateFormFile("file", "users.csv")
				fw.Write([]byte(v))
			} else {
				w.WriteField(k, v)
			}
		}
		w.Close()
		return e.do(c, "POST", "/admin/users/import", b.String(), "Content-Type", w.FormDataContentType())
	}
	if r := upload(map[string]string{"file": "email\nsam@example.com\n", "invite": "off"}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("invite=off: %d", r.StatusCode)
	}
	if r := upload(map[string]string{"file": "email\nsam@example.com\n", "admin": "yes"}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("an unknown field: %d", r.StatusCode)
	}
	if _, total, _ := e.db.ListUsers(context.Background(), airlock.UserFilter{}); total != 1 {
		t.Fatalf("%d users after refused uploads", total)
	}
	if r := upload(map[string]string{"file": "email\nsam@example.com\n"}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a good upload: %d", r.StatusCode)
	}
	if r := e.get(c, "/admin/users?m=imported&n=1"); !strings.Contains(r.body, "1 user imported.") {
		t.Fatal("the notice after importing one user")
	}
}

// TestMakingAnAdministratorOnThePage: the new user form makes an
// administrator only with the acting administrator's current password.
func TestMakingAnAdministratorOnThePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	c := e.signIn("admin@example.com", adminPW)
	form := url.Values{"email": {"second@example.com"}, "language": {"en"}, "groups": {"admin"}, "invite": {"on"}}
	r := e.post(c, "/admin/users/new", form)
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="current_password-error"`) {
		t.Fatalf("an administrator made with the session alone: %d", r.StatusCode)
	}
	if _, err := e.db.UserByEmail(context.Background(), "second@example.com"); err == nil {
		t.Fatal("the refused form created the user")
	}
	form.Set("current_password", adminPW)
	if r := e.post(c, "/admin/users/new", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the password: %d\n%s", r.StatusCode, r.body)
	}
}
