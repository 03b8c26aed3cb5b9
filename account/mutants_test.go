package account_test

// Tests that catch a broken rule where it lives (issue 28): each one fails
// when the one line it guards is removed, although every use of a
// credential also re-checks the user's state (which hid those lines from
// the rest of the suite).

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

// heldCredentials are what a user held before a right was taken away: a
// web session, an app's access and refresh tokens, and (optionally) a
// reset link.
type heldCredentials struct {
	sid, access, refresh, resetToken string
}

// holdEverything signs the user in on the web and in the app (and, with
// link, has a reset link emailed), and checks that each of these works.
func holdEverything(t *testing.T, e *env, email string, link bool) heldCredentials {
	t.Helper()
	ctx := context.Background()
	var h heldCredentials
	var err error
	if _, h.sid, _, err = e.svc.SignIn(ctx, email, goodPassword, "", meta); err != nil {
		t.Fatal(err)
	}
	tk, err := e.svc.SignInAPI(ctx, email, goodPassword, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	h.access, h.refresh = tk.AccessToken, tk.RefreshToken
	if link {
		h.resetToken = e.resetToken(t, email)
		if _, _, err := e.svc.CheckLink(ctx, account.ByToken(h.resetToken), meta); err != nil {
			t.Fatalf("the reset link does not work to begin with: %v", err)
		}
	}
	if _, err := e.svc.Authenticate(ctx, h.sid); err != nil {
		t.Fatalf("the session does not work to begin with: %v", err)
	}
	if _, err := e.svc.AuthenticateAPI(ctx, h.access); err != nil {
		t.Fatalf("the access token does not work to begin with: %v", err)
	}
	return h
}

// stayDead fails unless every credential in h is refused on node e: the
// session, the access token, the refresh token (whose use must issue
// nothing) and the reset link.
func (h heldCredentials) stayDead(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.svc.Authenticate(ctx, h.sid); code(err) != airlock.CodeUnauthorized {
		t.Errorf("the web session opened before works again: %v", err)
	}
	if _, err := e.svc.AuthenticateAPI(ctx, h.access); code(err) != airlock.CodeUnauthorized {
		t.Errorf("the access token issued before works again: %v", err)
	}
	if tk, err := e.svc.Refresh(ctx, h.refresh, meta); code(err) != airlock.CodeInvalidToken {
		// The new pair, if any, is not printed: tokens stay out of logs.
		t.Errorf("the refresh token issued before works again (new pair issued: %v): %v", tk != nil, err)
	}
	if h.resetToken != "" {
		if _, _, err := e.svc.CheckLink(ctx, account.ByToken(h.resetToken), meta); code(err) != airlock.CodeInvalidToken {
			t.Errorf("the reset link sent before works again: %v", err)
		}
	}
}

// revokedFor returns the "sessions_revoked" audit events of user id for
// reason (the event's first argument).
func revokedFor(t *testing.T, e *env, id, reason string) []*airlock.AuditEvent {
	t.Helper()
	events, _, err := e.db.ListAudit(context.Background(), airlock.AuditFilter{Kind: airlock.AuditSessionsRevoked, UserID: id})
	if err != nil {
		t.Fatal(err)
	}
	var got []*airlock.AuditEvent
	for _, ev := range events {
		if ev.SubjectID == id && ev.Detail == "revoked" && len(ev.Args) > 0 && ev.Args[0] == reason {
			got = append(got, ev)
		}
	}
	return got
}

// outcomes shows audit events by outcome and detail.
func outcomes(events []*airlock.AuditEvent) string {
	var b strings.Builder
	for _, ev := range events {
		fmt.Fprintf(&b, "[%s %q %q] ", ev.Outcome, ev.Detail, ev.Args)
	}
	return fmt.Sprintf("%d: %s", len(events), b.String())
}

// TestGroupLossRevokesForGood: removing the mobile group, or the admin
// group, from a user ends the sessions and tokens they had, and giving the
// group back does not bring them back: the revocation itself (the
// lostGroup arm of AdminUpdateUser) is what ends them, not the group check
// at each use, which passes again once the group is back. The user's
// AuthEpoch moves, a "sessions_revoked" event says why, and a new sign-in
// works. The change is made on one node and the credentials tried on both.
func TestGroupLossRevokesForGood(t *testing.T) {
	for _, group := range []string{airlock.GroupMobile, airlock.GroupAdmin} {
		t.Run(group, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, a, b *env) {
				ctx := context.Background()
				// A second administrator, so that the user's admin group
				// may be taken away (the last one stays).
				a.user(t, "other.admin@example.com", goodPassword, airlock.GroupAdmin)
				u := a.user(t, "ada@example.com", goodPassword, group, airlock.GroupWebReader)
				held := holdEverything(t, a, "ada@example.com", false)
				before, _ := a.db.UserByID(ctx, u.ID)

				without := []string{airlock.GroupWebReader}
				with := []string{group, airlock.GroupWebReader}
				for _, groups := range []*[]string{&without, &with} {
					if _, err := b.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{Groups: groups}, meta); err != nil {
						t.Fatal(err)
					}
				}
				after, _ := a.db.UserByID(ctx, u.ID)
				if !after.HasGroup(group) || after.AuthEpoch <= before.AuthEpoch {
					t.Errorf("groups %v, AuthEpoch %d → %d: want the group back and the epoch moved on", after.Groups, before.AuthEpoch, after.AuthEpoch)
				}
				held.stayDead(t, a)
				held.stayDead(t, b)
				// The rows say so too: the session deleted, the access and
				// refresh tokens marked revoked (what lists and counts read).
				if ev := revokedFor(t, a, u.ID, "group_removed"); len(ev) != 1 || ev[0].Outcome != "success" || !slices.Equal(ev[0].Args, []string{"group_removed", "1", "2"}) {
					t.Fatalf("sessions_revoked events for the group's loss: %s", outcomes(ev))
				}
				// The user, in the group again, signs in anew.
				holdEverything(t, b, "ada@example.com", false)
			})
		})
	}
}

// TestDeactivationRevokesForGood: a user deactivated, then reactivated,
// finds every session, access token, refresh token and reset link from
// before the deactivation dead: the revocation at deactivation (the
// before.Active && !u.Active arm of AdminUpdateUser) ends them, since
// the active check at each use passes again once the user is back.
func TestDeactivationRevokesForGood(t *testing.T) {
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		u := a.user(t, "ada@example.com", goodPassword, airlock.GroupMobile)
		held := holdEverything(t, a, "ada@example.com", true)
		before, _ := a.db.UserByID(ctx, u.ID)
		off, on := false, true
		for _, active := range []*bool{&off, &on} {
			if _, err := b.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{Active: active}, meta); err != nil {
				t.Fatal(err)
			}
		}
		after, _ := a.db.UserByID(ctx, u.ID)
		if !after.Active || after.AuthEpoch <= before.AuthEpoch {
			t.Errorf("active %v, AuthEpoch %d → %d: want active again and the epoch moved on", after.Active, before.AuthEpoch, after.AuthEpoch)
		}
		held.stayDead(t, a)
		held.stayDead(t, b)
		if ev := revokedFor(t, a, u.ID, "deactivated"); len(ev) != 1 || ev[0].Outcome != "success" || !slices.Equal(ev[0].Args, []string{"deactivated", "1", "2"}) {
			t.Fatalf("sessions_revoked events for the deactivation: %s", outcomes(ev))
		}
		// Reactivated, the user signs in anew and may ask for a new link.
		holdEverything(t, b, "ada@example.com", true)
	})
}

// TestNoEmailToAnInactiveAccount: an inactive account gets no email from a
// forgot request, as the SMTP server sees it, whether it was inactive when
// the request came (the queued request finds it so), or was deactivated
// after its email was queued and before that email went out (the check at
// delivery drops it). Each case is drained to the end (ProcessDue), so
// "none" is what the whole pipeline did, not what it did so far; an
// active account in the same drain gets its email, so the pipeline ran.
func TestNoEmailToAnInactiveAccount(t *testing.T) {
	ctx := context.Background()
	off := false
	// sent returns the recipients of every email the SMTP server received.
	sent := func(e *env) []string {
		var to []string
		for _, m := range e.smtp.Messages() {
			to = append(to, m.To...)
		}
		return to
	}
	mailsQueued := func(t *testing.T, e *env) int {
		t.Helper()
		n, err := testutil.CountJobs(e.db, airlock.JobMail)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("inactive when asked", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, a, b *env) {
			gone := a.user(t, "gone@example.com", goodPassword)
			a.user(t, "ada@example.com", goodPassword)
			if _, err := a.svc.AdminUpdateUser(ctx, account.Operator, gone.ID, account.UserChanges{Active: &off}, meta); err != nil {
				t.Fatal(err)
			}
			for _, email := range []string{"gone@example.com", "ada@example.com"} {
				if _, err := a.svc.RequestReset(ctx, email, meta); err != nil {
					t.Fatal(err)
				}
			}
			b.drain(t)
			if to := sent(a); len(to) != 1 || to[0] != "ada@example.com" {
				t.Fatalf("emails went to %v, want ada@example.com only", to)
			}
			if n := mailsQueued(t, a); n != 0 {
				t.Fatalf("%d emails still in the outbox after a drain", n)
			}
		})
	})

	// deactivatedInFlight queues the reset email of a forgot request while
	// the SMTP server is down (the first attempt fails: the email waits in
	// the outbox), lets change act on the user, and delivers what is due.
	deactivatedInFlight := func(t *testing.T, a, b *env, change func(u *airlock.User)) []string {
		t.Helper()
		u := a.user(t, "ada@example.com", goodPassword)
		a.smtp.FailNext(1)
		if _, err := a.svc.RequestReset(ctx, "ada@example.com", meta); err != nil {
			t.Fatal(err)
		}
		a.drain(t)
		emails, err := a.svc.AdminListEmails(ctx, account.Operator, airlock.EmailFilter{UserID: u.ID})
		if err != nil || len(emails) != 1 || emails[0].State != airlock.EmailDeferred {
			t.Fatalf("the reset email is not waiting in the outbox after a failed attempt: %+v, %v", emails, err)
		}
		change(u)
		a.clock.Advance(emails[0].RunAt.Sub(a.clock.Now()) + time.Second)
		b.drain(t)
		if n := mailsQueued(t, a); n != 0 {
			t.Fatalf("%d emails still in the outbox after a drain", n)
		}
		return sent(a)
	}

	t.Run("still active at delivery", func(t *testing.T) {
		// The control: the same email, its user left alone, goes out.
		eachBackend(t, func(t *testing.T, a, b *env) {
			if to := deactivatedInFlight(t, a, b, func(*airlock.User) {}); len(to) != 1 || to[0] != "ada@example.com" {
				t.Fatalf("emails went to %v, want the one reset email", to)
			}
		})
	})
	t.Run("deactivated before delivery", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, a, b *env) {
			to := deactivatedInFlight(t, a, b, func(u *airlock.User) {
				if _, err := b.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{Active: &off}, meta); err != nil {
					t.Fatal(err)
				}
			})
			if len(to) != 0 {
				t.Fatalf("emails went to %v after the account was deactivated", to)
			}
		})
	})
	t.Run("made inactive in the database before delivery", func(t *testing.T) {
		// An operator may deactivate an account by hand in the database
		// (bench/run.sh does), which moves no AuthEpoch: the delivery
		// check reads the account's state itself, not only the epoch.
		eachBackend(t, func(t *testing.T, a, b *env) {
			to := deactivatedInFlight(t, a, b, func(u *airlock.User) {
				cur, err := a.db.UserByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				cur.Active = false
				if err := a.db.UpdateUser(ctx, cur); err != nil {
					t.Fatal(err)
				}
			})
			if len(to) != 0 {
				t.Fatalf("emails went to %v after the account was made inactive", to)
			}
		})
	})
}
