package edge_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/edge"
)

// TestLogPath: what the logs show of a path is bounded whatever its
// length, holds no line break or control character, and never the query.
func TestLogPath(t *testing.T) {
	t.Parallel()
	long := httptest.NewRequest("GET", "/"+strings.Repeat("a", 10000)+"?token=secret", nil)
	if got := edge.LogPath(long); len(got) > 256 || strings.Contains(got, "secret") {
		t.Fatalf("%d bytes: %.80q", len(got), got)
	}
	forged := httptest.NewRequest("GET", "/x%0Alevel=ERROR%1B[31m", nil)
	if got := edge.LogPath(forged); strings.ContainsAny(got, "\n\x1b") {
		t.Fatalf("a forged line: %q", got)
	}
}
