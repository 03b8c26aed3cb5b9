package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// commandsIn reads the commands listed under "Commands:" in a usage text:
// "  user add           create a user" gives "user add".
func commandsIn(usage string) []string {
	_, list, _ := strings.Cut(usage, "Commands:\n")
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		name, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		names = append(names, strings.TrimSpace(strings.Split(name, " [")[0]))
	}
	return names
}

var flagInSynopsisRE = regexp.MustCompile(`--[a-z][a-z-]*`)

// TestHelpOnEveryCommand walks every command that `airlock --help` lists,
// and the groups they belong to: each answers --help, -h and "airlock help
// COMMAND" with its usage on stdout, exit 0, nothing on stderr, and without
// touching the database. Each usage names the command and explains every
// flag of its synopsis.
func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	top, err := p.run("", "--help")
	if err != nil || !strings.HasPrefix(top, "usage: airlock COMMAND") {
		t.Fatalf("airlock --help: %v\n%s", err, top)
	}
	for _, args := range [][]string{{"help"}, {"-h"}} {
		if out, err := p.run("", args...); err != nil || out != top {
			t.Fatalf("airlock %s: %v\n%s", args[0], err, out)
		}
	}
	commands := commandsIn(top)
	for _, want := range []string{"serve", "migrate", "user add", "user set-password", "user list", "audit", "mail list", "mail retry", "mail clear-dev", "version"} {
		if !slices.Contains(commands, want) {
			t.Fatalf("airlock --help does not list %q: %v", want, commands)
		}
	}
	// The groups, "user" and "mail", answer too and list their subcommands,
	// each of which the top help lists as well (it forgot "user import").
	for _, c := range commands {
		group, sub, ok := strings.Cut(c, " ")
		if !ok || slices.Contains(commands, group) {
			continue
		}
		commands = append(commands, group)
		out, err := p.run("", group, "--help")
		if err != nil || !strings.HasPrefix(out, "usage: airlock "+group+" COMMAND") || !slices.Contains(commandsIn(out), sub) {
			t.Errorf("airlock %s --help: %v\n%s", group, err, out)
		}
		for _, s := range commandsIn(out) {
			if !slices.Contains(commands, group+" "+s) {
				t.Errorf("airlock --help does not list %q, which airlock %s --help does", group+" "+s, group)
			}
		}
	}
	for _, c := range commands {
		if c == "help" {
			continue
		}
		words := strings.Fields(c)
		var usage string
		for _, args := range [][]string{append(slices.Clone(words), "--help"), append(slices.Clone(words), "-h"), append([]string{"help"}, words...)} {
			before := p.logs.String()
			out, err := p.run("", args...)
			if err != nil {
				t.Errorf("airlock %s: %v (exit %d), want exit 0", strings.Join(args, " "), err, exitCode(err))
				continue
			}
			if stderr := strings.TrimPrefix(p.logs.String(), before); stderr != "" {
				t.Errorf("airlock %s wrote on stderr:\n%s", strings.Join(args, " "), stderr)
			}
			if !strings.HasPrefix(out, "usage: airlock "+c) || strings.Contains(out, "help requested") {
				t.Errorf("airlock %s:\n%s", strings.Join(args, " "), out)
			}
			if usage == "" {
				usage = out
			} else if out != usage {
				t.Errorf("airlock %s differs from %s --help", strings.Join(args, " "), c)
			}
		}
		// Every flag of the synopsis is explained on a line of its own.
		synopsis, _, _ := strings.Cut(usage, "\n\n")
		for _, flag := range flagInSynopsisRE.FindAllString(synopsis, -1) {
			if !regexp.MustCompile(`(?m)^  ` + flag + `( [^ ]+)?  +[a-z]\S* \S+`).MatchString(usage) {
				t.Errorf("airlock %s --help does not explain %s:\n%s", c, flag, usage)
			}
		}
	}
	// serve says where its settings are documented, and names them.
	out, _ := p.run("", "serve", "--help")
	for _, want := range []string{"README", "Settings", "AIRLOCK_DATABASE_URL", "AIRLOCK_RESET_TOKEN_TTL"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help does not mention %s:\n%s", want, out)
		}
	}
	// Asking for help touched no database.
	path := strings.TrimPrefix(p.env["AIRLOCK_DATABASE_URL"], "sqlite:")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--help created the database: %v", err)
	}
}

// TestUsageMistakes: a mistake exits 2 with the usage on stderr, never on
// stdout.
func TestUsageMistakes(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	for _, args := range [][]string{{}, {"frobnicate"}, {"user"}, {"user", "frobnicate"}, {"user", "add", "--bogus"},
		{"serve", "--bogus"}, {"migrate", "extra"}, {"version", "extra"}, {"audit", "--limit", "x"},
		{"mail"}, {"mail", "retry"}, {"mail", "clear-dev", "--bogus"}, {"help", "frobnicate"}} {
		before := p.logs.String()
		out, err := p.run("", args...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("airlock %s: %v, want a usage error (exit 2)", strings.Join(args, " "), err)
		}
		if out != "" || !strings.Contains(strings.TrimPrefix(p.logs.String(), before), "usage: airlock") {
			t.Errorf("airlock %s: the usage is not on stderr alone; stdout:\n%s", strings.Join(args, " "), out)
		}
	}
	// An argument serve does not take stops it (after 5 s, one it ignored).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"serve", "extra"}, p.getenv, p.environ, strings.NewReader(""), &out, p.logs); err == nil || exitCode(err) != 2 {
		t.Errorf("airlock serve extra: %v, want a usage error (exit 2)", err)
	}
}

// TestREADMERunsWhatItBuilds: the README's commands work on a fresh clone.
// It builds ./airlock, then every command it shows is that binary (or go
// run), never a bare "airlock" nobody installed; it lists every command of
// airlock --help; and it points at no file outside the repository.
func TestREADMERunsWhatItBuilds(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	if !strings.Contains(readme, "\ngo run ./cmd/airlock serve ") || !strings.Contains(readme, "\ngo test -race -timeout 20m ./...") {
		t.Error("the README's first commands are not running Airlock and its tests")
	}
	if !strings.Contains(readme, "\ngo build -o airlock ./cmd/airlock\n") {
		t.Error("the README does not build ./airlock")
	}
	bare := regexp.MustCompile("(?m)(^|[`(\\s|]|\\| )airlock (serve|migrate|user|audit|mail|version|help)\\b")
	for _, m := range bare.FindAllString(readme, -1) {
		t.Errorf("the README runs a bare airlock: %q", m)
	}
	if m := regexp.MustCompile(`\.\./[A-Za-z]`).FindString(readme); m != "" {
		t.Errorf("the README refers to a file outside the repository: %q", m)
	}
	p := newProgram(t, nil)
	top, _ := p.run("", "help")
	for _, c := range commandsIn(top) {
		if c != "help" && !strings.Contains(readme, "\n./airlock "+c) {
			t.Errorf("the README's commands do not show ./airlock %s", c)
		}
	}
}
