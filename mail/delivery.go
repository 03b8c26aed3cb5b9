package mail

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

// Receipt records a delivery the mail server accepted.
type Receipt struct {
	// MessageID is the Message-ID header of this attempt, with its angle
	// brackets: "<…@accounts.example.com>".
	MessageID string
	// Reply is the server's final reply to DATA, code included, cleaned
	// like DeliveryError.Reply: "250 2.0.0 Ok: queued as 1234".
	Reply string
}

// DeliveryError is why a delivery attempt failed, and whether trying again
// may help.
type DeliveryError struct {
	// Permanent is true when the server refused the message for good (a
	// 5xx reply at any stage) or Airlock will never send it (a recipient
	// address the shared parser refuses): retrying cannot help.
	Permanent bool
	// Code is the server's SMTP reply code, or 0 when it did not reply
	// (network error, timeout, refusal before the conversation).
	Code int
	// Reply is the server's reply, code included, cleaned of control
	// characters and cut to MaxReplyBytes: safe to store and to show.
	Reply string
	// Err is the failure in full, with the stage of the conversation.
	Err error

	stage string // of the conversation, when the server replied
}

// MaxReplyBytes is the longest server reply a Receipt or a DeliveryError
// holds.
const MaxReplyBytes = 300

// Error says whether the failure is permanent or temporary, and why. It is
// cleaned like Reply, so that it can be logged as it is.
func (e *DeliveryError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	if e.Reply != "" {
		return "mail delivery failed (" + kind + "): " + e.stage + ": the server replied " + e.Reply
	}
	return "mail delivery failed (" + kind + "): " + cleanReply(e.Err.Error(), 1000)
}

// Unwrap returns the underlying error (a *textproto.Error when the server
// replied).
func (e *DeliveryError) Unwrap() error { return e.Err }

// permanent makes a DeliveryError for a refusal that no retry can fix.
func permanent(format string, a ...any) *DeliveryError {
	return &DeliveryError{Permanent: true, Err: fmt.Errorf(format, a...)}
}

// relayProblem makes a DeliveryError for a problem with the relay or its
// settings (no STARTTLS for a password, no usable AUTH). It is temporary:
// once the operator fixes the relay or AIRLOCK_SMTP_URL, the emails waiting
// go out; nothing accepted is lost to a configuration mistake.
func relayProblem(format string, a ...any) *DeliveryError {
	return &DeliveryError{Err: fmt.Errorf(format, a...)}
}

// replyError classifies a failure at stage of the conversation. A 5xx reply
// about this message (to RCPT TO, DATA or its end) is permanent: no retry
// will change the recipient's server's mind. A 5xx about the relay itself
// (greeting, EHLO, AUTH, MAIL FROM: a wrong password, a sender the relay
// does not allow) is the operator's to fix, so it is temporary, like a 4xx
// reply, a network error or a timeout.
func replyError(stage string, err error) *DeliveryError {
	d := &DeliveryError{Err: fmt.Errorf("%s: %w", stage, err), stage: stage}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		d.Code = reply.Code
		d.Reply = cleanReply(fmt.Sprintf("%03d %s", reply.Code, reply.Msg), MaxReplyBytes)
		aboutMessage := stage == "RCPT TO" || stage == "DATA" || stage == "end of DATA"
		d.Permanent = aboutMessage && reply.Code >= 500 && reply.Code <= 599
	}
	return d
}

// cleanReply makes a server's words safe to store, log and show: the lines
// of a multi-line reply are joined with spaces, control characters become
// U+FFFD, and the text is cut to max bytes on a character boundary.
func cleanReply(s string, max int) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\r\n", "\n")), " ")
	return airlock.CleanText(s, max)
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newMessageID returns a Message-ID with its angle brackets: 128 random
// bits, "@", domain. An email keeps its ID from one attempt to the next
// (Message.ID), so that a second delivery is the same message.
func newMessageID(domain string) string {
	var b [16]byte
	rand.Read(b[:]) // never fails since Go 1.24: it crashes the program instead
	return "<" + strings.ToLower(idEncoding.EncodeToString(b[:])) + "@" + domain + ">"
}

// idOf returns m's Message-ID, or a new one for domain, and its date.
func idOf(m *Message, domain string, now time.Time) (string, time.Time) {
	id, date := m.ID, m.Date
	if id == "" {
		id = newMessageID(domain)
	}
	if date.IsZero() {
		date = now
	}
	return id, date
}
