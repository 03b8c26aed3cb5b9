package mail

import (
	"context"
	"sync"
	"time"
)

// DevMailbox keeps the last messages in memory instead of sending them. It
// exists only when no SMTP server is configured.
type DevMailbox struct {
	mu   sync.Mutex
	msgs []StoredMessage
	max  int
	now  func() time.Time
}

// StoredMessage is a message kept by the dev mailbox.
type StoredMessage struct {
	Message
	MessageID string
	At        time.Time
}

// NewDevMailbox keeps up to max messages.
func NewDevMailbox(max int, now func() time.Time) *DevMailbox {
	return &DevMailbox{max: max, now: now}
}

// DevMailboxReply is the reply in the Receipt of a message the dev
// mailbox kept.
const DevMailboxReply = "250 kept in the dev mailbox"

// Send keeps m, under a new Message-ID like every delivery attempt.
func (d *DevMailbox) Send(_ context.Context, m *Message) (Receipt, error) {
	id := "<" + newMessageID("dev-mailbox.invalid") + ">"
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, StoredMessage{Message: *m, MessageID: id, At: d.now()})
	if len(d.msgs) > d.max {
		d.msgs = d.msgs[len(d.msgs)-d.max:]
	}
	return Receipt{MessageID: id, Reply: DevMailboxReply}, nil
}

// Messages returns the kept messages, newest first.
func (d *DevMailbox) Messages() []StoredMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]StoredMessage, len(d.msgs))
	for i, m := range d.msgs {
		out[len(d.msgs)-1-i] = m
	}
	return out
}
