package account

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/mail"
)

// outgoing is one email of a batch on its way out.
type outgoing struct {
	job        *airlock.Job
	ctx        context.Context // the email's own: cancelled if its lease is lost
	p          mailPayload
	drop       bool // no longer wanted (deleted)
	unreadable bool // its payload: dropped too
	u          *airlock.User
	link       string
	msg        *mail.Message
	receipt    mail.Receipt
	sendErr    error // the sender's
	err        error // rendering or recording
	lost       bool  // recorded sent after its lease was lost
}

// runMailBatch delivers claimed emails together, each with the outcome it
// would have had alone (dropped, sent, deferred or failed): one
// transaction reads their users and mints their links (the newer link of a
// user killing the older, in order), the messages go out (the dev mailbox
// keeps them all in one transaction; an SMTP relay gets them
// deliveryParallelism at a time, one user's in order), and one transaction
// records them sent. Under a flood this is a few commits per batch instead
// of three per email. If the first transaction fails, nothing was written
// and nothing sent: runMailBatch returns its error and the caller sends
// the emails one at a time. Later failures are per email, recorded for a
// retry as alone; report gets what could not be recorded.
func (s *Service) runMailBatch(ctx context.Context, held *leases, jobs []*airlock.Job, report func(error)) error {
	if ctx.Err() != nil {
		return nil // shutting down: not started, handed back
	}
	// The batch goes on through a shutdown, as one email would; its own
	// time limit still applies.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
	defer cancel()
	var out []*outgoing
	for _, job := range jobs {
		jctx, jcancel := context.WithCancel(bctx)
		defer jcancel()
		if held.start(job.ID, jcancel) { // else another worker has it now
			out = append(out, &outgoing{job: job, ctx: jctx})
		}
	}
	if len(out) == 0 {
		return nil
	}
	if err := s.mintLinks(bctx, out); err != nil {
		for _, o := range out {
			held.finish(o.job.ID, false)
		}
		return err
	}
	var send []*outgoing
	for _, o := range out {
		if o.drop {
			continue
		}
		if o.msg, o.err = s.renderMail(o.p, o.u, o.link); o.err == nil {
			send = append(send, o)
		}
	}
	s.sendAll(bctx, send)
	s.recordSent(bctx, send)
	for _, o := range out {
		held.finish(o.job.ID, true)
		var err error
		switch {
		case o.unreadable:
			s.log.Error("unreadable outbox entry dropped", "job", o.job.ID)
		case o.drop:
			s.log.Info("mail dropped", "job", o.job.ID, "kind", o.p.Kind)
		case o.sendErr != nil:
			err = s.deliveryFailed(bctx, o.job, o.p, o.sendErr) // nil: failed for good, and recorded
		case o.err != nil:
			err = o.err
		default:
			s.log.Info("mail sent", "job", o.job.ID, "kind", o.p.Kind, "attempt", o.job.Attempts, "reply", o.receipt.Reply)
			if o.lost {
				s.log.Warn("mail sent after its lease was lost: it may arrive twice", "job", o.job.ID)
			}
		}
		if err != nil {
			if err := s.retryLater(ctx, o.job, err); err != nil {
				report(err)
			}
		}
	}
	return nil
}

// mintLinks reads the users of a batch of emails and mints their links in
// one transaction, and deletes the emails no longer wanted.
func (s *Service) mintLinks(ctx context.Context, out []*outgoing) error {
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.lockUsers(ctx, tx, out); err != nil {
			return err
		}
		var dropped []int64
		for _, o := range out {
			o.drop, o.unreadable, o.u, o.link = false, false, nil, ""
			if json.Unmarshal(o.job.Payload, &o.p) != nil {
				o.drop, o.unreadable = true, true
			} else {
				var err error
				o.u, o.link, err = s.mintLink(ctx, tx, o.job, o.p, now)
				if errors.Is(err, errDropMail) {
					o.drop = true
				} else if err != nil {
					return err
				}
			}
			if o.drop {
				dropped = append(dropped, o.job.ID)
			}
		}
		return tx.DeleteJobs(ctx, dropped)
	})
}

// lockUsers locks, on PostgreSQL, the users of a batch of emails in the
// order of their ids before any link is minted: two nodes' batches sharing
// users then queue one behind the other instead of waiting for each other
// in a cycle (a deadlock). SQLite's one writer needs no such care.
func (s *Service) lockUsers(ctx context.Context, tx airlock.Tx, out []*outgoing) error {
	if s.forgotFlushers() == 1 {
		return nil
	}
	ids := make([]string, 0, len(out))
	for _, o := range out {
		ids = append(ids, o.job.UserID)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if _, err := tx.UserByIDForUpdate(ctx, id); err != nil && !errors.Is(err, airlock.ErrNotFound) {
			return err
		}
	}
	return nil
}

// sendAll hands the rendered messages to the sender: all at once to one
// that takes a batch, else deliveryParallelism at a time, one user's in
// order, each under its own context (a lost lease stops it).
func (s *Service) sendAll(ctx context.Context, send []*outgoing) {
	if bs, ok := s.sender.(mail.BatchSender); ok && len(send) > 0 {
		msgs := make([]*mail.Message, len(send))
		for i, o := range send {
			msgs[i] = o.msg
		}
		receipts, errs := bs.SendAll(ctx, msgs)
		for i, o := range send {
			o.receipt, o.sendErr = receipts[i], errs[i]
		}
		return
	}
	inUserOrder(send, func(o *outgoing) string { return o.job.UserID }, func(o *outgoing) {
		o.receipt, o.sendErr = s.sender.Send(o.ctx, o.msg)
	})
}

// recordSent marks the sent emails of send in one transaction (one at a
// time if it fails). An email sent but not recorded keeps its error: it is
// retried, and may arrive twice, as alone.
func (s *Service) recordSent(ctx context.Context, send []*outgoing) {
	var sent []*outgoing
	for _, o := range send {
		if o.sendErr == nil {
			sent = append(sent, o)
		}
	}
	if len(sent) == 0 {
		return
	}
	mark := func(q interface {
		MarkEmailSent(ctx context.Context, id int64, owner, reply, messageID string, now time.Time) (bool, error)
	}, o *outgoing) error {
		ok, err := q.MarkEmailSent(ctx, o.job.ID, s.node, o.receipt.Reply, o.receipt.MessageID, s.clock.Now())
		o.lost = !ok
		return err
	}
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		for _, o := range sent {
			if err := mark(tx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	for _, o := range sent {
		if err := mark(s.store, o); err != nil {
			o.err = err
		}
	}
}
