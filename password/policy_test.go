package password

import (
	"strings"
	"testing"
)

// TestBlocklistFileIsFoldedAndSorted: the blocklist is found by a binary
// search of the file as embedded, which holds only if every entry is
// folded as passwords are, the entries are sorted byte by byte and none is
// repeated; and every entry is then found, none of their neighbours is.
func TestBlocklistFileIsFoldedAndSorted(t *testing.T) {
	t.Parallel()
	entries := strings.Split(strings.TrimSuffix(blocklist, "\n"), "\n")
	if len(entries) < 10000 {
		t.Fatalf("%d entries", len(entries))
	}
	in := map[string]bool{}
	for _, e := range entries {
		in[e] = true
	}
	for i, e := range entries {
		if fold(e) != e {
			t.Fatalf("entry %d %q is not folded", i, e)
		}
		if i > 0 && entries[i-1] >= e {
			t.Fatalf("entries %d and %d out of order: %q, %q", i-1, i, entries[i-1], e)
		}
		for _, s := range []string{e, e + "!", e[:len(e)-1] + "\x00", e[:len(e)-1]} {
			if isBlocked(s) != in[s] {
				t.Fatalf("the search is wrong for %q", s)
			}
		}
	}
	for _, s := range []string{"", "!", "\xff\xff", "zzzzzzzzzzzzzzzzzz"} {
		if isBlocked(s) {
			t.Fatalf("%q found", s)
		}
	}
}
