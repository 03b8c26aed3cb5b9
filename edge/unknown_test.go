package edge_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/edge"
	"github.com/airlockhq/airlock/i18n"
)

// TestUnknownFieldNotEchoed: an unknown key is named back when it looks like
// a field name, and not echoed when it does not: a JSON body sent as a form
// is one key holding the whole body, password included.
func TestUnknownFieldNotEchoed(t *testing.T) {
	t.Parallel()
	const secret = "violet tractor on the moon"
	var dst struct {
		Email string `json:"email"`
	}
	for _, c := range []struct {
		what string
		err  error
		name string // "" when it must not be named
	}{
		{"form, JSON body", func() error {
			_, err := edge.ReadForm(httptest.NewRecorder(), formRequest(`{"grant_type":"password","password":"`+secret+`"}`), "email")
			return err
		}(), ""},
		{"form, a long key", func() error {
			_, err := edge.ReadForm(httptest.NewRecorder(), formRequest(strings.Repeat("a", 65)+"=1"), "email")
			return err
		}(), ""},
		{"JSON, a key with spaces", edge.DecodeJSON([]byte(`{"`+secret+`":"x"}`), &dst), ""},
		{"form, a field name", func() error {
			_, err := edge.ReadForm(httptest.NewRecorder(), formRequest("EMAIL=a"), "email")
			return err
		}(), "EMAIL"},
		{"JSON, a field name", edge.DecodeJSON([]byte(`{"e-mail":"x"}`), &dst), "e-mail"},
	} {
		e := airlock.AsError(c.err)
		if e == nil || e.Code != airlock.CodeInvalid {
			t.Fatalf("%s: err = %v, want invalid", c.what, c.err)
		}
		msg := i18n.ErrorText("en", e)
		if strings.Contains(msg, "tractor") || strings.Contains(msg, strings.Repeat("a", 65)) {
			t.Errorf("%s: the key is echoed: %q", c.what, msg)
		}
		if c.name != "" && (e.Field != c.name || !strings.Contains(msg, c.name)) {
			t.Errorf("%s: field %q, message %q: want the key %q named", c.what, e.Field, msg, c.name)
		}
		if c.name == "" && e.Field != "" {
			t.Errorf("%s: field %q", c.what, e.Field)
		}
	}
}
