package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// TestQueryRefusesNULAndInvalidUTF8: a NUL or invalid UTF-8 in a query
// parameter is bad input (400 page), never a database error (PostgreSQL
// refuses NUL in text).
func TestQueryRefusesNULAndInvalidUTF8(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, func(o *options) { o.db = db })
		e.user("admin@example.com", adminPW, airlock.GroupAdmin)
		c := e.signIn("admin@example.com", adminPW)
		for _, path := range []string{
			"/admin/users?q=%00", "/admin/users?q=ada%00x", "/admin/users?q=%FF", "/admin/users?group=%00&q=a",
			"/admin/audit?kind=%00", "/admin/audit?user=%00", "/admin/audit?user=a%00%40example.com", "/admin/audit?kind=%FE",
			"/admin/users?%00=x", "/admin/users?q=a&q=%00", "/admin/users?q=%zz", "/admin/users/%00", "/admin/users/%FF", "/login?m=%00", "/password/reset?token=%00", "/password/reset?token=%FF",
			// A filter given twice or misspelt would be applied half or not at all.
			"/admin/users?q=a&q=b", "/admin/users?group=admin&group=mobile", "/admin/users?qq=a",
		} {
			t.Run(path, func(t *testing.T) {
				r := e.get(c, path)
				if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Header.Get("Content-Type"), "text/html") ||
					r.Header.Get("Content-Security-Policy") == "" {
					t.Fatalf("%d %q, want a 400 page\n%s", r.StatusCode, r.Header.Get("Content-Type"), r.body)
				}
			})
		}
		if r := e.get(c, "/admin/users?q=admin"); r.StatusCode != 200 || !strings.Contains(r.body, "1 user") {
			t.Fatalf("a plain search: %d", r.StatusCode)
		}
	})
}

// TestFormRefusesNUL: form fields and names holding a NUL are refused
// before any look-up: no sign-in attempt is counted, nothing is stored.
func TestFormRefusesNUL(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, func(o *options) { o.db = db })
		e.user("admin@example.com", adminPW, airlock.GroupAdmin)
		admin := e.signIn("admin@example.com", adminPW)
		cases := []struct {
			name, path, body string
			c                *http.Client
		}{
			{"NUL in the email", "/login", "email=admin%00%40example.com&password=x", nil},
			{"NUL in the password", "/login", "email=admin%40example.com&password=" + url.QueryEscape(adminPW) + "%00", nil},
			{"NUL in a field name", "/login", "email%00=admin%40example.com&password=x", nil},
			{"invalid UTF-8 in a field name", "/login", "email%FF=admin%40example.com&password=x", nil},
			{"NUL in the forgotten email", "/password/forgot", "email=admin%40example.com%00", nil},
			{"NUL in a new user's name", "/admin/users/new", "email=new%40example.com&first_name=N%00o&last_name=&language=en", admin},
			{"NUL in a group", "/admin/users/new", "email=new%40example.com&first_name=No&last_name=&language=en&groups=mobile%00", admin},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(tc.c, http.MethodPost, tc.path, tc.body)
				if r.StatusCode != http.StatusBadRequest {
					t.Fatalf("%d, want 400\n%s", r.StatusCode, r.body)
				}
			})
		}
		if _, total, _ := e.db.ListUsers(context.Background(), airlock.UserFilter{}); total != 1 {
			t.Fatalf("%d users, want 1", total)
		}
		if n, _ := testutil.CountJobs(e.db, airlock.JobForgot); n != 0 {
			t.Fatalf("%d jobs queued", n)
		}
	})
}
