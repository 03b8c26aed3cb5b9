package account

import (
	"context"
	"encoding/json"
	"slices"

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
// user killing the older, in order), and the messages go out and are
// recorded sent (the dev mailbox keeps them all in one transaction and one
// more records them; a relay gets them deliveryParallelism at a time, one
// user's in order, each recorded as the relay takes it: see sendAll).
// Under a flood on the dev mailbox this is three commits per batch instead
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
// one transaction of a few statements, each email as alone and in order:
// the users are locked (in the order of their ids: two nodes' batches
// sharing users queue one behind the other instead of waiting for each
// other in a cycle), each email is decided, the users' older links are
// revoked, and of one user's links in the batch all but the last are
// stored already revoked (the newer killing the older, as one after the
// other). The emails no longer wanted are deleted.
func (s *Service) mintLinks(ctx context.Context, out []*outgoing) error {
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		ids := make([]string, 0, len(out))
		for _, o := range out {
			o.drop, o.unreadable, o.u, o.link = false, false, nil, ""
			if json.Unmarshal(o.job.Payload, &o.p) != nil {
				o.drop, o.unreadable = true, true
				continue
			}
			ids = append(ids, o.p.UserID)
		}
		users, err := tx.UsersByIDsForUpdate(ctx, ids)
		if err != nil {
			return err
		}
		var dropped, emails []int64
		var revoke []string
		var tokens []*airlock.ResetToken
		var hashes [][]byte
		last := map[string]*airlock.ResetToken{} // each user's newest link in the batch
		for _, o := range out {
			if !o.drop {
				o.u = users[o.p.UserID]
				o.drop = o.u == nil || !mailWanted(o.u, o.p)
			}
			if o.drop {
				dropped = append(dropped, o.job.ID)
				continue
			}
			if !hasLink(o.p) {
				continue
			}
			t, link, err := s.newLink(o.u, o.p, now)
			if err != nil {
				return err
			}
			if older := last[o.u.ID]; older != nil {
				older.RevokedAt = now
			} else {
				revoke = append(revoke, o.u.ID)
			}
			last[o.u.ID] = t
			o.link = link
			tokens = append(tokens, t)
			emails, hashes = append(emails, o.job.ID), append(hashes, t.Hash)
		}
		// A newer token kills the older ones (SPEC §6.2).
		if err := tx.RevokeUsersResetTokens(ctx, revoke, now); err != nil {
			return err
		}
		if err := tx.InsertResetTokens(ctx, tokens); err != nil {
			return err
		}
		// Each email remembers its token's hash: if it fails for good, the
		// link it carried dies with it.
		if err := tx.SetEmailTokens(ctx, emails, hashes); err != nil {
			return err
		}
		return tx.DeleteJobs(ctx, dropped)
	})
}

// sendAll hands the rendered messages to the sender and records the sent
// ones. A sender that takes a batch (the dev mailbox) keeps them all in one
// transaction, and one more records them. To a relay they go
// deliveryParallelism at a time, one user's in order, each under its own
// context (a lost lease stops it), and each is recorded sent the moment
// the relay takes it: a node that dies in the middle of a batch leaves
// only the emails in flight sent and unrecorded (the node taking the batch
// over sends those again), as one at a time, not every email of the batch
// sent so far.
func (s *Service) sendAll(ctx context.Context, send []*outgoing) {
	if len(send) == 0 {
		return
	}
	if bs, ok := s.sender.(mail.BatchSender); ok {
		msgs := make([]*mail.Message, len(send))
		for i, o := range send {
			msgs[i] = o.msg
		}
		receipts, errs := bs.SendAll(ctx, msgs)
		for i, o := range send {
			o.receipt, o.sendErr = receipts[i], errs[i]
		}
		s.recordSent(ctx, send)
		return
	}
	inUserOrder(send, func(o *outgoing) string { return o.job.UserID }, func(o *outgoing) {
		if o.receipt, o.sendErr = s.sender.Send(o.ctx, o.msg); o.sendErr == nil {
			s.markSent(ctx, o)
		}
	})
}

// markSent records one sent email; an email sent but not recorded keeps
// the error: it is retried, and may arrive twice, as alone.
func (s *Service) markSent(ctx context.Context, o *outgoing) {
	ok, err := s.store.MarkEmailSent(ctx, o.job.ID, s.node, o.receipt.Reply, o.receipt.MessageID, s.clock.Now())
	o.lost, o.err = !ok, err
}

// recordSent records the sent emails of send in one transaction (one at a
// time if it fails).
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
	records := make([]airlock.SentEmail, len(sent))
	for i, o := range sent {
		records[i] = airlock.SentEmail{ID: o.job.ID, Reply: o.receipt.Reply, MessageID: o.receipt.MessageID}
	}
	var lost []int64
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		var err error
		lost, err = tx.MarkEmailsSent(ctx, s.node, records, s.clock.Now())
		return err
	})
	for _, o := range sent {
		if err != nil {
			s.markSent(ctx, o)
		} else {
			o.lost = slices.Contains(lost, o.job.ID)
		}
	}
}
