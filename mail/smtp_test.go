package mail_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	netmail "net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/mail"
)

const from = "Airlock <no-reply@accounts.example.com>"

// wellFormedID is a Message-ID as Send makes them: one pair of brackets,
// 128 random bits in base32, the domain of the sender.
var wellFormedID = regexp.MustCompile(`^<[a-z2-7]{26}@accounts\.example\.com>$`)

func message() *mail.Message {
	return &mail.Message{To: "ada@example.com", Subject: "Reset your password",
		Text: "Open the link.\n", HTML: "<p>Open the link.</p>"}
}

func newSMTP(t *testing.T, rawURL string) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(rawURL, from, mail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// deliveryError returns err as a *mail.DeliveryError or fails the test.
func deliveryError(t *testing.T, err error) *mail.DeliveryError {
	t.Helper()
	var d *mail.DeliveryError
	if !errors.As(err, &d) {
		t.Fatalf("want a *mail.DeliveryError, got %T %v", err, err)
	}
	return d
}

// header parses the received message with net/mail.
func header(t *testing.T, m mailtest.Message) netmail.Header {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header
}

// TestSendReceipt: the receipt carries the server's final reply and the
// Message-ID the recipient sees.
func TestSendReceipt(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	r, err := newSMTP(t, srv.URL()).Send(t.Context(), message())
	if err != nil {
		t.Fatal(err)
	}
	if r.Reply != "250 2.0.0 Ok: queued as 1" {
		t.Errorf("reply %q", r.Reply)
	}
	got := srv.Wait(t, 1)[0]
	if id := header(t, got).Get("Message-ID"); id != r.MessageID || !wellFormedID.MatchString(id) {
		t.Errorf("Message-ID header %q, receipt %q", id, r.MessageID)
	}
	if got.From != "no-reply@accounts.example.com" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
		t.Errorf("envelope %q → %q", got.From, got.To)
	}
}

// TestMessageIDPerAttempt: two attempts of one message get two different,
// well-formed Message-IDs on the sender's domain.
func TestMessageIDPerAttempt(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	s, m := newSMTP(t, srv.URL()), message()
	var receipts []mail.Receipt
	for range 2 {
		r, err := s.Send(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, r)
	}
	got := srv.Wait(t, 2)
	for i, g := range got {
		ids := header(t, g)["Message-Id"]
		if len(ids) != 1 || ids[0] != receipts[i].MessageID || !wellFormedID.MatchString(ids[0]) {
			t.Errorf("attempt %d: Message-ID %q, receipt %q", i+1, ids, receipts[i].MessageID)
		}
	}
	if receipts[0].MessageID == receipts[1].MessageID {
		t.Errorf("a retry reused the Message-ID %s", receipts[0].MessageID)
	}
}

// TestSendHeaders: robots are told the message is automatic, no mailer is
// named, and the message has a Date and text and HTML alternatives.
func TestSendHeaders(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	if _, err := newSMTP(t, srv.URL()).Send(t.Context(), message()); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1)[0]
	h := header(t, got)
	if v := h.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted %q", v)
	}
	for _, name := range []string{"X-Mailer", "User-Agent"} {
		if v, ok := h[textproto.CanonicalMIMEHeaderKey(name)]; ok {
			t.Errorf("%s: %q", name, v)
		}
	}
	if d, err := h.Date(); err != nil || time.Since(d).Abs() > time.Minute {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "multipart/alternative;") {
		t.Errorf("Content-Type %q", h.Get("Content-Type"))
	}
	parts := got.Parts()
	if strings.TrimSpace(parts["text/plain"]) != "Open the link." || !strings.Contains(parts["text/html"], "<p>Open the link.</p>") {
		t.Errorf("parts %q", parts)
	}
	if v := got.Header("From"); v != `"Airlock" <no-reply@accounts.example.com>` && v != from {
		t.Errorf("From %q", v)
	}
}

// TestSendFailures: each way a delivery fails says whether a retry may
// help, with the server's code and words when it replied.
func TestSendFailures(t *testing.T) {
	t.Parallel()
	t.Run("recipient refused at RCPT is permanent", func(t *testing.T) {
		srv := mailtest.Start(t)
		srv.RefuseRecipient("ada@example.com")
		_, err := newSMTP(t, srv.URL()).Send(t.Context(), message())
		d := deliveryError(t, err)
		if !d.Permanent || d.Code != 550 || d.Reply != "550 5.1.1 no such user" {
			t.Fatalf("%+v", d)
		}
		var reply *textproto.Error
		if !errors.As(err, &reply) || reply.Code != 550 {
			t.Errorf("the server's reply does not unwrap: %v", err)
		}
		if !strings.Contains(err.Error(), "permanent") || !strings.Contains(err.Error(), "RCPT TO") || !strings.Contains(err.Error(), "no such user") {
			t.Errorf("error %q", err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("%d messages delivered", n)
		}
	})
	t.Run("451 at DATA is temporary", func(t *testing.T) {
		srv := mailtest.Start(t)
		srv.FailNext(1)
		s := newSMTP(t, srv.URL())
		_, err := s.Send(t.Context(), message())
		d := deliveryError(t, err)
		if d.Permanent || d.Code != 451 || d.Reply != "451 4.3.0 try again later" || !strings.Contains(err.Error(), "temporary") {
			t.Fatalf("%+v: %v", d, err)
		}
		if _, err := s.Send(t.Context(), message()); err != nil {
			t.Fatalf("the retry: %v", err)
		}
	})
	t.Run("connection lost after DATA is temporary and uncertain", func(t *testing.T) {
		srv := mailtest.Start(t)
		srv.DropNext(1)
		_, err := newSMTP(t, srv.URL()).Send(t.Context(), message())
		d := deliveryError(t, err)
		if d.Permanent || d.Code != 0 || d.Reply != "" || !strings.Contains(err.Error(), "uncertain") {
			t.Fatalf("%+v: %v", d, err)
		}
	})
	t.Run("address the shared parser refuses is permanent and never sent", func(t *testing.T) {
		srv := mailtest.Start(t)
		m := message()
		m.To = "ada@example.com\r\nBcc: eve@example.net"
		_, err := newSMTP(t, srv.URL()).Send(t.Context(), m)
		d := deliveryError(t, err)
		if !d.Permanent || d.Code != 0 || strings.ContainsAny(err.Error(), "\r\n") {
			t.Fatalf("%+v: %q", d, err)
		}
		if n := srv.Connections(); n != 0 {
			t.Errorf("the server was contacted %d times", n)
		}
	})
	t.Run("no server is temporary", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = newSMTP(t, "smtp://"+addr).Send(t.Context(), message())
		if d := deliveryError(t, err); d.Permanent || d.Code != 0 {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("silent server times out, temporary", func(t *testing.T) {
		// A server that accepts and never greets.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err = newSMTP(t, "smtp://"+ln.Addr().String()).Send(ctx, message())
		if d := deliveryError(t, err); d.Permanent || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%+v: %v", d, err)
		}
	})
}

func TestDevMailboxReceipt(t *testing.T) {
	t.Parallel()
	box := mail.NewDevMailbox(testutil.OpenStore(t), time.Now)
	var ids []string
	for range 2 {
		r, err := box.Send(t.Context(), message())
		if err != nil || r.Reply != "250 kept in the dev mailbox" || !regexp.MustCompile(`^<[a-z2-7]{26}@[a-z.-]+>$`).MatchString(r.MessageID) {
			t.Fatalf("receipt %+v, %v", r, err)
		}
		ids = append(ids, r.MessageID)
	}
	if ids[0] == ids[1] {
		t.Error("two messages share a Message-ID")
	}
	if got, _ := box.Messages(t.Context(), 2); got[0].MessageID != ids[1] {
		t.Errorf("kept %q, receipt %q", got[0].MessageID, ids[1])
	}
}

// TestSlowRelayAnswersTheEnd: a relay may take its time over the end of a
// message (scanning it; RFC 5321 allows 10 minutes): the answer is waited
// for, past the conversation's own limit, so the delivery is certain and
// the message goes once. A relay slow before the message still gives up at
// the conversation's limit, with nothing sent. Not parallel: it shortens
// the package's time limits.
func TestSlowRelayAnswersTheEnd(t *testing.T) {
	defer mail.SetTimeouts(300*time.Millisecond, 10*time.Second)()
	srv := mailtest.Start(t)
	srv.SlowEnd(time.Second)
	r, err := newSMTP(t, srv.URL()).Send(t.Context(), message())
	if err != nil || !strings.HasPrefix(r.Reply, "250 ") {
		t.Fatalf("a relay slow to answer the end of the message: %+v %v", r, err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	slow := mailtest.Start(t)
	slow.Delay(time.Second)
	_, err = newSMTP(t, slow.URL()).Send(t.Context(), message())
	if d := deliveryError(t, err); d.Permanent || strings.Contains(d.Error(), "uncertain") || len(slow.Messages()) != 0 {
		t.Fatalf("a relay slow before the message: %v, %d kept", err, len(slow.Messages()))
	}
}
