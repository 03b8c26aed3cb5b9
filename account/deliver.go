package account

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

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
	lost       bool // another node holds it now
	u          *airlock.User
	link       string
	code       string    // the code beside the link
	id         string    // its Message-ID
	date       time.Time // its Date
}

// deliverMail delivers claimed emails, each with the outcome it would have
// had alone (dropped, sent, deferred or failed): one transaction reads
// their users and fixes what each sends (see prepare), then the messages go
// out deliveryParallelism at a time, one user's in order, each under its
// own context (a lost lease stops it) and each recorded sent the moment the
// server (a relay, or the dev mailbox) takes it: a node that dies in the
// middle of a batch leaves only the emails in flight sent and unrecorded,
// which the node taking the batch over sends again, the same message (same
// Message-ID, date and link). If the first transaction fails, nothing was
// written and nothing sent: every email is tried again later.
func (s *Service) deliverMail(ctx context.Context, batch []*jobs.Claimed) error {
	out := make([]*outgoing, len(batch))
	for i, c := range batch {
		out[i] = &outgoing{Claimed: c}
	}
	if err := s.prepare(ctx, out); err != nil {
		return err
	}
	var send []*outgoing
	for _, o := range out {
		switch {
		case o.unreadable:
			s.log.Error("unreadable outbox entry dropped", "job", o.ID)
		case o.drop:
			s.log.Info("mail dropped", "job", o.ID, "kind", o.p.Kind)
		case o.lost:
			// Its lease ran out: the node that took it over sends it.
			s.log.Warn("mail left to the node that took it over", "job", o.ID)
			o.Done()
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
	msg, err := s.renderMail(o.p, o.u, o.link, o.code)
	if err != nil {
		return err
	}
	msg.ID, msg.Date = o.id, o.date
	receipt, err := s.sender.Send(o.Ctx, msg)
	if err != nil {
		return s.deliveryFailed(ctx, o.Job, o.p, err) // nil: failed for good, and recorded
	}
	defer o.Done()
	s.log.Info("mail sent", "job", o.ID, "kind", o.p.Kind, "attempt", o.Attempts, "reply", receipt.Reply)
	ok, err := s.store.MarkEmailSent(ctx, o.ID, s.jobs.Owner(), receipt.Reply, receipt.MessageID, s.clock.Now())
	if err == nil && !ok {
		// Fenced: this node writes nothing more for it (SPEC §8).
		s.log.Warn("mail sent after its lease was lost: the node that took it over sends the same message again", "job", o.ID)
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

// prepare reads the users of a batch of emails and fixes what each one
// sends, in one transaction of a few statements, each email as alone: the
// users are locked (in the order of their ids: two nodes' batches sharing
// users queue one behind the other instead of waiting for each other in a
// cycle), each email is decided, the emails no longer wanted are deleted,
// and each of the others is given what makes any later attempt the same
// message (see attempt). Only the emails this node still holds are
// prepared; the others are marked lost (another node has them).
func (s *Service) prepare(ctx context.Context, out []*outgoing) error {
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		ids := make([]string, 0, len(out))
		for _, o := range out {
			o.drop, o.unreadable, o.lost, o.u, o.link, o.code = false, false, false, nil, "", ""
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
		var dropped []int64
		var preps []airlock.EmailPrep
		minted := map[int64]*airlock.ResetToken{}
		for _, o := range out {
			if !o.drop {
				o.u = users[o.p.UserID]
				o.drop = o.u == nil || !mailWanted(o.u, o.p)
			}
			if o.drop {
				dropped = append(dropped, o.ID)
				continue
			}
			prep, t, err := s.attempt(ctx, tx, o, now)
			if err != nil {
				return err
			}
			preps = append(preps, prep)
			if t != nil {
				minted[o.ID] = t
			}
		}
		held, err := tx.PrepareEmails(ctx, s.jobs.Owner(), preps)
		if err != nil {
			return err
		}
		var tokens []*airlock.ResetToken
		for _, o := range out {
			if o.drop {
				continue
			}
			if !held[o.ID] {
				o.lost = true
				continue
			}
			if t := minted[o.ID]; t != nil {
				tokens = append(tokens, t)
			}
		}
		// A new link leaves the user's older ones working: emails arrive
		// out of order, and the one that arrives last must work; using any
		// one kills the others (SPEC §6.2).
		if err := tx.InsertResetTokens(ctx, tokens); err != nil {
			return err
		}
		return tx.DeleteJobs(ctx, s.jobs.Owner(), dropped)
	})
}

// attempt fixes what the email o sends: what its earlier attempt sent when
// there was one and its link (if it has one) still works, so that a second
// delivery is the same message (SPEC §7); else a new message, with a new
// Message-ID, date and, for an email with a link, a newly minted token
// (returned, to be stored). The token is kept sealed with the secret key,
// bound to its email, never in clear; without a key it is not kept, and a
// later attempt mints a new link (the older still works).
func (s *Service) attempt(ctx context.Context, tx airlock.Tx, o *outgoing, now time.Time) (airlock.EmailPrep, *airlock.ResetToken, error) {
	j := o.Job
	if j.MessageID != "" && !j.PreparedAt.IsZero() {
		same := airlock.EmailPrep{ID: j.ID, MessageID: j.MessageID, PreparedAt: j.PreparedAt, TokenHash: j.TokenHash, LinkSealed: j.LinkSealed}
		if !hasLink(o.p) {
			o.id, o.date = same.MessageID, same.PreparedAt
			return same, nil, nil
		}
		if token, err := s.sameToken(ctx, tx, o, now); err != nil {
			return airlock.EmailPrep{}, nil, err
		} else if token != "" {
			o.id, o.date, o.link, o.code = same.MessageID, same.PreparedAt, s.linkFor(o.u, o.p, token), emailCode(token)
			return same, nil, nil
		}
	}
	prep := airlock.EmailPrep{ID: j.ID, MessageID: s.sender.NewMessageID(), PreparedAt: now}
	o.id, o.date = prep.MessageID, prep.PreparedAt
	if !hasLink(o.p) {
		return prep, nil, nil
	}
	t, token, err := s.newToken(o.u, o.p, now)
	if err != nil {
		return airlock.EmailPrep{}, nil, err
	}
	prep.TokenHash = t.Hash
	if s.cfg.SecretBox != nil {
		if prep.LinkSealed, err = s.cfg.SecretBox.Seal([]byte(token), linkAAD(j.ID, o.u.ID)); err != nil {
			return airlock.EmailPrep{}, nil, err
		}
	}
	o.link, o.code = s.linkFor(o.u, o.p, token), emailCode(token)
	return prep, t, nil
}

// sameToken returns the token of the link o's earlier attempt carried, if
// it was kept and still works (not used, revoked or expired), else "".
func (s *Service) sameToken(ctx context.Context, tx airlock.Tx, o *outgoing, now time.Time) (string, error) {
	if o.LinkSealed == nil || o.TokenHash == nil || s.cfg.SecretBox == nil {
		return "", nil
	}
	t, err := tx.ResetTokenByHash(ctx, o.TokenHash)
	if errors.Is(err, airlock.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !t.UsedAt.IsZero() || !t.RevokedAt.IsZero() || !now.Before(t.ExpiresAt) || t.UserID != o.u.ID {
		return "", nil
	}
	plain, err := s.cfg.SecretBox.Open(o.LinkSealed, linkAAD(o.ID, o.u.ID))
	if err != nil || !bytes.Equal(secretHash(string(plain)), o.TokenHash) {
		// A key no longer configured (rotated out): a new link instead.
		return "", nil
	}
	return string(plain), nil
}

// linkAAD binds a sealed link token to its email and its user: moved to
// another row, it does not open.
func linkAAD(jobID int64, userID string) []byte {
	return []byte("link\x00" + strconv.FormatInt(jobID, 10) + "\x00" + userID)
}
