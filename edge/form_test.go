package edge_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/edge"
)

func formRequest(body string) *http.Request {
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestReadForm(t *testing.T) {
	t.Parallel()
	f, err := edge.ReadForm(httptest.NewRecorder(), formRequest("email=a%40example.com&groups=a&groups=b&password=p%C3%A9"), "email", "password", "groups*", "temporary")
	if err != nil || f.Get("email") != "a@example.com" || len(f["groups"]) != 2 || f.Get("password") != "pé" || f.Has("temporary") {
		t.Fatalf("form %v, %v", f, err)
	}
	tests := []struct {
		name, body, field string
		code              airlock.Code
	}{
		{"unknown field", "email=a&cc=b", "cc", airlock.CodeInvalid},
		{"field in capitals", "EMAIL=a", "EMAIL", airlock.CodeInvalid},
		{"repeated field", "email=a&email=b", "email", airlock.CodeInvalid},
		{"NUL in a value", "email=a%00b", "email", airlock.CodeInvalid},
		{"NUL in a repeatable value", "groups=a&groups=%00", "groups", airlock.CodeInvalid},
		{"invalid UTF-8 in a value", "password=%FF", "password", airlock.CodeInvalid},
		{"overlong NUL", "password=%C0%80", "password", airlock.CodeInvalid},
		{"NUL in a name", "email%00=a", "", airlock.CodeInvalid},
		{"invalid UTF-8 in a name", "%FFemail=a", "", airlock.CodeInvalid},
		{"malformed escape", "email=%zz", "", airlock.CodeInvalid},
		{"semicolon", "email=a;password=b", "", airlock.CodeInvalid},
		{"too large", "email=" + strings.Repeat("a", edge.MaxBodyBytes), "", airlock.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := edge.ReadForm(httptest.NewRecorder(), formRequest(tt.body), "email", "password", "groups*")
			e := airlock.AsError(err)
			if e == nil || e.Code != tt.code || e.Field != tt.field {
				t.Fatalf("err = %#v, want %s on field %q", err, tt.code, tt.field)
			}
		})
	}
	r := formRequest("email=a")
	r.Header.Set("Content-Type", "application/json")
	if _, err := edge.ReadForm(httptest.NewRecorder(), r, "email"); airlock.ErrorCode(err) != airlock.CodeInvalid {
		t.Fatalf("JSON content type: %v", err)
	}
}

func TestReadOAuthForm(t *testing.T) {
	t.Parallel()
	var grant, user string
	fields := map[string]*string{"grant_type": &grant, "username": &user}
	if err := edge.ReadOAuthForm(httptest.NewRecorder(), formRequest("grant_type=password&username=a%40b"), fields); err != nil || grant != "password" || user != "a@b" {
		t.Fatalf("%q %q %v", grant, user, err)
	}
	for _, body := range []string{"grant_type=a&grant_type=b", "username=a%00", "USERNAME=a", "scope=x"} {
		if err := edge.ReadOAuthForm(httptest.NewRecorder(), formRequest(body), fields); airlock.ErrorCode(err) != airlock.CodeInvalid {
			t.Errorf("%s: %v", body, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"/", "/admin/users?q=ad%C3%A9&page=2", "/p?a=&b", "/users/caf%C3%A9"} {
		if err := edge.CheckURL(httptest.NewRequest("GET", target, nil)); err != nil {
			t.Errorf("%s: %v", target, err)
		}
	}
	for _, target := range []string{"/?q=%00", "/?q=a%00b", "/?q=%FF", "/?%00=a", "/?q=a&q=%00", "/?q=%zz", "/?a=1;b=2", "/users/%00", "/users/%FF"} {
		if err := edge.CheckURL(httptest.NewRequest("GET", target, nil)); airlock.ErrorCode(err) != airlock.CodeInvalid {
			t.Errorf("%s: %v, want CodeInvalid", target, err)
		}
	}
}

// TestAnnouncedTooLarge: a body announced larger than the limit is refused
// at once, without waiting for it (a slow sender would hold the request for
// the whole read timeout).
func TestAnnouncedTooLarge(t *testing.T) {
	t.Parallel()
	body, _ := io.Pipe() // never written: reading it would block
	r := httptest.NewRequest("POST", "/api/v1/password/forgot", body)
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = edge.MaxBodyBytes + 1
	done := make(chan error, 1)
	go func() {
		var dst struct {
			Email string `json:"email"`
		}
		done <- edge.ReadJSON(httptest.NewRecorder(), r, &dst)
	}()
	select {
	case err := <-done:
		if e := airlock.AsError(err); e == nil || e.Code != airlock.CodeTooLarge {
			t.Fatalf("announced 64 KiB + 1: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader waited for a body announced too large")
	}
}
