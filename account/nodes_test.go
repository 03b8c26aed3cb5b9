package account_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testutil"
)

// twoNodes returns two Services with their own connection pools on one
// fresh PostgreSQL database, as two Airlock nodes behind a load balancer.
func twoNodes(t *testing.T) (*env, *env) {
	dsn := testutil.PostgresURL(t)
	if dsn == "" {
		t.Skipf("%s not set: the multi-node tests need PostgreSQL (CI sets it)", testutil.PostgresEnv)
	}
	clock, smtp := testutil.NewClock(), mailtest.Start(t)
	return newNode(t, testutil.OpenURL(t, dsn), clock, smtp), newNode(t, testutil.OpenURL(t, dsn), clock, smtp)
}

// drainAtOnce has every node given run the due jobs, all at once.
func drainAtOnce(t *testing.T, nodes ...*env) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() {
			if _, err := n.svc.ProcessDue(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestNodesShareTheFlow: a reset asked for on one node is finished on the
// other; with both nodes' workers racing over the outbox, each email goes out once.
func TestNodesShareTheFlow(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	ctx := context.Background()
	a.user(t, "ada@example.com", goodPassword)
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		if _, err := a.svc.RequestReset(ctx, email, meta); err != nil {
			t.Fatal(err)
		}
	}
	// Both nodes drain the same queue at once, several times over.
	drainAtOnce(t, a, b, a, b)
	var wg sync.WaitGroup
	a.smtp.Wait(t, 1)
	msgs := a.smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want exactly 1", len(msgs))
	}
	token := tokenFrom(t, msgs[0])
	// Node B checks and completes what node A started; 20 parallel uses
	// spread over both nodes, exactly one wins.
	if _, _, err := b.svc.CheckLink(ctx, account.ByToken(token), meta); err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int32
	for i := range 20 {
		n := a
		if i%2 == 1 {
			n = b
		}
		wg.Go(func() {
			if _, _, err := n.svc.CompleteLink(ctx, account.ByToken(token), "set on whichever node", "", account.Meta{IP: "192.0.2.50"}); err == nil {
				ok.Add(1)
			} else if code(err) != airlock.CodeInvalidToken {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d resets succeeded across two nodes, want 1", ok.Load())
	}
	if _, _, _, err := a.svc.SignIn(ctx, "ada@example.com", "set on whichever node", "", meta); err != nil {
		t.Fatal(err)
	}
}

// TestNodesShareLimits: the per-IP limit counts requests on every node.
func TestNodesShareLimits(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	ctx := context.Background()
	for i := range 20 {
		n := a
		if i%2 == 1 {
			n = b
		}
		if _, err := n.svc.RequestReset(ctx, "x@example.com", meta); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	for _, n := range []*env{a, b} {
		if _, err := n.svc.RequestReset(ctx, "x@example.com", meta); code(err) != airlock.CodeRateLimited {
			t.Fatalf("21st request: %v, want rate_limited on every node", err)
		}
	}
	// Parallel sign-in failures from both nodes are all counted.
	a.user(t, "ada@example.com", goodPassword)
	var wg sync.WaitGroup
	for i := range 10 {
		n := a
		if i%2 == 1 {
			n = b
		}
		wg.Go(func() {
			n.svc.SignIn(ctx, "ada@example.com", "wrong password here", "", account.Meta{IP: "198.51.100.3"})
		})
	}
	wg.Wait()
	if _, _, _, err := b.svc.SignIn(ctx, "ada@example.com", goodPassword, "", account.Meta{IP: "198.51.100.4"}); code(err) != airlock.CodeRateLimited {
		t.Fatalf("after 10 failures spread over two nodes: %v", err)
	}
}

// TestNodesMailBatchesNeverDeadlock: two nodes minting batches of emails
// whose users overlap, queued in opposite orders (one node's batch meets
// them upwards, the other's downwards), lock the users in one order and
// never deadlock (PostgreSQL would abort one batch, sent one email at a
// time instead); every email goes out once.
func TestNodesMailBatchesNeverDeadlock(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	unlimited := func(c *account.Config) { c.LimitResetPerAccount = account.Rate{} }
	a, b = a.withConfig(t, unlimited), b.withConfig(t, unlimited)
	ctx := context.Background()
	var users []*airlock.User
	for i := range 40 {
		users = append(users, a.user(t, fmt.Sprintf("u%02d@example.com", i), goodPassword))
	}
	for round := range 3 {
		before := len(a.smtp.Messages())
		for i := range 2 * len(users) {
			var u *airlock.User
			if i < len(users) {
				u = users[i]
			} else {
				u = users[2*len(users)-1-i]
			}
			if err := a.svc.AdminSendReset(ctx, account.Operator, u.ID, meta); err != nil {
				t.Fatal(err)
			}
		}
		drainAtOnce(t, a, b, a, b)
		a.drain(t)
		a.smtp.Wait(t, before+2*len(users))
		if got := len(a.smtp.Messages()) - before; got != 2*len(users) {
			t.Fatalf("round %d: %d emails, want %d (each once)", round, got, 2*len(users))
		}
		for _, n := range []*env{a, b} {
			if logs := n.logs.String(); strings.Contains(logs, "job failed") {
				t.Fatalf("round %d: a batch failed (a deadlock?), to be tried again:\n%s", round, logs)
			}
		}
	}
}

// TestNodesEveryLinkWorksWhicheverArrivesLast: a person asks twice at once,
// on two nodes, behind a relay that takes its time; each node mints its own
// link and delivers on its own, so either email may arrive last. Whichever
// it is, its link works (SPEC §6.2: a newer link no longer kills the
// older); using it kills the other.
func TestNodesEveryLinkWorksWhicheverArrivesLast(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	ctx := context.Background()
	u := a.user(t, "ada@example.com", goodPassword)
	a.smtp.Delay(50 * time.Millisecond)
	seen := 0
	for round := range 3 {
		a.clock.Advance(time.Hour) // past the 3-emails-an-hour limit of the rounds before
		var wg sync.WaitGroup
		for _, n := range []*env{a, b} {
			wg.Go(func() {
				if err := n.svc.AdminSendReset(ctx, account.Operator, u.ID, meta); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		drainAtOnce(t, a, b)
		msgs := a.smtp.Wait(t, seen+2)[seen:]
		last := tokenFrom(t, msgs[1])
		for i, m := range msgs {
			if _, _, err := b.svc.CheckLink(ctx, account.ByToken(tokenFrom(t, m)), meta); err != nil {
				t.Fatalf("round %d: the link of the email that arrived %s: %v", round, []string{"first", "last"}[i], err)
			}
		}
		if _, _, err := a.svc.CompleteLink(ctx, account.ByToken(last), fmt.Sprintf("round %d on whichever node", round), "", meta); err != nil {
			t.Fatalf("round %d: the last email's link: %v", round, err)
		}
		if _, _, err := b.svc.CheckLink(ctx, account.ByToken(tokenFrom(t, msgs[0])), meta); code(err) != airlock.CodeInvalidToken {
			t.Fatalf("round %d: the other link after one was used: %v", round, err)
		}
		a.drain(t) // the "password changed" email
		seen += 3
		a.smtp.Wait(t, seen)
	}
}

// TestNodesTakeoverSendsTheSameMessage: node A hands an email to the relay
// and freezes before the relay answers; its lease runs out, node B takes
// the email over and sends it again: the same message (same Message-ID,
// date and link, which works), SPEC §7. When A wakes up it writes nothing
// for the email it lost (fencing, SPEC §8): B's outcome stands.
func TestNodesTakeoverSendsTheSameMessage(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	ctx := context.Background()
	u := a.user(t, "ada@example.com", goodPassword)
	if err := a.svc.AdminSendReset(ctx, account.Operator, u.ID, meta); err != nil {
		t.Fatal(err)
	}
	a.smtp.StallNext(1)
	frozen := make(chan error, 1)
	go func() {
		_, err := a.svc.ProcessDue(ctx)
		frozen <- err
	}()
	first := a.smtp.Wait(t, 1)[0]
	// A's lease runs out while it is frozen (its renewals would come too
	// late: they are fenced on the database's clock).
	if _, err := a.db.SQL().ExecContext(ctx, "UPDATE jobs SET lease_until = 0 WHERE state = 'sending'"); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	second := a.smtp.Wait(t, 2)[1]
	a.smtp.Release()
	if err := <-frozen; err != nil {
		t.Fatalf("node A on waking: %v", err)
	}
	if id := first.Header("Message-Id"); id == "" || id != second.Header("Message-Id") || first.Header("Date") != second.Header("Date") {
		t.Fatalf("the takeover sent another message: %q %q, %q %q", id, second.Header("Message-Id"), first.Header("Date"), second.Header("Date"))
	}
	if tokenFrom(t, first) != tokenFrom(t, second) {
		t.Fatal("the takeover's copy carries another link")
	}
	emails, err := b.svc.AdminListEmails(ctx, account.Operator, airlock.EmailFilter{UserID: u.ID})
	if err != nil || len(emails) != 1 || emails[0].State != airlock.EmailSent {
		t.Fatalf("the email after A woke up: %+v %v, want sent (by B)", emails, err)
	}
	if _, _, err := a.svc.CompleteLink(ctx, account.ByToken(tokenFrom(t, first)), "set from either copy", "", meta); err != nil {
		t.Fatalf("the link both copies carry: %v", err)
	}
}

// TestPausedNodeHoldsNoSignIn (issue 22): node A stops in the middle of a
// transaction holding the sign-in limits' rows and the user's row (a
// paused process, a frozen VM: it runs nothing, so no deadline of its
// own rolls anything back). The server ends A's idle transaction, so
// sign-ins on node B succeed, the first within twice the time limit of
// the freeze, none answering 503.
func TestPausedNodeHoldsNoSignIn(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	const limit = time.Second // the smallest AIRLOCK_DATABASE_TIMEOUT
	a.db.SetTimeout(limit)
	b.db.SetTimeout(limit)
	ctx := context.Background()
	a.user(t, "ada@example.com", goodPassword)
	if _, _, _, err := b.svc.SignIn(ctx, "ada@example.com", "a wrong password, once", "", meta); airlock.ErrorCode(err) != airlock.CodeUnauthorized {
		t.Fatalf("a wrong password: %v", err) // the limits' rows now exist
	}

	tx, err := a.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range []string{`SELECT key FROM rate_limits FOR UPDATE`, `SELECT id FROM users FOR NO KEY UPDATE`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	frozen := time.Now()

	for i := range 5 {
		start := time.Now()
		if _, sid, _, err := b.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); err != nil || sid == "" {
			t.Fatalf("sign-in %d on node B, %v after node A froze: %v", i, time.Since(frozen), err)
		}
		if i == 0 {
			if took := time.Since(frozen); took > 2*limit+500*time.Millisecond { // slack for a loaded machine
				t.Fatalf("the first sign-in took %v after the freeze", took)
			}
			t.Logf("first sign-in on node B served %v after node A froze", time.Since(start).Round(time.Millisecond))
		}
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("node A's transaction committed after the server had ended it")
	}
}
