package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/client"
)

// TestDecomposedPasswordThroughAPI: a reset to a password of 128
// characters, sent decomposed (248 code points), is taken (and matches
// the documented request body), and the password grant then accepts the
// composed spelling, and the decomposed one.
func TestDecomposedPasswordThroughAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", pw, airlock.GroupMobile)
	if _, err := e.c.Forgot(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	m := tokenRE.FindStringSubmatch(e.smtp.Wait(t, 1)[0].Parts()["text/plain"])
	if m == nil {
		t.Fatal("no token in the email")
	}
	composed := strings.Repeat("\u00e9", 120) + " dessert"
	decomposed := strings.Repeat("e\u0301", 120) + " dessert"
	if err := e.c.Reset(ctx, m[1], decomposed); err != nil {
		t.Fatalf("reset to a 128-character password sent decomposed: %v", err)
	}
	for _, typed := range []string{composed, decomposed} {
		if _, err := e.c.SignIn(ctx, "ada@example.com", typed); err != nil {
			t.Errorf("password grant, %d bytes: %v", len(typed), err)
		}
	}
}

// TestBlankNamesRefusedByAPI: POST and PATCH refuse a name with no visible
// character with 400, naming the field, and change nothing.
func TestBlankNamesRefusedByAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("boss@example.com", "keeper of the user list", airlock.GroupAdmin)
	target := e.user("noor@example.com", pw)
	boss, err := e.c.SignIn(ctx, "boss@example.com", "keeper of the user list")
	if err != nil {
		t.Fatal(err)
	}
	auth := []string{"Authorization", "Bearer " + boss.AccessToken}
	for _, c := range []struct{ method, path, body, field string }{
		{"POST", "/api/v1/users", `{"email":"blank@example.com","first_name":"\u3164"}`, "first_name"},
		{"POST", "/api/v1/users", `{"email":"blank@example.com","first_name":"Noor","last_name":"\u2800\u2800"}`, "last_name"},
		{"PATCH", "/api/v1/users/" + target.ID, `{"first_name":"\uffa0 \u115f"}`, "first_name"},
		{"PATCH", "/api/v1/users/" + target.ID, `{"last_name":"\u00ad"}`, "last_name"},
	} {
		res, body := e.raw(c.method, c.path, "application/json", c.body, auth...)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"code":"invalid_request"`) ||
			!strings.Contains(body, `"field":"`+c.field+`"`) || !strings.Contains(body, "visible character") {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, res.StatusCode, body)
		}
	}
	if _, err := e.c.CreateUser(ctx, boss.AccessToken, client.NewUser{Email: "blank@example.com"}); err != nil {
		t.Fatalf("blank@example.com was created by a refused request: %v", err)
	}
	got, err := e.c.GetUser(ctx, boss.AccessToken, target.ID)
	if err != nil || got.FirstName != "Ada" || got.LastName != "Lovelace" {
		t.Fatalf("a refused PATCH changed the user: %+v %v", got, err)
	}
}
