package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/testutil"
)

var metaCLI = account.Meta{IP: "cli"}

// TestBadBodies: every malformed body is a 400 invalid_request (413 when
// too large) and changes nothing.
func TestBadBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("boss@example.com", "keeper of the user list", airlock.GroupAdmin)
	tk, err := e.c.SignIn(ctx, "boss@example.com", "keeper of the user list")
	if err != nil {
		t.Fatal(err)
	}
	auth := []string{"Authorization", "Bearer " + tk.AccessToken}
	bodies := []struct {
		name, ctype, body, code string
	}{
		{"not JSON", "application/json", `{"email": `, "invalid_request"},
		{"trailing data", "application/json", `{"email":"a@example.com"} {"email":"b@example.com"}`, "invalid_request"},
		{"repeated key", "application/json", `{"email":"a@example.com","email":"b@example.com"}`, "invalid_request"},
		{"array for a string", "application/json", `{"email":["a@example.com","b@example.com"]}`, "invalid_request"},
		{"number for a string", "application/json", `{"email":42}`, "invalid_request"},
		{"null", "application/json", `{"email":null}`, "invalid_request"},
		{"unknown field", "application/json", `{"email":"a@example.com","cc":"b@example.com"}`, "invalid_request"},
		{"top-level array", "application/json", `[{"email":"a@example.com"}]`, "invalid_request"},
		{"invalid UTF-8", "application/json", "{\"email\":\"a\xff@example.com\"}", "invalid_request"},
		{"CRLF in email", "application/json", `{"email":"a@example.com\r\nBcc: b@example.com"}`, "invalid_request"},
		{"form instead of JSON", "application/x-www-form-urlencoded", `email=a%40example.com`, "invalid_request"},
		{"no content type", "", `{"email":"a@example.com"}`, "invalid_request"},
		{"too large", "application/json", `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, "too_large"},
		{"empty", "application/json", ``, "invalid_request"},
	}
	targets := []struct{ method, path string }{
		{"POST", "/api/v1/password/forgot"},
		{"POST", "/api/v1/auth/token"},
		{"PATCH", "/api/v1/users/" + admin.ID},
		{"POST", "/api/v1/users"},
	}
	for _, target := range targets {
		for _, b := range bodies {
			if target.path == "/api/v1/auth/token" && b.ctype == "application/x-www-form-urlencoded" {
				continue // the token endpoint takes OAuth forms
			}
			t.Run(target.method+" "+target.path+" "+b.name, func(t *testing.T) {
				res, body := e.raw(target.method, target.path, b.ctype, b.body, auth...)
				want := http.StatusBadRequest
				if b.code == "too_large" {
					want = http.StatusRequestEntityTooLarge
				}
				if res.StatusCode != want || !strings.Contains(body, `"code":"`+b.code+`"`) {
					t.Fatalf("%d %s, want %d %s", res.StatusCode, body, want, b.code)
				}
			})
		}
	}
	// Nothing changed: no request queued, no user created, the admin intact.
	if n, _ := testutil.CountJobs(e.db, ""); n != 0 {
		t.Fatalf("%d jobs queued by bad bodies", n)
	}
	users, total, _ := e.db.ListUsers(ctx, airlock.UserFilter{})
	if total != 1 || users[0].Email != "boss@example.com" {
		t.Fatalf("users changed: %d", total)
	}
	// Wrong types name the field.
	_, body := e.raw("PATCH", "/api/v1/users/"+admin.ID, "application/json", `{"active":"yes"}`, auth...)
	if !strings.Contains(body, `"field":"active"`) {
		t.Fatalf("type error does not name the field: %s", body)
	}
}

func TestJSONNotFoundAndMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, body := e.raw("GET", "/api/v1/nope", "", "")
	if res.StatusCode != 404 || !strings.Contains(body, `"code":"not_found"`) || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("404: %d %s", res.StatusCode, body)
	}
	res, body = e.raw("DELETE", "/api/v1/me", "", "")
	if res.StatusCode != 405 || !strings.Contains(body, `"code":"method_not_allowed"`) || res.Header.Get("Allow") != "GET" {
		t.Fatalf("405: %d %s %q", res.StatusCode, body, res.Header.Get("Allow"))
	}
	res, body = e.raw("GET", "/api/v1/me", "", "")
	if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d %s", res.StatusCode, body)
	}
	res, body = e.raw("GET", "/api/v1/openapi.json", "", "")
	if res.StatusCode != 200 {
		t.Fatalf("openapi.json: %d", res.StatusCode)
	}
	// The document's license is the repository's (LICENSE, Apache-2.0).
	var doc struct {
		Info struct {
			License struct{ Name, Identifier string }
		}
	}
	license, err := os.ReadFile("../LICENSE")
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Info.License.Identifier != "Apache-2.0" {
		t.Fatalf("openapi.json's license: %+v %v", doc.Info.License, err)
	}
	if err != nil || !strings.Contains(string(license), "Apache License\n                           Version 2.0") {
		t.Fatalf("LICENSE is not the Apache License 2.0: %v", err)
	}
}
