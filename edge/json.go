package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ReadJSON decodes a JSON object body into dst strictly: Content-Type
// application/json, a bounded body, then the rules of DecodeJSON.
func ReadJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if MediaType(r) != "application/json" {
		return invalid("Send a JSON body with Content-Type: application/json.")
	}
	body, err := ReadBody(w, r)
	if err != nil {
		return err
	}
	return DecodeJSON(body, dst)
}

// DecodeJSON decodes one JSON object into dst strictly: valid UTF-8, no
// repeated key, no null, no unknown field, every value of the right type,
// nothing after the object. Any of these is CodeInvalid.
func DecodeJSON(body []byte, dst any) error {
	if !utf8.Valid(body) {
		// encoding/json would silently replace invalid bytes.
		return invalid("The body is not valid UTF-8.")
	}
	if err := checkJSON(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return invalidField(typeErr.Field, "The field %q must be %s, not %s.", typeErr.Field, jsonType(typeErr.Type.Kind().String()), typeErr.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return invalidField(name, "Unknown field %q.", name)
		default:
			return invalid("The body is not valid JSON: %v.", err)
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

// checkJSON walks the tokens of one JSON object: it refuses repeated keys
// (which parsers resolve differently, a classic smuggling trick), nulls, a
// top level that is not an object, and trailing data.
func checkJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object    bool
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	valueDone := func() {
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expectKey = true
		}
	}
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 || first {
				return invalid("The body is not a complete JSON object.")
			}
			return nil
		}
		if err != nil {
			return invalid("The body is not valid JSON.")
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return invalid("The body must be a JSON object.")
			}
		} else if len(stack) == 0 {
			return invalid("The body has data after the JSON object.")
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
				if top.keys[key] {
					return invalidField(key, "The key %q appears more than once.", key)
				}
				top.keys[key] = true
				top.expectKey = false
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &frame{object: true, keys: map[string]bool{}, expectKey: true})
			case '[':
				stack = append(stack, &frame{})
			default: // ']' (an object's '}' is handled above)
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case nil:
			return invalid("null is not accepted: leave the field out instead.")
		default:
			valueDone()
		}
	}
}
