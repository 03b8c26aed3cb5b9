package edge

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
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

// LogPath is a request's path as the logs show it: never its query string
// (it may hold a reset token), cleaned of what could forge a log line, and
// cut at 256 bytes, since a client chooses how long it is.
func LogPath(r *http.Request) string { return airlock.CleanText(r.URL.Path, 256) }
