package mail_test

import (
	"net"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/airlockhq/airlock/internal/mailtest"
)

// TestConnectionReused: messages sent one after the other share one
// conversation with the relay (one connection, one greeting), each under
// its own MAIL FROM and with its own Message-ID.
func TestConnectionReused(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	s := newSMTP(t, srv.URL())
	ids := map[string]bool{}
	for range 3 {
		r, err := s.Send(t.Context(), message())
		if err != nil {
			t.Fatal(err)
		}
		ids[r.MessageID] = true
	}
	if n := len(srv.Wait(t, 3)); n != 3 || len(ids) != 3 {
		t.Fatalf("%d messages, %d Message-IDs, want 3 of each", n, len(ids))
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("%d connections for 3 messages, want 1", n)
	}
	if h := srv.Hellos(); len(h) != 1 {
		t.Errorf("greeted %d times, want once: %v", len(h), h)
	}
}

// TestKeptConnectionClosedByTheRelay: a relay that closes the connection
// after each message (as after an idle timeout) costs nothing but a new
// connection: the next message is refused at MAIL FROM, before anything of
// it was sent, and goes again on a fresh connection.
func TestKeptConnectionClosedByTheRelay(t *testing.T) {
	t.Parallel()
	addr, conns, received := oneMessagePerConnection(t)
	s := newSMTP(t, "smtp://"+addr)
	for i := range 3 {
		if _, err := s.Send(t.Context(), message()); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if received.Load() != 3 || conns.Load() != 3 {
		t.Fatalf("%d messages on %d connections, want 3 on 3", received.Load(), conns.Load())
	}
}

// oneMessagePerConnection is a relay that hangs up after each message.
func oneMessagePerConnection(t *testing.T) (addr string, conns, received *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns, received = new(atomic.Int32), new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				tp := textproto.NewConn(c)
				tp.PrintfLine("220 relay.test ESMTP")
				for {
					line, err := tp.ReadLine()
					if err != nil {
						return
					}
					switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
					case "EHLO", "HELO":
						tp.PrintfLine("250 relay.test")
					case "MAIL", "RCPT", "RSET", "NOOP":
						tp.PrintfLine("250 2.0.0 Ok")
					case "DATA":
						tp.PrintfLine("354 go ahead")
						if _, err := tp.ReadDotBytes(); err != nil {
							return
						}
						received.Add(1)
						tp.PrintfLine("250 2.0.0 Ok: queued")
						return // and hang up
					case "QUIT":
						tp.PrintfLine("221 bye")
						return
					default:
						tp.PrintfLine("502 5.5.2 what?")
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), conns, received
}
