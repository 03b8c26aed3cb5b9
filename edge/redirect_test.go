package edge

import (
	"strings"
	"testing"
)

// TestLocalPath: only paths of this origin come back from a return-to;
// every way of naming another origin is refused.
func TestLocalPath(t *testing.T) {
	t.Parallel()
	for _, p := range []string{
		"/admin/audit?user=ada%40example.com",
		"/admin/users/0b9c?m=saved",
		"/account",
		"/",
		"/admin/audit?next=//evil.example",
	} {
		if !LocalPath(p) {
			t.Errorf("%q refused", p)
		}
	}
	for _, p := range []string{
		"",
		"//evil.example",
		"//evil.example/path",
		"/\\evil.example",
		"\\\\evil.example",
		"/\\/evil.example",
		"https://evil.example/",
		"http:/evil.example",
		"javascript:alert(1)",
		"evil.example",
		"admin/users",
		"/\t/evil.example",
		"/\n/evil.example",
		"/\r/evil.example",
		" /admin",
		"/admin users",
		"/admin\x00",
		"/admin\xff",
		"/admin\u2028",
		"/" + strings.Repeat("a", 2048),
		"///evil.example",
		"/%2F%2Fevil.example", // a path on this origin, but one decoding away from another
	} {
		if LocalPath(p) {
			t.Errorf("%q accepted", p)
		}
	}
}
