package account_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/testutil"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

var inviteLinkRE = regexp.MustCompile(`https://accounts\.example\.com/password/reset\?token=([A-Za-z0-9_-]{43})(&app=1)?`)

func inviteLink(t *testing.T, e *env, n int) (token string, app bool) {
	t.Helper()
	e.drain(t)
	msgs := e.smtp.Wait(t, n)
	m := inviteLinkRE.FindStringSubmatch(msgs[n-1].Parts()["text/plain"])
	if m == nil {
		t.Fatalf("no invitation link in %q", msgs[n-1].Parts()["text/plain"])
	}
	return m[1], m[2] != ""
}

// TestInvitationFlow: an administrator creates a user with an invitation;
// the welcome email, in the user's language, names the service and the
// administrator; its link opens a "choose your password" page without
// being used up, sets the first password once, and the user signs in.
func TestInvitationFlow(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "fr"} {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t, func(c *account.Config) { c.BrandName = "Acme Field" })
			ctx := context.Background()
			admin := e.user(t, "boss@example.com", goodPassword, airlock.GroupAdmin)
			u, err := e.svc.AdminCreateUser(ctx, admin, account.NewUser{Email: "sam@example.com", FirstName: "Sam", Language: lang,
				Groups: []string{airlock.GroupMobile}, Invite: true}, meta)
			if err != nil {
				t.Fatal(err)
			}
			if e.svc.InvitationState(u) != airlock.InvitationPending {
				t.Fatalf("state after the invitation: %q", e.svc.InvitationState(u))
			}
			token, app := inviteLink(t, e, 1)
			msg := e.smtp.Messages()[0]
			subject, text := msg.Header("Subject"), msg.Parts()["text/plain"]
			words := map[string][]string{"en": {"Welcome to Acme Field", "Ada Lovelace created an account for you", "3 days"},
				"fr": {"Bienvenue sur Acme Field", "Ada Lovelace vous a créé un compte", "3 jours"}}[lang]
			if !strings.Contains(subject, words[0]) || !strings.Contains(text, words[1]) || !strings.Contains(text, words[2]) {
				t.Fatalf("%s invitation:\n%s\n%s", lang, subject, text)
			}
			if !app {
				t.Fatal("a mobile user's invitation does not offer the way back to the app")
			}
			// Opening the link (a mail scanner) uses nothing up.
			for range 2 {
				if got, purpose, err := e.svc.CheckLink(ctx, account.ByToken(token), meta); err != nil || got.ID != u.ID || purpose != airlock.TokenPurposeInvite {
					t.Fatalf("CheckLink = %v %q %v", got, purpose, err)
				}
			}
			if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "sam", "", meta); code(err) != airlock.CodePasswordPolicy {
				t.Fatalf("same policy as a reset: %v", err)
			}
			if _, purpose, err := e.svc.CompleteLink(ctx, account.ByToken(token), "my first field password", "", meta); err != nil || purpose != airlock.TokenPurposeInvite {
				t.Fatal(purpose, err)
			}
			if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "another first password", "", meta); code(err) != airlock.CodeInvalidToken {
				t.Fatalf("the link worked twice: %v", err)
			}
			if _, _, _, err := e.svc.SignIn(ctx, "sam@example.com", "my first field password", "", meta); err != nil {
				t.Fatal(err)
			}
			got, _ := e.db.UserByID(ctx, u.ID)
			if e.svc.InvitationState(got) != "" {
				t.Fatal("still shown as invited after choosing a password")
			}
			if events, _, _ := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditInvitationAccepted}); len(events) != 1 {
				t.Fatal("invitation_accepted not audited")
			}
			// A first password is not a change: no "your password was changed".
			e.drain(t)
			if n := len(e.smtp.Messages()); n != 1 {
				t.Fatalf("%d emails, want the invitation only", n)
			}
		})
	}
}

// TestInvitationExpiryAndResend: the link expires after AIRLOCK_INVITE_TTL;
// the user then shows as "invitation expired"; a resend sends a new link
// and leaves the previous unexpired one working (SPEC §6.2: the email that
// arrives last must never carry a dead link); using one kills the others.
func TestInvitationExpiryAndResend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *account.Config) { c.InviteTTL = 48 * time.Hour })
	ctx := context.Background()
	u, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "sam@example.com", Invite: true}, meta)
	if err != nil {
		t.Fatal(err)
	}
	first, app := inviteLink(t, e, 1)
	if app {
		t.Fatal("a user outside the mobile group is sent to the app")
	}
	e.clock.Advance(48*time.Hour + time.Second)
	if _, _, err := e.svc.CheckLink(ctx, account.ByToken(first), meta); code(err) != airlock.CodeInvalidToken || airlock.AsError(err).Detail != account.TokenExpired {
		t.Fatalf("expired invitation: %v", err)
	}
	got, _ := e.db.UserByID(ctx, u.ID)
	if e.svc.InvitationState(got) != airlock.InvitationExpired {
		t.Fatalf("state: %q", e.svc.InvitationState(got))
	}
	if users, _, _ := e.svc.AdminListUsers(ctx, account.Operator, airlock.UserFilter{Invitation: airlock.InvitationExpired}); len(users) != 1 {
		t.Fatalf("invitation_expired filter: %d users", len(users))
	}
	// Resend twice: both links work until one of them is used.
	if err := e.svc.AdminInvite(ctx, account.Operator, u.ID, meta); err != nil {
		t.Fatal(err)
	}
	second, _ := inviteLink(t, e, 2)
	if err := e.svc.AdminInvite(ctx, account.Operator, u.ID, meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CheckLink(ctx, account.ByToken(second), meta); err != nil {
		t.Fatalf("a resend killed the previous unexpired link: %v", err)
	}
	third, _ := inviteLink(t, e, 3)
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(third), "chosen after a resend", "", meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CheckLink(ctx, account.ByToken(second), meta); code(err) != airlock.CodeInvalidToken {
		t.Fatalf("the other invitation link survived the use of one: %v", err)
	}
	if _, _, err := e.svc.CheckLink(ctx, account.ByToken(first), meta); code(err) != airlock.CodeInvalidToken {
		t.Fatalf("the expired link came back: %v", err)
	}
	if users, _, _ := e.svc.AdminListUsers(ctx, account.Operator, airlock.UserFilter{Invitation: airlock.InvitationPending}); len(users) != 0 {
		t.Fatal("a user with a password is listed as invited")
	}
}

// TestInvitationRules: never to an inactive user; not to a user who has a
// password; a forgot request for an invited user sends the invitation
// again; the per-account email limit counts invitations.
func TestInvitationRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	off := false
	idle, _ := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "idle@example.com"}, meta)
	if _, err := e.svc.AdminUpdateUser(ctx, account.Operator, idle.ID, account.UserChanges{Active: &off}, meta); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AdminInvite(ctx, account.Operator, idle.ID, meta); code(err) != airlock.CodeConflict {
		t.Fatalf("invitation to an inactive user: %v", err)
	}
	withPW := e.user(t, "ada@example.com", goodPassword)
	if err := e.svc.AdminInvite(ctx, account.Operator, withPW.ID, meta); code(err) != airlock.CodeConflict {
		t.Fatalf("invitation to a user with a password: %v", err)
	}
	if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "x@example.com", Password: goodPassword, Invite: true}, meta); code(err) != airlock.CodeInvalid {
		t.Fatalf("a password and an invitation: %v", err)
	}
	sam, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "sam@example.com", Invite: true}, meta)
	if err != nil {
		t.Fatal(err)
	}
	inviteLink(t, e, 1)
	// "I never got it": the forgot page sends the invitation, not a reset.
	if _, err := e.svc.RequestReset(ctx, "sam@example.com", meta); err != nil {
		t.Fatal(err)
	}
	_, _ = inviteLink(t, e, 2)
	if s := e.smtp.Messages()[1].Header("Subject"); !strings.Contains(s, "Welcome") {
		t.Fatalf("forgot for an invited user sent %q", s)
	}
	// Three emails an hour per account, invitations included.
	if err := e.svc.AdminInvite(ctx, account.Operator, sam.ID, meta); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AdminInvite(ctx, account.Operator, sam.ID, meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("fourth email within the hour: %v", err)
	}
}

// TestImportAllOrNothing: a file with any bad line creates nobody and names
// every bad line; a good one creates everyone, with invitations.
func TestImportAllOrNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "taken@example.com", goodPassword)
	bad := "email,first_name,last_name,language,groups\n" +
		"sam@example.com,Sam,Field,en,mobile\n" +
		"kim@example.com,Kim,Field,de,mobile\n" + // bad language
		"a..b@example.com,,,,\n" + // bad address
		"SAM@example.com,Sam,Again,en,\n" + // twice in the file
		"taken@example.com,,,,\n" + // already has an account
		"lee@example.com,Lee,,fr,root\n" // unknown group
	rows, err := account.ParseUsersCSV(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AdminImportUsers(ctx, account.Operator, rows, true, meta, nil)
	var ie *account.ImportError
	if !errorAs(err, &ie) {
		t.Fatalf("import of a bad file: %v", err)
	}
	lines := []int{}
	for _, p := range ie.Problems {
		lines = append(lines, p.Line)
	}
	if fmt.Sprint(lines) != "[3 4 5 6 7]" {
		t.Fatalf("bad lines %v: %+v", lines, ie.Problems)
	}
	if _, total, _ := e.db.ListUsers(ctx, airlock.UserFilter{}); total != 1 {
		t.Fatalf("%d users after a refused import, want 1", total)
	}
	if n, _ := testutil.CountJobs(e.db, ""); n != 0 {
		t.Fatalf("%d emails queued by a refused import", n)
	}
	// A header that is not ours is refused before anything.
	if _, err := importCSV(e, "mail,name\nx@example.com,X\n"); !errorAs(err, &ie) || ie.Problems[0].Line != 1 {
		t.Fatalf("bad header: %v", err)
	}
	good := "\ufeffemail,groups,first_name\nsam@example.com,mobile web_reader,Sam\nkim@example.com,,Kim\n"
	rows, err = account.ParseUsersCSV(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.AdminImportUsers(ctx, account.Operator, rows, true, meta, nil); err != nil || n != 2 {
		t.Fatalf("import = %d, %v", n, err)
	}
	sam, _ := e.db.UserByEmail(ctx, "sam@example.com")
	if strings.Join(sam.Groups, ",") != "mobile,web_reader" || sam.FirstName != "Sam" || e.svc.InvitationState(sam) != airlock.InvitationPending {
		t.Fatalf("imported user %+v", sam)
	}
	inviteLink(t, e, 2)
}

// importCSV reads content as a users CSV file and imports it as the
// operator, without invitations.
func importCSV(e *env, content string) (int, error) {
	f, err := account.ParseUsersCSV(strings.NewReader(content))
	if err != nil {
		return 0, err
	}
	return e.svc.AdminImportUsers(context.Background(), account.Operator, f, false, meta, nil)
}

func errorAs(err error, target **account.ImportError) bool {
	e, ok := err.(*account.ImportError)
	if ok {
		*target = e
	}
	return ok
}

// BenchmarkImport10k imports 10,000 users on SQLite (issue target: < 10 s).
func BenchmarkImport10k(b *testing.B) {
	var csv strings.Builder
	csv.WriteString("email,first_name,last_name,language,groups\n")
	for i := range 10000 {
		fmt.Fprintf(&csv, "field.worker%d@example.com,Field,Worker %d,en,mobile\n", i, i)
	}
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b)
		rows, err := account.ParseUsersCSV(strings.NewReader(csv.String()))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if n, err := e.svc.AdminImportUsers(context.Background(), account.Operator, rows, true, meta, nil); err != nil || n != 10000 {
			b.Fatal(n, err)
		}
	}
}

// TestQueuedLinkEmailsDieWithADeactivation: an invitation or reset email
// still waiting in the outbox when its user is deactivated is not sent, even
// if the user is reactivated before it would go out.
func TestQueuedLinkEmailsDieWithADeactivation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	off, on := false, true
	sam, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "sam@example.com", Invite: true}, meta)
	if err != nil {
		t.Fatal(err)
	}
	ada := e.user(t, "ada@example.com", goodPassword)
	if err := e.svc.AdminSendReset(ctx, account.Operator, ada.ID, meta); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*airlock.User{sam, ada} {
		for _, active := range []*bool{&off, &on} {
			if _, err := e.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{Active: active}, meta); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.drain(t)
	if n := len(e.smtp.Messages()); n != 0 {
		t.Fatalf("%d link emails went out after a deactivation", n)
	}
	// Asked for again, they go.
	if err := e.svc.AdminInvite(ctx, account.Operator, sam.ID, meta); err != nil {
		t.Fatal(err)
	}
	inviteLink(t, e, 1)
}

// TestImportReportIsBounded: a thoroughly wrong file reports its first 100
// bad lines and how many more; a row of megabytes is refused, not parsed.
func TestImportReportIsBounded(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("email,language\n")
	for i := range 300 {
		fmt.Fprintf(&b, "worker%d@example.com,xx\n", i)
	}
	rows, err := account.ParseUsersCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	_, err = e.svc.AdminImportUsers(context.Background(), account.Operator, rows, false, meta, nil)
	var ie *account.ImportError
	if !errorAs(err, &ie) || len(ie.Problems) != 100 || ie.More != 200 || ie.Problems[0].Line != 2 {
		t.Fatalf("bad file: %v", err)
	}
	huge := "email," + strings.Repeat("a,", 1<<20) + "\n"
	if _, err := importCSV(e, huge); !errorAs(err, &ie) || ie.Problems[0].Key != "import.long_line" {
		t.Fatalf("a header of a million columns: %v", err)
	}
	// A quoted field may hold line breaks, but the row is bounded all the
	// same: one quote must not make the rest of the file one row.
	quoted := "email,first_name\nsam@example.com,\"" + strings.Repeat("Sam\n", 4<<10) + "\"\n"
	if _, err := importCSV(e, quoted); !errorAs(err, &ie) || ie.Problems[0].Key != "import.long_line" || ie.Problems[0].Line != 2 {
		t.Fatalf("a row of 4,096 lines: %v", err)
	}
}
