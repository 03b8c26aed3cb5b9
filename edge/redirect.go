package edge

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLocalPath bounds a return-to path.
const maxLocalPath = 2048

// LocalPath reports whether p may be the target of a redirect on this
// origin, such as the page to return to after signing in: a path with a
// single leading "/" and nothing that a browser could read as another
// origin. Refused: "//evil" and "/\evil" (browsers read a backslash as a
// slash), absolute URLs and scheme-relative ones, any backslash, control
// character or space (browsers drop tabs and newlines inside URLs, so
// "/\t/evil" would become "//evil"), a path that decodes to "//…"
// ("/%2F%2Fevil": one decoding away from another origin), invalid UTF-8,
// and more than 2048 bytes.
func LocalPath(p string) bool {
	if p == "" || len(p) > maxLocalPath || p[0] != '/' || !utf8.ValidString(p) {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	if strings.IndexFunc(p, func(r rune) bool { return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" && strings.HasPrefix(u.Path, "/") &&
		!strings.HasPrefix(u.Path, "//")
}
