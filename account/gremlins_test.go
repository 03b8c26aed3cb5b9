package account_test

// Tests that kill mutants gremlins found alive in account (bench/mutation.sh,
// bench/RESULTS.md 2026-12-07).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/testutil"
)

// TestStaleAdministratorIsRefused: an administrator's request carries the
// administrator as they were when it was authenticated; if, before it
// acts, they were demoted, deactivated or had their password changed
// (their sessions ended), the action is refused and changes nothing: the
// actor is read again in the transaction that acts (adminInTx).
func TestStaleAdministratorIsRefused(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(t *testing.T, e *env, boss, stale *airlock.User)
	}{
		{"demoted", func(t *testing.T, e *env, boss, stale *airlock.User) {
			if _, err := e.svc.AdminUpdateUser(context.Background(), boss, stale.ID, account.UserChanges{Groups: &[]string{}}, meta); err != nil {
				t.Fatal(err)
			}
		}},
		{"deactivated", func(t *testing.T, e *env, boss, stale *airlock.User) {
			off := false
			if _, err := e.svc.AdminUpdateUser(context.Background(), boss, stale.ID, account.UserChanges{Active: &off}, meta); err != nil {
				t.Fatal(err)
			}
		}},
		{"password changed", func(t *testing.T, e *env, boss, stale *airlock.User) {
			if _, err := e.svc.ChangePassword(context.Background(), stale, "", "a new password of my own", account.Proof{Password: goodPassword}, meta); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, a, b *env) {
				ctx := context.Background()
				boss := a.user(t, "boss@example.com", goodPassword, airlock.GroupAdmin)
				a.user(t, "deputy@example.com", goodPassword, airlock.GroupAdmin)
				stale, _, _, err := a.svc.SignIn(ctx, "deputy@example.com", goodPassword, "", meta)
				if err != nil {
					t.Fatal(err)
				}
				target := a.user(t, "ada@example.com", goodPassword)
				c.change(t, b, boss, stale)
				before, _ := a.db.UserByID(ctx, target.ID)
				mails, _ := testutil.CountJobs(a.db, airlock.JobMail) // "your password was changed", in one case
				if _, err := a.svc.AdminUpdateUser(ctx, stale, target.ID, account.UserChanges{FirstName: ptr("Changed")}, meta); code(err) != airlock.CodeForbidden {
					t.Errorf("edit by the stale administrator: %v, want forbidden", err)
				}
				if err := a.svc.AdminSendReset(ctx, stale, target.ID, meta); code(err) != airlock.CodeForbidden {
					t.Errorf("reset email by the stale administrator: %v, want forbidden", err)
				}
				if err := a.svc.AdminSetPassword(ctx, stale, target.ID, "set by someone no longer allowed", "", true, meta); code(err) != airlock.CodeForbidden {
					t.Errorf("password set by the stale administrator: %v, want forbidden", err)
				}
				after, _ := a.db.UserByID(ctx, target.ID)
				if after.FirstName != before.FirstName || after.PasswordHash != before.PasswordHash || after.Version != before.Version {
					t.Errorf("a refused action changed the user: %+v → %+v", before, after)
				}
				if n, _ := testutil.CountJobs(a.db, airlock.JobMail); n != mails {
					t.Errorf("a refused action queued %d emails", n-mails)
				}
				// The administrator still in office acts as before.
				if _, err := b.svc.AdminUpdateUser(ctx, boss, target.ID, account.UserChanges{FirstName: ptr("Changed")}, meta); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestInvitationFilters: a user just invited is listed as invited, not
// as expired; once the invitation's time is over, as expired, not
// invited.
func TestInvitationFilters(t *testing.T) {
	e := newEnv(t, func(c *account.Config) { c.InviteTTL = 48 * time.Hour })
	ctx := context.Background()
	if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "sam@example.com", Invite: true}, meta); err != nil {
		t.Fatal(err)
	}
	listed := func(state string) int {
		t.Helper()
		users, _, err := e.svc.AdminListUsers(ctx, account.Operator, airlock.UserFilter{Invitation: state})
		if err != nil {
			t.Fatal(err)
		}
		return len(users)
	}
	if p, x := listed(airlock.InvitationPending), listed(airlock.InvitationExpired); p != 1 || x != 0 {
		t.Fatalf("just invited: %d invited, %d expired; want 1, 0", p, x)
	}
	e.clock.Advance(47 * time.Hour)
	if p, x := listed(airlock.InvitationPending), listed(airlock.InvitationExpired); p != 1 || x != 0 {
		t.Fatalf("an hour before the end: %d invited, %d expired; want 1, 0", p, x)
	}
	e.clock.Advance(time.Hour + time.Second)
	if p, x := listed(airlock.InvitationPending), listed(airlock.InvitationExpired); p != 0 || x != 1 {
		t.Fatalf("after the end: %d invited, %d expired; want 0, 1", p, x)
	}
}

// TestUserUpdatedAuditNamesTheChangedFields: the "user_updated" audit
// event names the fields that changed, and only those.
func TestUserUpdatedAuditNamesTheChangedFields(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
	for _, c := range []struct {
		change account.UserChanges
		want   string
	}{
		{account.UserChanges{FirstName: ptr("Augusta")}, "first_name"},
		{account.UserChanges{LastName: ptr("King")}, "last_name"},
		{account.UserChanges{Language: ptr("fr")}, "language"},
		{account.UserChanges{Email: ptr("augusta@example.com")}, "email"},
		{account.UserChanges{Groups: &[]string{airlock.GroupWebReader}}, "groups"},
		{account.UserChanges{Active: ptr(false)}, "active"},
		{account.UserChanges{FirstName: ptr("Augusta")}, ""}, // the same name again: nothing changed
	} {
		if _, err := e.svc.AdminUpdateUser(ctx, account.Operator, u.ID, c.change, meta); err != nil {
			t.Fatal(err)
		}
		events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditUserUpdated, UserID: u.ID, Limit: 1})
		if err != nil || len(events) != 1 {
			t.Fatalf("%d events, %v", len(events), err)
		}
		if events[0].Detail != "changed" || !slices.Equal(events[0].Args, []string{c.want}) {
			t.Errorf("change of %q audited as %s", c.want, outcomes(events))
		}
	}
}

// TestAdminSendResetIsAudited: a reset email sent by an administrator is
// audited (who, to whom, queued) with the email queued.
func TestAdminSendResetIsAudited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	boss := e.user(t, "boss@example.com", goodPassword, airlock.GroupAdmin)
	u := e.user(t, "ada@example.com", goodPassword)
	if err := e.svc.AdminSendReset(ctx, boss, u.ID, meta); err != nil {
		t.Fatal(err)
	}
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditResetEmailSent, UserID: u.ID})
	if err != nil || len(events) != 1 || events[0].ActorID != boss.ID || events[0].SubjectID != u.ID || events[0].Outcome != "queued" {
		t.Fatalf("audit of an administrator's reset email: %s, %v", outcomes(events), err)
	}
	if n, _ := testutil.CountJobs(e.db, airlock.JobMail); n != 1 {
		t.Fatalf("%d emails queued, want 1", n)
	}
}

// TestEmailThatCannotBeQueuedFailsTheAction: an action whose email cannot
// be put in the outbox fails and changes nothing (here the outbox table is
// gone from the database): it is never reported done with its email
// silently lost.
func TestEmailThatCannotBeQueuedFailsTheAction(t *testing.T) {
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		boss := a.user(t, "boss@example.com", goodPassword, airlock.GroupAdmin)
		u := a.user(t, "ada@example.com", goodPassword)
		if _, err := a.db.SQL().ExecContext(ctx, `ALTER TABLE jobs RENAME TO jobs_away`); err != nil {
			t.Fatal(err)
		}
		err := a.svc.AdminSendReset(ctx, boss, u.ID, meta)
		if _, err := a.db.SQL().ExecContext(ctx, `ALTER TABLE jobs_away RENAME TO jobs`); err != nil {
			t.Fatal(err)
		}
		if err == nil {
			t.Fatal("a reset email that could not be queued was reported sent")
		}
		if events, _, _ := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditResetEmailSent, UserID: u.ID}); len(events) != 0 {
			t.Fatalf("audited as sent: %s", outcomes(events))
		}
		// With the outbox back, it works.
		if err := b.svc.AdminSendReset(ctx, boss, u.ID, meta); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAPISignInAndRefreshReuseAreAudited: the password grant is audited
// as a sign-in, and a rotated refresh token presented again (after the
// window that tells a double send from a theft) revokes its family and is
// audited as such; the access token names its own user.
func TestAPISignInAndRefreshReuseAreAudited(t *testing.T) {
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		a.user(t, "bob@example.com", goodPassword, airlock.GroupMobile)
		if _, err := b.svc.SignInAPI(ctx, "bob@example.com", goodPassword, "", meta); err != nil {
			t.Fatal(err)
		}
		tk, err := a.svc.SignInAPI(ctx, "ada@example.com", goodPassword, "", meta)
		if err != nil {
			t.Fatal(err)
		}
		events, _, err := a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditSignIn, UserID: u.ID})
		if err != nil || len(events) != 1 || events[0].Outcome != "success" || events[0].Detail != "api" || events[0].ActorID != u.ID {
			t.Fatalf("audit of the password grant: %s, %v", outcomes(events), err)
		}
		if who, err := b.svc.AuthenticateAPI(ctx, tk.AccessToken); err != nil || who == nil || who.ID != u.ID {
			t.Fatalf("the access token's user: %+v, %v", who, err)
		}
		next, err := b.svc.Refresh(ctx, tk.RefreshToken, meta)
		if err != nil {
			t.Fatal(err)
		}
		a.clock.Advance(time.Minute)
		if _, err := a.svc.Refresh(ctx, tk.RefreshToken, meta); code(err) != airlock.CodeInvalidToken {
			t.Fatalf("a rotated refresh token presented again: %v", err)
		}
		if _, err := b.svc.AuthenticateAPI(ctx, next.AccessToken); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("the family survived the reuse: %v", err)
		}
		events, _, err = a.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditSessionsRevoked, UserID: u.ID})
		if err != nil || len(events) != 1 || events[0].Outcome != "refresh_token_reuse" || events[0].Detail != "tokens" || !slices.Equal(events[0].Args, []string{"4"}) {
			t.Fatalf("audit of the reuse: %s, %v", outcomes(events), err)
		}
	})
}

// TestASuccessGivesBackItsOwnAttemptOnly: a right password gives back the
// one attempt it used of the per-IP limit, not the failures before it (one
// known account must not wipe the count of guesses made from the same
// address); the refusal says when to try again: when the limit next allows
// an attempt, not a second from now.
func TestASuccessGivesBackItsOwnAttemptOnly(t *testing.T) {
	e := newEnv(t, func(c *account.Config) {
		c.LimitLoginPerIP = account.Rate{N: 5, Per: 15 * time.Minute}
		c.LimitLoginPerEmail = account.Rate{N: 100, Per: 15 * time.Minute}
	})
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	guess := func(i int) error {
		_, _, _, err := e.svc.SignIn(ctx, fmt.Sprintf("guess%d@example.com", i), "not the password at all", "", meta)
		return err
	}
	for i := range 4 {
		if err := guess(i); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, _, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta); err != nil {
		t.Fatalf("a right password after 4 failures of 5: %v", err)
	}
	if err := guess(4); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("the 5th failure: %v", err)
	}
	err := guess(5)
	if code(err) != airlock.CodeRateLimited {
		t.Fatalf("the 6th failure, after a success: %v, want rate limited", err)
	}
	// One attempt every 3 minutes comes back: that is the wait.
	if retry := airlock.AsError(err).RetryAfter; retry != 3*time.Minute {
		t.Fatalf("Retry-After %v, want 3m", retry)
	}
	// The refusal is audited once, the success too.
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditSignIn})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range events {
		count[ev.Outcome]++
	}
	if count["rate_limited"] != 1 || count["success"] != 1 || count["failure"] != 5 {
		t.Fatalf("sign-in events by outcome: %v, want 5 failures, 1 success, 1 refusal", count)
	}
	if _, _, _, err := e.svc.SignIn(ctx, "guess9@example.com", "not the password at all", "", meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("the 7th failure: %v", err)
	}
	if events, _, _ := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditSignIn}); len(events) != 7 {
		t.Fatalf("%d sign-in events after a second refusal in the window, want 7", len(events))
	}
}

// TestPasswordChangeIsAudited: a password change (own, by reset, by an
// administrator) writes one password_changed event and tells the user.
func TestPasswordChangeIsAudited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	if _, err := e.svc.ChangePassword(ctx, u, "", "another sentence of my own", account.Proof{Password: goodPassword}, meta); err != nil {
		t.Fatal(err)
	}
	token := e.resetToken(t, "ada@example.com")
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "a third sentence, from the link", "", meta); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AdminSetPassword(ctx, account.Operator, u.ID, "set for her by the operator", "", true, meta); err != nil {
		t.Fatal(err)
	}
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditPasswordChanged, UserID: u.ID})
	if err != nil || len(events) != 3 {
		t.Fatalf("password_changed events: %s, %v; want 3", outcomes(events), err)
	}
	e.drain(t)
	changed := 0
	for _, m := range e.smtp.Messages() {
		if !strings.Contains(m.Parts()["text/plain"], "/password/reset?token=") {
			changed++
		}
	}
	if changed != 3 {
		t.Fatalf("%d \"your password was changed\" emails, want 3", changed)
	}
}

// TestBadLinkRefusalsAreAudited: once bad reset links from one address
// are refused, the refusal is audited, once per window.
func TestBadLinkRefusalsAreAudited(t *testing.T) {
	e := newEnv(t, func(c *account.Config) { c.LimitBadTokenPerIP = account.Rate{N: 3, Per: 10 * time.Minute} })
	ctx := context.Background()
	for i := range 5 {
		_, _, err := e.svc.CheckLink(ctx, account.ByToken(fmt.Sprintf("%043d", i)), meta)
		want := airlock.CodeInvalidToken
		if i >= 3 {
			want = airlock.CodeRateLimited
		}
		if code(err) != want {
			t.Fatalf("bad link %d: %v, want %s", i, err, want)
		}
	}
	events, _, err := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditResetLinkOpened})
	if err != nil {
		t.Fatal(err)
	}
	limited := 0
	for _, ev := range events {
		if ev.Outcome == "rate_limited" {
			limited++
		}
	}
	if limited != 1 {
		t.Fatalf("%d rate_limited events for two refusals in one window, want 1 (%s)", limited, outcomes(events))
	}
}

// TestActivityKeepsASessionAlive: a session used now and then returns its
// user each time and lives past the idle timeout counted from the
// sign-in (each use, a minute apart or more, is recorded); left alone for
// the idle timeout, it ends.
func TestActivityKeepsASessionAlive(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	_, sid, _, err := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	idle := e.svc.Config().SessionIdle
	for i := range 3 {
		e.clock.Advance(idle * 2 / 3)
		if who, err := e.svc.Authenticate(ctx, sid); err != nil || who == nil || who.ID != u.ID {
			t.Fatalf("use %d, %v after the previous: %+v, %v", i+1, idle*2/3, who, err)
		}
	}
	e.clock.Advance(idle)
	if _, err := e.svc.Authenticate(ctx, sid); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("after %v idle: %v", idle, err)
	}
}
