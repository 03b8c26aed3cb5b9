package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// TestImportReportOnPage: a file of 250 bad lines names the first 100 and
// says how many more, in English and in French; a file over 16 MiB is
// refused with its reason; neither creates anyone.
func TestImportReportOnPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	if _, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: "chef@example.com", Language: "fr",
		Password: adminPW, Groups: []string{airlock.GroupAdmin}}, account.Meta{IP: "cli"}); err != nil {
		t.Fatal(err)
	}
	en, fr := e.signIn("admin@example.com", adminPW), e.signIn("chef@example.com", adminPW)
	var b strings.Builder
	b.WriteString("email,language\n")
	for i := range 250 {
		fmt.Fprintf(&b, "worker%d@example.com,xx\n", i)
	}
	for _, tc := range []struct {
		c               *http.Client
		headline, first string
		more            string
	}{
		{en, "Nobody was imported: 250 lines need fixing.", "Line 2: The language must be en or fr.", "…and 150 more lines."},
		{fr, "250 lignes sont à corriger", "Ligne 2 :", "…et 150 autres lignes."},
	} {
		r := e.upload(tc.c, "/admin/users/import", "users.csv", b.String())
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.headline) || !strings.Contains(r.body, tc.first) ||
			!strings.Contains(r.body, tc.more) || strings.Count(r.body, "<li>") != account.MaxImportProblems {
			t.Errorf("refused import: %d\n%s", r.StatusCode, r.body)
		}
	}
	r := e.upload(en, "/admin/users/import", "users.csv", "email\n"+strings.Repeat("a", 16<<20))
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "The file is too large (at most 16 MiB).") {
		t.Errorf("a file over 16 MiB: %d\n%s", r.StatusCode, r.body)
	}
	if _, total, _ := e.db.ListUsers(context.Background(), airlock.UserFilter{}); total != 2 {
		t.Fatalf("%d users after refused imports", total)
	}
}
