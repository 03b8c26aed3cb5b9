package account_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/testutil"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/password"
)

// countingStore counts write transactions, and fails the ones whose
// numbers (from 1) are in fail without running them.
type countingStore struct {
	airlock.Store
	updates atomic.Int64
	fail    map[int64]bool
}

func (c *countingStore) Update(ctx context.Context, fn func(airlock.Tx) error) error {
	if c.fail[c.updates.Add(1)] {
		return errDiskOnFire
	}
	return c.Store.Update(ctx, fn)
}

// TestMailBatchEveryOutcome: emails claimed together are minted in one
// transaction (not one each), each recorded sent as the relay takes it,
// and each gets, email by email, what it would have got alone: sent (one
// user's two emails in order, both links working until one is used, which
// kills the other), dropped (its
// user deactivated since; an unreadable entry), failed for good (the
// recipient refused).
func TestMailBatchEveryOutcome(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, _ *env) {
		ctx := context.Background()
		ada := a.user(t, "ada@example.com", goodPassword)
		bob := a.user(t, "bob@example.com", goodPassword)
		gone := a.user(t, "gone@example.com", goodPassword)
		nobox := a.user(t, "nobox@example.com", goodPassword)
		a.smtp.RefuseRecipient("nobox@example.com")
		for _, u := range []*airlock.User{ada, bob, gone, nobox, ada} {
			if err := a.svc.AdminSendReset(ctx, account.Operator, u.ID, meta); err != nil {
				t.Fatal(err)
			}
		}
		off := false
		if _, err := a.svc.AdminUpdateUser(ctx, account.Operator, gone.ID, account.UserChanges{Active: &off}, meta); err != nil {
			t.Fatal(err)
		}
		junk := &airlock.Job{Kind: airlock.JobMail, Payload: []byte("not json"), RunAt: a.clock.Now(), CreatedAt: a.clock.Now()}
		if err := a.db.Update(ctx, func(tx airlock.Tx) error { return tx.EnqueueJobs(ctx, []*airlock.Job{junk}) }); err != nil {
			t.Fatal(err)
		}

		counted := &countingStore{Store: a.db}
		svc := a.withStore(t, counted)
		if n, err := svc.ProcessDue(ctx); err != nil || n != 6 {
			t.Fatalf("ran %d jobs (%v), want the 6 emails", n, err)
		}
		// Mint, and record the failure.
		if n := counted.updates.Load(); n > 2 {
			t.Fatalf("%d write transactions for 6 emails claimed together, want at most 2", n)
		}
		msgs := a.smtp.Wait(t, 3)
		got := map[string]int{}
		for _, m := range msgs {
			got[m.To[0]]++
		}
		if len(msgs) != 3 || got["ada@example.com"] != 2 || got["bob@example.com"] != 1 {
			t.Fatalf("delivered %v, want two to ada and one to bob", got)
		}
		var adas []string
		for _, m := range msgs {
			if m.To[0] == "ada@example.com" {
				adas = append(adas, tokenFrom(t, m))
			}
		}
		for i, token := range adas {
			if _, _, err := a.svc.CheckLink(ctx, account.ByToken(token), meta); err != nil {
				t.Fatalf("ada's link %d: %v (a newer link leaves the older working)", i, err)
			}
		}
		state := func(u *airlock.User) []string {
			emails, err := a.svc.AdminListEmails(ctx, account.Operator, airlock.EmailFilter{UserID: u.ID})
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, e := range emails {
				s = append(s, e.State)
			}
			return s
		}
		if s := state(ada); len(s) != 2 || s[0] != airlock.EmailSent || s[1] != airlock.EmailSent {
			t.Fatalf("ada's emails %v, want two sent", s)
		}
		if n, _ := testutil.CountJobs(a.db, ""); n != 0 {
			t.Fatalf("%d jobs still waiting", n)
		}
		if _, _, err := a.svc.CompleteLink(ctx, account.ByToken(adas[0]), "purple kettle under the sea", "", meta); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.svc.CheckLink(ctx, account.ByToken(adas[1]), meta); code(err) != airlock.CodeInvalidToken {
			t.Fatalf("ada's other link after one was used: %v, want invalid", err)
		}
		if s := state(nobox); len(s) != 1 || s[0] != airlock.EmailFailed {
			t.Fatalf("the refused recipient's email %v, want failed", s)
		}
		if s := state(gone); len(s) != 0 {
			t.Fatalf("the deactivated user's email %v, want dropped", s)
		}
	})
}

// TestMailBatchFaultIsRetried: when the transaction that mints a batch's
// links fails, nothing was written and nothing sent: every email is tried
// again later, and goes out once. The dev mailbox takes the same path as a
// relay.
func TestMailBatchFaultIsRetried(t *testing.T) {
	t.Parallel()
	for _, dev := range []bool{false, true} {
		e := newEnv(t)
		ctx := context.Background()
		var users []*airlock.User
		for _, email := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
			u := e.user(t, email, goodPassword)
			users = append(users, u)
			if err := e.svc.AdminSendReset(ctx, account.Operator, u.ID, meta); err != nil {
				t.Fatal(err)
			}
		}
		st := &countingStore{Store: e.db, fail: map[int64]bool{1: true}}
		svc := e.withStore(t, st)
		var box *mail.DevMailbox
		if dev {
			tpl, _ := mail.ParseTemplates()
			box = mail.NewDevMailbox(e.db, e.clock.Now)
			svc = account.New(slog.New(slog.NewTextHandler(e.logs, nil)), e.svc.Config(), st, e.hasher, password.NewPolicy(12), tpl, box, e.clock)
		}
		sent := func() int {
			if dev {
				kept, _ := box.Messages(ctx, 10)
				return len(kept)
			}
			return len(e.smtp.Messages())
		}
		if _, err := svc.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
		if n := sent(); n != 0 {
			t.Fatalf("dev %v: %d emails out after a failed batch", dev, n)
		}
		e.clock.Advance(time.Hour)
		if _, err := svc.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
		if n := sent(); n != 3 {
			t.Fatalf("dev %v: %d emails out after the retry, want 3 (once each)", dev, n)
		}
		for _, u := range users {
			emails, _ := e.svc.AdminListEmails(ctx, account.Operator, airlock.EmailFilter{UserID: u.ID})
			if len(emails) != 1 || emails[0].State != airlock.EmailSent {
				t.Fatalf("dev %v: %s's email %+v, want sent", dev, u.Email, emails)
			}
		}
	}
}
