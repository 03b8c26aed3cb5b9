package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPolicyReasonsInWords: a refused password says why in words on the
// command line, as the pages do, not in codes.
func TestPolicyReasonsInWords(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	_, err := p.run("marie.curie\n", "user", "add", "--email", "marie.curie@example.com", "--first-name", "Marie", "--password-stdin")
	if err == nil {
		t.Fatal("user add accepted a short password")
	}
	for _, want := range []string{"it must have at least 12 characters", "it must not contain your email address", "it must not contain your name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("user add: %q does not say %q", err, want)
		}
	}
	if _, err := p.run("", "user", "add", "--email", "marie.curie@example.com", "--first-name", "Marie"); err != nil {
		t.Fatal(err)
	}
	_, err = p.run("password1234\n", "user", "set-password", "--email", "marie.curie@example.com", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "it appears in lists of leaked passwords") {
		t.Fatalf("set-password: %v", err)
	}
	p.env["AIRLOCK_PASSWORD_MIN_LENGTH"] = "20"
	_, err = p.run("a fair passphrase\n", "user", "set-password", "--email", "marie.curie@example.com", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "it must have at least 20 characters") {
		t.Fatalf("set-password with AIRLOCK_PASSWORD_MIN_LENGTH=20: %v", err)
	}
	if regexp.MustCompile(`too_short|too_long|contains_email|contains_name|invalid_text|unchanged`).MatchString(err.Error()) {
		t.Errorf("a reason code shows: %q", err)
	}
}

// TestMissingDatabaseDirectory: SQLite creates its file but not the
// directory; a missing one is named, with the setting that points there.
func TestMissingDatabaseDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "no", "such", "dir")
	p := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": "sqlite:" + filepath.Join(dir, "airlock.db")})
	for _, args := range [][]string{{"migrate"}, {"serve"}, {"user", "list"}} {
		_, err := p.run("", args...)
		if err == nil {
			t.Fatalf("%v accepted a missing directory", args)
		}
		msg := err.Error()
		if !strings.Contains(msg, "AIRLOCK_DATABASE_URL") || !strings.Contains(msg, "the directory "+dir+" does not exist") || strings.Contains(msg, "(14)") {
			t.Errorf("%v: %s", args, msg)
		}
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a directory was created: %v", err)
	}
	// A file where the directory should be is named too.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	p.env["AIRLOCK_DATABASE_URL"] = "sqlite:" + filepath.Join(file, "airlock.db")
	if _, err := p.run("", "migrate"); err == nil || !strings.Contains(err.Error(), "AIRLOCK_DATABASE_URL") || !strings.Contains(err.Error(), file+" is not a directory") {
		t.Fatalf("a file as the directory: %v", err)
	}
}

// TestCountsAreSingularOrPlural: "1 user", never "1 users".
func TestCountsAreSingularOrPlural(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	expect := func(want string, args ...string) {
		t.Helper()
		out, err := p.run("", args...)
		if err != nil || !strings.HasSuffix(out, "\n"+want+"\n") && out != want+"\n" {
			t.Errorf("airlock %s: %v\n%s\nwant a last line %q", strings.Join(args, " "), err, out, want)
		}
	}
	expect("0 users", "user", "list")
	expect("0 of 0 events", "audit")
	expect("0 emails", "mail", "list")
	expect("0 emails removed from the dev mailbox", "mail", "clear-dev")
	if _, err := p.run("", "user", "add", "--email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	expect("1 user", "user", "list")
	expect("1 of 1 event", "audit")
	if _, err := p.run("", "user", "add", "--email", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	expect("2 users", "user", "list")
	expect("1 of 2 events", "audit", "--limit", "1")
	expect("2 of 2 events", "audit")
	// A password set from here queues "your password was changed".
	if _, err := p.run("a long enough passphrase\n", "user", "set-password", "--email", "ada@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	expect("1 email", "mail", "list")
}
