package edge

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// ReadJSON decodes a JSON object body into dst strictly: Content-Type
// application/json, a bounded body, then the rules of DecodeJSON.
func ReadJSON(w http.ResponseWriter, r *http.Request, dst any) error {
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
		return err
	}
	// checkJSON has refused every key that is not exactly a field's: the
	// decoder has nothing left to refuse but a value of the wrong type.
	if err := json.Unmarshal(body, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return invalidField(typeErr.Field, "error.json.field_type", typeErr.Field, jsonType(typeErr.Type.Kind().String()), typeErr.Value)
		default:
			return invalid("error.json.invalid", err)
		}
	}
	return nil
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

// loneSurrogate finds a \u escape of half a UTF-16 pair with no other
// half in raw, the bytes of one JSON string token (and the separators
// before it). encoding/json turns it silently into U+FFFD, so the text
// stored would differ from the text sent; it is refused instead. A
// malformed escape is left to the decoder, which refuses it.
func loneSurrogate(raw []byte) (rune, bool) {
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

// checkJSON walks the tokens of one JSON object, knowing the Go type each
// value is decoded into. It refuses a top level that is not an object,
// trailing data, nulls, repeated keys (which parsers resolve differently, a
// classic smuggling trick), and keys that are not exactly the json name of
// a field: encoding/json matches "USERNAME" or "uſername" to Username, so
// a second, differently written key could silently win.
func checkJSON(body []byte, dst reflect.Type) error {
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
				if r, ok := loneSurrogate(body[start:dec.InputOffset()]); ok {
					return invalid("error.json.surrogate_key", r)
				}
				path := key
				if top.path != "" {
					path = top.path + "." + key
				}
				if top.keys[key] {
					return invalidField(path, "error.json.repeated_key", key)
				}
				ft, ok := memberType(top.t, key)
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
			if r, ok := loneSurrogate(body[start:dec.InputOffset()]); ok {
				return invalidField(path, "error.json.surrogate_value", path, r)
			}
			valueDone()
		default:
			valueDone()
		}
	}
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

// memberType returns the type that the value under key decodes into, and
// false when an object decoded into t takes no such key. For a struct the
// key must be exactly a field's json name.
func memberType(t reflect.Type, key string) (reflect.Type, bool) {
	t = concrete(t)
	if t == nil {
		return nil, true
	}
	switch t.Kind() {
	case reflect.Struct:
		ft, ok := jsonFields(t)[key]
		return ft, ok
	case reflect.Map:
		return t.Elem(), true
	}
	return nil, true // not an object at all: the decoder says so, naming the field
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
var fieldsOf sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the json names of a struct's fields, as encoding/json
// reads them, to their types: the tag's name or else the field's name,
// "-" left out, embedded structs' fields promoted (outer names first).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldsOf.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := readFields(t)
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
