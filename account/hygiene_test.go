package account_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// TestNoClientInputMakesAWriteFail: a user agent that is not valid UTF-8,
// or that a byte cut would split inside a character, used to make every
// audited write fail on PostgreSQL (500, nothing counted, nothing audited:
// unlimited guessing). Now the limit counts, the audit is written, and the
// forgot request gets its email.
func TestNoClientInputMakesAWriteFail(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword)
		a.user(t, "bob@example.com", goodPassword) // not in the mobile group
		for _, ua := range []string{"bad \xff agent", strings.Repeat("x", 299) + "é", "nul\x00agent", "esc\x1b[2Jagent\u202e"} {
			m := account.Meta{IP: "192.0.2.44", UserAgent: ua}
			a.clock.Advance(time.Hour)
			for i := range 10 {
				if _, _, _, err := a.svc.SignIn(ctx, "ada@example.com", "wrong password number one", "", m); code(err) != airlock.CodeUnauthorized {
					t.Fatalf("UA %q, guess %d: %v", ua, i, err)
				}
			}
			if _, _, _, err := a.svc.SignIn(ctx, "ada@example.com", goodPassword, "", m); code(err) != airlock.CodeRateLimited {
				t.Fatalf("UA %q, after 10 failures: %v, want rate_limited", ua, err)
			}
			// Right password, wrong group: refused, and audited, never a 500.
			if _, err := a.svc.SignInAPI(ctx, "bob@example.com", goodPassword, "", m); code(err) != airlock.CodeForbidden {
				t.Fatalf("UA %q, API without the group: %v", ua, err)
			}
			if _, err := a.svc.RequestReset(ctx, "ada@example.com", m); err != nil {
				t.Fatalf("UA %q, forgot: %v", ua, err)
			}
			before := len(a.smtp.Messages())
			a.drain(t)
			a.smtp.Wait(t, before+1)
		}
		events, _, err := a.db.ListAudit(ctx, airlock.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if !airlock.CheckText(e.UserAgent) || len(e.UserAgent) > 300 {
				t.Fatalf("stored user agent %q", e.UserAgent)
			}
		}
	})
}

// TestRefusalsAreAuditedOncePerWindow: 300 refused sign-ins and 100 refused
// forgot requests add a handful of audit rows, not one each.
func TestRefusalsAreAuditedOncePerWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	for range 310 {
		e.svc.SignIn(ctx, "ada@example.com", "wrong password number one", "", meta)
	}
	for range 120 {
		e.svc.RequestReset(ctx, "nobody@example.com", meta)
	}
	_, total, _ := e.db.ListAudit(ctx, airlock.AuditFilter{})
	// 1 user created, 10 failures, 1 refusal; 1 forgot refusal.
	if total > 15 {
		t.Fatalf("%d audit events for 300 refused sign-ins and 100 refused forgot requests", total)
	}
	// A new window writes one more.
	e.clock.Advance(16 * time.Minute)
	for range 20 {
		e.svc.SignIn(ctx, "ada@example.com", "wrong password number two", "", meta)
	}
	if _, again, _ := e.db.ListAudit(ctx, airlock.AuditFilter{}); again > total+12 {
		t.Fatalf("%d more audit events in the next window", again-total)
	}
}

// TestAuditRetention: the workers prune events older than the retention.
func TestAuditRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *account.Config) { c.AuditRetention = 30 * 24 * time.Hour })
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword) // one event now
	e.clock.Advance(29 * 24 * time.Hour)
	e.user(t, "bob@example.com", goodPassword) // one event 29 days later
	e.clock.Advance(2 * 24 * time.Hour)
	if err := e.svc.PruneAudit(ctx); err != nil {
		t.Fatal(err)
	}
	events, total, _ := e.db.ListAudit(ctx, airlock.AuditFilter{})
	if total != 1 || events[0].Subject != "bob@example.com" {
		t.Fatalf("%d events left after pruning, want bob's only", total)
	}
}

// TestAddressesTheMailerCannotUse: addresses that would be accepted and then
// fail at every delivery are refused at creation, and names that reorder
// or break the text around them are refused too.
func TestAddressesTheMailerCannotUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, bad := range []string{"a..b@example.com", ".lead@example.com", "trail.@example.com", strings.Repeat("a", 65) + "@example.com",
		"a@-example.com", "a@example-.com", "a@example..com", "a@example", "a@1.2.3.4", "josé@example.com", "a@exämple.com",
		"a\x1b[31m@example.com", "a\u0085b@example.com", "a@b@example.com", "a@example.com\r\nBcc: x@example.com",
		"a@example.com\r\n", "\na@example.com", "a@example.com\n", "a@example.com\t", "\u00a0a@example.com", "a@example.com\u2028",
		"a@example.com\v", "a@example.com\u0085"} {
		if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: bad}, meta); code(err) != airlock.CodeInvalid {
			t.Errorf("created %q: %v", bad, err)
		}
	}
	for _, good := range []string{"a.b+tag@example.com", "o'brien@example.ie", strings.Repeat("a", 64) + "@example.com", "x@xn--exmple-cua.com", "dev@localhost"} {
		if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: good}, meta); err != nil {
			t.Errorf("refused %q: %v", good, err)
		}
	}
	for _, name := range []string{"evil\u202etxt.exe", "two\u2028lines", "bell\x07", "c1\u0085c1", "iso\u2066late", "zero\u200bwidth", "bom\ufeffname"} {
		if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "n@example.com", FirstName: name}, meta); code(err) != airlock.CodeInvalid {
			t.Errorf("first name %q: %v", name, err)
		}
	}
	if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "zoe@example.com", FirstName: "Zoë", LastName: "الحسن"}, meta); err != nil {
		t.Fatalf("a name in another script: %v", err)
	}
}

// TestIPv6ClientsAreLimitedPerSlash64: one subscriber usually holds a whole
// /64; keying limits by address would give them 2^64 allowances.
func TestIPv6ClientsAreLimitedPerSlash64(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for i := range 20 {
		m := account.Meta{IP: fmt.Sprintf("2001:db8:1:2::%x", i+1)}
		if _, err := e.svc.RequestReset(ctx, "nobody@example.com", m); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, err := e.svc.RequestReset(ctx, "nobody@example.com", account.Meta{IP: "2001:db8:1:2:ffff:ffff:ffff:ffff"}); code(err) != airlock.CodeRateLimited {
		t.Fatalf("21st request from the same /64: %v", err)
	}
	if _, err := e.svc.RequestReset(ctx, "nobody@example.com", account.Meta{IP: "2001:db8:1:3::1"}); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	// IPv4 (also written IPv4-mapped) stays per address.
	for i := range 20 {
		if _, err := e.svc.RequestReset(ctx, "nobody@example.com", account.Meta{IP: "::ffff:198.51.100.9"}); err != nil {
			t.Fatalf("IPv4 request %d: %v", i, err)
		}
	}
	if _, err := e.svc.RequestReset(ctx, "nobody@example.com", account.Meta{IP: "198.51.100.9"}); code(err) != airlock.CodeRateLimited {
		t.Fatalf("21st request from one IPv4 address: %v", err)
	}
	if _, err := e.svc.RequestReset(ctx, "nobody@example.com", account.Meta{IP: "198.51.100.10"}); err != nil {
		t.Fatalf("the next IPv4 address: %v", err)
	}
}
