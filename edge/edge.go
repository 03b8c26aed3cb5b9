// Package edge reads what clients send, strictly and once, for both fronts
// (web and api): bounded bodies, url-encoded forms, JSON objects, query
// strings and the client's address. Whatever it accepts is valid UTF-8
// without NUL, holds only the fields the caller named, each once; whatever
// it refuses is an *airlock.Error with CodeInvalid (400) or CodeTooLarge
// (413), naming the field when it is known.
package edge

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"

	"github.com/airlockhq/airlock"
)

// MaxBodyBytes bounds every request body, form or JSON (SPEC §6.13).
const MaxBodyBytes = 64 << 10

// ReadBody reads a body of at most MaxBodyBytes: past that it answers
// CodeTooLarge, and the server closes the connection after the answer.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		// Announced too large: refused before waiting for a byte of it.
		return nil, &airlock.Error{Code: airlock.CodeTooLarge, Key: "error.body.too_large", Args: []any{MaxBodyBytes >> 10}}
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes), r.ContentLength)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &airlock.Error{Code: airlock.CodeTooLarge, Key: "error.body.too_large", Args: []any{MaxBodyBytes >> 10}}
		}
		return nil, invalid("error.body.unreadable")
	}
	return body, nil
}

// readAll is io.ReadAll, in one buffer of the right size when the length
// is announced (the body is still read to its end, and no further than
// the reader allows).
func readAll(body io.Reader, length int64) ([]byte, error) {
	if length <= 0 || length > MaxBodyBytes {
		return io.ReadAll(body)
	}
	buf := make([]byte, 0, length+1) // +1: the read that finds the end
	for {
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			// More than announced (net/http does not let that happen):
			// the rest the usual way.
			rest, err := io.ReadAll(body)
			return append(buf, rest...), err
		}
	}
}

// MediaType returns the request's media type without parameters, or ""
// when Content-Type is absent, malformed or given twice.
func MediaType(r *http.Request) string {
	if len(r.Header["Content-Type"]) > 1 {
		// Two types: a proxy may read the other one. The body is of none.
		return ""
	}
	ct := r.Header.Get("Content-Type")
	if ct == "application/json" || ct == "application/x-www-form-urlencoded" {
		return ct // what nearly every client sends: nothing to parse
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt
}

// checkCharset refuses a body whose Content-Type names a character set
// other than UTF-8 (utf-7, latin1, …): it is read as UTF-8, so any other
// would be read as something else than what the client meant.
func checkCharset(r *http.Request) error {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil // no parameters to read: the media type's check says the rest
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return invalid("error.body.charset")
	}
	return nil
}

// invalid returns a CodeInvalid error: key names its message, args are
// formatted into it.
func invalid(key string, args ...any) *airlock.Error {
	return &airlock.Error{Code: airlock.CodeInvalid, Key: key, Args: args}
}

// unknownField is the error for a key that is no field of the request. The
// key is quoted back only when it looks like a field name: anything else is
// not echoed (a JSON body sent as a form arrives as one key holding the
// whole body, password included, and an answer may end up in a client's log
// or on a screen).
func unknownField(key string) *airlock.Error {
	if fieldLike(key) {
		return invalidField(key, "error.form.unknown_field", key)
	}
	return invalid("error.form.unknown_field_unnamed")
}

// fieldLike reports whether s could be a field's name or path, or a
// look-alike of one: at most 64 bytes of letters, digits, '_', '-' and '.'.
func fieldLike(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != '.' {
			return false
		}
	}
	return true
}

// invalidField is invalid about one field of the input.
func invalidField(field, key string, args ...any) *airlock.Error {
	e := invalid(key, args...)
	e.Field = field
	return e
}

// invalidText refuses text that badText found bad: its message says "not
// valid text", naming the field if there is one.
func invalidText(field, key string) *airlock.Error {
	if field == "" {
		return invalidField(field, key)
	}
	return invalidField(field, key, field)
}
