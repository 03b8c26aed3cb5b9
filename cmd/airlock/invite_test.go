package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/internal/mailtest"
)

// TestInvitationEndToEnd: `user add --invite` queues a welcome email in the
// user's language; the running server sends it; its link opens the "choose
// your password" page (the token leaves the URL at once), the first
// password is set, the sign-in page offers the way back to the app, and the
// user signs in.
func TestInvitationEndToEnd(t *testing.T) {
	t.Parallel()
	smtp := mailtest.Start(t)
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL(), "AIRLOCK_APP_URL": "com.example.fieldapp:/signed-in",
		"AIRLOCK_BRAND_NAME": "Acme Field"})
	out, err := p.run("", "user", "add", "--email", "sam@example.com", "--first-name", "Sam", "--language", "fr", "--group", "mobile", "--invite")
	if err != nil || !strings.Contains(out, "invitation queued") {
		t.Fatalf("user add --invite: %v\n%s", err, out)
	}
	if _, err := p.run("x\n", "user", "add", "--email", "x@example.com", "--invite", "--password-stdin"); err == nil {
		t.Fatal("--invite with --password-stdin was accepted")
	}
	p.serve()
	msg := smtp.Wait(t, 1)[0]
	if s := msg.Header("Subject"); !strings.Contains(s, "Bienvenue sur Acme Field") {
		t.Fatalf("subject %q", s)
	}
	link := appLinkRE.FindString(msg.Parts()["text/plain"])
	if !strings.Contains(link, "&app=1") {
		t.Fatalf("link %q", link)
	}
	c := browser()
	res, _ := get(t, c, link)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/password/reset?app=1" {
		t.Fatalf("open the link: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, page := get(t, c, p.url("/password/reset?app=1"))
	if !strings.Contains(page, "Bienvenue") || !strings.Contains(page, "sam@example.com") {
		t.Fatalf("choose-your-password page:\n%s", page)
	}
	res = postForm(t, c, p.url("/password/reset?app=1"), url.Values{"password": {"my first field password"}, "password_confirm": {"my first field password"}})
	if loc := res.Header.Get("Location"); loc != "/login?m=invited&app=1" {
		t.Fatalf("after the first password: %d %q", res.StatusCode, loc)
	}
	if _, login := get(t, c, p.url("/login?m=invited&app=1")); !strings.Contains(login, `href="com.example.fieldapp:/signed-in"`) {
		t.Fatal("no Return to the app after an invitation from the app")
	}
	if res := postForm(t, browser(), p.url("/login"), url.Values{"email": {"sam@example.com"}, "password": {"my first field password"}}); res.Header.Get("Location") != "/account" {
		t.Fatalf("first sign-in: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestUserImportCommand: a file with a bad line imports nobody and names the
// line; a good one imports everyone and their invitations go out.
func TestUserImportCommand(t *testing.T) {
	t.Parallel()
	smtp := mailtest.Start(t)
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL()})
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	bad := write("bad.csv", "email,first_name,last_name,language,groups\nsam@example.com,Sam,,en,mobile\nkim@example..com,Kim,,en,mobile\nlee@example.com,Lee,,en,\n")
	out, err := p.run("", "user", "import", bad, "--invite")
	if err == nil || !strings.Contains(p.logs.String(), "line 3:") || !strings.Contains(err.Error(), "nothing was imported: 1 line to fix") {
		t.Fatalf("import of a bad file: %v\n%s\n%s", err, out, p.logs.String())
	}
	if list, _ := p.run("", "user", "list"); strings.Contains(list, "sam@example.com") {
		t.Fatal("a refused import created a user")
	}
	good := write("good.csv", "email,first_name,groups\nsam@example.com,Sam,mobile\nlee@example.com,Lee,\n")
	if out, err := p.run("", "user", "import", "--invite", good); err != nil || !strings.Contains(out, "2 users imported") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	p.serve()
	if msgs := smtp.Wait(t, 2); !strings.Contains(msgs[0].Header("Subject"), "Welcome") {
		t.Fatalf("imported users got %q", msgs[0].Header("Subject"))
	}
}

// TestUserImportProgress: a large file shows a progress bar on stderr.
func TestUserImportProgress(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	var csv strings.Builder
	csv.WriteString("email\n")
	for i := range 1200 {
		csv.WriteString("worker" + strconv.Itoa(i) + "@example.com\n")
	}
	path := filepath.Join(t.TempDir(), "many.csv")
	if err := os.WriteFile(path, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := p.run("", "user", "import", path)
	if err != nil || !strings.Contains(out, "1200 users imported") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if logs := p.logs.String(); !strings.Contains(logs, "importing [###") || !strings.Contains(logs, "1200/1200") {
		t.Fatalf("no progress bar:\n%s", logs)
	}
}
