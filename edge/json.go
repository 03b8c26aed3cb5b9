package edge

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// ReadJSON decodes a JSON object body into dst strictly: Content-Type
// application/json, a bounded body, then the rules of DecodeJSON.
func ReadJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := checkCharset(r); err != nil {
		return err
	}
	if MediaType(r) != "application/json" {
		return invalid("error.json.type")
	}
	body, err := ReadBody(w, r)
	if err != nil {
		return err
	}
	return DecodeJSON(body, dst)
}

// DecodeJSON decodes one JSON object into dst, a pointer, strictly: valid
// UTF-8 without NUL (raw or \u0000) or lone surrogates (\ud800), every key exactly a json name of
// dst's fields (no case or Unicode folding) and none repeated, no null,
// every value of the right type, nothing after the object. Any of these is
// CodeInvalid, naming the field when there is one.
func DecodeJSON(body []byte, dst any) error {
	if !utf8.Valid(body) {
		// encoding/json would silently replace invalid bytes.
		return invalid("error.json.not_utf8")
	}
	if bytes.IndexByte(body, 0) >= 0 {
		return invalid("error.json.nul")
	}
	if err := checkJSON(body, reflect.TypeOf(dst)); err != nil {
		return unnamed(err)
	}
	// checkJSON has refused every key that is not exactly a field's: the
	// decoder has nothing left to refuse but a value of the wrong type.
	if err := json.Unmarshal(body, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			// Its field is a path of struct fields: encoding/json leaves
			// map keys out of it.
			return invalidField(typeErr.Field, "error.json.field_type", typeErr.Field, jsonType(typeErr.Type.Kind().String()), typeErr.Value)
		default:
			return invalid("error.json.invalid", err)
		}
	}
	return nil
}

// unnamed turns an error naming a field that does not look like a field's
// name into its "_unnamed" variant, which names none. Below a map, or an
// object sent where no object goes, the path holds keys the client chose:
// an answer may end up in a client's log or on a screen, and must not
// repeat them (a password sent as a key, 30 KB of it, control characters).
func unnamed(err error) error {
	var e *airlock.Error
	if !errors.As(err, &e) || e.Field == "" || fieldLike(e.Field) {
		return err
	}
	switch e.Key {
	case "error.json.repeated_key", "error.json.bad_value", "error.json.surrogate_value":
		return invalid(e.Key + "_unnamed")
	}
	return err
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "a list"
	case "int", "int64":
		return "a number"
	default:
		return "an object"
	}
}

// checkJSON reads one JSON object in a single pass over its bytes,
// knowing the Go type each value is decoded into. It refuses a top level
// that is not an object, trailing data, nulls, repeated keys (which parsers
// resolve differently, a classic smuggling trick), keys that are not exactly
// the json name of a field (encoding/json matches "USERNAME" or "uſername"
// to Username, so a second, differently written key could silently win),
// and strings whose escapes make a NUL (\u0000) or half of a UTF-16 pair
// (\ud800), which encoding/json would store as U+FFFD, so that the text
// stored would differ from the text sent. body is valid UTF-8 without a raw
// NUL (DecodeJSON checks first). The first fault in the body's order is the
// one reported, as a token-by-token reader reports it.
func checkJSON(body []byte, dst reflect.Type) error {
	s := jsonScan{b: body}
	s.stack = s.room[:0]
	s.space()
	if s.i == len(s.b) {
		return invalid("error.json.incomplete")
	}
	if s.b[s.i] != '{' {
		// Any other value is not an object; what is no value is bad syntax.
		if s.b[s.i] == '[' || s.scalar() {
			return invalid("error.json.not_object")
		}
		return invalid("error.json.syntax")
	}
	if err := s.object(dst); err != nil {
		return err
	}
	s.space()
	if s.i == len(s.b) {
		return nil
	}
	if c := s.b[s.i]; c == '{' || c == '[' || s.scalar() {
		return invalid("error.json.trailing")
	}
	return invalid("error.json.syntax")
}

// jsonScan walks a JSON body. Its stack holds the objects and arrays open
// around the value being read; their keys make an error's field path.
type jsonScan struct {
	b     []byte
	i     int
	stack []jsonFrame
	room  [4]jsonFrame
}

// jsonFrame is an object or array being read.
type jsonFrame struct {
	t      reflect.Type // the Go type it decodes into, concrete; nil: anything goes
	object bool
	state  jsonState
	fields map[string]jsonField // t's fields, when t is a struct
	seen   uint64               // a struct's fields seen, by index
	keys   map[string]bool      // the keys seen, in any other object
	key    []byte               // the key of the member being read
	next   reflect.Type         // the type its value decodes into
}

type jsonState uint8

const (
	stStart jsonState = iota // after '{' or '['
	stKey                    // after an object's ','
	stColon                  // after a key
	stValue                  // after a key's ':' or an array's ','
	stAfter                  // after a value
)

// object reads the object at s.i, decoded into t, and everything in it.
func (s *jsonScan) object(t reflect.Type) error {
	if err := s.push(t, true); err != nil {
		return err
	}
	for len(s.stack) > 0 {
		top := &s.stack[len(s.stack)-1]
		s.space()
		if s.i == len(s.b) {
			return invalid("error.json.incomplete")
		}
		c := s.b[s.i]
		switch {
		case top.state == stAfter && c == ',':
			s.i++
			top.state = stKey
			if !top.object {
				top.state = stValue
			}
		case (top.state == stAfter || top.state == stStart) && c == s.closer(top):
			s.i++
			s.stack = s.stack[:len(s.stack)-1]
			if n := len(s.stack); n > 0 {
				s.stack[n-1].state = stAfter
			}
		case top.object && (top.state == stStart || top.state == stKey) && c == '"':
			if err := s.member(top); err != nil {
				return err
			}
		case top.object && top.state == stColon && c == ':':
			s.i++
			top.state = stValue
		case top.state == stValue || top.state == stStart && !top.object:
			if err := s.value(top); err != nil {
				return err
			}
		default:
			return invalid("error.json.syntax")
		}
	}
	return nil
}

func (s *jsonScan) closer(f *jsonFrame) byte {
	if f.object {
		return '}'
	}
	return ']'
}

// maxJSONDepth bounds the objects and arrays open at once. No request is
// nested more than a few levels; without a bound, a 64 KiB body of '['
// made the check hold 34 MB (the token walk before it, 12 MB).
const maxJSONDepth = 32

// push opens an object or array at s.i, decoded into t.
func (s *jsonScan) push(t reflect.Type, object bool) error {
	if len(s.stack) == maxJSONDepth {
		return invalid("error.json.too_deep", maxJSONDepth)
	}
	s.i++
	f := jsonFrame{t: concrete(t), object: object}
	if object && f.t != nil && f.t.Kind() == reflect.Struct {
		f.fields = jsonFields(f.t)
	}
	s.stack = append(s.stack, f)
	return nil
}

// path is the field path of the member being read: the keys of the objects
// around it, inner last; arrays add nothing ("inner.name", "groups").
func (s *jsonScan) path() string {
	var b strings.Builder
	for i := range s.stack {
		if f := &s.stack[i]; f.object && f.state >= stColon {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.Write(f.key)
		}
	}
	return b.String()
}

// member reads an object's key at s.i (a '"') and checks it against the
// object's type.
func (s *jsonScan) member(top *jsonFrame) error {
	start := s.i
	nul, lone, ok := s.str()
	if !ok {
		return invalid("error.json.syntax")
	}
	switch {
	case nul:
		return invalidText("", "error.json.bad_key")
	case lone != 0:
		return invalid("error.json.surrogate_key", lone)
	}
	key := s.unescape(s.b[start+1 : s.i-1])
	var ft reflect.Type
	known, repeated := true, false
	switch {
	case top.fields != nil:
		var f jsonField
		if f, known = top.fields[string(key)]; known {
			ft = f.t
			if f.i < 64 {
				repeated = top.seen&(1<<f.i) != 0
				top.seen |= 1 << f.i
			} else {
				repeated = s.seen(top, key)
			}
		}
	case top.t != nil && top.t.Kind() == reflect.Map:
		ft = top.t.Elem()
		repeated = s.seen(top, key)
	default: // anything goes, or not an object at all: the decoder says so, naming the field
		repeated = s.seen(top, key)
	}
	top.key, top.next, top.state = key, ft, stColon
	if repeated {
		return invalidField(s.path(), "error.json.repeated_key", string(key))
	}
	if !known {
		return unknownField(s.path())
	}
	return nil
}

// seen says whether the object f has had key before, and remembers it. A
// map, not a list: a 64 KiB body holds thousands of keys, and comparing
// each with all before it would make one request cost seconds.
func (s *jsonScan) seen(f *jsonFrame, key []byte) bool {
	if f.keys[string(key)] {
		return true
	}
	if f.keys == nil {
		f.keys = map[string]bool{}
	}
	f.keys[string(key)] = true
	return false
}

// value reads the value at s.i, a member of top.
func (s *jsonScan) value(top *jsonFrame) error {
	t := top.next
	if !top.object {
		t = elemType(top.t)
	}
	switch c := s.b[s.i]; c {
	case '{', '[':
		top.state = stAfter // once it is closed
		return s.push(t, c == '{')
	case '"':
		nul, lone, ok := s.str()
		switch {
		case !ok:
			return invalid("error.json.syntax")
		case nul:
			return invalidText(s.path(), "error.json.bad_value")
		case lone != 0:
			path := s.path()
			return invalidField(path, "error.json.surrogate_value", path, lone)
		}
	case 'n':
		if !s.literal("null") {
			return invalid("error.json.syntax")
		}
		return invalid("error.json.null")
	default:
		if !s.scalar() {
			return invalid("error.json.syntax")
		}
	}
	top.state = stAfter
	return nil
}

func (s *jsonScan) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// scalar reads a string, number, true, false or null at s.i, and says
// whether it was one.
func (s *jsonScan) scalar() bool {
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, ok := s.str()
		return ok
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return false
}

func (s *jsonScan) literal(word string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

// number reads a JSON number at s.i.
func (s *jsonScan) number() bool {
	b, i := s.b, s.i
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

// str reads the string at s.i (a '"'): ok is false when it is no valid JSON
// string. nul says an escape made a NUL; lone is the first escaped half of a
// UTF-16 pair without its other half (0: none).
func (s *jsonScan) str() (nul bool, lone rune, ok bool) {
	b := s.b
	for i := s.i + 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return nul, lone, true
		case c < 0x20:
			return false, 0, false
		case c == '\\':
			i++
			if i == len(b) {
				return false, 0, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				continue
			case 'u':
			default:
				return false, 0, false
			}
			r, ok := hex4(b, i+1)
			if !ok {
				return false, 0, false
			}
			i += 4
			switch {
			case r == 0:
				nul = true
			case r >= 0xD800 && r <= 0xDBFF && i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u':
				// A high half followed by another escape: a pair when that
				// is a low half. Otherwise the next escape is read as any.
				if r2, ok := hex4(b, i+3); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
					i += 6
					continue
				}
				if lone == 0 {
					lone = r
				}
			case r >= 0xD800 && r <= 0xDFFF:
				if lone == 0 {
					lone = r
				}
			}
		}
	}
	return false, 0, false
}

// unescape returns the text of a valid JSON string's contents raw, free of
// NUL and lone halves of UTF-16 pairs, as encoding/json decodes it: raw
// itself when it holds no escape.
func (s *jsonScan) unescape(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(raw, i+1)
			i += 4
			if r >= 0xD800 && r <= 0xDBFF {
				r2, _ := hex4(raw, i+3)
				r = utf16.DecodeRune(r, r2)
				i += 6
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, raw[i])
		}
	}
	return out
}

// hex4 reads the four hex digits of a \u escape starting at b[i].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// concrete strips pointers, and returns nil for a type that decodes
// anything (an interface) or decodes itself (time.Time, json.RawMessage):
// its keys are not ours to check.
func concrete(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	return t
}

// elemType returns the type of the elements of an array decoded into t.
func elemType(t reflect.Type) reflect.Type {
	t = concrete(t)
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}

// fieldsOf caches jsonFields by type: the request types are a fixed set,
// and every key of every body is looked up in them.
var fieldsOf sync.Map // reflect.Type → map[string]jsonField

// jsonField is a struct field as a JSON object's member: its type, and a
// number of its own among its struct's (to tell a repeated key).
type jsonField struct {
	t reflect.Type
	i int
}

// jsonFields maps the json names of a struct's fields, as encoding/json
// reads them, to their types: the tag's name or else the field's name,
// "-" left out, embedded structs' fields promoted (outer names first).
func jsonFields(t reflect.Type) map[string]jsonField {
	if m, ok := fieldsOf.Load(t); ok {
		return m.(map[string]jsonField)
	}
	types := readFields(t)
	m := make(map[string]jsonField, len(types))
	for i, name := range slices.Sorted(maps.Keys(types)) {
		m[name] = jsonField{types[name], i}
	}
	fieldsOf.Store(t, m)
	return m
}

// jsonTag reads the json tag of f: the name it gives (perhaps ""), its
// options, and false when it leaves f out ("-").
func jsonTag(f reflect.StructField) (name, opts string, ok bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", "", false
	}
	name, opts, _ = strings.Cut(tag, ",")
	return name, opts, true
}

func readFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, ok := jsonTag(f)
		if !ok {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	for _, et := range embedded {
		for name, ft := range readFields(et) {
			if _, ok := out[name]; !ok {
				out[name] = ft
			}
		}
	}
	return out
}
