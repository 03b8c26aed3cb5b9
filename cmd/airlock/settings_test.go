package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestUnknownSettingsWarned: every AIRLOCK_* variable that is no setting
// gets one warning line on stderr, with the closest setting's name when
// one is close, and is otherwise ignored; the test suite's own variables
// and real settings get none, and no value is ever shown.
func TestUnknownSettingsWarned(t *testing.T) {
	p := newProgram(t, map[string]string{
		"AIRLOCK_RESET_TTL":         "1h",
		"AIRLOCK_LSITEN":            "127.0.0.1:1",
		"AIRLOCK_FROBNICATE":        "hunter2",
		"AIRLOCK_TEST_DATABASE_URL": "postgres://x",
		"AIRLOCK_FAULT_TESTS":       "1",
		"AIRLOCK_ARTIFACTS":         "/tmp/a",
		"AIRLOCK_RESET_TOKEN_TTL":   "45m",
		"NOT_AIRLOCK_THING":         "1",
	})
	want := map[string]string{
		"AIRLOCK_RESET_TTL":  "AIRLOCK_RESET_TTL is not a setting: it is ignored; did you mean AIRLOCK_RESET_TOKEN_TTL?",
		"AIRLOCK_LSITEN":     "AIRLOCK_LSITEN is not a setting: it is ignored; did you mean AIRLOCK_LISTEN?",
		"AIRLOCK_FROBNICATE": "AIRLOCK_FROBNICATE is not a setting: it is ignored",
	}
	check := func(what, stderr string) {
		t.Helper()
		var lines []string
		for _, l := range strings.Split(stderr, "\n") {
			if strings.Contains(l, "warning") {
				lines = append(lines, l)
			}
		}
		if len(lines) != len(want) {
			t.Errorf("%s: %d warnings, want %d:\n%s", what, len(lines), len(want), stderr)
		}
		for name, w := range want {
			n := 0
			for _, l := range lines {
				if strings.Contains(l, name+" ") {
					n++
					if l != "airlock: warning: "+w {
						t.Errorf("%s: warning %q, want %q", what, l, "airlock: warning: "+w)
					}
				}
			}
			if n != 1 {
				t.Errorf("%s: %d warnings about %s, want 1", what, n, name)
			}
		}
		for _, quiet := range []string{"AIRLOCK_TEST_", "AIRLOCK_FAULT_", "AIRLOCK_ARTIFACTS", "AIRLOCK_RESET_TOKEN_TTL is", "NOT_AIRLOCK", "hunter2"} {
			if strings.Contains(strings.Join(lines, "\n"), quiet) {
				t.Errorf("%s: a warning mentions %s:\n%s", what, quiet, stderr)
			}
		}
	}
	for _, args := range [][]string{{"migrate"}, {"user", "list"}, {"audit"}, {"mail", "list"}} {
		before := p.logs.String()
		if out, err := p.run("", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		check(strings.Join(args, " "), strings.TrimPrefix(p.logs.String(), before))
	}
	before := p.logs.String()
	stop := p.serve()
	stop()
	check("serve", strings.TrimPrefix(p.logs.String(), before))
	// Ignored: the setting it was meant for keeps its own value.
	if cfg, err := loadConfig(p.getenv, nil); err != nil || cfg.ResetTokenTTL.String() != "45m0s" {
		t.Fatalf("config: %v %v", cfg, err)
	}
}

func TestClosestSetting(t *testing.T) {
	for typed, want := range map[string]string{
		"AIRLOCK_RESET_TTL":          "AIRLOCK_RESET_TOKEN_TTL",
		"AIRLOCK_LSITEN":             "AIRLOCK_LISTEN",
		"AIRLOCK_listen":             "AIRLOCK_LISTEN",
		"AIRLOCK_SMTP_HOST":          "AIRLOCK_SMTP_HELO",
		"AIRLOCK_DATABASE":           "AIRLOCK_DATABASE_URL",
		"AIRLOCK_PUBLIC_ADDRESS":     "AIRLOCK_PUBLIC_URL",
		"AIRLOCK_LIMIT_LOGIN_PER":    "AIRLOCK_LIMIT_LOGIN_PER_IP",
		"AIRLOCK_LOGIN_PER_EMAIL":    "AIRLOCK_LIMIT_LOGIN_PER_EMAIL",
		"AIRLOCK_URL":                "",
		"AIRLOCK_LIMIT_FORGOT":       "AIRLOCK_LIMIT_FORGOT_PER_IP",
		"AIRLOCK_AUDIT_RETENTION_D":  "AIRLOCK_AUDIT_RETENTION",
		"AIRLOCK_FOO":                "",
		"AIRLOCK_":                   "",
		"AIRLOCK_SOMETHING_ELSE_NOW": "",
	} {
		if got := closestSetting(typed); got != want {
			t.Errorf("closestSetting(%s) = %q, want %q", typed, got, want)
		}
	}
}

// TestSettingsAreDocumented: the settings the program reads, which decide
// what is warned about, are exactly those of the README's table.
func TestSettingsAreDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(AIRLOCK_[A-Z0-9_]+)`").FindAllStringSubmatch(string(readme), -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(documented)
	if read := settingNames(); !slices.Equal(read, documented) {
		t.Fatalf("settings read by the program:\n%v\ndocumented in the README:\n%v", read, documented)
	}
}
