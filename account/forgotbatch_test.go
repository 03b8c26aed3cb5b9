package account_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// The forgot queue writes the requests that arrive together in one
// transaction (group commit). These tests run batches on purpose, and check
// that each request of a batch gets the answer it would have got alone.

// TestForgotBatchCountsEachRequest: in one batch, the per-IP limit counts
// the requests in order, exactly as one at a time; the request it refuses
// gets 429 and the others of the batch are queued, a malformed address is
// refused before the batch, and the refusal is audited once.
func TestForgotBatchCountsEachRequest(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, _ *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword)
		limited := a.withConfig(t, func(c *account.Config) { c.LimitForgotPerIP = account.Rate{N: 2, Per: 10 * time.Minute} })
		one := account.Meta{IP: "192.0.2.1", UserAgent: "agent one"}
		two := account.Meta{IP: "198.51.100.2", UserAgent: "agent two"}
		three := account.Meta{IP: "2001:db8::3", UserAgent: "agent three"}
		reqs := []account.ForgotRequest{
			{"ada@example.com", one},
			{"nobody@example.com", one},
			{"ada@example.com", two},
			{"third@example.com", one}, // the third from one address: over its limit
			{"bad\r\nBcc: evil@example.com", two},
			{"fourth@example.com", one},
			{"nobody@example.com", three},
		}
		want := []airlock.Code{"", "", "", airlock.CodeRateLimited, airlock.CodeInvalid, airlock.CodeRateLimited, ""}
		errs := limited.svc.ForgotBatch(ctx, reqs)
		for i, err := range errs {
			if code(err) != want[i] {
				t.Errorf("request %d (%q from %s) = %v, want %q", i, reqs[i].Email, reqs[i].Meta.IP, err, want[i])
			}
			if e := airlock.AsError(err); e != nil && e.Code == airlock.CodeRateLimited && e.RetryAfter <= 0 {
				t.Errorf("request %d: rate limited without a delay", i)
			}
		}
		if n, _ := testutil.CountJobs(a.db, airlock.JobForgot); n != 4 {
			t.Fatalf("%d requests queued, want 4", n)
		}
		// The limit holds after the batch as it would have: one more from
		// the first address is refused, the second address has one left.
		if _, err := limited.svc.RequestReset(ctx, "again@example.com", one); code(err) != airlock.CodeRateLimited {
			t.Fatalf("after the batch, the first address: %v, want rate_limited", err)
		}
		if _, err := limited.svc.RequestReset(ctx, "again@example.com", two); code(err) != "" {
			t.Fatalf("after the batch, the second address: %v", err)
		}
		events, _, _ := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditRateLimited})
		if len(events) != 1 {
			t.Fatalf("%d refusal audit events, want 1 (once per window)", len(events))
		}
		// The accepted requests of the batch are worked like any other.
		limited.drain(t)
		a.smtp.Wait(t, 2)
	})
}

// TestForgotBatchFaultFailsTheBatch: a write that fails rolls the whole
// batch back: every request of it gets the error, none is answered as
// accepted, and nothing is queued.
func TestForgotBatchFaultFailsTheBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	faulty := &faultyStore{Store: e.db, refuse: []byte("fault@example.com")}
	svc := e.withStore(t, faulty)
	errs := svc.ForgotBatch(ctx, []account.ForgotRequest{
		{"one@example.com", meta}, {"fault@example.com", meta}, {"two@example.com", meta},
	})
	for i, err := range errs {
		if !errors.Is(err, errDiskOnFire) {
			t.Fatalf("request %d: %v, want the batch's error", i, err)
		}
	}
	if n, _ := testutil.CountJobs(e.db, airlock.JobForgot); n != 0 {
		t.Fatalf("%d requests queued by a failed batch, want 0", n)
	}
}

// TestForgotBatchNobodyIsDropped: when the database is unavailable every
// request of the batch is told so (503), none is answered as accepted;
// when the commit fails after it may have been written, every request gets
// the error and none is written twice by a retry.
func TestForgotBatchNobodyIsDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	reqs := []account.ForgotRequest{{"one@example.com", meta}, {"two@example.com", meta}, {"three@example.com", meta}}

	down := e.withStore(t, &faultyStore{Store: e.db, down: true})
	for i, err := range down.ForgotBatch(ctx, reqs) {
		if code(err) != airlock.CodeUnavailable {
			t.Errorf("request %d with the database down: %v, want unavailable", i, err)
		}
	}
	if n, _ := testutil.CountJobs(e.db, ""); n != 0 {
		t.Fatalf("%d jobs queued with the database down", n)
	}

	lost := e.withStore(t, &faultyStore{Store: e.db, commitLost: true})
	for i, err := range lost.ForgotBatch(ctx, reqs) {
		if !errors.Is(err, errCommitLost) {
			t.Errorf("request %d after an uncertain commit: %v, want the error", i, err)
		}
	}
	if n, _ := testutil.CountJobs(e.db, airlock.JobForgot); n != 3 {
		t.Fatalf("%d requests queued after an uncertain commit, want 3 (written once)", n)
	}
}

// TestForgotBatchesUnderLoad: many requests at once are batched, and each
// is answered once its own row is committed: every accepted one is queued,
// every refused one is not.
func TestForgotBatchesUnderLoad(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		for i := range 200 {
			n := []*env{a, b}[i%2]
			wg.Go(func() {
				// Ten addresses, twenty requests each: the default limit
				// (20 per 10 minutes) lets all of them through.
				m := account.Meta{IP: fmt.Sprintf("192.0.2.%d", i%10)}
				_, err := n.svc.RequestReset(ctx, fmt.Sprintf("x%d@example.com", i), m)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				accepted++
				mu.Unlock()
			})
		}
		wg.Wait()
		if n, _ := testutil.CountJobs(a.db, airlock.JobForgot); n != accepted || accepted != 200 {
			t.Fatalf("%d requests accepted, %d queued, want 200", accepted, n)
		}
	})
}

// TestWorkerBatchFaultIsRetried: the worker decides the forgot requests it
// claimed in one transaction; when it cannot be written, nothing of it is
// (no email, no job done), every request is tried again later, and once
// the fault is gone the retry does them all, each once.
func TestWorkerBatchFaultIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	e.user(t, "bob@example.com", goodPassword)
	for _, email := range []string{"ada@example.com", "fault@example.com", "bob@example.com"} {
		if _, err := e.svc.RequestReset(ctx, email, meta); err != nil {
			t.Fatal(err)
		}
	}
	worker := e.withStore(t, &faultyStore{Store: e.db, refuse: []byte("fault@example.com")})
	if _, err := worker.ProcessDue(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := testutil.CountJobs(e.db, airlock.JobForgot); n != 3 {
		t.Fatalf("%d forgot requests left, want all 3", n)
	}
	if n, _ := testutil.CountJobs(e.db, airlock.JobMail); n != 0 {
		t.Fatalf("%d emails queued by a failed batch", n)
	}
	// Once the fault is gone, the retry does it.
	e.clock.Advance(time.Hour)
	e.drain(t)
	if n, _ := testutil.CountJobs(e.db, airlock.JobForgot); n != 0 {
		t.Fatalf("%d forgot requests left after the retry", n)
	}
	msgs := e.smtp.Wait(t, 2)
	got := map[string]int{}
	for _, m := range msgs {
		got[m.To[0]]++
	}
	if len(msgs) != 2 || got["ada@example.com"] != 1 || got["bob@example.com"] != 1 {
		t.Fatalf("emails to %v, want ada and bob once each", got)
	}
}

var (
	errDiskOnFire = errors.New("disk on fire")
	errCommitLost = errors.New("connection lost during COMMIT")
)

// faultyStore is the real store with one fault: a job or an audit event
// about refuse cannot be written, or the database is down, or a commit's
// answer is lost after it was written.
type faultyStore struct {
	airlock.Store
	refuse     []byte
	down       bool
	commitLost bool
}

func (f *faultyStore) Update(ctx context.Context, fn func(airlock.Tx) error) error {
	if f.down {
		return &airlock.Error{Code: airlock.CodeUnavailable, Key: "error.unavailable", RetryAfter: time.Second}
	}
	err := f.Store.Update(ctx, func(tx airlock.Tx) error { return fn(faultyTx{tx, f}) })
	if err == nil && f.commitLost {
		return errCommitLost
	}
	return err
}

type faultyTx struct {
	airlock.Tx
	f *faultyStore
}

func (t faultyTx) InsertAudits(ctx context.Context, events []*airlock.AuditEvent) error {
	for _, e := range events {
		if len(t.f.refuse) > 0 && bytes.Contains([]byte(e.Subject), t.f.refuse) {
			return errDiskOnFire
		}
	}
	return t.Tx.InsertAudits(ctx, events)
}

func (t faultyTx) EnqueueJobs(ctx context.Context, jobs []*airlock.Job) error {
	for _, j := range jobs {
		if len(t.f.refuse) > 0 && bytes.Contains(j.Payload, t.f.refuse) {
			return errDiskOnFire
		}
	}
	return t.Tx.EnqueueJobs(ctx, jobs)
}

// withStore returns a Service like e's on another store.
func (e *env) withStore(t testing.TB, st airlock.Store) *account.Service {
	t.Helper()
	return e.service(t, st, e.svc.Config())
}

// withConfig returns an env like e (same database, clock and mail server)
// whose Service has changed settings.
func (e *env) withConfig(t testing.TB, tweak func(*account.Config)) *env {
	t.Helper()
	cfg := e.svc.Config()
	tweak(&cfg)
	c := *e
	c.svc = e.service(t, e.db, cfg)
	return &c
}

func (e *env) service(t testing.TB, st airlock.Store, cfg account.Config) *account.Service {
	t.Helper()
	return testsvc.New(t, st, e.clock, cfg, e.smtp.URL(), testsvc.Options{Log: testsvc.DebugLog(e.logs), Hasher: e.hasher})
}

// TestWorkerBatchEveryOutcome: one claimed batch of forgot requests with
// every outcome at once (no account, an inactive account, an account over
// its email limit, an invited user, two ordinary ones, one of them asked
// for three times) gets, request by request, what each would have got alone: the
// emails, and one audit event each with its outcome.
func TestWorkerBatchEveryOutcome(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, _ *env) {
		ctx := context.Background()
		n := a.withConfig(t, func(c *account.Config) { c.LimitResetPerAccount = account.Rate{N: 2, Per: time.Hour} })
		a.user(t, "ada@example.com", goodPassword)
		a.user(t, "bob@example.com", goodPassword)
		gone := a.user(t, "gone@example.com", goodPassword)
		off := false
		if _, err := a.svc.AdminUpdateUser(ctx, account.Operator, gone.ID, account.UserChanges{Active: &off}, meta); err != nil {
			t.Fatal(err)
		}
		if _, err := a.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "new@example.com", Invite: true}, meta); err != nil {
			t.Fatal(err)
		}
		a.drain(t) // the first invitation
		a.smtp.Wait(t, 1)
		before, _, _ := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditResetRequested, Limit: 100})

		asked := []string{"ada@example.com", "nobody@example.com", "GONE@example.com", "bob@example.com", "new@example.com", "Ada@Example.com", " ada@example.COM"}
		for _, email := range asked {
			if _, err := n.svc.RequestReset(ctx, email, meta); err != nil {
				t.Fatal(err)
			}
		}
		if c, _ := testutil.CountJobs(a.db, airlock.JobForgot); c != len(asked) {
			t.Fatalf("%d requests queued, want %d", c, len(asked))
		}
		n.drain(t)
		if c, _ := testutil.CountJobs(a.db, airlock.JobForgot); c != 0 {
			t.Fatalf("%d requests left after the batch", c)
		}
		// The invitation at creation, and four now; the invited user's
		// second invitation is the second email of its limit of 2.
		msgs := a.smtp.Wait(t, 5)
		got := map[string]int{}
		for _, m := range msgs[1:] {
			got[m.To[0]]++
		}
		if len(msgs) != 5 || got["ada@example.com"] != 2 || got["bob@example.com"] != 1 || got["new@example.com"] != 1 {
			t.Fatalf("emails now: %v, want two to ada (the third ask is over the limit), one to bob and one to the invited user", got)
		}
		events, _, _ := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditResetRequested, Limit: 100})
		outcomes := map[string][]string{}
		for _, e := range events[:len(events)-len(before)] {
			outcomes[e.Subject] = append(outcomes[e.Subject], e.Outcome)
		}
		want := map[string][]string{
			"ada@example.com":    {"rate_limited", "queued", "queued"}, // newest first: the third ask is over the limit of 2
			"nobody@example.com": {"no_account"},
			"gone@example.com":   {"inactive"},
			"bob@example.com":    {"queued"},
			"new@example.com":    {"invitation_resent"},
		}
		if fmt.Sprint(outcomes) != fmt.Sprint(want) {
			t.Fatalf("audit outcomes %v, want %v", outcomes, want)
		}
	})
}

// TestForgotBatchIsOneJob: the requests one transaction accepts are queued
// as one job holding them all (one row to write, claim and delete), counted
// as so many requests; the worker decides each of them as alone. A job
// queued by an older version (one request, a JSON object) is still read.
func TestForgotBatchIsOneJob(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, _ *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword)
		a.user(t, "bob@example.com", goodPassword)
		reqs := []account.ForgotRequest{{"ada@example.com", meta}, {"nobody@example.com", meta}, {"bob@example.com", meta}, {"Ada@Example.com", meta}}
		for i, err := range a.svc.ForgotBatch(ctx, reqs) {
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if n, _ := testutil.CountJobs(a.db, airlock.JobForgot); n != len(reqs) {
			t.Fatalf("%d requests queued, want %d", n, len(reqs))
		}
		now := a.clock.Now()
		jobs, err := a.db.ClaimJobs(ctx, "probe", now, time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 || jobs[0].Items != len(reqs) {
			t.Fatalf("the batch was queued as %d jobs (first holding %d), want one holding %d", len(jobs), jobs[0].Items, len(reqs))
		}
		if _, err := a.db.ReleaseLeases(ctx, "probe"); err != nil {
			t.Fatal(err)
		}
		old := &airlock.Job{Kind: airlock.JobForgot, Payload: []byte(`{"email":"bob@example.com","ip":"192.0.2.10","user_agent":"old"}`),
			RunAt: a.clock.Now(), CreatedAt: a.clock.Now()}
		if err := a.db.Update(ctx, func(tx airlock.Tx) error { return tx.EnqueueJobs(ctx, []*airlock.Job{old}) }); err != nil {
			t.Fatal(err)
		}
		a.drain(t)
		if n, _ := testutil.CountJobs(a.db, ""); n != 0 {
			t.Fatalf("%d requests or emails left", n)
		}
		got := map[string]int{}
		for _, m := range a.smtp.Wait(t, 4) {
			got[m.To[0]]++
		}
		if got["ada@example.com"] != 2 || got["bob@example.com"] != 2 {
			t.Fatalf("emails %v, want two to ada (asked twice) and two to bob (the batch, the old job)", got)
		}
		events, _, _ := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditResetRequested, Limit: 100})
		if len(events) != 5 {
			t.Fatalf("%d audit events, want one per request (5)", len(events))
		}
	})
}

// TestAccountLimitRefusalsAuditedOnce: requests naming one account past its
// reset email limit, from many addresses on two nodes at once, are
// refused silently and write one audit event for the window (SPEC §6.14),
// not one each; the accepted ones are each audited.
func TestAccountLimitRefusalsAuditedOnce(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword)
		var wg sync.WaitGroup
		for i := range 14 {
			wg.Go(func() {
				m := account.Meta{IP: fmt.Sprintf("198.51.100.%d", i+1)}
				if _, err := []*env{a, b}[i%2].svc.RequestReset(ctx, "ada@example.com", m); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for range 3 {
			drainAtOnce(t, a, b)
		}
		events, _, err := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditResetRequested, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[string]int{}
		for _, ev := range events {
			outcomes[ev.Outcome]++
		}
		if outcomes["queued"] != 3 || outcomes["rate_limited"] != 1 || len(events) != 4 {
			t.Fatalf("audit outcomes %v, want 3 queued and 1 rate_limited", outcomes)
		}
	})
}

// TestAPersonsEmailGoesBeforeLaterRequests: a person's reset email is due
// from when they asked, so it goes before the forgot requests that came
// after theirs (a flood's), instead of queueing a second time behind them
// once their own request is decided (issue 23).
func TestAPersonsEmailGoesBeforeLaterRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	if _, err := e.svc.RequestReset(ctx, "ada@example.com", account.Meta{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	for i := range 200 {
		if _, err := e.svc.RequestReset(ctx, fmt.Sprintf("nobody-%d@example.com", i), account.Meta{IP: fmt.Sprintf("198.51.100.%d", i%250)}); err != nil {
			t.Fatal(err)
		}
	}
	// The relay holds its answer: when the email arrives, what is left of
	// the later requests is still waiting.
	e.smtp.StallNext(1)
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.ProcessDue(ctx)
		done <- err
	}()
	e.smtp.Wait(t, 1)
	left, err := testutil.CountJobs(e.db, airlock.JobForgot)
	e.smtp.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err != nil || left < 100 {
		t.Fatalf("%d of the 200 later requests were still waiting when the email went out (%v); want most of them", left, err)
	}
}

// TestForgotRefusedWhileTheQueueLags: while the workers are more than a
// couple of seconds behind, a forgot request is refused at once, 503 with
// Retry-After, the same for an address with an account and one without,
// and nothing of it is counted or queued; once the queue is worked off,
// requests are accepted again (issue 23: shed load honestly rather than
// answer and fall behind).
func TestForgotRefusedWhileTheQueueLags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	e.user(t, "bob@example.com", goodPassword)
	if _, err := e.svc.RequestReset(ctx, "ada@example.com", account.Meta{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Second) // the workers are 5 s behind
	e.smtp.StallNext(1)              // and hold on to ada's email
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.ProcessDue(ctx)
		done <- err
	}()
	e.smtp.Wait(t, 1)
	for _, email := range []string{"bob@example.com", "nobody@example.com"} {
		_, err := e.svc.RequestReset(ctx, email, account.Meta{IP: "192.0.2.2"})
		if e := airlock.AsError(err); e == nil || e.Code != airlock.CodeUnavailable || e.RetryAfter <= 0 || e.Key != "error.busy" {
			t.Fatalf("%s while the queue lags 5 s: %v, want 503 busy with Retry-After", email, err)
		}
	}
	if n, _ := testutil.CountJobs(e.db, airlock.JobForgot); n != 0 {
		t.Fatalf("%d refused requests queued", n)
	}
	if lag, n := e.svc.QueueLag(), e.svc.BusyRefusals(); lag < 5*time.Second || n != 2 {
		t.Fatalf("the metrics' lag %v, refusals %d: want 5 s and 2", lag, n)
	}
	e.smtp.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RequestReset(ctx, "bob@example.com", account.Meta{IP: "192.0.2.2"}); err != nil {
		t.Fatalf("once the queue is worked off: %v", err)
	}
	// Nothing of the refused requests was counted against their address.
	for i := range 19 {
		if _, err := e.svc.RequestReset(ctx, fmt.Sprintf("x%d@example.com", i), account.Meta{IP: "192.0.2.2"}); err != nil {
			t.Fatalf("request %d from the address refused twice: %v", i+2, err)
		}
	}
}
