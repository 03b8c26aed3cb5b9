package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/testutil"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// TestForgotDoesTheSameWorkForAnyAccount shows SPEC §6.1: the request
// itself does identical, account-independent work (one queued job, no
// look-up, no token, no email); the account work happens later.
func TestForgotDoesTheSameWorkForAnyAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	inactive := e.user(t, "gone@example.com", goodPassword)
	inactive.Active = false
	if err := e.db.UpdateUser(ctx, inactive); err != nil {
		t.Fatal(err)
	}
	for i, email := range []string{"ada@example.com", "nobody@example.com", "gone@example.com"} {
		if _, err := e.svc.RequestReset(ctx, email, meta); err != nil {
			t.Fatalf("RequestReset(%s) = %v", email, err)
		}
		forgot, _ := testutil.CountJobs(e.db, airlock.JobForgot)
		mails, _ := testutil.CountJobs(e.db, airlock.JobMail)
		if forgot != i+1 || mails != 0 {
			t.Fatalf("after request %d: %d forgot jobs, %d mail jobs; want %d and 0", i+1, forgot, mails, i+1)
		}
	}
	var tokens int
	e.db.SQL().QueryRow(`SELECT COUNT(*) FROM reset_tokens`).Scan(&tokens)
	if tokens != 0 {
		t.Fatalf("%d tokens exist before the worker ran", tokens)
	}
	e.drain(t)
	e.smtp.Wait(t, 1)
	msgs := e.smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails sent, want 1 (only the active account)", len(msgs))
	}
	if got := msgs[0].To; len(got) != 1 || got[0] != "ada@example.com" {
		t.Fatalf("recipients = %v", got)
	}
	// The audit log tells the operator what happened to each request.
	events, _, _ := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditResetRequested})
	var outcomes []string
	for _, ev := range events {
		outcomes = append(outcomes, ev.Outcome)
		if ev.IP != meta.IP || ev.UserAgent != meta.UserAgent {
			t.Errorf("audit event without IP/agent: %+v", ev)
		}
	}
	if strings.Join(outcomes, ",") != "inactive,no_account,queued" {
		t.Fatalf("audit outcomes = %v", outcomes)
	}
}

// TestResetEmailGoesToStoredAddressOnly: the typed address only finds the
// account; the email goes to the address stored on it, to nobody else.
func TestResetEmailGoesToStoredAddressOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "Kim.Lee@Example.com", goodPassword)
	for _, typed := range []string{"KIM.LEE@EXAMPLE.COM", " kim.lee@example.com "} {
		if _, err := e.svc.RequestReset(ctx, typed, meta); err != nil {
			t.Fatal(err)
		}
	}
	// Look-alikes: the Kelvin sign folds to k under full Unicode rules, a
	// dotless i and a Cyrillic a look like ASCII. None may reach a mailbox:
	// they are not addresses the mailer can send to, so they are refused.
	for _, typed := range []string{"\u212aim.lee@example.com", "kım.lee@example.com", "kim.lee@exаmple.com"} {
		if _, err := e.svc.RequestReset(ctx, typed, meta); code(err) != airlock.CodeInvalid {
			t.Fatalf("RequestReset(%q) = %v, want invalid", typed, err)
		}
	}
	e.drain(t)
	e.smtp.Wait(t, 2)
	msgs := e.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d emails, want 2", len(msgs))
	}
	for _, m := range msgs {
		if len(m.To) != 1 || m.To[0] != "Kim.Lee@Example.com" || m.Header("To") != "<Kim.Lee@Example.com>" {
			t.Fatalf("email went to %v (header %q)", m.To, m.Header("To"))
		}
	}
}

func TestForgotRejectsMalformedInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, bad := range []string{"", "a@b.c\r\nBcc: evil@example.com", "a@example.com,b@example.com", "a@example.com b@example.com",
		strings.Repeat("a", 250) + "@x.io", "no-at-sign", "x@y@example.com", "bad\xffutf8@example.com", "a@example.com;b@example.com"} {
		if _, err := e.svc.RequestReset(context.Background(), bad, meta); code(err) != airlock.CodeInvalid {
			t.Errorf("RequestReset(%q) = %v, want invalid", bad, err)
		}
	}
	if n, _ := testutil.CountJobs(e.db, ""); n != 0 {
		t.Fatalf("bad input queued %d jobs", n)
	}
}

func TestPerAccountResetLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "ada@example.com", goodPassword)
	ctx := context.Background()
	for range 5 {
		if _, err := e.svc.RequestReset(ctx, "ada@example.com", meta); err != nil {
			t.Fatal(err) // extra requests get the same answer
		}
	}
	e.drain(t)
	e.smtp.Wait(t, 3)
	if n := len(e.smtp.Messages()); n != 3 {
		t.Fatalf("%d reset emails in an hour, want 3", n)
	}
	e.clock.Advance(time.Hour)
	e.resetToken(t, "ada@example.com")
}

func TestForgotPerIPLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for i := range 20 {
		if _, err := e.svc.RequestReset(ctx, "someone@example.com", meta); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	// The 21st is refused whatever the account, existing or not.
	_, err := e.svc.RequestReset(ctx, "other@example.com", meta)
	if e := airlock.AsError(err); e == nil || e.Code != airlock.CodeRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("21st request = %v, want rate_limited with a retry delay", err)
	}
	if n, _ := testutil.CountJobs(e.db, airlock.JobForgot); n != 20 {
		t.Fatalf("%d requests queued, want 20", n)
	}
	// Another client is not affected.
	if _, err := e.svc.RequestReset(ctx, "other@example.com", account.Meta{IP: "198.51.100.7"}); err != nil {
		t.Fatal(err)
	}
	// The limit is a rate: after 10 minutes the client may ask again.
	e.clock.Advance(10 * time.Minute)
	if _, err := e.svc.RequestReset(ctx, "someone@example.com", meta); err != nil {
		t.Fatal(err)
	}
}

func TestLimitOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *account.Config) { c.LimitForgotPerIP = account.Rate{} })
	for i := range 50 {
		if _, err := e.svc.RequestReset(context.Background(), "x@example.com", meta); err != nil {
			t.Fatalf("request %d with the limit off: %v", i, err)
		}
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]account.Rate{"20/10m": {N: 20, Per: 10 * time.Minute}, "3/1h": {N: 3, Per: time.Hour}, "0": {}} {
		if got, err := account.ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "20", "x/10m", "20/abc", "-1/1m", "5/0s"} {
		if _, err := account.ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}
