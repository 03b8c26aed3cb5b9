package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// TestJSONKeysMatchExactly: encoding/json folds case (and ſ to s, K to k)
// when it matches keys to fields, so a second, differently written key
// could override the first. Every key must be exactly a documented name.
func TestJSONKeysMatchExactly(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnvOn(t, db)
		ada := e.user("ada@example.com", pw, airlock.GroupMobile, airlock.GroupAdmin)
		e.user("bob@example.com", "a long passphrase of his own", airlock.GroupMobile)
		tk, err := e.c.SignIn(ctx, "ada@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		auth := []string{"Authorization", "Bearer " + tk.AccessToken}
		cases := []struct {
			name, method, path, body, field string
		}{
			{"second username in capitals", "POST", "/api/v1/auth/token",
				`{"grant_type":"password","username":"ada@example.com","USERNAME":"bob@example.com","password":"a long passphrase of his own"}`, "USERNAME"},
			{"long s in password", "POST", "/api/v1/auth/token",
				`{"grant_type":"password","username":"ada@example.com","paſſword":"` + pw + `"}`, "paſſword"},
			{"Kelvin sign in refresh_token", "POST", "/api/v1/auth/token",
				`{"grant_type":"refresh_token","refresh_to\u212Aen":"` + tk.RefreshToken + `"}`, "refresh_to\u212Aen"},
			{"capitalised key", "POST", "/api/v1/auth/token",
				`{"Grant_Type":"password","username":"ada@example.com","password":"` + pw + `"}`, "Grant_Type"},
			{"forgot with EMAIL", "POST", "/api/v1/password/forgot", `{"EMAIL":"ada@example.com"}`, "EMAIL"},
			{"patch with Active", "PATCH", "/api/v1/users/" + ada.ID, `{"first_name":"Ada","Active":false}`, "Active"},
			{"patch with ſ", "PATCH", "/api/v1/users/" + ada.ID, `{"la\u017Ft_name":"Byron"}`, "la\u017Ft_name"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res, body := e.raw(c.method, c.path, "application/json", c.body, auth...)
				if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"code":"invalid_request"`) ||
					!strings.Contains(body, `"field":"`+c.field+`"`) || !strings.Contains(body, "Unknown field") {
					t.Fatalf("%d %s, want 400 invalid_request naming %q", res.StatusCode, body, c.field)
				}
			})
		}
		// Nothing happened: no reset queued, Ada still active, still Lovelace.
		if n, _ := testutil.CountJobs(e.db, ""); n != 0 {
			t.Fatalf("%d jobs queued", n)
		}
		if u, err := e.db.UserByID(ctx, ada.ID); err != nil || !u.Active || u.LastName != "Lovelace" {
			t.Fatalf("user changed: %+v %v", u, err)
		}
	})
}

// TestJSONRefusesNULAndLoneSurrogates: a NUL cannot be stored in
// PostgreSQL text and cuts C strings short; a lone surrogate is silently
// turned into U+FFFD by encoding/json. Both are refused as bad input,
// before any look-up or write.
func TestJSONRefusesNULAndLoneSurrogates(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnvOn(t, db)
		ada := e.user("ada@example.com", pw, airlock.GroupMobile, airlock.GroupAdmin)
		tk, err := e.c.SignIn(ctx, "ada@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		auth := []string{"Authorization", "Bearer " + tk.AccessToken}
		cases := []struct {
			name, method, path, body string
		}{
			{"escaped NUL in username", "POST", "/api/v1/auth/token", `{"grant_type":"password","username":"a\u0000@example.com","password":"x"}`},
			{"escaped NUL in password", "POST", "/api/v1/auth/token", `{"grant_type":"password","username":"ada@example.com","password":"` + pw + `\u0000"}`},
			{"escaped NUL in refresh token", "POST", "/api/v1/auth/token", `{"grant_type":"refresh_token","refresh_token":"\u0000"}`},
			{"escaped NUL in a key", "POST", "/api/v1/password/forgot", `{"email\u0000":"ada@example.com"}`},
			{"raw NUL", "POST", "/api/v1/password/forgot", "{\"email\":\"ada@example.com\x00\"}"},
			{"lone high surrogate", "POST", "/api/v1/auth/token", `{"grant_type":"password","username":"ada@example.com","password":"\ud800"}`},
			{"lone low surrogate", "POST", "/api/v1/auth/token", `{"grant_type":"refresh_token","refresh_token":"\uDC00abc"}`},
			{"high surrogate then text", "PATCH", "/api/v1/users/" + ada.ID, `{"first_name":"\uD83Dx"}`},
			{"two high surrogates", "PATCH", "/api/v1/users/" + ada.ID, `{"last_name":"\uD83D\uD83D"}`},
			{"NUL in a list", "PATCH", "/api/v1/users/" + ada.ID, `{"groups":["admin","mobile\u0000"]}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res, body := e.raw(c.method, c.path, "application/json", c.body, auth...)
				if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"code":"invalid_request"`) {
					t.Fatalf("%d %s, want 400 invalid_request", res.StatusCode, body)
				}
			})
		}
		// A surrogate pair is a character like any other.
		if res, body := e.raw("PATCH", "/api/v1/users/"+ada.ID, "application/json", `{"first_name":"Ada \uD83D\uDE00"}`, auth...); res.StatusCode != 200 || !strings.Contains(body, "Ada \U0001F600") {
			t.Fatalf("surrogate pair: %d %s", res.StatusCode, body)
		}
		if n, _ := testutil.CountJobs(e.db, ""); n != 0 {
			t.Fatalf("%d jobs queued", n)
		}
	})
}

// TestQueryRefusesNUL: query parameters are text like any other input: a
// NUL or invalid UTF-8 is a 400, never a database error.
func TestQueryRefusesNUL(t *testing.T) {
	t.Parallel()
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnvOn(t, db)
		e.user("ada@example.com", pw, airlock.GroupMobile, airlock.GroupAdmin)
		tk, err := e.c.SignIn(ctx, "ada@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		auth := []string{"Authorization", "Bearer " + tk.AccessToken}
		for _, q := range []string{"q=%00", "q=ada%00", "q=%FF", "group=%00", "active=%00", "page=1%00", "q%00=x", "%FFq=x", "q=%C0%80", "q=a&q=%00", "q=%zz"} {
			t.Run(q, func(t *testing.T) {
				res, body := e.raw("GET", "/api/v1/users?"+q, "", "", auth...)
				if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"code":"invalid_request"`) {
					t.Fatalf("%d %s, want 400 invalid_request", res.StatusCode, body)
				}
			})
		}
		// Path values are text too; an unknown route or method still answers 404 or 405.
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/v1/users/%00", ""},
			{"GET", "/api/v1/users/%FF", ""},
			{"PATCH", "/api/v1/users/a%00b", `{"first_name":"Ada"}`},
			{"POST", "/api/v1/users/a%00b/password", `{"password":"a long enough new password"}`},
		} {
			ctype := ""
			if c.body != "" {
				ctype = "application/json"
			}
			if res, body := e.raw(c.method, c.path, ctype, c.body, auth...); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"code":"invalid_request"`) {
				t.Errorf("%s %s: %d %s, want 400 invalid_request", c.method, c.path, res.StatusCode, body)
			}
		}
		if res, _ := e.raw("GET", "/api/v1/users/a%00b/password", "", "", auth...); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET on a POST route: %d, want 405", res.StatusCode)
		}
		if res, body := e.raw("GET", "/api/v1/users?q=ada", "", "", auth...); res.StatusCode != 200 || !strings.Contains(body, `"total":1`) {
			t.Fatalf("a plain search: %d %s", res.StatusCode, body)
		}
	})
}
