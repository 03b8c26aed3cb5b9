package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// The strict JSON check as it was before its single-pass rewrite: a walk of
// encoding/json's tokens. FuzzCheckJSONAsTokens holds the rewrite to give
// the same answer, error for error, on any body DecodeJSON passes to it.

func refMemberType(t reflect.Type, key string) (reflect.Type, bool) {
	t = concrete(t)
	if t == nil {
		return nil, true
	}
	switch t.Kind() {
	case reflect.Struct:
		f, ok := jsonFields(t)[key]
		return f.t, ok
	case reflect.Map:
		return t.Elem(), true
	}
	return nil, true
}

// loneSurrogate finds a \u escape of half a UTF-16 pair with no other
// half in raw, the bytes of one JSON string token (and the separators
// before it). encoding/json turns it silently into U+FFFD, so the text
// stored would differ from the text sent; it is refused instead. A
// malformed escape is left to the decoder, which refuses it.
func refLoneSurrogate(raw []byte) (rune, bool) {
	inString := false
	for i := 0; i < len(raw); i++ {
		if !inString {
			inString = raw[i] == '"'
			continue
		}
		switch raw[i] {
		case '"':
			inString = false
		case '\\':
			i++
			if i >= len(raw) || raw[i] != 'u' {
				continue
			}
			r, ok := hex4(raw, i+1)
			if !ok {
				return 0, false
			}
			i += 4
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return r, true
			case r >= 0xD800 && r <= 0xDBFF:
				if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2, ok := hex4(raw, i+3); ok && utf16.DecodeRune(r, r2) != utf8.RuneError {
						i += 6
						continue
					}
				}
				return r, true
			}
		}
	}
	return 0, false
}

// checkJSON walks the tokens of one JSON object, knowing the Go type each
// value is decoded into. It refuses a top level that is not an object,
// trailing data, nulls, repeated keys (which parsers resolve differently, a
// classic smuggling trick), and keys that are not exactly the json name of
// a field: encoding/json matches "USERNAME" or "uſername" to Username, so
// a second, differently written key could silently win.
func refCheckJSON(body []byte, dst reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		t         reflect.Type // the Go type of this object or array; nil: anything goes
		object    bool
		path      string
		keys      map[string]bool
		expectKey bool
		next      reflect.Type // the type of the value after the last key
		nextPath  string
	}
	var stack []*frame
	valueDone := func() {
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expectKey = true
		}
	}
	// child returns the Go type and path of the value that starts now.
	child := func() (reflect.Type, string) {
		if len(stack) == 0 {
			return dst, ""
		}
		top := stack[len(stack)-1]
		if top.object {
			return top.next, top.nextPath
		}
		return elemType(top.t), top.path
	}
	first := true
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 || first {
				return invalid("error.json.incomplete")
			}
			return nil
		}
		if err != nil {
			return invalid("error.json.syntax")
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return invalid("error.json.not_object")
			}
		} else if len(stack) == 0 {
			return invalid("error.json.trailing")
		}
		first = false
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.object && top.expectKey {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					stack = stack[:len(stack)-1]
					valueDone()
					continue
				}
				key := tok.(string)
				if bad := badText(key); bad != "" {
					return invalidText("", "error.json.bad_key")
				}
				if r, ok := refLoneSurrogate(body[start:dec.InputOffset()]); ok {
					return invalid("error.json.surrogate_key", r)
				}
				path := key
				if top.path != "" {
					path = top.path + "." + key
				}
				if top.keys[key] {
					return invalidField(path, "error.json.repeated_key", key)
				}
				ft, ok := refMemberType(top.t, key)
				if !ok {
					return unknownField(path)
				}
				top.keys[key] = true
				top.expectKey = false
				top.next, top.nextPath = ft, path
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				ct, path := child()
				stack = append(stack, &frame{t: ct, object: true, path: path, keys: map[string]bool{}, expectKey: true})
			case '[':
				ct, path := child()
				stack = append(stack, &frame{t: ct, path: path})
			default: // ']' (an object's '}' is handled above)
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case nil:
			return invalid("error.json.null")
		case string:
			_, path := child()
			if bad := badText(t); bad != "" {
				return invalidText(path, "error.json.bad_value")
			}
			if r, ok := refLoneSurrogate(body[start:dec.InputOffset()]); ok {
				return invalidField(path, "error.json.surrogate_value", path, r)
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

type refInner struct {
	Name string `json:"name"`
}

type refTarget struct {
	Username string                `json:"username"`
	Password string                `json:"password"`
	Groups   []string              `json:"groups"`
	Active   bool                  `json:"active"`
	N        int                   `json:"n"`
	Inner    *refInner             `json:"inner"`
	Inners   []refInner            `json:"inners"`
	Labels   map[string]string     `json:"labels"`
	Deep     map[string][]refInner `json:"deep"`
	Any      any                   `json:"any"`
	Raw      json.RawMessage       `json:"raw"`
	At       time.Time             `json:"at"`
	refEmbedded
}

type refEmbedded struct {
	Outer string `json:"outer"`
}

// wideType has more fields than a frame's bit set counts.
var wideType = func() reflect.Type {
	var fields []reflect.StructField
	for i := range 70 {
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%02d", i), Type: reflect.TypeFor[string](),
			Tag: reflect.StructTag(fmt.Sprintf(`json:"f%02d"`, i))})
	}
	return reflect.PointerTo(reflect.StructOf(fields))
}()

func sameJSONAnswer(t *testing.T, body []byte) {
	t.Helper()
	if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
		return // DecodeJSON refuses these before
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[*refTarget](), wideType} {
		got, want := checkJSON(body, typ), refCheckJSON(body, typ)
		if e := airlock.AsError(got); e != nil && e.Key == "error.json.too_deep" {
			// The token walk had no bound: only the depth is to check.
			if d := jsonDepth(body); d <= maxJSONDepth {
				t.Fatalf("%s: refused as too deep at depth %d", body, d)
			}
			continue
		}
		if fmt.Sprintf("%#v", asErr(got)) != fmt.Sprintf("%#v", asErr(want)) {
			t.Fatalf("%s into %v:\n got %#v\nwant %#v", body, typ, asErr(got), asErr(want))
		}
	}
}

// jsonDepth is how deep body's objects and arrays nest, up to its first
// fault (a rough reading: brackets outside strings).
func jsonDepth(body []byte) int {
	depth, most, inString := 0, 0, false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			most = max(most, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return most
}

func asErr(err error) any {
	if err == nil {
		return nil
	}
	e := airlock.AsError(err)
	return *e
}

var jsonSeeds = []string{
	``, ` `, `{}`, ` {} `, `{`, `}`, `[`, `]`, `,`, `:`, `"a"`, `"a`, `1`, `-`, `-0`, `01`, `1.`, `1e`, `1e+`, `1.5e-3`, `true`, `tru`, `truex`,
	`null`, `nul`, `[]`, `[1,2]`, `{} {}`, `{} []`, `{} x`, `{} "a"`, `{} "a`, `{} 1`, `{} -`, `{} null`, `{} nul`, `{} }`, `{} ,`,
	`{"username":"a@example.com","password":"p"}`, `{"groups":["a","b"],"active":true,"inner":{"name":"n"}}`,
	`{"username":"a","USERNAME":"b"}`, `{"paſſword":"x"}`, `{"pa\u017f\u017fword":"x"}`, `{"inner":{"na\u212Ae":"n"}}`,
	`{"username":"a\u0000"}`, `{"\u0000":"a"}`, `{"labels":{"k":"\u0000"}}`, `{"labels":{"\u0000":"k"}}`,
	`{"password":"\ud800"}`, `{"password":"\udc00"}`, `{"password":"\ud83d\ude00"}`, `{"password":"\ud83d\ud83d"}`,
	`{"password":"\\ud800"}`, `{"password":"\uFFFD"}`, `{"password":"\ud800\u0000"}`, `{"\ud800":1}`, `{"\ud83d\ude00":1}`,
	`{"username":"a","username":"b"}`, `{"username":null}`, `{"groups":[["a"]]}`, `{"active":"yes"}`, `{"groups":[null]}`,
	`{"inner":{"name":"a","name":"b"}}`, `{"labels":{"a":"1","a":"2"}}`, `{"inners":[{"name":"a"},{"name":"b","x":1}]}`,
	`{"deep":{"k":[{"name":"\ud800"}]}}`, `{"deep":{"k":[{"nope":1}]}}`, `{"any":{"x":{"x":1,"x":2}}}`, `{"any":[null]}`,
	`{"raw":{"a":1,"a":2}}`, `{"at":"2026-01-01T00:00:00Z"}`, `{"at":{"x":1}}`, `{"outer":"o"}`, `{"refEmbedded":{}}`,
	`{"username":1,}`, `{"username" 1}`, `{"username":1 "password":2}`, `{,}`, `{1:2}`, `{"a"}`, `{"username":`, `{"username"`,
	`{"username":"x`, `{"username":"x"`, `{"username":"x",`, `{"n":12`, `{"n":-}`, `{"n":1x}`, `{"n":1.5e}`, `{"n":tr}`,
	`{"username":"\x"}`, `{"username":"\u12"}`, `{"username":"\u12g4"}`, "{\"username\":\"a\tb\"}", `{"username":"\/\b\f\n\r\t\"\\"}`,
	`{"u\u0073ername":"a","username":"b"}`, `{"f00":"a","f69":"b","f69":"c"}`, `{"f68":"a","f00":"a","f68":"b"}`, `{"f70":"a"}`,
	strings.Repeat("[", 40), `{"groups":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`,
	`{"groups":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`, `{"any":` + strings.Repeat(`{"a":`, 40),
	`{"groups":[1,]}`, `{"groups":[,1]}`, `{"groups":[1 2]}`, `{"groups":[}`, `{"inner":{]}`, `{"inner":[}`, "{\n\t\"n\" :\r 1 }",
}

func TestCheckJSONAsTokens(t *testing.T) {
	for _, seed := range jsonSeeds {
		sameJSONAnswer(t, []byte(seed))
	}
}

// Run for as long as CI allows, e.g.:
//
//	go test ./edge -run '^$' -fuzz '^FuzzCheckJSONAsTokens$' -fuzztime 60s -fuzzminimizetime 3s
//
// (without -fuzzminimizetime, most of a short run goes to shrinking each new
// input, up to 60 s apiece)
func FuzzCheckJSONAsTokens(f *testing.F) {
	for _, seed := range jsonSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(sameJSONAnswer)
}

// TestCheckJSONDepthBound: 32 objects and arrays open at once are read
// (the fault found is another), 33 are refused as too deep, before the
// rest of the body is read.
func TestCheckJSONDepthBound(t *testing.T) {
	typ := reflect.TypeFor[*refTarget]()
	nest := func(n int) []byte {
		return []byte(`{"any":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`)
	}
	if err := checkJSON(nest(maxJSONDepth), typ); err != nil {
		t.Fatalf("%d levels: %v", maxJSONDepth, err)
	}
	for _, body := range [][]byte{nest(maxJSONDepth + 1), append(nest(maxJSONDepth + 1)[:maxJSONDepth+8], "garbage"...)} {
		if e := airlock.AsError(checkJSON(body, typ)); e == nil || e.Key != "error.json.too_deep" {
			t.Fatalf("%d levels: %#v", maxJSONDepth+1, e)
		}
	}
}
