package edge_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/edge"
)

type inner struct {
	Name string `json:"name"`
}

type base struct {
	ID string `json:"id"`
}

// target is a destination with every shape the fronts decode into.
type target struct {
	base
	GrantType string            `json:"grant_type"`
	Password  string            `json:"password,omitempty"`
	Groups    *[]string         `json:"groups"`
	Active    *bool             `json:"active"`
	Inner     inner             `json:"inner"`
	List      []inner           `json:"list"`
	Labels    map[string]string `json:"labels"`
	At        time.Time         `json:"at"`
	Skipped   string            `json:"-"`
	Untagged  string
}

func decode(body string) (*target, error) {
	var dst target
	return &dst, edge.DecodeJSON([]byte(body), &dst)
}

func TestDecodeJSONAccepts(t *testing.T) {
	t.Parallel()
	dst, err := decode(`{"id":"7","grant_type":"password","password":"p\u00e9 \ud83d\ude00","groups":["a"],"active":true,` +
		`"inner":{"name":"n"},"list":[{"name":"x"}],"labels":{"Any Key":"v"},"at":"2026-01-02T03:04:05Z","Untagged":"u"}`)
	if err != nil {
		t.Fatal(err)
	}
	if dst.ID != "7" || dst.Password != "pé 😀" || (*dst.Groups)[0] != "a" || !*dst.Active || dst.Inner.Name != "n" ||
		dst.List[0].Name != "x" || dst.Labels["Any Key"] != "v" || dst.At.Year() != 2026 || dst.Untagged != "u" {
		t.Fatalf("decoded %+v", dst)
	}
}

func TestDecodeJSONRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field string
	}{
		{"key in capitals", `{"GRANT_TYPE":"password"}`, "GRANT_TYPE"},
		{"second key in capitals", `{"password":"a","PASSWORD":"b"}`, "PASSWORD"},
		{"long s", `{"paſſword":"a"}`, "paſſword"},
		{"long s escaped", `{"pa\u017f\u017fword":"a"}`, "paſſword"},
		{"Kelvin sign", `{"grant_type":"x","labels":{},"inner":{"na\u212Ae":"n"}}`, "inner.na\u212Ae"},
		{"nested key in capitals", `{"inner":{"Name":"n"}}`, "inner.Name"},
		{"key in a list of objects", `{"list":[{"name":"a"},{"NAME":"b"}]}`, "list.NAME"},
		{"promoted field in capitals", `{"ID":"7"}`, "ID"},
		{"field left out with -", `{"Skipped":"x"}`, "Skipped"},
		{"untagged field folded", `{"untagged":"u"}`, "untagged"},
		{"unknown key", `{"cc":"x"}`, "cc"},
		{"repeated key", `{"password":"a","password":"b"}`, "password"},
		{"repeated nested key", `{"inner":{"name":"a","name":"b"}}`, "inner.name"},
		{"escaped NUL in a value", `{"password":"a\u0000b"}`, "password"},
		{"escaped NUL in a list", `{"groups":["a","\u0000"]}`, "groups"},
		{"escaped NUL in a map value", `{"labels":{"k":"\u0000"}}`, "labels.k"},
		{"escaped NUL in a key", `{"pass\u0000word":"a"}`, ""},
		{"escaped NUL in a nested key", `{"labels":{"\u0000":"a"}}`, ""},
		{"raw NUL", "{\"password\":\"a\x00\"}", ""},
		{"lone high surrogate", `{"password":"\ud800"}`, "password"},
		{"lone high surrogate at the end", `{"password":"a\uD83D"}`, "password"},
		{"lone low surrogate", `{"password":"\udc00"}`, "password"},
		{"high then high", `{"password":"\ud83d\ud83d"}`, "password"},
		{"high then a letter escape", `{"password":"\ud83d\u0041"}`, "password"},
		{"lone surrogate in a key", `{"\ud800":"a"}`, ""},
		{"lone surrogate in a list", `{"groups":["a","x\udfff"]}`, "groups"},
		{"lone surrogate in a map value", `{"labels":{"k":"\udbff"}}`, "labels.k"},
		{"invalid UTF-8", "{\"password\":\"\xff\"}", ""},
		{"null", `{"password":null}`, ""},
		{"top-level array", `[]`, ""},
		{"trailing data", `{} {}`, ""},
		{"wrong type", `{"active":"yes"}`, "active"},
		{"empty", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.body)
			var e *airlock.Error
			if !errors.As(err, &e) || e.Code != airlock.CodeInvalid || e.Field != tt.field {
				t.Fatalf("err = %#v, want CodeInvalid on field %q", err, tt.field)
			}
		})
	}
}

// TestDecodeJSONEscapesInContext: what looks like an escape is one only
// inside a string, after an unescaped backslash.
func TestDecodeJSONEscapesInContext(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"password":"\\u0000"}`,       // an escaped backslash, then the text u0000
		`{"password":"\\ud800"}`,       // likewise
		`{"password":"\"\\\\u0000\""}`, // quotes and backslashes
		`{"password":"\uFFFD"}`,        // U+FFFD itself is a character
	} {
		if _, err := decode(body); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

func TestReadJSONBodyLimit(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"password":"`+strings.Repeat("a", edge.MaxBodyBytes)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	var dst target
	if err := edge.ReadJSON(httptest.NewRecorder(), r, &dst); airlock.ErrorCode(err) != airlock.CodeTooLarge {
		t.Fatalf("err = %v, want CodeTooLarge", err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "text/plain")
	if err := edge.ReadJSON(httptest.NewRecorder(), r, &dst); airlock.ErrorCode(err) != airlock.CodeInvalid {
		t.Fatalf("text/plain: %v", err)
	}
}

// TestDecodeJSONNamesOnlyFieldLikeKeys: below a map, or an object sent
// where no object goes, the keys are the client's: an error names the
// field only when its path looks like a field's name, so that an answer
// never repeats a password sent as a key, 30 KB of key, or control
// characters.
func TestDecodeJSONNamesOnlyFieldLikeKeys(t *testing.T) {
	t.Parallel()
	secret := "another long passphrase 77"
	for _, tc := range []struct{ body, key, field string }{
		{`{"password":{"` + secret + `":"\u0000"}}`, "error.json.bad_value_unnamed", ""},
		{`{"labels":{"` + secret + `":"\ud800"}}`, "error.json.surrogate_value_unnamed", ""},
		{`{"labels":{"` + secret + `":"1","` + secret + `":"2"}}`, "error.json.repeated_key_unnamed", ""},
		{`{"labels":{"a\nb\u001b[31m":"\u0000"}}`, "error.json.bad_value_unnamed", ""},
		{`{"labels":{"` + strings.Repeat("k", 30000) + `":"\ud800"}}`, "error.json.surrogate_value_unnamed", ""},
		// encoding/json's type errors name struct fields only, never a
		// map's keys.
		{`{"labels":{"a\nb\u001b[31m":1}}`, "error.json.field_type", "labels"},
		{`{"labels":{"` + strings.Repeat("k", 30000) + `":1}}`, "error.json.field_type", "labels"},
		// A path that looks like a field's name is still named.
		{`{"labels":{"colour":"1","colour":"2"}}`, "error.json.repeated_key", "labels.colour"},
		{`{"labels":{"colour":"\u0000"}}`, "error.json.bad_value", "labels.colour"},
	} {
		_, err := decode(tc.body)
		e := airlock.AsError(err)
		if e == nil || e.Key != tc.key || e.Field != tc.field {
			t.Errorf("%.60q: %#v; want %s on %q", tc.body, e, tc.key, tc.field)
			continue
		}
		if msg := e.Error(); strings.Contains(msg, "passphrase") || strings.Contains(msg, "kkkk") || strings.Contains(msg, "\x1b") {
			t.Errorf("%.60q: the answer repeats the client's key: %q", tc.body, msg)
		}
	}
}

// TestReadJSONOneContentType: a request with two Content-Type headers is
// read as neither, whatever the first says.
func TestReadJSONOneContentType(t *testing.T) {
	t.Parallel()
	for _, types := range [][]string{{"application/json", "text/plain"}, {"application/json", "application/json"}} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(`{"password":"p"}`))
		r.Header["Content-Type"] = types
		var dst target
		if e := airlock.AsError(edge.ReadJSON(httptest.NewRecorder(), r, &dst)); e == nil || e.Key != "error.json.type" {
			t.Errorf("Content-Type %q: %#v", types, e)
		}
	}
}
