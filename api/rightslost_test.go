package api_test

import (
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// TestRightsTakenAwayEndTokensForGood: an administrator, through the API,
// takes the mobile group from a field worker, or deactivates them, then
// gives it back; the access and refresh tokens the app held from before
// stay dead (they ended with the change, as the group or the active flag
// alone, back again, would let them through), while a new sign-in works.
// On SQLite and PostgreSQL.
func TestRightsTakenAwayEndTokensForGood(t *testing.T) {
	const boss, worker, bossPW = "boss@example.com", "worker@example.com", "keeper of the user list"
	for change, patches := range map[string][2]map[string]any{
		"mobile group removed": {{"groups": []string{airlock.GroupWebReader}}, {"groups": []string{airlock.GroupMobile, airlock.GroupWebReader}}},
		"deactivated":          {{"active": false}, {"active": true}},
	} {
		t.Run(change, func(t *testing.T) {
			testutil.EachStore(t, func(t *testing.T, db *store.DB) {
				e := newEnvOn(t, db)
				e.user(boss, bossPW, airlock.GroupAdmin)
				u := e.user(worker, pw, airlock.GroupMobile, airlock.GroupWebReader)
				admin, err := e.c.SignIn(ctx, boss, bossPW)
				if err != nil {
					t.Fatal(err)
				}
				app, err := e.c.SignIn(ctx, worker, pw)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.c.Me(ctx, app.AccessToken); err != nil {
					t.Fatalf("the app's token does not work to begin with: %v", err)
				}
				for _, p := range patches {
					if _, err := e.c.UpdateUser(ctx, admin.AccessToken, u.ID, p); err != nil {
						t.Fatalf("patch %v: %v", p, err)
					}
				}
				if _, err := e.c.Me(ctx, app.AccessToken); errCode(err) != "unauthorized" {
					t.Errorf("the access token from before the change: %v, want unauthorized", err)
				}
				if _, err := e.c.Refresh(ctx, app.RefreshToken); errCode(err) != "invalid_grant" {
					t.Errorf("the refresh token from before the change: %v, want invalid_grant", err)
				}
				again, err := e.c.SignIn(ctx, worker, pw)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.c.Me(ctx, again.AccessToken); err != nil {
					t.Fatalf("a new sign-in: %v", err)
				}
			})
		})
	}
}
