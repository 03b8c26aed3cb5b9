package account_test

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

func detail(err error) string {
	if e := airlock.AsError(err); e != nil {
		return e.Detail
	}
	return ""
}

func TestResetFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", "the old password, long enough")
	_, oldSession, _, err := e.svc.SignIn(ctx, "ada@example.com", "the old password, long enough", "", meta)
	if err != nil {
		t.Fatal(err)
	}
	token := e.resetToken(t, "ada@example.com")

	// Opening the link (the check) never uses it up: mail scanners open links.
	for range 3 {
		if got, _, err := e.svc.CheckLink(ctx, account.ByToken(token), meta); err != nil || got.ID != u.ID {
			t.Fatalf("CheckResetToken = %v, %v", got, err)
		}
	}
	// The policy applies, and a refusal does not use the token up.
	if got, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "password1234", "", meta); code(err) != airlock.CodePasswordPolicy || got == nil || got.ID != u.ID {
		t.Fatalf("common password: %v (user %v)", err, got)
	}
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "a brand new passphrase", "", meta); err != nil {
		t.Fatal(err)
	}
	// One use only.
	if got, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "another brand new phrase", "", meta); code(err) != airlock.CodeInvalidToken || detail(err) != account.TokenUsed || got != nil {
		t.Fatalf("second use: %v (user %v)", err, got)
	}
	// Every session of the user ended, and the reset signed nobody in.
	if _, err := e.svc.Authenticate(ctx, oldSession); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("old session after reset: %v", err)
	}
	var sessions int
	e.db.SQL().QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&sessions)
	if sessions != 0 {
		t.Fatalf("%d sessions after reset, want 0", sessions)
	}
	// New password works, old does not.
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", "a brand new passphrase", "", meta); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", "the old password, long enough", "", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("old password: %v", err)
	}
	// The user is told by email.
	e.drain(t)
	msgs := e.smtp.Wait(t, 2)
	if subj := msgs[1].Header("Subject"); subj != "Your password was changed" {
		t.Fatalf("second email subject = %q", subj)
	}
}

func TestResetEmailContent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *account.Config) { c.ResetTokenTTL = time.Hour })
	u := e.user(t, "ada@example.com", goodPassword)
	e.resetToken(t, "ada@example.com")
	m := e.smtp.Messages()[0]
	parts := m.Parts()
	for _, ct := range []string{"text/plain", "text/html"} {
		body := parts[ct]
		if !strings.Contains(body, "https://accounts.example.com/password/reset?token=") {
			t.Errorf("%s part has no link from the public URL:\n%s", ct, body)
		}
		if !strings.Contains(body, "1 hour") {
			t.Errorf("%s part does not say how long the link is valid", ct)
		}
	}
	// Beside the link, a code: the same in both parts.
	if c1, c2 := codeRE.FindString(parts["text/plain"]), codeRE.FindString(parts["text/html"]); c1 == "" || c1 != c2 {
		t.Errorf("codes %q and %q in the parts", c1, c2)
	}
	// French for a French user.
	u.Language = "fr"
	e.db.UpdateUser(context.Background(), u)
	e.resetToken(t, "ada@example.com")
	fr := e.smtp.Messages()[1]
	if fr.Header("Subject") != "Réinitialisez votre mot de passe" || !strings.Contains(fr.Parts()["text/plain"], "valables 1 heure") || codeRE.FindString(fr.Parts()["text/plain"]) == "" {
		t.Fatalf("French email: %q\n%s", fr.Header("Subject"), fr.Parts()["text/plain"])
	}
}

func TestResetTokenExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "ada@example.com", goodPassword)
	token := e.resetToken(t, "ada@example.com")
	e.clock.Advance(29 * time.Minute)
	if _, _, err := e.svc.CheckLink(context.Background(), account.ByToken(token), meta); err != nil {
		t.Fatalf("at 29 min: %v", err)
	}
	e.clock.Advance(time.Minute)
	_, _, err := e.svc.CompleteLink(context.Background(), account.ByToken(token), "a brand new passphrase", "", meta)
	if code(err) != airlock.CodeInvalidToken || detail(err) != account.TokenExpired {
		t.Fatalf("at 30 min: %v, want expired", err)
	}
}

// TestEveryLinkWorksUntilOneIsUsed: emails arrive out of order, so a newer
// link leaves the older ones working; using any one kills all the others,
// and so does an email change (SPEC §6.2).
func TestEveryLinkWorksUntilOneIsUsed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "ada@example.com", goodPassword)
	ctx := context.Background()
	links := []string{e.resetToken(t, "ada@example.com"), e.resetToken(t, "ada@example.com"), e.resetToken(t, "ada@example.com")}
	for i, token := range links {
		if _, _, err := e.svc.CheckLink(ctx, account.ByToken(token), meta); err != nil {
			t.Fatalf("link %d of 3: %v", i, err)
		}
	}
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(links[1]), "a brand new passphrase", "", meta); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		if _, _, err := e.svc.CheckLink(ctx, account.ByToken(links[i]), meta); detail(err) != account.TokenUsed {
			t.Fatalf("link %d after link 1 was used: %v, want used", i, err)
		}
	}

	e.clock.Advance(time.Hour) // a fresh per-account allowance
	links = []string{e.resetToken(t, "ada@example.com"), e.resetToken(t, "ada@example.com")}
	email := "ada.lovelace@example.com"
	if _, err := e.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{Email: &email}, meta); err != nil {
		t.Fatal(err)
	}
	for i, token := range links {
		if _, _, err := e.svc.CheckLink(ctx, account.ByToken(token), meta); detail(err) != account.TokenUsed {
			t.Fatalf("link %d after an email change: %v, want dead", i, err)
		}
	}
}

func TestPasswordChangeKillsResetTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "ada@example.com", goodPassword)
	token := e.resetToken(t, "ada@example.com")
	if err := e.svc.AdminSetPassword(context.Background(), account.Operator, u.ID, "set by the administrator", "", false, meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CheckLink(context.Background(), account.ByToken(token), meta); detail(err) != account.TokenUsed {
		t.Fatalf("token after password change: %v", err)
	}
}

func TestDeactivationKillsResetTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "ada@example.com", goodPassword)
	token := e.resetToken(t, "ada@example.com")
	u.Active = false
	e.db.UpdateUser(context.Background(), u)
	if _, _, err := e.svc.CompleteLink(context.Background(), account.ByToken(token), "a brand new passphrase", "", meta); code(err) != airlock.CodeInvalidToken {
		t.Fatalf("token of a deactivated user: %v", err)
	}
}

// TestPendingResetDiesWithPasswordChange: a request still in the outbox
// when the password changes sends nothing.
func TestPendingResetDiesWithPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	e.svc.RequestReset(ctx, "ada@example.com", meta)
	e.clock.Advance(time.Second)
	if err := e.svc.AdminSetPassword(ctx, account.Operator, u.ID, "set by the administrator", "", false, meta); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	e.drain(t)
	e.smtp.Wait(t, 1)
	for _, m := range e.smtp.Messages() {
		if m.Header("Subject") == "Reset your password" {
			t.Fatal("a reset email went out after the password changed")
		}
	}
}

// TestParallelResetExactlyOneWins: 20 parallel uses of one token, one
// success (SPEC §6.2).
func TestParallelResetExactlyOneWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "ada@example.com", goodPassword)
	token := e.resetToken(t, "ada@example.com")
	var ok, invalid atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, _, err := e.svc.CompleteLink(context.Background(), account.ByToken(token), "parallel passphrase number "+string(rune('a'+i)), "", account.Meta{IP: "192.0.2.1"})
			switch code(err) {
			case "":
				ok.Add(1)
			case airlock.CodeInvalidToken:
				invalid.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || invalid.Load() != 19 {
		t.Fatalf("%d successes and %d refusals, want 1 and 19", ok.Load(), invalid.Load())
	}
}

func TestBadTokenLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "ada@example.com", goodPassword)
	token := e.resetToken(t, "ada@example.com")
	ctx := context.Background()
	for i := range 20 {
		bogus := strings.Repeat("A", 42) + string(rune('A'+i))
		if _, _, err := e.svc.CheckLink(ctx, account.ByToken(bogus), meta); code(err) != airlock.CodeInvalidToken {
			t.Fatalf("bad token %d: %v", i, err)
		}
	}
	// Now even a good token is refused from that address...
	if _, _, err := e.svc.CheckLink(ctx, account.ByToken(token), meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("after 20 bad tokens: %v, want rate_limited", err)
	}
	// ...but not from another.
	if _, _, err := e.svc.CheckLink(ctx, account.ByToken(token), account.Meta{IP: "203.0.113.5"}); err != nil {
		t.Fatal(err)
	}
}

// TestNoSecretInDatabaseOrLogs walks a whole flow, then looks for the raw
// reset token, session id and passwords in every column of every table and
// in every log line.
func TestNoSecretInDatabaseOrLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const first, second = "first secret passphrase", "second secret passphrase"
	e.user(t, "ada@example.com", first)
	_, sid, _, err := e.svc.SignIn(ctx, "ada@example.com", first, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	token := e.resetToken(t, "ada@example.com")
	// Leave one token unused in the outbox state too.
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), second, "", meta); err != nil {
		t.Fatal(err)
	}
	_, sid2, _, _ := e.svc.SignIn(ctx, "ada@example.com", second, "", meta)
	e.svc.RequestReset(ctx, "ada@example.com", meta)
	e.drain(t)
	secrets := map[string]string{"reset token": token, "session id": sid, "second session id": sid2, "password": first, "new password": second}

	tables := []string{"users", "user_groups", "sessions", "reset_tokens", "jobs", "rate_limits", "audit_events"}
	for _, table := range tables {
		rows, err := e.db.SQL().Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for i, v := range vals {
				var text string
				switch v := v.(type) {
				case []byte:
					text = string(v) + hex.EncodeToString(v)
				case string:
					text = v
				}
				for name, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s found in %s.%s", name, table, cols[i])
					}
				}
			}
		}
		rows.Close()
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "mail sent") {
		t.Fatal("the log capture is empty: the test would prove nothing")
	}
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("%s found in the logs", name)
		}
	}
}
