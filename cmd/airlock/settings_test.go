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

// TestServeHelpListsEverySetting: serve --help shows the settings as an
// aligned table, on stdout, in the table's order: each setting once, with
// its default and its help, and nothing else.
func TestServeHelpListsEverySetting(t *testing.T) {
	p := newProgram(t, nil)
	out, err := p.run("", "serve", "--help")
	if err != nil {
		t.Fatalf("serve --help: %v", err)
	}
	_, list, ok := strings.Cut(out, "\n  VARIABLE ")
	if !ok {
		t.Fatalf("serve --help has no table of settings:\n%s", out)
	}
	header, rows, _ := strings.Cut("  VARIABLE "+list, "\n")
	// Every row starts its default and its meaning where the header's
	// DEFAULT and MEANING start.
	defCol, helpCol := strings.Index(header, "DEFAULT"), strings.Index(header, "MEANING")
	if defCol < 0 || helpCol < defCol {
		t.Fatalf("the header is %q", header)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimRight(rows, "\n"), "\n") {
		r := []rune(line)
		if len(r) <= helpCol || r[defCol-1] != ' ' || r[helpCol-1] != ' ' || r[helpCol] == ' ' {
			t.Errorf("row not aligned with the header:\n%s\n%s", header, line)
			continue
		}
		name := strings.TrimSpace(string(r[:defCol]))
		def := strings.TrimSpace(string(r[defCol:helpCol]))
		got = append(got, name+" | "+def+" | "+string(r[helpCol:]))
	}
	var want []string
	for _, s := range settings {
		want = append(want, s.name+" | "+s.def+" | "+s.help)
	}
	if !slices.Equal(got, want) {
		t.Errorf("serve --help lists (name | default | help):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSettingsTable: every setting has a unique name, a parser and a help
// line; a computed default says in words what it is.
func TestSettingsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range settings {
		if !regexp.MustCompile(`^AIRLOCK_[A-Z0-9_]+$`).MatchString(s.name) || seen[s.name] || s.parse == nil || s.help == "" ||
			strings.ContainsAny(s.help+s.def, "\t\n") {
			t.Errorf("setting %+v", s)
		}
		if s.defaultOf != nil && !strings.HasPrefix(s.def, "(") {
			t.Errorf("%s: a computed default is described in parentheses, not %q", s.name, s.def)
		}
		seen[s.name] = true
	}
}

// TestSettingsAreDocumented: the README's Settings section has a row for
// each setting of the table, in the same order, with the same default (a
// value in backquotes, "empty", or words for a computed one), and names no
// other AIRLOCK_* variable.
func TestSettingsAreDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Settings\n")
	if !ok {
		t.Fatal("the README has no Settings section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	byName := map[string]setting{}
	var names []string
	for _, s := range settings {
		byName[s.name] = s
		names = append(names, s.name)
	}
	var rows []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(AIRLOCK_[A-Z0-9_]+)` \\| ([^|]*) \\|").FindAllStringSubmatch(section, -1) {
		name, cell := m[1], strings.TrimSpace(m[2])
		rows = append(rows, name)
		s, ok := byName[name]
		if !ok {
			continue
		}
		literal := regexp.MustCompile("^`([^`]*)`$").FindStringSubmatch(cell)
		switch {
		case strings.HasPrefix(cell, "empty"):
			if s.def != "" || s.defaultOf != nil {
				t.Errorf("%s: the README's default is %q, the program's %q", name, cell, s.def)
			}
		case literal != nil:
			if s.def != literal[1] || s.defaultOf != nil {
				t.Errorf("%s: the README's default is %q, the program's %q", name, cell, s.def)
			}
		case s.defaultOf == nil:
			t.Errorf("%s: the README describes a computed default (%q), the program's is %q", name, cell, s.def)
		}
	}
	if !slices.Equal(rows, names) {
		t.Errorf("the README's rows:\n%v\nthe program's settings:\n%v", rows, names)
	}
	for _, n := range regexp.MustCompile(`AIRLOCK_[A-Z0-9_]+`).FindAllString(section, -1) {
		if _, ok := byName[n]; !ok {
			t.Errorf("the README's Settings section names %s, which is no setting", n)
		}
	}
}
