package edge

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

type flatTarget struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string
	Skipped  string `json:"-"`
}

type notFlat struct {
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}

var flatSeeds = []string{
	`{"email":"ada@example.com"}`, ` { "email" : "ada@example.com" , "password":"x y" } `, "{\n\t\"Name\":\"\"\r\n}",
	`{}`, ` {} `, `{"email":"é ü 中"}`, `{"email":"a\"b"}`, `{"email":"a\u0041"}`, `{"email":"a\\b"}`,
	`{"email":"ada@example.com","email":"bob@example.com"}`, `{"EMAIL":"a"}`, `{"name":"a"}`, `{"Skipped":"a"}`, `{"-":"a"}`,
	`{"email":null}`, `{"email":1}`, `{"email":["a"]}`, `{"email":{"a":"b"}}`, `{"email":true}`, `{"email":"a",}`,
	`{"email":"a"}x`, `{"email":"a"}{}`, `[]`, `"a"`, ``, `{`, `{"email"}`, `{"email":"a" "password":"b"}`,
	"{\"email\":\"a\tb\"}", "{\"email\":\"a\x7fb\"}", `{"email":"a","password":"b","Name":"c","x":"d"}`,
	`{"email":"` + string([]byte{0xed, 0xa0, 0x80}) + `"}`, "\ufeff{\"email\":\"a\"}", `{"email":"a"  ,  "password" :"b"}`,
}

// checkFlat: whenever the fast path takes a body, the full reader accepts
// it too and decodes the same values; whatever it leaves, it leaves dst as
// it found it.
func checkFlat(t *testing.T, body []byte) {
	t.Helper()
	if !utf8.Valid(body) {
		return // refused by DecodeJSON before either path
	}
	var fast, full flatTarget
	fast.Skipped, full.Skipped = "kept", "kept"
	if !decodeFlat(body, &fast) {
		if fast != (flatTarget{Skipped: "kept"}) {
			t.Fatalf("%q: left to the full reader, but wrote %+v", body, fast)
		}
		return
	}
	if err := decodeFull(body, &full); err != nil {
		t.Fatalf("%q: taken by the fast path, refused by the full reader: %v", body, err)
	}
	if fast != full {
		t.Fatalf("%q: fast path %+v, full reader %+v", body, fast, full)
	}
	var other notFlat
	if decodeFlat(body, &other) {
		t.Fatalf("%q: the fast path took a struct with a list", body)
	}
}

func TestDecodeFlatAgreesWithTheFullReader(t *testing.T) {
	for _, seed := range flatSeeds {
		checkFlat(t, []byte(seed))
	}
	// The bodies the API is flooded with do take the fast path.
	for _, body := range []string{`{"email":"ada@example.com"}`, `{"email":"a@b.c","password":"correct horse battery"}`, `{}`} {
		var dst flatTarget
		if !decodeFlat([]byte(body), &dst) {
			t.Errorf("%s: not taken by the fast path", body)
		}
	}
	if got := flatFields(reflect.TypeFor[notFlat]()); got != nil {
		t.Errorf("flatFields(notFlat) = %v, want nil", got)
	}
}

// go test ./edge -run '^$' -fuzz '^FuzzDecodeFlat$' -fuzztime 10s
func FuzzDecodeFlat(f *testing.F) {
	for _, seed := range flatSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(checkFlat)
}
