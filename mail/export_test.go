package mail

import (
	"context"
	"net"
)

// DialVia makes s connect to addr whatever host its URL names, so that a
// test can give the in-process server a name that is not a loopback one.
func DialVia(s *SMTP, addr string) {
	s.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}
