package edge

import (
	"strings"
	"unicode/utf8"
)

// badText says what makes s unfit to be stored or compared as text, or ""
// when it is fine. PostgreSQL refuses NUL in text (a 500 instead of a 400)
// and C libraries cut strings at it; invalid UTF-8 is refused by
// PostgreSQL and silently rewritten by encoding/json, so two layers would
// see two different strings.
func badText(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "a NUL character"
	case !utf8.ValidString(s):
		return "bytes that are not valid UTF-8"
	}
	return ""
}
