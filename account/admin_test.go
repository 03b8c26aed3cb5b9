package account_test

import (
	"context"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

func TestAdminActionsNeedAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := e.user(t, "admin@example.com", goodPassword, airlock.GroupAdmin)
	worker := e.user(t, "worker@example.com", goodPassword, airlock.GroupMobile)
	calls := map[string]func(actor *airlock.User) error{
		"list": func(a *airlock.User) error {
			_, _, err := e.svc.AdminListUsers(ctx, a, airlock.UserFilter{})
			return err
		},
		"get": func(a *airlock.User) error { _, err := e.svc.AdminGetUser(ctx, a, admin.ID); return err },
		"create": func(a *airlock.User) error {
			_, err := e.svc.AdminCreateUser(ctx, a, account.NewUser{Email: "n@example.com"}, meta)
			return err
		},
		"update": func(a *airlock.User) error {
			_, err := e.svc.AdminUpdateUser(ctx, a, admin.ID, account.UserChanges{}, meta)
			return err
		},
		"set password": func(a *airlock.User) error {
			return e.svc.AdminSetPassword(ctx, a, admin.ID, "taken over by a worker", "", false, meta)
		},
		"send reset": func(a *airlock.User) error { return e.svc.AdminSendReset(ctx, a, admin.ID, meta) },
		"audit": func(a *airlock.User) error {
			_, _, err := e.svc.AdminListAudit(ctx, a, airlock.AuditFilter{})
			return err
		},
	}
	for name, call := range calls {
		if err := call(worker); code(err) != airlock.CodeForbidden {
			t.Errorf("%s by a non-admin: %v, want forbidden", name, err)
		}
	}
	// An administrator who was deactivated is no longer one.
	admin.Active = false
	if err := calls["list"](admin); code(err) != airlock.CodeForbidden {
		t.Errorf("list by an inactive admin: %v", err)
	}
}

func TestAdminSelfAndLastAdminProtection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.user(t, "a@example.com", goodPassword, airlock.GroupAdmin)
	b := e.user(t, "b@example.com", goodPassword, airlock.GroupAdmin)
	none := []string{}
	if _, err := e.svc.AdminUpdateUser(ctx, a, a.ID, account.UserChanges{Groups: &none}, meta); code(err) != airlock.CodeConflict {
		t.Fatalf("removing own admin group: %v", err)
	}
	off := false
	if _, err := e.svc.AdminUpdateUser(ctx, a, a.ID, account.UserChanges{Active: &off}, meta); code(err) != airlock.CodeConflict {
		t.Fatalf("deactivating oneself: %v", err)
	}
	// A may demote B: A stays an administrator.
	if _, err := e.svc.AdminUpdateUser(ctx, a, b.ID, account.UserChanges{Groups: &none}, meta); err != nil {
		t.Fatal(err)
	}
	// From the command line, the last active administrator cannot be removed.
	if _, err := e.svc.AdminUpdateUser(ctx, account.Operator, a.ID, account.UserChanges{Active: &off}, meta); code(err) != airlock.CodeConflict {
		t.Fatalf("deactivating the last admin: %v", err)
	}
	if _, err := e.svc.AdminUpdateUser(ctx, account.Operator, a.ID, account.UserChanges{Groups: &none}, meta); code(err) != airlock.CodeConflict {
		t.Fatalf("demoting the last admin: %v", err)
	}
	got, _ := e.db.UserByID(ctx, a.ID)
	if !got.Active || !got.HasGroup(airlock.GroupAdmin) {
		t.Fatal("a refused change was written")
	}
}

func TestEmailChangeAndDeactivationKillAccess(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]account.UserChanges{
		"email change": {Email: ptr("new.address@example.com")},
		"deactivation": {Active: ptr(false)},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			admin := e.user(t, "admin@example.com", goodPassword, airlock.GroupAdmin)
			e.user(t, "ada@example.com", goodPassword)
			u, sid, _, _ := e.svc.SignIn(ctx, "ada@example.com", goodPassword, "", meta)
			token := e.resetToken(t, "ada@example.com")
			if _, err := e.svc.AdminUpdateUser(ctx, admin, u.ID, change, meta); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Authenticate(ctx, sid); code(err) != airlock.CodeUnauthorized {
				t.Fatalf("session survived: %v", err)
			}
			if _, _, err := e.svc.CheckLink(ctx, account.ByToken(token), meta); code(err) != airlock.CodeInvalidToken {
				t.Fatalf("reset token survived: %v", err)
			}
			events, _, _ := e.db.ListAudit(ctx, airlock.AuditFilter{Kind: airlock.AuditUserUpdated})
			if len(events) != 1 || events[0].ActorID != admin.ID || events[0].ActorEmail != "admin@example.com" {
				t.Fatalf("audit: %+v", events)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestAdminSendReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := e.user(t, "admin@example.com", goodPassword, airlock.GroupAdmin)
	u := e.user(t, "ada@example.com", "")
	for range 3 {
		if err := e.svc.AdminSendReset(ctx, admin, u.ID, meta); err != nil {
			t.Fatal(err)
		}
	}
	// The per-account limit applies, and the administrator is told.
	if err := e.svc.AdminSendReset(ctx, admin, u.ID, meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("4th reset email in an hour: %v", err)
	}
	e.drain(t)
	msgs := e.smtp.Wait(t, 3)
	token := tokenFrom(t, msgs[2])
	if _, _, err := e.svc.CompleteLink(ctx, account.ByToken(token), "chosen by herself at home", "", meta); err != nil {
		t.Fatal(err)
	}
	inactive := e.user(t, "gone@example.com", goodPassword)
	inactive.Active = false
	e.db.UpdateUser(ctx, inactive)
	if err := e.svc.AdminSendReset(ctx, admin, inactive.ID, meta); code(err) != airlock.CodeConflict {
		t.Fatalf("reset email to an inactive user: %v", err)
	}
}
