package api_test

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/totp"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/client"
	"github.com/airlockhq/airlock/internal/softkey"
)

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("boss@example.com", "keeper of the user list", airlock.GroupAdmin)
	e.user("worker@example.com", "out in the sunny fields", airlock.GroupMobile)
	boss, err := e.c.SignIn(ctx, "boss@example.com", "keeper of the user list")
	if err != nil {
		t.Fatal(err)
	}
	worker, _ := e.c.SignIn(ctx, "worker@example.com", "out in the sunny fields")

	// Create, with and without a password.
	u, err := e.c.CreateUser(ctx, boss.AccessToken, client.NewUser{Email: "New.Hire@example.com", FirstName: "Noor", Language: "fr", Groups: []string{"mobile"}})
	if err != nil || u.Email != "New.Hire@example.com" || u.Language != "fr" || u.MustChangePassword {
		t.Fatalf("create: %+v %v", u, err)
	}
	if _, err := e.c.CreateUser(ctx, boss.AccessToken, client.NewUser{Email: "new.hire@EXAMPLE.com"}); errCode(err) != "conflict" {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := e.c.CreateUser(ctx, boss.AccessToken, client.NewUser{Email: "x@example.com", Groups: []string{"root"}}); errCode(err) != "invalid_request" {
		t.Fatalf("unknown group: %v", err)
	}
	withPW, err := e.c.CreateUser(ctx, boss.AccessToken, client.NewUser{Email: "temp@example.com", Password: "handed over the phone", Groups: []string{"mobile"}})
	if err != nil || !withPW.MustChangePassword {
		t.Fatalf("a password set at creation is temporary by default: %+v %v", withPW, err)
	}

	// List with search and paging.
	users, total, err := e.c.ListUsers(ctx, boss.AccessToken, "example.com", 2, 2)
	if err != nil || total != 4 || len(users) != 2 || users[0].Email != "temp@example.com" {
		t.Fatalf("list page 2: %d users, total %d, %v", len(users), total, err)
	}
	if _, _, err := e.c.ListUsers(ctx, boss.AccessToken, "", 1, 500); errCode(err) != "invalid_request" {
		t.Fatalf("per_page 500: %v", err)
	}

	// PATCH changes only what it names.
	got, err := e.c.UpdateUser(ctx, boss.AccessToken, u.ID, map[string]any{"last_name": "Haddad"})
	if err != nil || got.LastName != "Haddad" || got.FirstName != "Noor" || got.Language != "fr" || strings.Join(got.Groups, ",") != "mobile" {
		t.Fatalf("patch: %+v %v", got, err)
	}
	if _, err := e.c.GetUser(ctx, boss.AccessToken, "no-such-id"); errCode(err) != "not_found" {
		t.Fatalf("unknown id: %v", err)
	}

	// Set password: temporary unless told otherwise; the user's tokens die.
	if err := e.c.SetUserPassword(ctx, boss.AccessToken, u.ID, "short", true); errCode(err) != "password_policy" {
		t.Fatalf("policy: %v", err)
	}
	if err := e.c.SetUserPassword(ctx, boss.AccessToken, u.ID, "handed over the phone", true); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.c.GetUser(ctx, boss.AccessToken, u.ID); !got.MustChangePassword {
		t.Fatal("not temporary")
	}
	if err := e.c.SendResetEmail(ctx, boss.AccessToken, u.ID); err != nil {
		t.Fatal(err)
	}
	e.drain()
	e.smtp.Wait(t, 2)

	// Non-administrators get 403 on every administrators' call.
	calls := map[string]func() error{
		"list": func() error { _, _, err := e.c.ListUsers(ctx, worker.AccessToken, "", 0, 0); return err },
		"create": func() error {
			_, err := e.c.CreateUser(ctx, worker.AccessToken, client.NewUser{Email: "y@example.com"})
			return err
		},
		"get": func() error { _, err := e.c.GetUser(ctx, worker.AccessToken, u.ID); return err },
		"update": func() error {
			_, err := e.c.UpdateUser(ctx, worker.AccessToken, u.ID, map[string]any{"groups": []string{"admin"}})
			return err
		},
		"set password": func() error {
			return e.c.SetUserPassword(ctx, worker.AccessToken, u.ID, "taken over by a worker", false)
		},
		"reset email": func() error { return e.c.SendResetEmail(ctx, worker.AccessToken, u.ID) },
	}
	for name, call := range calls {
		if err := call(); errCode(err) != "forbidden" {
			t.Errorf("%s by a non-admin: %v", name, err)
		}
	}
	if got, _ := e.c.GetUser(ctx, boss.AccessToken, u.ID); strings.Join(got.Groups, ",") != "mobile" {
		t.Fatal("a non-admin changed a user")
	}
	// Deactivation through PATCH ends the user's API access at once.
	tk, err := e.c.SignIn(ctx, "worker@example.com", "out in the sunny fields")
	if err != nil {
		t.Fatal(err)
	}
	list, _, _ := e.c.ListUsers(ctx, boss.AccessToken, "worker@", 0, 0)
	if _, err := e.c.UpdateUser(ctx, boss.AccessToken, list[0].ID, map[string]any{"active": false}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Me(ctx, tk.AccessToken); errCode(err) != "unauthorized" {
		t.Fatalf("deactivated user's token: %v", err)
	}
	if _, err := e.c.Refresh(ctx, tk.RefreshToken); errCode(err) != "invalid_grant" {
		t.Fatalf("deactivated user's refresh token: %v", err)
	}
}

// TestAdministratorsOwnAccount: an administrator's token alone cannot take
// its own account over: setting its own password or changing its own email
// needs the current password, like anyone else's change.
func TestAdministratorsOwnAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	boss := e.user("boss@example.com", "keeper of the user list", airlock.GroupAdmin)
	tk, err := e.c.SignIn(ctx, "boss@example.com", "keeper of the user list")
	if err != nil {
		t.Fatal(err)
	}
	auth := []string{"Authorization", "Bearer " + tk.AccessToken}
	for _, current := range []string{``, `,"current_password":"not the right one"`} {
		res, body := e.raw("POST", "/api/v1/users/"+boss.ID+"/password", "application/json", `{"password":"taken over with a token"`+current+`}`, auth...)
		if res.StatusCode != 401 || !strings.Contains(body, `"field":"current_password"`) {
			t.Fatalf("own password%s: %d %s", current, res.StatusCode, body)
		}
		res, body = e.raw("PATCH", "/api/v1/users/"+boss.ID, "application/json", `{"email":"thief@example.net"`+current+`}`, auth...)
		if res.StatusCode != 401 || !strings.Contains(body, `"field":"current_password"`) {
			t.Fatalf("own email%s: %d %s", current, res.StatusCode, body)
		}
	}
	if me, err := e.c.Me(ctx, tk.AccessToken); err != nil || me.Email != "boss@example.com" {
		t.Fatalf("after refused changes: %+v %v", me, err)
	}
	// The name needs no proof; the email does, and then works.
	if u, err := e.c.UpdateUser(ctx, tk.AccessToken, boss.ID, map[string]any{"first_name": "Grace"}); err != nil || u.FirstName != "Grace" {
		t.Fatalf("own name: %+v %v", u, err)
	}
	if u, err := e.c.UpdateUser(ctx, tk.AccessToken, boss.ID, map[string]any{"email": "boss2@example.com", "current_password": "keeper of the user list"}); err != nil || u.Email != "boss2@example.com" {
		t.Fatalf("own email with the current password: %+v %v", u, err)
	}
	// An email change ends the token that made it.
	if _, err := e.c.Me(ctx, tk.AccessToken); errCode(err) != "unauthorized" {
		t.Fatalf("token after own email change: %v", err)
	}
}

// TestExpiredTemporaryPasswordEndsTokens: when a temporary password
// expires, its tokens stop working, refresh included, and it cannot be
// replaced through the API without the email flow.
func TestExpiredTemporaryPasswordEndsTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada@example.com", pw, airlock.GroupMobile)
	if err := e.svc.AdminSetPassword(ctx, account.Operator, u.ID, "handed over the phone", "", true, metaCLI); err != nil {
		t.Fatal(err)
	}
	tk, err := e.c.SignIn(ctx, "ada@example.com", "handed over the phone")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(72*time.Hour + time.Minute)
	if err := e.c.ChangePassword(ctx, tk.AccessToken, "", "my own phrase for work"); errCode(err) != "unauthorized" {
		t.Fatalf("change with an expired temporary password: %v", err)
	}
	if _, err := e.c.Refresh(ctx, tk.RefreshToken); errCode(err) != "invalid_grant" {
		t.Fatalf("refresh with an expired temporary password: %v", err)
	}
}

// TestUserEmailsAPI: administrators see a user's emails and their delivery
// state; others get 403.
func TestUserEmailsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("boss@example.com", "keeper of the user list", airlock.GroupAdmin)
	w := e.user("worker@example.com", "out in the sunny fields", airlock.GroupMobile)
	boss, _ := e.c.SignIn(ctx, "boss@example.com", "keeper of the user list")
	worker, _ := e.c.SignIn(ctx, "worker@example.com", "out in the sunny fields")
	if err := e.c.SendResetEmail(ctx, boss.AccessToken, w.ID); err != nil {
		t.Fatal(err)
	}
	e.drain()
	e.smtp.Wait(t, 1)
	emails, err := e.c.UserEmails(ctx, boss.AccessToken, w.ID, "")
	if err != nil || len(emails) != 1 || emails[0].Kind != "reset" || emails[0].State != "sent" || emails[0].SentAt == nil {
		t.Fatalf("emails: %+v %v", emails, err)
	}
	if got, err := e.c.UserEmails(ctx, boss.AccessToken, w.ID, "failed"); err != nil || len(got) != 0 {
		t.Fatalf("failed emails: %+v %v", got, err)
	}
	if _, err := e.c.UserEmails(ctx, boss.AccessToken, w.ID, "lost"); errCode(err) != "invalid_request" {
		t.Fatalf("unknown state: %v", err)
	}
	if _, err := e.c.UserEmails(ctx, worker.AccessToken, w.ID, ""); errCode(err) != "forbidden" {
		t.Fatalf("non-admin: %v", err)
	}
}

// TestInvitationsAPI: POST /api/v1/users with "invite": true sends a welcome
// email; the user shows as invited; POST /api/v1/users/{id}/invite resends
// it, the previous link working until one of them is used; the link sets
// the first password through POST /api/v1/password/reset.
func TestInvitationsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("boss@example.com", "keeper of the user list", airlock.GroupAdmin)
	boss, _ := e.c.SignIn(ctx, "boss@example.com", "keeper of the user list")
	u, err := e.c.CreateUser(ctx, boss.AccessToken, client.NewUser{Email: "sam@example.com", Groups: []string{"mobile"}, Invite: true})
	if err != nil || u.Invitation != "invited" || u.InvitedAt == nil {
		t.Fatalf("create with an invitation: %+v %v", u, err)
	}
	if _, err := e.c.CreateUser(ctx, boss.AccessToken, client.NewUser{Email: "x@example.com", Password: "a password as well", Invite: true}); errCode(err) != "invalid_request" {
		t.Fatalf("a password and an invitation: %v", err)
	}
	e.drain()
	first := tokenRE.FindStringSubmatch(e.smtp.Wait(t, 1)[0].Parts()["text/plain"])
	if err := e.c.Invite(ctx, boss.AccessToken, u.ID); err != nil {
		t.Fatal(err)
	}
	e.drain()
	second := tokenRE.FindStringSubmatch(e.smtp.Wait(t, 2)[1].Parts()["text/plain"])
	if err := e.c.Reset(ctx, second[1], "my first field password"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Reset(ctx, first[1], "my first field password"); errCode(err) != "invalid_grant" {
		t.Fatalf("the first link after the second was used: %v", err)
	}
	if got, _ := e.c.GetUser(ctx, boss.AccessToken, u.ID); got.Invitation != "" {
		t.Fatalf("still invited: %+v", got)
	}
	if err := e.c.Invite(ctx, boss.AccessToken, u.ID); errCode(err) != "conflict" {
		t.Fatalf("invitation to a user with a password: %v", err)
	}
}

// TestTwoFactorAPI: an account with two-step sign-in gets 401
// two_factor_required from the password grant without its code (no
// tokens), tokens with it; a reset through the API needs the code too;
// an administrator can turn it off for a user.
func TestTwoFactorAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("boss@example.com", "keeper of the user list", airlock.GroupAdmin)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	u, sid, _, err := e.svc.SignIn(ctx, "ada@example.com", pw, "", metaCLI)
	if err != nil {
		t.Fatal(err)
	}
	en, err := e.svc.BeginTwoFactor(ctx, u, sid, "")
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(en.Secret, " ", ""))
	code := func() string { return totp.Code(secret, totp.StepAt(e.clock.Now())) }
	if _, _, err := e.svc.ConfirmTwoFactor(ctx, u, sid, en.Visit, pw, code(), metaCLI); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(totp.Step)
	_, err = e.c.SignIn(ctx, "ada@example.com", pw)
	if ce, ok := err.(*client.Error); !ok || ce.Status != 401 || ce.Code != "two_factor_required" {
		t.Fatalf("password only: %v", err)
	}
	// A wrong code is a bad credential of the grant: 400 invalid_grant
	// (RFC 6749 §5.2), as the OpenAPI file says, not 401.
	if _, err := e.c.SignInWithCode(ctx, "ada@example.com", pw, "000000"); errCode(err) != "invalid_grant" || err.(*client.Error).Status != 400 {
		t.Fatalf("wrong code: %v", err)
	}
	tk, err := e.c.SignInWithCode(ctx, "ada@example.com", pw, code())
	if err != nil {
		t.Fatal(err)
	}
	if me, err := e.c.Me(ctx, tk.AccessToken); err != nil || !me.TwoFactor {
		t.Fatalf("me: %+v %v", me, err)
	}
	// A reset link alone does not change the password.
	if _, err := e.c.Forgot(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	token := tokenRE.FindStringSubmatch(e.smtp.Wait(t, 2)[1].Parts()["text/plain"])[1]
	if err := e.c.Reset(ctx, token, "taken over with the mailbox"); errCode(err) != "two_factor_required" {
		t.Fatalf("reset without the code: %v", err)
	}
	e.clock.Advance(totp.Step)
	if err := e.c.ResetWithCode(ctx, token, "reset with my phone in hand", code()); err != nil {
		t.Fatal(err)
	}
	// A token and the password do not change the password: the code too.
	e.clock.Advance(totp.Step)
	tk, err = e.c.SignInWithCode(ctx, "ada@example.com", "reset with my phone in hand", code())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.ChangePassword(ctx, tk.AccessToken, "reset with my phone in hand", "changed with a stolen token"); errCode(err) != "two_factor_required" {
		t.Fatalf("password changed without the code: %v", err)
	}
	e.clock.Advance(totp.Step)
	if err := e.c.ChangePasswordWithCode(ctx, tk.AccessToken, "reset with my phone in hand", "changed with my phone in hand", code()); err != nil {
		t.Fatalf("password change with the code: %v", err)
	}
	// An administrator turns it off for a user who lost everything.
	boss, _ := e.c.SignIn(ctx, "boss@example.com", "keeper of the user list")
	if err := e.c.ResetTwoFactor(ctx, boss.AccessToken, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.SignIn(ctx, "ada@example.com", "changed with my phone in hand"); err != nil {
		t.Fatalf("sign in after the reset of two-step sign-in: %v", err)
	}
	if err := e.c.ResetTwoFactor(ctx, boss.AccessToken, u.ID); errCode(err) != "conflict" {
		t.Fatalf("reset of a user without it: %v", err)
	}
}

// TestAdministratorsOwnAccountThroughTheAPI: an administrator's access token
// issued before enrolment dies with it; with a new one, the API never turns
// their own two-step sign-in off (403, pointing to the account page) and
// changes their own email or groups only with their password and a code.
func TestAdministratorsOwnAccountThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const bosspw = "keeper of the user list"
	boss := e.user("boss@example.com", bosspw, airlock.GroupAdmin)
	before, err := e.c.SignIn(ctx, "boss@example.com", bosspw)
	if err != nil {
		t.Fatal(err)
	}
	u, sid, _, err := e.svc.SignIn(ctx, "boss@example.com", bosspw, "", metaCLI)
	if err != nil {
		t.Fatal(err)
	}
	en, err := e.svc.BeginTwoFactor(ctx, u, sid, "")
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(en.Secret, " ", ""))
	code := func() string { return totp.Code(secret, totp.StepAt(e.clock.Now())) }
	if _, _, err := e.svc.ConfirmTwoFactor(ctx, u, sid, en.Visit, bosspw, code(), metaCLI); err != nil {
		t.Fatal(err)
	}
	if err := e.c.ResetTwoFactor(ctx, before.AccessToken, boss.ID); errCode(err) != "unauthorized" {
		t.Fatalf("a token issued before enrolment: %v", err)
	}
	e.clock.Advance(totp.Step)
	tk, err := e.c.SignInWithCode(ctx, "boss@example.com", bosspw, code())
	if err != nil {
		t.Fatal(err)
	}
	err = e.c.ResetTwoFactor(ctx, tk.AccessToken, boss.ID)
	if ce, ok := err.(*client.Error); !ok || ce.Status != 403 || !strings.Contains(ce.Message, "/account/two-factor") {
		t.Fatalf("own two-step reset: %v", err)
	}
	if _, err := e.c.UpdateUser(ctx, tk.AccessToken, boss.ID, map[string]any{"email": "boss@elsewhere.example.com", "current_password": bosspw}); errCode(err) != "two_factor_required" {
		t.Fatalf("own email change without a code: %v", err)
	}
	if _, err := e.c.UpdateUser(ctx, tk.AccessToken, boss.ID, map[string]any{"groups": []string{"admin", "mobile"}}); errCode(err) != "unauthorized" {
		t.Fatalf("own groups without the password: %v", err)
	}
	e.clock.Advance(totp.Step)
	got, err := e.c.UpdateUser(ctx, tk.AccessToken, boss.ID, map[string]any{"email": "boss@elsewhere.example.com", "current_password": bosspw, "otp": code()})
	if err != nil || got.Email != "boss@elsewhere.example.com" {
		t.Fatalf("own email change with the password and a code: %v", err)
	}
}

// TestPasskeysThroughTheAPI: a user's passkeys are counted on the user
// (passkeys); an administrator removes them (the user is emailed), never
// their own this way; a passkey-only account gets no token from the
// password grant (a passkey is given in a browser), and its reset takes
// one of the recovery codes its first passkey brought as otp.
func TestPasskeysThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	boss := e.user("boss@example.com", "keeper of the user list", airlock.GroupAdmin)
	u := e.user("ada@example.com", "violet tractor on the moon", airlock.GroupMobile)
	_, sid, _, err := e.svc.SignIn(ctx, "ada@example.com", "violet tractor on the moon", "", account.Meta{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := e.db.UserByID(ctx, u.ID)
	id, options, err := e.svc.BeginPasskeyRegistration(ctx, fresh, sid, "Phone", account.Proof{Password: "violet tractor on the moon", Code: ""}, account.Meta{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := softkey.New("https://accounts.example.com").Create(options)
	if err != nil {
		t.Fatal(err)
	}
	added, err := e.svc.FinishPasskeyRegistration(ctx, fresh, sid, id, "Phone", resp, account.Meta{IP: "192.0.2.1"})
	if err != nil || len(added.Codes) != account.RecoveryCodes {
		t.Fatalf("the first passkey: %v, %v", added, err)
	}
	if _, err := e.c.SignIn(ctx, "ada@example.com", "violet tractor on the moon"); errCode(err) != "two_factor_required" {
		t.Fatalf("the password grant of a passkey-only account: %v", err)
	}
	if _, err := e.c.Forgot(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	var token string
	for _, m := range e.smtp.Wait(t, 2) { // the passkey's email, and the reset's
		if found := tokenRE.FindStringSubmatch(m.Parts()["text/plain"]); found != nil {
			token = found[1]
		}
	}
	if err := e.c.Reset(ctx, token, "taken over with the mailbox"); errCode(err) != "two_factor_required" {
		t.Fatalf("a passkey-only account's reset without its passkey: %v", err)
	}
	if err := e.c.ResetWithCode(ctx, token, "a reset without my phone", added.Codes[0]); err != nil {
		t.Fatalf("a passkey-only account's reset with a recovery code: %v", err)
	}
	tk, err := e.c.SignIn(ctx, "boss@example.com", "keeper of the user list")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.c.GetUser(ctx, tk.AccessToken, u.ID)
	if err != nil || got.Passkeys != 1 {
		t.Fatalf("user: %+v %v", got, err)
	}
	if err := e.c.RemovePasskeys(ctx, tk.AccessToken, boss.ID); errCode(err) != "forbidden" {
		t.Fatalf("an administrator's own: %v", err)
	}
	if err := e.c.RemovePasskeys(ctx, tk.AccessToken, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.c.GetUser(ctx, tk.AccessToken, u.ID); got.Passkeys != 0 {
		t.Fatalf("passkeys left: %d", got.Passkeys)
	}
	if err := e.c.RemovePasskeys(ctx, tk.AccessToken, u.ID); errCode(err) != "conflict" {
		t.Fatalf("a user without passkeys: %v", err)
	}
}

// TestAdminActionBodies: an action that takes no input accepts an empty
// body, JSON whitespace or {}; any other body is refused 400 and the action
// not taken, even one of Unicode spaces that strings.TrimSpace would empty.
func TestAdminActionBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("boss@example.com", "keeper of the user list", airlock.GroupAdmin)
	u := e.user("sam@example.com", pw, airlock.GroupMobile)
	boss, _ := e.c.SignIn(ctx, "boss@example.com", "keeper of the user list")
	auth := []string{"Authorization", "Bearer " + boss.AccessToken}
	path := "/api/v1/users/" + u.ID + "/two-factor/reset"
	for _, body := range []string{"\u00a0", "\v", "\f", "\u2028", " x ", "{} {}", "[]"} {
		if res, text := e.raw("POST", path, "application/json", body, auth...); res.StatusCode != 400 {
			t.Errorf("body %q: %d %s", body, res.StatusCode, text)
		}
	}
	// The action itself runs, and says the user has no two-step sign-in.
	for _, body := range []string{"", " \t\r\n", "{}", " { } "} {
		if res, text := e.raw("POST", path, "application/json", body, auth...); res.StatusCode != 409 {
			t.Errorf("body %q: %d %s", body, res.StatusCode, text)
		}
	}
}
