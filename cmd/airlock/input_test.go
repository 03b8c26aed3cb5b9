package main

import (
	"strings"
	"testing"
)

// TestUserAddRefusesBlankName: `airlock user add` refuses a name with no
// visible character, saying why, and creates nobody.
func TestUserAddRefusesBlankName(t *testing.T) {
	p := newProgram(t, nil)
	for _, args := range [][]string{
		{"--first-name", "\u3164"},
		{"--first-name", "Noor", "--last-name", "\u2800\u115f"},
	} {
		_, err := p.run("", append([]string{"user", "add", "--email", "noor@example.com"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "needs at least one visible character") {
			t.Errorf("user add %q: %v", args, err)
		}
	}
	out, err := p.run("", "user", "list")
	if err != nil || !strings.HasSuffix(out, "0 users\n") {
		t.Fatalf("user list after the refusals: %v\n%s", err, out)
	}
}
