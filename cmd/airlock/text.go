package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// terminalText returns s ready for an operator's terminal. What users typed
// (an email at sign-in, a name, a user agent) could otherwise carry escape
// sequences that rewrite the screen or the clipboard, so every unsafe rune
// is written as an escape (\x1b, \u202e), every byte of invalid UTF-8 as
// \xNN (an 8-bit terminal reads 0x9b as CSI), and a backslash as \\, so that
// what is shown is unambiguous.
func terminalText(s string) string {
	clean := true
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || airlock.UnsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case airlock.UnsafeRune(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case airlock.UnsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// printRow writes one line of tab-separated cells, each through
// terminalText: no field printed by a command escapes it.
func printRow(w io.Writer, cells ...string) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(w, "\t")
		}
		io.WriteString(w, terminalText(c))
	}
	io.WriteString(w, "\n")
}

// plural writes a count with its noun: "1 user", "2 users", "0 users".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
