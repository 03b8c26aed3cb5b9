package airlock

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is the one place for input hygiene: what an address must be for
// the mailer to send to it, what a name may hold, and how any text a client
// sent is made safe to store and to log.

// MaxEmailBytes is the longest email address accepted (RFC 5321 path limit).
const MaxEmailBytes = 254

// maxLocalPartBytes is RFC 5321's limit on the part before the @.
const maxLocalPartBytes = 64

// invalidEmail refuses an address: key names the message for the pages,
// msg says it in English.
func invalidEmail(key string) *Error {
	return &Error{Code: CodeInvalid, Field: "email", Key: key}
}

// CheckEmail validates an address typed by a person or a client. It accepts
// exactly what the mailer can send to: a dot-atom local part of at most 64
// bytes (RFC 5322 atext, no leading, trailing or doubled dot), an ASCII
// domain of letter-digit-hyphen labels (an internationalised domain in its
// xn-- form), at most 254 bytes in all. Surrounding spaces are ignored.
// Anything else would be accepted now and fail at every delivery later.
func CheckEmail(s string) error {
	if strings.IndexFunc(s, func(r rune) bool { return r != ' ' && (unicode.IsSpace(r) || UnsafeRune(r)) }) >= 0 {
		// One line, even at the ends (CR and LF are how headers are smuggled),
		// and no other space than the space bar's, trimmed.
		return invalidEmail("error.email.one")
	}
	s = strings.Trim(s, " ")
	switch {
	case s == "":
		return invalidEmail("error.email.empty")
	case len(s) > MaxEmailBytes:
		return invalidEmail("error.email.too_long")
	case !utf8.ValidString(s):
		return invalidEmail("error.email.not_text")
	case strings.ContainsAny(s, "\r\n\x00,;<> \t\"()[]\\:"):
		// Separators and line breaks could smuggle a second recipient or header.
		return invalidEmail("error.email.one")
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || strings.Contains(domain, "@") || !dotAtom(local) || !Hostname(domain) {
		return invalidEmail("error.email.invalid")
	}
	if len(local) > maxLocalPartBytes {
		return invalidEmail("error.email.local_too_long")
	}
	return nil
}

// dotAtom reports whether s is an RFC 5322 dot-atom: atoms of atext
// separated by single dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '.' && !isAtext(c) {
			return false
		}
	}
	return true
}

func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// Hostname reports whether s is a DNS host name the mailer can use (an
// address's domain, the SMTP HELO name): dot-separated labels of 1–63
// letters, digits and hyphens, not starting or ending with a hyphen, at
// most 253 bytes, with a last label that is not all digits (no IP
// addresses), and at least two labels unless it is localhost.
func Hostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 && !strings.EqualFold(s, "localhost") {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// UnsafeRune reports whether r may not appear in a name or in text shown to
// people: control characters (C0, DEL, C1), bidirectional controls (which
// reorder what follows, as in "invoice\u202Efdp.exe") and the line and
// paragraph separators.
func UnsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', '\u202a' <= r && r <= '\u202e', '\u2066' <= r && r <= '\u2069':
		return true
	case r == '\u2028', r == '\u2029':
		return true
	case r == '\u200b', '\u2060' <= r && r <= '\u2064', r == '\ufeff':
		// Invisible: zero-width space, word joiner, invisible operators, BOM
		// (they make two names or addresses look the same).
		return true
	}
	return false
}

// Visible reports whether s holds at least one character a reader sees: a
// letter, digit, punctuation mark or symbol that is not blank. A name made
// only of blanks (spaces, the Hangul fillers, the blank Braille pattern,
// default-ignorable code points, combining marks with nothing to sit on)
// shows as nothing, or as a gap, on a page, in an email or in the audit
// log, and lets one account pass for another or for no one.
func Visible(s string) bool {
	return strings.IndexFunc(s, visibleRune) >= 0
}

func visibleRune(r rune) bool {
	switch {
	case !unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S):
		// Spaces, controls, format characters (default-ignorable), marks,
		// private use and unassigned code points.
		return false
	case unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r):
		// The Hangul fillers U+115F, U+1160, U+3164 and U+FFA0: letters by
		// category, drawn as nothing.
		return false
	case r == '\u2800', r == '\U0001D159':
		// BRAILLE PATTERN BLANK and MUSICAL SYMBOL NULL NOTEHEAD: symbols
		// drawn as blank space.
		return false
	}
	return true
}

// CheckText reports whether s is valid UTF-8 without any unsafe rune.
func CheckText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, UnsafeRune) < 0
}

// CleanText makes text a client sent safe to store and to log: invalid
// UTF-8 and unsafe runes (NUL included, which PostgreSQL refuses in text)
// become U+FFFD, and the result is cut to at most maxBytes on a character
// boundary. No client input can then make a write fail.
func CleanText(s string, maxBytes int) string {
	if len(s) <= maxBytes && CheckText(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				r = utf8.RuneError // an invalid byte
			}
		}
		if UnsafeRune(r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > maxBytes {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
