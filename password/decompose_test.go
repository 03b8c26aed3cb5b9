package password

import (
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TestMaxDecomposition: no code point decomposes into more than
// maxDecomposition code points, so MaxInputBytes holds every way of typing
// a password of MaxLength code points.
func TestMaxDecomposition(t *testing.T) {
	t.Parallel()
	most := 0
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		if n := utf8.RuneCountInString(norm.NFD.String(string(r))); n > most {
			most = n
		}
	}
	if most != maxDecomposition {
		t.Fatalf("the longest canonical decomposition has %d code points, maxDecomposition says %d", most, maxDecomposition)
	}
}
