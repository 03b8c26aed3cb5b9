package mail

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// TestCleanReply: a server's words are stored and shown as one safe line of
// at most MaxReplyBytes, whatever the server sent.
func TestCleanReply(t *testing.T) {
	t.Parallel()
	got := cleanReply("550 5.1.1 no\x00 such \x1b[31muser\r\nsee https://example.net/é"+strings.Repeat("é", 400), MaxReplyBytes)
	if !strings.HasPrefix(got, "550 5.1.1 no\uFFFD such \uFFFD[31muser see https://example.net/é") {
		t.Errorf("cleaned %q", got)
	}
	if len(got) > MaxReplyBytes || !utf8.ValidString(got) || !airlock.CheckText(got) {
		t.Errorf("%d bytes, valid %v: %q", len(got), utf8.ValidString(got), got)
	}
}
