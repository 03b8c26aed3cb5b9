package airlock

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 300, "plain"},
		{strings.Repeat("x", 299) + "é", 300, strings.Repeat("x", 299)}, // never cut inside a character
		{"bad\xffbyte", 300, "bad\uFFFDbyte"},
		{"nul\x00", 300, "nul\uFFFD"},
		{"esc\x1b[2J", 300, "esc\uFFFD[2J"},
		{"rlo\u202eexe", 300, "rlo\uFFFDexe"},
		{"c1\u009b", 300, "c1\uFFFD"},
		{"é", 1, ""},
	} {
		got := CleanText(c.in, c.max)
		if got != c.want || !utf8.ValidString(got) || len(got) > c.max {
			t.Errorf("CleanText(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// FuzzCheckEmail: whatever CheckEmail accepts is one ASCII address the
// mailer can send to, without a byte that could start a header or a
// second recipient.
func FuzzCheckEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "a..b@example.com", "a@b@c.com", "a\r\nBcc: b@c.com", "\u212aim@example.com",
		strings.Repeat("a", 64) + "@example.com", "a@localhost", "x@xn--e-ufa.com", " a@b.co ", "a@1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckEmail(s) != nil {
			return
		}
		s = strings.TrimSpace(s)
		local, domain, ok := strings.Cut(s, "@")
		if !ok || len(s) > MaxEmailBytes || len(local) > 64 || local == "" || domain == "" || strings.Contains(domain, "@") {
			t.Fatalf("accepted %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] >= 0x7f || strings.IndexByte(",;<>\"()[]\\:", s[i]) >= 0 {
				t.Fatalf("accepted %q with byte %#x", s, s[i])
			}
		}
	})
}

// FuzzCleanText: the result is always valid UTF-8, safe, and short enough.
func FuzzCleanText(f *testing.F) {
	f.Add("abc\xff\x00\u202e", 10)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1000 {
			return
		}
		got := CleanText(s, n)
		if !CheckText(got) || len(got) > n {
			t.Fatalf("CleanText(%q, %d) = %q", s, n, got)
		}
	})
}
