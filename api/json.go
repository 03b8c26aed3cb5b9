package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// MaxBodyBytes bounds every API request body (SPEC §6.13).
const MaxBodyBytes = 64 << 10

// Error codes of the JSON API (SPEC §4).
const (
	codeInvalidRequest         = "invalid_request"
	codeInvalidGrant           = "invalid_grant"
	codeUnauthorized           = "unauthorized"
	codeForbidden              = "forbidden"
	codePasswordChangeRequired = "password_change_required"
	codeNotFound               = "not_found"
	codeMethodNotAllowed       = "method_not_allowed"
	codeConflict               = "conflict"
	codeTooLarge               = "too_large"
	codePasswordPolicy         = "password_policy"
	codeRateLimited            = "rate_limited"
	codeUnavailable            = "unavailable"
	codeInternal               = "internal"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Field   string   `json:"field,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, d errorDetail) {
	writeJSON(w, status, errorBody{Error: d})
}

// fail answers err with its status and stable code. Errors without a code
// are logged in full and answered with a generic message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := airlock.AsError(err)
	if e == nil {
		s.log.Error("api request failed", "path", r.URL.Path, "err", err)
		writeErr(w, http.StatusInternalServerError, errorDetail{Code: codeInternal, Message: "Something went wrong on our side."})
		return
	}
	d := errorDetail{Message: e.Message, Field: e.Field}
	status := http.StatusBadRequest
	switch e.Code {
	case airlock.CodeInvalid:
		d.Code = codeInvalidRequest
	case airlock.CodeInvalidToken:
		d.Code = codeInvalidGrant
	case airlock.CodeUnauthorized:
		d.Code, status = codeUnauthorized, http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="airlock"`)
	case airlock.CodeForbidden:
		d.Code, status = codeForbidden, http.StatusForbidden
	case airlock.CodeNotFound:
		d.Code, status = codeNotFound, http.StatusNotFound
	case airlock.CodeConflict:
		d.Code, status = codeConflict, http.StatusConflict
	case airlock.CodeTooLarge:
		d.Code, status = codeTooLarge, http.StatusRequestEntityTooLarge
	case airlock.CodePasswordPolicy:
		d.Code, status, d.Reasons = codePasswordPolicy, http.StatusUnprocessableEntity, e.Reasons
		d.Field = "password"
	case airlock.CodeRateLimited:
		d.Code, status = codeRateLimited, http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(int((max(e.RetryAfter, time.Second)+time.Second-1)/time.Second)))
	case airlock.CodeUnavailable:
		d.Code, status = codeUnavailable, http.StatusServiceUnavailable
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(e.RetryAfter/time.Second))))
	default:
		s.log.Error("api request failed", "path", r.URL.Path, "err", err)
		d = errorDetail{Code: codeInternal, Message: "Something went wrong on our side."}
		status = http.StatusInternalServerError
	}
	writeErr(w, status, d)
}

func invalid(format string, args ...any) error {
	return &airlock.Error{Code: airlock.CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// readBody reads a bounded body: 413 past MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &airlock.Error{Code: airlock.CodeTooLarge, Message: fmt.Sprintf("The body is larger than %d KiB.", MaxBodyBytes>>10)}
		}
		return nil, invalid("The body could not be read.")
	}
	return body, nil
}

func mediaType(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// decodeJSON decodes a JSON object into dst strictly: valid UTF-8, no
// repeated key, no null, no unknown field, every value of the right type,
// nothing after the object. Any of these is 400 invalid_request.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if mt := mediaType(r); mt != "application/json" {
		return invalid("Send a JSON body with Content-Type: application/json.")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return unmarshalStrict(body, dst)
}

func unmarshalStrict(body []byte, dst any) error {
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
			return &airlock.Error{Code: airlock.CodeInvalid, Field: typeErr.Field,
				Message: fmt.Sprintf("The field %q must be %s, not %s.", typeErr.Field, jsonType(typeErr.Type.Kind().String()), typeErr.Value)}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &airlock.Error{Code: airlock.CodeInvalid, Field: name, Message: fmt.Sprintf("Unknown field %q.", name)}
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
					return &airlock.Error{Code: airlock.CodeInvalid, Field: key, Message: fmt.Sprintf("The key %q appears more than once.", key)}
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
