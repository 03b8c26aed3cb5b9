package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
)

// TestRightsTakenAwayEndSessionsForGood: an administrator takes the mobile
// group from a user on the users page, or deactivates them, then gives it
// back; the browser the user had signed in with is sent to sign in again
// and stays so (its session ended with the change, as the group or the
// active flag alone, back again, would let it through), while a new
// sign-in works. On SQLite and PostgreSQL.
func TestRightsTakenAwayEndSessionsForGood(t *testing.T) {
	const workerPW = "out in the sunny fields"
	for name, opts := range map[string][]func(*options){"sqlite": nil, "postgres": {onPostgres}} {
		t.Run(name, func(t *testing.T) {
			for change, forms := range map[string][2]url.Values{
				"mobile group removed": {
					{"groups": {airlock.GroupWebReader}, "active": {"on"}},
					{"groups": {airlock.GroupMobile, airlock.GroupWebReader}, "active": {"on"}},
				},
				"deactivated": {
					{"groups": {airlock.GroupMobile, airlock.GroupWebReader}},
					{"groups": {airlock.GroupMobile, airlock.GroupWebReader}, "active": {"on"}},
				},
			} {
				t.Run(change, func(t *testing.T) {
					e := newEnv(t, opts...)
					e.user("admin@example.com", adminPW, airlock.GroupAdmin)
					worker := e.user("worker@example.com", workerPW, airlock.GroupMobile, airlock.GroupWebReader)
					admin := e.signIn("admin@example.com", adminPW)
					browser := e.signIn("worker@example.com", workerPW)
					if r := e.get(browser, "/account"); r.StatusCode != http.StatusOK {
						t.Fatalf("the worker's session does not work to begin with: %d", r.StatusCode)
					}
					for _, f := range forms {
						f.Set("email", worker.Email)
						f.Set("first_name", worker.FirstName)
						f.Set("last_name", worker.LastName)
						f.Set("language", "en")
						r := e.post(admin, "/admin/users/"+worker.ID, f)
						if r.StatusCode != http.StatusSeeOther || !strings.HasSuffix(r.Header.Get("Location"), "?m=saved") {
							t.Fatalf("edit %v: %d %q", f, r.StatusCode, r.Header.Get("Location"))
						}
					}
					got, _ := e.db.UserByID(context.Background(), worker.ID)
					if !got.Active || !got.HasGroup(airlock.GroupMobile) {
						t.Fatalf("after giving it back: %+v", got)
					}
					if r := e.get(browser, "/account"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
						t.Fatalf("the session from before the change: %d %q, want sent to sign in", r.StatusCode, r.Header.Get("Location"))
					}
					if r := e.get(e.signIn("worker@example.com", workerPW), "/account"); r.StatusCode != http.StatusOK {
						t.Fatalf("a new sign-in: %d", r.StatusCode)
					}
				})
			}
		})
	}
}
