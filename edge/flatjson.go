package edge

import (
	"reflect"
	"strings"
	"sync"
)

// decodeFlat is DecodeJSON's fast path for the bodies nearly every API
// request sends: one flat object of plain strings, such as
// {"email":"ada@example.com"}. It decodes body into dst and says true only
// when body is such an object (no escape, no control character, no other
// kind of value, nothing before or after but whitespace), dst points to a
// struct of plain string fields, and every key is exactly one of them, once:
// a subset of what the full reader accepts, decoded to the same values (a
// string without escapes is its own bytes). Anything else, valid or not, is
// left untouched to the full reader, which decides and words every refusal;
// DecodeJSON has already refused invalid UTF-8 and NUL in the whole body.
func decodeFlat(body []byte, dst any) bool {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return false
	}
	fields := flatFields(rv.Elem().Type())
	if fields == nil {
		return false
	}
	const most = 8 // the request types have fewer fields; more goes the long way
	var idx [most]int
	var val [most][]byte
	n := 0
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			var key, v []byte
			if key, i = plainString(body, i); key == nil {
				return false
			}
			if i = skipSpace(body, i); i >= len(body) || body[i] != ':' {
				return false
			}
			if v, i = plainString(body, skipSpace(body, i+1)); v == nil {
				return false
			}
			f, ok := fields[string(key)]
			if !ok || n == most {
				return false
			}
			for _, seen := range idx[:n] {
				if seen == f {
					return false // a repeated key: refused by the full reader
				}
			}
			idx[n], val[n] = f, v
			n++
			if i = skipSpace(body, i); i >= len(body) {
				return false
			}
			if body[i] == '}' {
				i++
				break
			}
			if body[i] != ',' {
				return false
			}
			i = skipSpace(body, i+1)
		}
	}
	if skipSpace(body, i) != len(body) {
		return false
	}
	// Only now that the whole body is known good: nothing is written into
	// dst by a body the full reader then has to refuse.
	st := rv.Elem()
	for k := range n {
		st.Field(idx[k]).SetString(string(val[k]))
	}
	return true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads the JSON string starting at b[i] when it has no escape
// and no control character, and returns its contents (non-nil, perhaps
// empty) and the index after its closing quote; nil when it is anything
// else.
func plainString(b []byte, i int) ([]byte, int) {
	if i >= len(b) || b[i] != '"' {
		return nil, i
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j : j], j + 1
		case c == '\\' || c < 0x20:
			return nil, i
		}
	}
	return nil, i
}

// flatOf caches flatFields by type.
var flatOf sync.Map // reflect.Type → map[string]int (nil: no fast path)

// flatFields maps the json names of a struct's fields to their indexes when
// every field is a plain exported string (no embedded struct, no ",string"
// option, no type of its own decoding itself), which is how the API's
// request types are made; nil for any other struct.
func flatFields(t reflect.Type) map[string]int {
	if m, ok := flatOf.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, ok := jsonTag(f)
		if !ok {
			continue
		}
		if f.Anonymous || !f.IsExported() || f.Type.Kind() != reflect.String || concrete(f.Type) == nil ||
			strings.Contains(","+opts+",", ",string,") {
			m = nil
			break
		}
		if name == "" {
			name = f.Name
		}
		if _, twice := m[name]; twice {
			m = nil // encoding/json then decodes neither: the long way
			break
		}
		m[name] = i
	}
	flatOf.Store(t, m)
	return m
}
