package edge_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/edge"
)

// Run one at a time, for as long as CI allows, e.g.:
//
//	go test ./edge -run '^$' -fuzz '^FuzzReadForm$' -fuzztime 10s
//	go test ./edge -run '^$' -fuzz '^FuzzReadJSON$' -fuzztime 10s
//	go test ./edge -run '^$' -fuzz '^FuzzClientIP$' -fuzztime 10s
//	go test ./edge -run '^$' -fuzz '^FuzzCheckURL$' -fuzztime 10s
//
// Without -fuzz, go test runs the seeds below as ordinary tests.

// refused checks that err is one of the two errors a reader may answer.
func refused(t *testing.T, err error) {
	t.Helper()
	if e := airlock.AsError(err); e == nil || (e.Code != airlock.CodeInvalid && e.Code != airlock.CodeTooLarge) {
		t.Fatalf("err = %#v, want CodeInvalid or CodeTooLarge", err)
	}
}

// goodText checks the property every accepted string has.
func goodText(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		t.Fatalf("accepted %s %q: not valid UTF-8 without NUL", what, s)
	}
}

func FuzzReadForm(f *testing.F) {
	for _, seed := range []string{
		"", "email=a%40example.com&password=x", "groups=a&groups=b", "email=a&email=b",
		"email=%00", "email=a%00b", "em%00ail=a", "email=%FF", "%FF=a", "email=%C0%80", "email=%ED%A0%80",
		"password=%E2%80%AE", "email=%zz", "email=a;password=b", "email=a%0D%0ABcc:%20b", "EMAIL=a",
		"=", "&&", "email", "groups=%00&groups=a", "email=" + strings.Repeat("%41", 100),
	} {
		f.Add(seed)
	}
	fields := []string{"email", "password", "groups*"}
	f.Fuzz(func(t *testing.T, body string) {
		vals, err := edge.ReadForm(httptest.NewRecorder(), formRequest(body), fields...)
		if err != nil {
			refused(t, err)
			return
		}
		for k, vs := range vals {
			goodText(t, "field name", k)
			if k != "email" && k != "password" && k != "groups" {
				t.Fatalf("accepted unknown field %q", k)
			}
			if len(vs) != 1 && k != "groups" {
				t.Fatalf("accepted %d values of %q", len(vs), k)
			}
			for _, v := range vs {
				goodText(t, "value of "+k, v)
			}
		}
	})
}

type fuzzInner struct {
	Name string `json:"name"`
}

type fuzzTarget struct {
	Username string            `json:"username"`
	Password string            `json:"password"`
	Groups   []string          `json:"groups"`
	Active   *bool             `json:"active"`
	Inner    *fuzzInner        `json:"inner"`
	Labels   map[string]string `json:"labels"`
}

func FuzzReadJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"username":"a@example.com","password":"p"}`, `{"groups":["a","b"],"active":true,"inner":{"name":"n"}}`,
		`{"username":"a","USERNAME":"b"}`, `{"paſſword":"x"}`, `{"pa\u017f\u017fword":"x"}`, `{"inner":{"na\u212Ae":"n"}}`,
		`{"username":"a\u0000"}`, `{"\u0000":"a"}`, "{\"username\":\"a\x00\"}", `{"labels":{"k":"\u0000"}}`,
		`{"password":"\ud800"}`, `{"password":"\udc00"}`, `{"password":"\ud83d\ude00"}`, `{"password":"\ud83d\ud83d"}`,
		`{"password":"\\ud800"}`, `{"password":"\uFFFD"}`, "{\"password\":\"\xff\"}", "{\"password\":\"\xed\xa0\x80\"}",
		`{"username":"a","username":"b"}`, `{"username":null}`, `[]`, `{} {}`, `{"groups":[["a"]]}`, `{"active":"yes"}`,
		`{"inner":{"name":"a","name":"b"}}`, `{"labels":{"a":"1","a":"2"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var dst fuzzTarget
		if err := edge.ReadJSON(httptest.NewRecorder(), r, &dst); err != nil {
			refused(t, err)
			return
		}
		// Every string that came through is valid UTF-8 without NUL, and a
		// U+FFFD in it was sent as such, not made up from a lone surrogate.
		sentFFFD := bytes.Contains(body, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
		walkStrings(reflect.ValueOf(dst), func(s string) {
			goodText(t, "string", s)
			if strings.ContainsRune(s, utf8.RuneError) && !sentFFFD {
				t.Fatalf("accepted %q: U+FFFD made up by the decoder", s)
			}
		})
		// Every key was exactly a json name of the destination.
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatalf("accepted a body encoding/json refuses: %v", err)
		}
		for k, v := range raw {
			switch k {
			case "username", "password", "groups", "active", "labels":
			case "inner":
				var in map[string]json.RawMessage
				if json.Unmarshal(v, &in) == nil {
					for ik := range in {
						if ik != "name" {
							t.Fatalf("accepted inner key %q", ik)
						}
					}
				}
			default:
				t.Fatalf("accepted key %q", k)
			}
		}
	})
}

// walkStrings calls f on every string held in v, map keys included.
func walkStrings(v reflect.Value, f func(string)) {
	switch v.Kind() {
	case reflect.String:
		f(v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), f)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walkStrings(k, f)
			walkStrings(v.MapIndex(k), f)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walkStrings(v.Field(i), f)
		}
	}
}

func FuzzClientIP(f *testing.F) {
	for _, seed := range [][2]string{
		{"10.0.0.2:5000", "203.0.113.7"}, {"10.0.0.2:5000", "203.0.113.7:40000"}, {"10.0.0.2:5000", "[2001:db8::1]:443"},
		{"10.0.0.2:5000", "[2001:db8::1]"}, {"10.0.0.2:5000", "2001:db8::1"}, {"10.0.0.2:5000", "[::ffff:203.0.113.7]:1"},
		{"10.0.0.2:5000", "1.2.3.4, 203.0.113.7:1, 10.1.1.1:2"}, {"10.0.0.2:5000", "nonsense, 203.0.113.7"},
		{"10.0.0.2:5000", "[fe80::1%eth0]:80"}, {"10.0.0.2:5000", "fe80::1%25eth0"}, {"10.0.0.2:5000", "203.0.113.7\x00"},
		{"10.0.0.2:5000", "[1.2.3.4]:80"}, {"10.0.0.2:5000", "[2001:db8::1"}, {"10.0.0.2:5000", ",,,"}, {"10.0.0.2:5000", "203.0.113.7:"},
		{"[fd00::2]:5000", "203.0.113.7:40000, [fd00::3]:8080"}, {"198.51.100.1:5000", "203.0.113.7"}, {"[::ffff:10.0.0.2]:1", "203.0.113.7"},
	} {
		f.Add(seed[0], seed[1])
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		peer, err := netip.ParseAddrPort(remote)
		if err != nil || peer.Addr().Zone() != "" {
			return // the server sets RemoteAddr from the connection: always ip:port
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := edge.ClientIP(r, trusted)
		goodText(t, "client IP", got)
		a, err := netip.ParseAddr(got)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("ClientIP(%q, %q) = %q: not a plain address", remote, xff, got)
		}
		isTrusted := func(a netip.Addr) bool {
			for _, p := range trusted {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
		if p := peer.Addr().Unmap(); !isTrusted(p) && a != p {
			t.Fatalf("ClientIP(%q, %q) = %q: believed X-Forwarded-For from an untrusted peer", remote, xff, got)
		}
	})
}

func FuzzCheckURL(f *testing.F) {
	for _, seed := range []string{"q=a", "q=%00", "q=%FF", "%00=a", "q=a&q=%00", "q=%zz", "a=1;b=2", "q=%C0%80", "q=%ED%A0%80", "q=caf%C3%A9"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = rawQuery
		if err := edge.CheckURL(r); err != nil {
			refused(t, err)
			return
		}
		for k, vs := range r.URL.Query() {
			goodText(t, "query name", k)
			for _, v := range vs {
				goodText(t, "query value", v)
			}
		}
	})
}
