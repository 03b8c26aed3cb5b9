package mail

import (
	"context"
	"net"
	"time"
)

// DialVia makes s connect to addr whatever host its URL names, so that a
// test can give the in-process server a name that is not a loopback one.
func DialVia(s *SMTP, addr string) {
	s.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

// SetTimeouts shortens the conversation's and the end of DATA's time
// limits for a test, which must not run in parallel with others; it
// returns a function that sets them back.
func SetTimeouts(conversation, dataEnd time.Duration) (restore func()) {
	c, d := conversationTimeout, dataEndTimeout
	conversationTimeout, dataEndTimeout = conversation, dataEnd
	return func() { conversationTimeout, dataEndTimeout = c, d }
}
