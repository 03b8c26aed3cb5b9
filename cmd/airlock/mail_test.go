package main

import (
	"database/sql"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testutil"
)

// TestMailCommands: `airlock mail list` shows the outbox and its history
// with the delivery state and the server's words, `mail retry` sends a
// failed email again, and `mail clear-dev` empties the dev mailbox, whose
// emails survive a restart of serve.
func TestMailCommands(t *testing.T) {
	t.Parallel()
	smtp := mailtest.Start(t)
	smtp.RefuseRecipient("lost@example.com")
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL()})
	for _, email := range []string{"lost@example.com", "fine@example.com"} {
		if _, err := p.run("", "user", "add", "--email", email); err != nil {
			t.Fatal(err)
		}
	}
	stop := p.serve()
	for _, email := range []string{"lost@example.com", "fine@example.com"} {
		postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {email}})
	}
	smtp.Wait(t, 1)
	var out string
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if out, err = p.run("", "mail", "list", "--state", "failed"); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "\n1 email\n") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out, "failed") || !strings.Contains(out, "refused the address") || !strings.Contains(out, "550 5.1.1 no such user") {
		t.Fatalf("mail list --state failed:\n%s", out)
	}
	id := regexp.MustCompile(`(?m)^(\d+)\s`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no email id in:\n%s", out)
	}
	// The relay has the email; its worker records it sent a moment later.
	for deadline := time.Now().Add(10 * time.Second); ; {
		all, _ := p.run("", "mail", "list", "--user", "fine@example.com")
		if strings.Contains(all, "sent") && strings.Contains(all, "250 ") {
			// The person is named by their address, not an id.
			if !regexp.MustCompile(`(?m)^\d+\s+\S+\s+reset\s+fine@example\.com\s+sent`).MatchString(all) {
				t.Fatalf("mail list --user does not name the user by address:\n%s", all)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail list --user:\n%s", all)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Stopped, so that no worker sends the email between the two retries
	// (it would fail again at once, and might be retried again rightly).
	stop()
	if out, err := p.run("", "mail", "retry", id[1]); err != nil || !strings.Contains(out, "queued again") {
		t.Fatalf("mail retry: %v\n%s", err, out)
	}
	if _, err := p.run("", "mail", "retry", id[1]); err == nil {
		t.Fatal("retrying an email already queued again worked")
	}
	if _, err := p.run("", "mail", "retry", "999999"); err == nil || err.Error() != "No such email." {
		t.Fatalf("retrying an email that does not exist: %v", err)
	}
	if _, err := p.run("", "mail", "list", "--state", "lost"); err == nil {
		t.Fatal("an unknown state was accepted")
	}

	// The dev mailbox keeps its emails in the database, across restarts.
	dev := newProgram(t, nil)
	if _, err := dev.run("", "user", "add", "--email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	stop = dev.serve()
	postForm(t, browser(), dev.url("/password/forgot"), url.Values{"email": {"ada@example.com"}})
	waitDevMail := func(want bool) {
		for deadline := time.Now().Add(10 * time.Second); ; {
			_, body := get(t, browser(), dev.url("/dev/mail"))
			if strings.Contains(body, "/password/reset?token=") == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("dev mailbox, want a link %v:\n%s", want, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitDevMail(true)
	stop()
	dev.serve()
	waitDevMail(true)
	if out, err := dev.run("", "mail", "clear-dev"); err != nil || !strings.Contains(out, "1 email removed") {
		t.Fatalf("mail clear-dev: %v %s", err, out)
	}
	waitDevMail(false)
}

// TestSQLiteBusyAnswers503: a write lock held on the SQLite file longer than
// AIRLOCK_DATABASE_TIMEOUT (another process stuck in a transaction) gives
// 503 with Retry-After, never a 500.
func TestSQLiteBusyAnswers503(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "airlock.db")
	p := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": "sqlite:" + path, "AIRLOCK_DATABASE_TIMEOUT": "1s"})
	if _, err := p.run("", "user", "add", "--email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	// The busy timeout lets this writer wait for serve's own short writes
	// (its workers) instead of failing with SQLITE_BUSY before the test.
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin() // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	res := postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {"ada@example.com"}})
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("forgot while another writer holds the lock: %d", res.StatusCode)
	}
	tx.Rollback()
	if res := postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {"ada@example.com"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("forgot once the lock is free: %d", res.StatusCode)
	}
}

// TestUncertainDeliveryThroughServe: a mail server that drops the
// connection after DATA leaves the delivery uncertain; serve tries again
// (after its first backoff, about 5 s) with the same message: same
// Message-ID and the same link, which works (the token kept sealed under
// the key file serve made beside the SQLite file). On PostgreSQL without
// AIRLOCK_SECRET_KEY nothing can be sealed: the retry is a new message
// with a new link, and both links work until one is used.
func TestUncertainDeliveryThroughServe(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{"sqlite, key file": nil}
	if dsn := testutil.PostgresURL(t); dsn != "" {
		cases["postgres, no key"] = map[string]string{"AIRLOCK_DATABASE_URL": dsn}
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sealed := env == nil
			smtp := mailtest.Start(t)
			smtp.DropNext(1)
			settings := map[string]string{"AIRLOCK_SMTP_URL": smtp.URL(), "AIRLOCK_MAIL_FROM": "Airlock <no-reply@accounts.example.com>"}
			maps.Copy(settings, env)
			p := newProgram(t, settings)
			if _, err := p.run("", "user", "add", "--email", "ada@example.com"); err != nil {
				t.Fatal(err)
			}
			p.serve()
			postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {"ada@example.com"}})
			msgs := smtp.Wait(t, 2)
			first, second := msgs[0].Header("Message-Id"), msgs[1].Header("Message-Id")
			if (first == second) != sealed || !strings.HasSuffix(first, "@accounts.example.com>") || !strings.HasSuffix(second, "@accounts.example.com>") {
				t.Fatalf("Message-IDs %q then %q (the same message expected: %v)", first, second, sealed)
			}
			links := []string{linkRE.FindString(msgs[0].Parts()["text/plain"]), linkRE.FindString(msgs[1].Parts()["text/plain"])}
			if (links[0] == links[1]) != sealed {
				t.Fatalf("links %q then %q (the same link expected: %v)", links[0], links[1], sealed)
			}
			for i, link := range links {
				if res, _ := get(t, browser(), link); res.Header.Get("Location") != "/password/reset" {
					t.Fatalf("link %d: %d %q", i, res.StatusCode, res.Header.Get("Location"))
				}
			}
		})
	}
}
