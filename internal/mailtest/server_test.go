package mailtest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/airlockhq/airlock/internal/mailtest"
)

// send runs one conversation with go-smtp's client and returns the final
// reply's words or the error.
func send(t *testing.T, s *mailtest.Server, to string) (string, error) {
	t.Helper()
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("no-reply@example.com", nil); err != nil {
		return "", err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return "", err
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write([]byte("Subject: hi\r\n\r\nhello\r\n")); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, nil
}

func TestControls(t *testing.T) {
	t.Parallel()
	s := mailtest.Start(t)
	if words, err := send(t, s, "ada@example.com"); err != nil || words != "2.0.0 Ok: queued as 1" {
		t.Fatalf("final reply %q, %v", words, err)
	}
	s.RefuseRecipient("Bob@example.com")
	var refused *smtp.SMTPError
	if _, err := send(t, s, "bob@example.com"); !errors.As(err, &refused) || refused.Code != 550 || refused.Message != "no such user" {
		t.Fatalf("refused recipient: %v", err)
	}
	s.FailNext(1)
	if _, err := send(t, s, "ada@example.com"); !errors.As(err, &refused) || refused.Code != 451 {
		t.Fatalf("FailNext: %v", err)
	}
	s.DropNext(1)
	if _, err := send(t, s, "ada@example.com"); err == nil || errors.As(err, &refused) {
		t.Fatalf("DropNext: want a lost connection, got %v", err)
	}
	if words, err := send(t, s, "ada@example.com"); err != nil || words != "2.0.0 Ok: queued as 3" {
		t.Fatalf("after the drop: %q, %v", words, err)
	}
	// The dropped message was kept: the server took it, the client never heard.
	if got := s.Messages(); len(got) != 3 || got[1].QueueID != "2" {
		t.Fatalf("messages: %+v", got)
	}
	if h := s.Hellos(); len(h) != 5 || h[0] != "client.example.com" {
		t.Fatalf("hellos %q", h)
	}
	if !strings.Contains(string(s.Wire()), "RCPT TO:<bob@example.com>") {
		t.Fatalf("wire does not hold the commands:\n%s", s.Wire())
	}
}
