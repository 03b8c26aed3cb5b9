package mail

import (
	"context"
	"time"

	"github.com/airlockhq/airlock"
)

// DevStore is where the dev mailbox keeps its emails: the database, so
// that they survive a restart (`airlock mail clear-dev` empties it).
type DevStore interface {
	InsertDevMail(ctx context.Context, m *airlock.DevMail) error
	ListDevMail(ctx context.Context, limit int) ([]*airlock.DevMail, error)
	DevMailByID(ctx context.Context, id int64) (*airlock.DevMail, error)
}

// DevMailbox keeps messages in the database instead of sending them. It
// exists only when no SMTP server is configured.
type DevMailbox struct {
	store DevStore
	now   func() time.Time
}

// NewDevMailbox keeps messages in store.
func NewDevMailbox(store DevStore, now func() time.Time) *DevMailbox {
	return &DevMailbox{store: store, now: now}
}

// DevMailboxReply is the reply in the Receipt of a message the dev
// mailbox kept.
const DevMailboxReply = "250 kept in the dev mailbox"

// devDomain is the domain of the dev mailbox's Message-IDs.
const devDomain = "dev-mailbox.invalid"

// NewMessageID returns a Message-ID in the dev mailbox's domain.
func (d *DevMailbox) NewMessageID() string { return newMessageID(devDomain) }

// Send keeps m, under its Message-ID (a new one when it has none).
func (d *DevMailbox) Send(ctx context.Context, m *Message) (Receipt, error) {
	id, _ := idOf(m, devDomain, d.now())
	dm := &airlock.DevMail{At: d.now(), To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, MessageID: id}
	if err := d.store.InsertDevMail(ctx, dm); err != nil {
		return Receipt{}, &DeliveryError{Err: err} // temporary: the outbox tries again
	}
	return Receipt{MessageID: id, Reply: DevMailboxReply}, nil
}

// Messages returns the last kept messages, newest first.
func (d *DevMailbox) Messages(ctx context.Context, limit int) ([]*airlock.DevMail, error) {
	return d.store.ListDevMail(ctx, limit)
}

// Message returns one kept message.
func (d *DevMailbox) Message(ctx context.Context, id int64) (*airlock.DevMail, error) {
	return d.store.DevMailByID(ctx, id)
}
