package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// TestRefusedAddressFailsAtOnce: an address the recipient's server refuses
// (550) is marked failed after one attempt and never retried, its reset
// link dies, the administrators see why; the other emails are delivered.
func TestRefusedAddressFailsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	gone := e.user(t, "gone@example.com", goodPassword)
	e.user(t, "ada@example.com", goodPassword)
	e.smtp.RefuseRecipient("gone@example.com")
	for _, email := range []string{"gone@example.com", "ada@example.com"} {
		if _, err := e.svc.RequestReset(ctx, email, meta); err != nil {
			t.Fatal(err)
		}
	}
	e.drain(t)
	e.smtp.Wait(t, 1)
	emails, err := e.svc.AdminListEmails(ctx, account.Operator, airlock.EmailFilter{UserID: gone.ID})
	if err != nil || len(emails) != 1 {
		t.Fatalf("emails: %+v %v", emails, err)
	}
	f := emails[0]
	if f.State != airlock.EmailFailed || f.Attempts != 1 || !strings.HasPrefix(f.LastError, "550 5.1.1") ||
		account.DeliveryProblem(f) != account.ProblemRefusedAddress {
		t.Fatalf("refused email: %+v (%s)", f, account.DeliveryProblem(f))
	}
	// No retry, however long we wait.
	e.clock.Advance(2 * time.Hour)
	e.drain(t)
	if got, _ := e.db.EmailByID(ctx, f.ID); got.Attempts != 1 || got.State != airlock.EmailFailed {
		t.Fatalf("a failed email was retried: %+v", got)
	}
	var live int
	e.db.SQL().QueryRow(`SELECT COUNT(*) FROM reset_tokens WHERE user_id = ? AND revoked_at IS NULL AND used_at IS NULL`, gone.ID).Scan(&live)
	if live != 0 {
		t.Fatalf("%d usable reset links for an email that failed", live)
	}
	if users, _, _ := e.svc.AdminListUsers(ctx, account.Operator, airlock.UserFilter{EmailProblems: true}); len(users) != 1 || users[0].ID != gone.ID {
		t.Fatalf("users with email problems: %+v", users)
	}
	if events, _, _ := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditEmailFailed}); len(events) != 1 {
		t.Fatal("the failure was not audited")
	}
	// An operator's retry sends it again (it still fails here, and says so).
	if err := e.svc.AdminRetryEmail(ctx, account.Operator, "someone else", f.ID, meta); code(err) != airlock.CodeNotFound {
		t.Fatalf("another user's email retried: %v", err)
	}
	if err := e.svc.AdminRetryEmail(ctx, account.Operator, f.UserID, f.ID, meta); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.db.EmailByID(ctx, f.ID); got.State != airlock.EmailQueued {
		t.Fatalf("after a retry: %+v", got)
	}
}

// TestTemporaryFailuresDeferThenFail: a 4xx defers the email with the
// server's words and a next attempt; after 24 hours of failures it is
// failed for good.
func TestTemporaryFailuresDeferThenFail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	e.smtp.FailNext(1000)
	if _, err := e.svc.RequestReset(ctx, "ada@example.com", meta); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	emails, _ := e.svc.AdminListEmails(ctx, account.Operator, airlock.EmailFilter{UserID: u.ID})
	if len(emails) != 1 || emails[0].State != airlock.EmailDeferred || !strings.HasPrefix(emails[0].LastError, "451") ||
		!emails[0].RunAt.After(e.clock.Now()) || account.DeliveryProblem(emails[0]) != account.ProblemTemporary {
		t.Fatalf("after a 451: %+v", emails)
	}
	for range 40 {
		e.clock.Advance(time.Hour)
		e.drain(t)
	}
	got, _ := e.db.EmailByID(ctx, emails[0].ID)
	if got.State != airlock.EmailFailed || got.Attempts > 30 {
		t.Fatalf("after a day of failures: %+v", got)
	}
}

// TestUncertainDeliveryIsTheSameMessageAgain: a server that drops the
// connection after DATA leaves the delivery uncertain; the retry is the
// same message (SPEC §7): same Message-ID, same Date, same link, which
// works; the same holds for an email without a link.
func TestUncertainDeliveryIsTheSameMessageAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	e.smtp.DropNext(1)
	if _, err := e.svc.RequestReset(ctx, "ada@example.com", meta); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	e.clock.Advance(time.Minute)
	e.drain(t)
	msgs := e.smtp.Wait(t, 2)
	first, second := msgs[0].Header("Message-Id"), msgs[1].Header("Message-Id")
	if first == "" || first != second || strings.Count(first, "<") != 1 || !strings.HasSuffix(first, "@example.com>") {
		t.Fatalf("Message-IDs %q then %q", first, second)
	}
	if d1, d2 := msgs[0].Header("Date"), msgs[1].Header("Date"); d1 == "" || d1 != d2 {
		t.Fatalf("Dates %q then %q", d1, d2)
	}
	if a, b := msgs[0].Parts()["text/plain"], msgs[1].Parts()["text/plain"]; a != b || tokenFrom(t, msgs[0]) != tokenFrom(t, msgs[1]) {
		t.Fatalf("the second delivery differs:\n%s\n---\n%s", a, b)
	}
	if _, _, err := e.svc.CheckLink(ctx, account.ByToken(tokenFrom(t, msgs[0])), meta); err != nil {
		t.Fatalf("the link of both copies: %v", err)
	}

	// An email without a link: the same message again too.
	e.smtp.DropNext(1)
	if _, err := e.svc.ChangePassword(ctx, u, "", "purple kettle under the sea", account.Proof{Password: goodPassword}, meta); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	e.clock.Advance(time.Minute)
	e.drain(t)
	msgs = e.smtp.Wait(t, 4)
	if a, b := msgs[2].Header("Message-Id"), msgs[3].Header("Message-Id"); a == "" || a != b || a == first {
		t.Fatalf("password-changed Message-IDs %q then %q (reset %q)", a, b, first)
	}
}
