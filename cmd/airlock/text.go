package main

import "unicode"

// unsafeRune reports whether r must never be shown as it is: a control
// character (C0, DEL, C1), a bidi control (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069), or a line or paragraph separator. Each
// can move the cursor, hide text or reorder what is displayed.
func unsafeRune(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Bidi_Control, r) || unicode.In(r, unicode.Zl, unicode.Zp)
}
