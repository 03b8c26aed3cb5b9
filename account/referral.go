package account

// A forgotten password asked on the wrong server (SPEC §6.1 keeps that
// server silent): the servers of one operator help each other. A server
// that finds no account for an address asks its peers, after the uniform
// answer was sent; a peer that has an active account for it sends the
// person its own reset email, naming both servers, under its own
// per-account limit. The asker learns nothing; a peer learns only that
// someone asked about that address. The wire (keys, signatures) is
// package peer's; the rules are here.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/jobs"
)

// JobReferral is a question to one peer about one address.
const JobReferral = "referral"

// referralAttempts is how many times a peer is asked before the question
// is dropped (logged, counted).
const referralAttempts = 3

// Peer is another server this one may ask and answer (AIRLOCK_PEERS).
type Peer struct {
	URL  string
	Name string
}

// PeerAsker sends a question to a peer (package peer's Client).
type PeerAsker interface {
	Ask(ctx context.Context, peerURL, email, lang string) error
}

// Limits of the referrals: what this server asks per address, and what it
// accepts from each peer.
var (
	referralPerAddress = Rate{N: 3, Per: time.Hour}
	referralPerPeer    = Rate{N: 600, Per: 10 * time.Minute}
	// askPerPeer keeps this server's questions to one peer under what the
	// peer accepts from it: a flood of forgot requests for unknown
	// addresses (from many addresses, each within its own limit) spends
	// this, not the peer's patience, and what is over is dropped at once.
	askPerPeer = Rate{N: 500, Per: 10 * time.Minute}
)

// ErrPeerBusy is a peer's refusal for now (its limit for this server):
// the question is dropped, not asked again.
var ErrPeerBusy = errors.New("peer busy")

type referralPayload struct {
	Peer  string `json:"peer"`
	Email string `json:"email"`
	Lang  string `json:"lang,omitempty"`
}

// referralJobs are the questions to the peers about an address with no
// account here; none for a request that was itself referred (no loops).
func (s *Service) referralJobs(p forgotPayload, now time.Time) ([]*airlock.Job, []string, error) {
	if p.ReferredBy != "" || s.cfg.PeerAsker == nil {
		return nil, nil, nil
	}
	var js []*airlock.Job
	var names []string
	for _, peer := range s.cfg.Peers {
		b, err := json.Marshal(referralPayload{Peer: peer.URL, Email: p.Email, Lang: p.Lang})
		if err != nil {
			return nil, nil, err
		}
		js = append(js, &airlock.Job{Kind: JobReferral, Payload: b, RunAt: now, CreatedAt: now})
		names = append(names, peer.Name)
	}
	return js, names, nil
}

// askPeers sends the claimed questions. A peer that does not answer is
// asked again later, referralAttempts times in all, then dropped.
func (s *Service) askPeers(ctx context.Context, batch []*jobs.Claimed) error {
	var done []int64
	for _, c := range batch {
		var p referralPayload
		if json.Unmarshal(c.Payload, &p) != nil || p.Peer == "" {
			done = append(done, c.ID)
			continue
		}
		// Counted once per question, not per attempt: a peer that is down
		// must not use up the address's questions.
		// (Attempts counts this one: a job's claim counts its attempt.)
		if c.Attempts <= 1 && !s.referralAllowed(ctx, p.Email, p.Peer) {
			s.referralsDropped.Add(1)
			done = append(done, c.ID) // this address, or this peer, was asked often enough
			continue
		}
		err := s.cfg.PeerAsker.Ask(c.Ctx, p.Peer, p.Email, p.Lang)
		switch {
		case err == nil:
			s.referrals.Add(1)
			done = append(done, c.ID)
		case errors.Is(err, ErrPeerBusy) || c.Attempts >= referralAttempts:
			s.referralsDropped.Add(1)
			s.log.Warn("peer did not answer: question dropped", "peer", p.Peer, "attempts", c.Attempts, "err", err)
			done = append(done, c.ID)
		default:
			c.Err = err
		}
	}
	if len(done) == 0 {
		return nil
	}
	return s.store.DeleteJobs(context.WithoutCancel(ctx), s.jobs.Owner(), done)
}

// referralAllowed counts a question about email to peer against the
// limits per address and per peer.
func (s *Service) referralAllowed(ctx context.Context, email, peer string) bool {
	var retry time.Duration
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		now := s.clock.Now()
		var err error
		if retry, err = limit(ctx, tx, "referral:address:"+peer+":"+airlock.NormalizeEmail(email), referralPerAddress, now, true); err != nil || retry > 0 {
			return err
		}
		retry, err = limit(ctx, tx, "referral:peer:"+peer, askPerPeer, now, true)
		return err
	})
	return err == nil && retry == 0
}

// Referrals says how many questions were sent to peers, and how many were
// dropped because the peer did not answer.
func (s *Service) Referrals() (sent, dropped int64) {
	return s.referrals.Load(), s.referralsDropped.Load()
}

// ReceiveReferral takes a peer's question about an address (verified by
// package peer: signed, fresh, addressed here) as a forgot request of its
// own, decided later like any other, so that the answer and its timing
// are the same whatever is found. nonceHash makes it single-use.
func (s *Service) ReceiveReferral(ctx context.Context, from Peer, email, lang string, nonceHash []byte, m Meta) error {
	if err := airlock.CheckEmail(email); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		fresh, err := tx.UsePeerNonce(ctx, nonceHash, now.Add(2*peerMaxAge))
		if err != nil {
			return err
		}
		if !fresh {
			return errReplayed
		}
		retry, err := limit(ctx, tx, "peer:"+from.URL, referralPerPeer, now, true)
		if err != nil {
			return err
		}
		if retry > 0 {
			return rateLimited(retry)
		}
		b, err := json.Marshal(forgotPayload{Email: email, IP: m.IP, UserAgent: m.UserAgent, At: now.UnixMilli(), Lang: lang, ReferredBy: from.Name})
		if err != nil {
			return err
		}
		return tx.EnqueueJobs(ctx, []*airlock.Job{{Kind: airlock.JobForgot, Payload: b, Items: 1, RunAt: now, CreatedAt: now}})
	})
}

// peerMaxAge is how old a peer's question may be (package peer's MaxAge):
// its nonce is remembered twice as long.
const peerMaxAge = 60 * time.Second

var errReplayed = &airlock.Error{Code: airlock.CodeUnauthorized, Detail: "replayed", Key: "error.peer.refused"}

// peerRefusalsPerIP bounds the refused questions one address may send:
// past it, the answer is 429 and nothing is written.
var peerRefusalsPerIP = Rate{N: 60, Per: 10 * time.Minute}

// RefusePeer audits a refused peer request, once per window for each
// reason and claimed sender (SPEC §6.14); an address that sends many is
// rate limited.
func (s *Service) RefusePeer(ctx context.Context, claimed, reason string, m Meta) error {
	now := s.clock.Now()
	var retry time.Duration
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		var err error
		if retry, err = limit(ctx, tx, ipKey("peer-refused:ip:", m.IP), peerRefusalsPerIP, now, true); err != nil || retry > 0 {
			return err
		}
		return s.auditOnce(ctx, tx, "peer-refused:"+reason+":"+claimed, 10*time.Minute, now, airlock.AuditResetRequested, m, "",
			claimed, "refused", "peer_refused", reason)
	})
	if err != nil {
		return fmt.Errorf("audit peer refusal: %w", err)
	}
	if retry > 0 {
		return rateLimited(retry)
	}
	return nil
}

// IsReplay says whether err is ReceiveReferral's refusal of a replay.
func IsReplay(err error) bool { return errors.Is(err, errReplayed) }
