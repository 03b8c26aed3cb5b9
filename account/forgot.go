package account

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/jobs"
)

// forgotPayload is one forgot request in the queue. A forgot job holds the
// JSON array of the requests one transaction accepted (older jobs hold one
// object).
type forgotPayload struct {
	Email     string `json:"email"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	App       bool   `json:"app,omitempty"`
	// At is when the request came (Unix milliseconds; 0: the job's time):
	// a password change after it kills it.
	At int64 `json:"at,omitempty"`
	// Lang is the asker's language, for a peer's email (referral.go).
	Lang string `json:"lang,omitempty"`
	// ReferredBy names the server a peer's question came from: the request
	// was asked there, and no peer is asked again about it.
	ReferredBy string `json:"referred_by,omitempty"`
	// Flow is the SHA-256 of the flow id the request was answered with:
	// the code of the email it sends is typed with that flow.
	Flow []byte `json:"flow,omitempty"`
}

// at is when the request came, in a job created at created.
func (p *forgotPayload) at(created time.Time) time.Time {
	if p.At == 0 {
		return created
	}
	return time.UnixMilli(p.At).UTC()
}

// forgotPayloads reads a forgot job's requests; nil if unreadable.
func forgotPayloads(job *airlock.Job) []*forgotPayload {
	var list []*forgotPayload
	if bytes.HasPrefix(job.Payload, []byte("[")) {
		if json.Unmarshal(job.Payload, &list) != nil {
			return nil
		}
		return slices.DeleteFunc(list, func(p *forgotPayload) bool { return p == nil })
	}
	var p forgotPayload
	if json.Unmarshal(job.Payload, &p) != nil {
		return nil
	}
	return []*forgotPayload{&p}
}

// RequestReset accepts a forgotten-password request. Its answer and its
// work are the same whether the address has an account or not: it only
// counts the client's address against its limit and queues the request. The
// account-dependent work (look-up, limit, token, email) runs later in the
// worker, so neither the answer nor its timing tells who has an account.
//
// It returns the request's flow id: random, made before anything is looked
// up, for every request alike. With the code from the email it stands for
// the email's link (ByCode), so that a reset started in the app or in one
// browser can finish there. Only its hash is kept.
//
// The request is answered once its row is committed. Concurrent requests
// share one transaction (group commit, see forgotQueue), so that under load
// the queue costs one commit per batch instead of one per request.
func (s *Service) RequestReset(ctx context.Context, email string, m Meta) (string, error) {
	if s.jobs.Behind() > maxForgotLag {
		s.busy.Add(1)
		// The work cannot keep pace: refused honestly now, the same for
		// every address and before anything is counted, rather than
		// answered and then done too late to matter (a person's email
		// behind a flood's requests).
		return "", &airlock.Error{Code: airlock.CodeUnavailable, RetryAfter: forgotRetryAfter, Key: "error.busy"}
	}
	it, err := s.newForgotRequest(ctx, email, m)
	if err != nil {
		return "", err
	}
	if s.forgot.add(it, s.forgotFlushers()) {
		go s.flushForgot()
	}
	select {
	case <-it.done:
	case <-ctx.Done():
		// Abandoned by its client: a batch not yet started skips it; one
		// under way may still queue it, as a commit under way would.
		return "", fmt.Errorf("request reset: %w", ctx.Err())
	}
	if err := s.forgotAnswer(ctx, it); err != nil {
		return "", err
	}
	return it.flow, nil
}

// maxForgotLag is how far behind the queue may fall before new forgot
// requests are refused (503): a person's email should come within seconds,
// and a queue that lags more is one the workers are not keeping up with.
const maxForgotLag = 2 * time.Second

// forgotRetryAfter is the Retry-After of a refused forgot request.
const forgotRetryAfter = 2 * time.Second

// newForgotRequest checks a forgot request and prepares its row.
func (s *Service) newForgotRequest(ctx context.Context, email string, m Meta) (*forgotRequest, error) {
	if err := airlock.CheckEmail(email); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	// The flow is made for every request before any look-up, so that
	// its answer is the same for every address (SPEC §6.1).
	flow, err := newSecret()
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(forgotPayload{Email: email, IP: airlock.CleanText(m.IP, 64), UserAgent: airlock.CleanText(m.UserAgent, 300), App: m.App, Lang: m.Language,
		At: now.UnixMilli(), Flow: secretHash(flow)})
	if err != nil {
		return nil, err
	}
	return &forgotRequest{ctx: ctx, key: s.forgotLimit(m.IP), m: m,
		payload: payload, now: now, flow: flow, done: make(chan struct{})}, nil
}

// forgotLimit is the limit on forgot requests per client address.
func (s *Service) forgotLimit(ip string) limitKey {
	return limitKey{ipKey("forgot:ip:", ip), s.cfg.LimitForgotPerIP}
}

// forgotAnswer is a request's answer once its batch is done with it.
func (s *Service) forgotAnswer(ctx context.Context, it *forgotRequest) error {
	if it.err != nil {
		return fmt.Errorf("request reset: %w", it.err)
	}
	if it.limited > 0 {
		return rateLimited(it.limited)
	}
	return nil
}

// queueForgot counts each request against its per-IP limit and queues
// the accepted ones, in the caller's transaction: counted and queued
// together, the limit holds across parallel requests and nodes (reserve),
// and an accepted request is never lost. The requests are counted one after
// the other, in order, exactly as in transactions of their own; a refused
// one is audited (at most once per window), queues nothing, and does not
// stop the others. The accepted ones are queued as one job (one row to
// write, claim and delete for the batch, not one per request).
func (s *Service) queueForgot(ctx context.Context, tx airlock.Tx, batch []*forgotRequest) error {
	payload := make([]byte, 0, 1+len(batch)*(len(batch[0].payload)+1))
	payload = append(payload, '[')
	items := 0
	var first time.Time
	keys, nows := make([]limitKey, len(batch)), make([]time.Time, len(batch))
	for i, it := range batch {
		keys[i], nows[i] = it.key, it.now
	}
	// Every request's address counted at once (a few statements for the
	// batch, not a few each), as one after the other.
	retries, err := reserveEach(ctx, tx, keys, nows)
	if err != nil {
		return err
	}
	for i, it := range batch {
		if it.limited = retries[i]; it.limited > 0 {
			if err := s.auditRefusal(ctx, tx, &it.key, it.now, airlock.AuditRateLimited, it.m, "", "limit_forgot"); err != nil {
				return err
			}
			continue
		}
		if items == 0 {
			first = it.now
		} else {
			payload = append(payload, ',')
		}
		payload = append(payload, it.payload...)
		items++
	}
	if items == 0 {
		return nil
	}
	payload = append(payload, ']')
	return tx.EnqueueJobs(ctx, []*airlock.Job{{Kind: airlock.JobForgot, Payload: payload, Items: items, RunAt: first, CreatedAt: first}})
}

// maxForgotBatch bounds the requests one transaction queues.
const maxForgotBatch = 256

// forgotRequest is one forgot request on its way to the database.
type forgotRequest struct {
	ctx     context.Context // the request's: a batch skips a request its client abandoned
	key     limitKey
	m       Meta
	payload []byte
	now     time.Time
	flow    string // its flow id, the answer
	// Set by the batch before done is closed.
	limited time.Duration // refused by the per-IP limit: retry after this
	err     error         // the batch failed: the request fails
	done    chan struct{}
}

// forgotQueue groups the durable writes of concurrent forgot requests
// (group commit). A request joins the pending list; a flusher takes
// everything pending and writes it in one transaction, while the next
// requests gather for the following one. With no load a batch holds one
// request and costs what a transaction of its own did; under load one
// commit (and, on PostgreSQL, one fsync) serves up to maxForgotBatch
// requests.
type forgotQueue struct {
	mu       sync.Mutex
	pending  []*forgotRequest
	flushers int // running
}

// add puts it in the pending list and says whether the caller must start
// a flusher: when fewer than max run.
func (q *forgotQueue) add(it *forgotRequest, max int) (start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, it)
	if q.flushers < max {
		q.flushers++
		return true
	}
	return false
}

// take removes up to maxForgotBatch requests from the pending list; when
// there are none, the flusher stops.
func (q *forgotQueue) take() []*forgotRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.pending), maxForgotBatch)
	if n == 0 {
		q.flushers--
		return nil
	}
	batch := slices.Clone(q.pending[:n])
	q.pending = slices.Delete(q.pending, 0, n)
	return batch
}

// takeAll removes every pending request.
func (q *forgotQueue) takeAll() []*forgotRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	all := q.pending
	q.pending = nil
	return all
}

// forgotFlushers is how many batches may be written at once: one on
// SQLite, whose writes take turns anyway (more flushers would only make
// smaller batches); a few on PostgreSQL, where batches hide each other's
// round trips and their commits share fsyncs.
func (s *Service) forgotFlushers() int { return max(1, min(s.writers(), 4)) }

// writers is how many transactions the store writes at once: 1 on SQLite
// (one writing connection), its pool's size on PostgreSQL.
func (s *Service) writers() int {
	if w, ok := s.store.(interface{ Writers() int }); ok {
		return w.Writers()
	}
	return 1
}

// flushForgot writes batches until nothing is pending.
func (s *Service) flushForgot() {
	for {
		// Let the requests already being handled on other goroutines join
		// this batch rather than the next: under load batches grow (and
		// commits get fewer); with nothing else to run this costs nothing.
		runtime.Gosched()
		runtime.Gosched()
		batch := s.forgot.take()
		if batch == nil {
			return
		}
		s.commitForgot(batch)
	}
}

// commitForgot writes a batch of forgot requests in one transaction and
// tells each its outcome. Each request goes through the same steps as
// alone (queueForgot: the per-IP limit, then the queue), in arrival order
// for any one client address, so the limit counts exactly as it would one
// transaction at a time: a request refused by its limit is answered 429
// and the others of the batch are queued. If the transaction fails, every
// request of the batch gets the error (client input cannot make a write
// fail: it is cleaned first); if the database is unavailable, so do the
// requests waiting for the next batch, at once: none waits longer than
// about one time limit (AIRLOCK_DATABASE_TIMEOUT), as alone. Nobody is
// answered before the commit, and nobody is dropped.
func (s *Service) commitForgot(batch []*forgotRequest) {
	live := make([]*forgotRequest, 0, len(batch))
	for _, it := range batch {
		if err := it.ctx.Err(); err != nil {
			it.err = err // its client is gone: not queued, not counted
			close(it.done)
			continue
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	// PostgreSQL locks each limit's row until the commit: taken in one
	// order (by key) on every node, two batches never wait for each other
	// in a cycle. The sort is stable: one address's requests keep their
	// arrival order.
	slices.SortStableFunc(live, func(a, b *forgotRequest) int { return strings.Compare(a.key.key, b.key.key) })
	// The batch belongs to no one request: a client hanging up must not
	// roll back the others. The store bounds the transaction's time.
	ctx := context.Background()
	err := s.store.Update(ctx, func(tx airlock.Tx) error { return s.queueForgot(ctx, tx, live) })
	unavailable := airlock.ErrorCode(err) == airlock.CodeUnavailable
	if unavailable {
		// The requests that gathered meanwhile would wait for this batch's
		// time limit once more before being told the same: they are told
		// now, having written nothing, as they would have been alone.
		live = append(live, s.forgot.takeAll()...)
	}
	for _, it := range live {
		it.err = err
		close(it.done)
	}
	if err == nil {
		s.poke()
	}
}

// decideForgot is the queued half of RequestReset: the claimed forgot
// requests are decided a transaction of about maxForgotBatch requests at a
// time (forgotGroups), each request exactly as alone and in order.
func (s *Service) decideForgot(ctx context.Context, batch []*jobs.Claimed) error {
	for _, group := range forgotGroups(batch) {
		if err := s.decideForgotGroup(ctx, group); err != nil {
			for _, c := range group {
				c.Err = err
			}
		}
	}
	return nil
}

// forgotGroups cuts claimed forgot jobs, in order, into groups of about
// maxForgotBatch requests: each job holds the requests one transaction
// accepted (Job.Items).
func forgotGroups(batch []*jobs.Claimed) [][]*jobs.Claimed {
	var groups [][]*jobs.Claimed
	n := maxForgotBatch
	for _, c := range batch {
		if n >= maxForgotBatch {
			groups = append(groups, nil)
			n = 0
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], c)
		n += max(c.Items, 1)
	}
	return groups
}

// decideForgotGroup decides the requests of some claimed forgot jobs in
// one transaction: it looks the accounts up, applies the per-account limit,
// and puts the reset emails in the outbox (the tokens are minted when the
// emails are sent); what the requests write (jobs done, audit events,
// emails) is written at the end in a few statements.
func (s *Service) decideForgotGroup(ctx context.Context, group []*jobs.Claimed) error {
	payloads := make([][]*forgotPayload, len(group))
	var emails []string
	for i, c := range group {
		payloads[i] = forgotPayloads(c.Job)
		for _, p := range payloads[i] {
			emails = append(emails, p.Email)
		}
	}
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		users, err := tx.UsersByEmails(ctx, emails)
		if err != nil {
			return err
		}
		var w forgotWrites
		if w.limits, err = s.lockAccountLimits(ctx, tx, users); err != nil {
			return err
		}
		w.counted = map[string]time.Time{}
		for i, c := range group {
			w.done = append(w.done, c.ID)
			// An unreadable job holds no request: nothing can be done with it.
			for _, p := range payloads[i] {
				if err := s.forgotJob(ctx, tx, &w, p.at(c.CreatedAt), *p, users[airlock.NormalizeEmail(p.Email)], now); err != nil {
					return err
				}
			}
		}
		return s.writeForgot(ctx, tx, &w)
	})
}

// forgotWrites gathers what a batch of forgot requests writes, and the
// per-account limits it counts against: read and locked at the start
// (limits), those counted written back at the end (counted).
type forgotWrites struct {
	limits  map[string]time.Time
	counted map[string]time.Time
	done    []int64
	audits  []*airlock.AuditEvent
	mails   []*airlock.Job
}

func (s *Service) writeForgot(ctx context.Context, tx airlock.Tx, w *forgotWrites) error {
	// Only while this node still holds the jobs: another that took them
	// over decides them instead (SPEC §8).
	if err := tx.DeleteJobs(ctx, s.jobs.Owner(), w.done); err != nil {
		return err
	}
	if err := tx.EnqueueJobs(ctx, w.mails); err != nil {
		return err
	}
	if err := tx.SetLimits(ctx, w.counted); err != nil {
		return err
	}
	if err := tx.InsertAudits(ctx, w.audits); err != nil {
		return err
	}
	for _, e := range w.audits {
		s.logAudit(e)
	}
	if len(w.mails) > 0 {
		s.poke()
	}
	return nil
}

// resetLimitKey is the key of a user's reset email limit.
func resetLimitKey(u *airlock.User) string { return "reset:account:" + u.ID }

// lockAccountLimits reads, and on PostgreSQL locks, the per-account limit
// rows a batch of forgot requests will count against, in one go and in the
// order of their keys: locked in one order on every node, two batches
// sharing accounts queue one behind the other instead of waiting for each
// other in a cycle (a deadlock). The batch then counts its requests
// against them in memory, one after the other, and writes back once.
func (s *Service) lockAccountLimits(ctx context.Context, tx airlock.Tx, users map[string]*airlock.User) (map[string]time.Time, error) {
	if s.cfg.LimitResetPerAccount.N <= 0 || len(users) == 0 {
		return nil, nil
	}
	var keys []string
	for _, u := range users {
		keys = append(keys, resetLimitKey(u))
	}
	slices.Sort(keys)
	return tx.LockLimits(ctx, slices.Compact(keys))
}

// forgotJob decides one queued forgot request, made at asked, in the
// caller's transaction, for u, its account (nil: none): it applies the
// per-account limit and adds to w the reset email and the audit event (or
// resends an invitation at once).
func (s *Service) forgotJob(ctx context.Context, tx airlock.Tx, w *forgotWrites, asked time.Time, p forgotPayload, u *airlock.User, now time.Time) error {
	m := Meta{IP: p.IP, UserAgent: p.UserAgent}
	if u == nil {
		// No account: no email at all from here (SPEC §6.1); the peers are
		// asked whether the account is theirs.
		asks, names, err := s.referralJobs(p, now)
		if err != nil {
			return err
		}
		w.mails = append(w.mails, asks...)
		switch {
		case p.ReferredBy != "":
			w.audits = append(w.audits, s.auditEvent(airlock.AuditResetRequested, m, "", p.Email, "no_account", "referred", p.ReferredBy))
		case len(names) > 0:
			w.audits = append(w.audits, s.auditEvent(airlock.AuditResetRequested, m, "", p.Email, "no_account", "peers_asked", strings.Join(names, ", ")))
		default:
			w.audits = append(w.audits, s.auditEvent(airlock.AuditResetRequested, m, "", p.Email, "no_account", ""))
		}
		return nil
	}
	if !u.Active {
		w.audits = append(w.audits, s.auditEvent(airlock.AuditResetRequested, m, u.ID, u.Email, "inactive", ""))
		return nil
	}
	var retry time.Duration
	if r := s.cfg.LimitResetPerAccount; r.N > 0 {
		key := resetLimitKey(u)
		var next time.Time
		if next, retry = r.step(w.limits[key], now); retry == 0 {
			w.limits[key], w.counted[key] = next, next
		}
	}
	if retry > 0 {
		// Dropped silently: the requester already got the same answer. A
		// refusal is audited once per window (SPEC §6.14): a flood of
		// requests naming one account writes one event, not one each.
		first, err := tx.MarkLimitRefusalAudited(ctx, resetLimitKey(u), now, now.Add(s.cfg.LimitResetPerAccount.Per))
		if err != nil || !first {
			return err
		}
		w.audits = append(w.audits, s.auditEvent(airlock.AuditResetRequested, m, u.ID, u.Email, "rate_limited", ""))
		return nil
	}
	if u.InvitationState(now, s.cfg.InviteTTL) != "" {
		// Invited and never set a password: a reset email would speak of a
		// password they never had, so the invitation goes again.
		if err := s.sendInvitation(ctx, tx, u, "", p.Flow, now); err != nil {
			return err
		}
		w.audits = append(w.audits, s.auditEvent(airlock.AuditResetRequested, m, u.ID, u.Email, "invitation_resent", ""))
		return nil
	}
	// The request's own time counts: a password change since then kills it.
	mail, err := s.mailJob(mailPayload{Kind: mailReset, UserID: u.ID, To: u.Email, Language: u.Language, CreatedAt: asked, App: p.App, Epoch: u.AuthEpoch,
		AskedOn: p.ReferredBy, Flow: p.Flow})
	if err != nil {
		return err
	}
	w.mails = append(w.mails, mail)
	if p.ReferredBy != "" {
		w.audits = append(w.audits, s.auditEvent(airlock.AuditResetRequested, m, u.ID, u.Email, "queued", "referred", p.ReferredBy))
		return nil
	}
	w.audits = append(w.audits, s.auditEvent(airlock.AuditResetRequested, m, u.ID, u.Email, "queued", ""))
	return nil
}
