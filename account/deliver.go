package account

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/jobs"
)

// deliveryParallelism bounds the emails a node sends at once: enough to
// keep a relay's pipeline full, few enough that a burst cannot open
// hundreds of connections to it.
const deliveryParallelism = 8

// outgoing is one email of a batch on its way out.
type outgoing struct {
	*jobs.Claimed
	p          mailPayload
	drop       bool // no longer wanted (deleted)
	unreadable bool // its payload: dropped too
	u          *airlock.User
	link       string
}

// deliverMail delivers claimed emails, each with the outcome it would have
// had alone (dropped, sent, deferred or failed): one transaction reads
// their users and mints their links (the newer link of a user killing the
// older, in order; see mintLinks), then the messages go out
// deliveryParallelism at a time, one user's in order, each under its own
// context (a lost lease stops it) and each recorded sent the moment the
// server (a relay, or the dev mailbox) takes it: a node that dies in the
// middle of a batch leaves only the emails in flight sent and unrecorded,
// which the node taking the batch over sends again, the same message. If
// the first transaction fails, nothing was written and nothing sent: every
// email is tried again later.
func (s *Service) deliverMail(ctx context.Context, batch []*jobs.Claimed) error {
	out := make([]*outgoing, len(batch))
	for i, c := range batch {
		out[i] = &outgoing{Claimed: c}
	}
	if err := s.mintLinks(ctx, out); err != nil {
		return err
	}
	var send []*outgoing
	for _, o := range out {
		switch {
		case o.unreadable:
			s.log.Error("unreadable outbox entry dropped", "job", o.ID)
		case o.drop:
			s.log.Info("mail dropped", "job", o.ID, "kind", o.p.Kind)
		default:
			send = append(send, o)
		}
	}
	inUserOrder(send, func(o *outgoing) string { return o.UserID }, func(o *outgoing) { o.Err = s.send(ctx, o) })
	return nil
}

// send renders and sends one email and records what became of it; an
// error has it tried again later.
func (s *Service) send(ctx context.Context, o *outgoing) error {
	msg, err := s.renderMail(o.p, o.u, o.link)
	if err != nil {
		return err
	}
	receipt, err := s.sender.Send(o.Ctx, msg)
	if err != nil {
		return s.deliveryFailed(ctx, o.Job, o.p, err) // nil: failed for good, and recorded
	}
	defer o.Done()
	s.log.Info("mail sent", "job", o.ID, "kind", o.p.Kind, "attempt", o.Attempts, "reply", receipt.Reply)
	ok, err := s.store.MarkEmailSent(ctx, o.ID, s.jobs.Owner(), receipt.Reply, receipt.MessageID, s.clock.Now())
	if err == nil && !ok {
		s.log.Warn("mail sent after its lease was lost: it may arrive twice", "job", o.ID)
	}
	return err
}

// inUserOrder runs fn on every item, deliveryParallelism at a time, and one
// user's items one after the other, in order: of one user's emails, the
// link of the last one sent is the one minted last, the one that works.
// It returns when every item is done. An item of no user ("") is alone.
func inUserOrder[T any](items []T, userOf func(T) string, fn func(T)) {
	var queues [][]T
	byUser := map[string]int{}
	for _, it := range items {
		u := userOf(it)
		i, ok := byUser[u]
		if !ok || u == "" {
			i = len(queues)
			byUser[u] = i
			queues = append(queues, nil)
		}
		queues[i] = append(queues[i], it)
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, deliveryParallelism)
	for _, queue := range queues {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			for _, it := range queue {
				fn(it)
			}
		})
	}
	wg.Wait()
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
			if json.Unmarshal(o.Payload, &o.p) != nil {
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
				dropped = append(dropped, o.ID)
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
			emails, hashes = append(emails, o.ID), append(hashes, t.Hash)
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
		return tx.DeleteJobs(ctx, s.jobs.Owner(), dropped)
	})
}
