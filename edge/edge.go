// Package edge reads what clients send, strictly and once, for both fronts
// (web and api): bounded bodies, url-encoded forms, JSON objects, query
// strings and the client's address. Whatever it accepts is valid UTF-8
// without NUL, holds only the fields the caller named, each once; whatever
// it refuses is an *airlock.Error with CodeInvalid (400) or CodeTooLarge
// (413), naming the field when it is known.
package edge

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/airlockhq/airlock"
)

// MaxBodyBytes bounds every request body, form or JSON (SPEC §6.13).
const MaxBodyBytes = 64 << 10

// ReadBody reads a body of at most MaxBodyBytes: past that it answers
// CodeTooLarge, and the server closes the connection after the answer.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		// Announced too large: refused before waiting for a byte of it.
		return nil, &airlock.Error{Code: airlock.CodeTooLarge, Key: "error.body.too_large", Args: []any{MaxBodyBytes >> 10}, Message: fmt.Sprintf("The body is larger than %d KiB.", MaxBodyBytes>>10)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &airlock.Error{Code: airlock.CodeTooLarge, Key: "error.body.too_large", Args: []any{MaxBodyBytes >> 10}, Message: fmt.Sprintf("The body is larger than %d KiB.", MaxBodyBytes>>10)}
		}
		return nil, invalid("error.body.unreadable", "The body could not be read.")
	}
	return body, nil
}

// MediaType returns the request's media type without parameters, or ""
// when Content-Type is absent or malformed.
func MediaType(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// invalid returns a CodeInvalid error: its message is format with args, in
// English (the API shows it), and its key names the same message, with the
// same args, for the pages.
func invalid(key, format string, args ...any) *airlock.Error {
	return &airlock.Error{Code: airlock.CodeInvalid, Key: key, Args: args, Message: fmt.Sprintf(format, args...)}
}

// invalidField is invalid about one field of the input.
func invalidField(field, key, format string, args ...any) *airlock.Error {
	e := invalid(key, format, args...)
	e.Field = field
	return e
}

// invalidText refuses text that badText found bad. The English message
// says what is wrong with it (its last argument); the key's message says
// "not valid text" and takes the field's name only, if there is one.
func invalidText(field, key, format string, args ...any) *airlock.Error {
	e := invalidField(field, key, format, args...)
	e.Args = nil
	if field != "" {
		e.Args = []any{field}
	}
	return e
}
