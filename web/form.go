package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// maxFormBytes bounds every form body.
const maxFormBytes = 64 << 10

// readForm reads a url-encoded form strictly: a bounded body, valid UTF-8,
// only the named fields, each at most once (a repeated field could sneak a
// second email address past a check). A field named with a trailing "*"
// (repeated checkboxes such as "groups*") may appear several times.
// Checkboxes may be absent.
func readForm(w http.ResponseWriter, r *http.Request, fields ...string) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, &airlock.Error{Code: airlock.CodeInvalid, Message: "Send the form as application/x-www-form-urlencoded."}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &airlock.Error{Code: airlock.CodeTooLarge, Message: "The form is too large."}
		}
		return nil, &airlock.Error{Code: airlock.CodeInvalid, Message: "The form could not be read."}
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &airlock.Error{Code: airlock.CodeInvalid, Message: "The form is malformed."}
	}
	allowed := make(map[string]bool, len(fields)) // name → may repeat
	for _, f := range fields {
		name, multi := strings.CutSuffix(f, "*")
		allowed[name] = multi
	}
	for k, vs := range vals {
		multi, ok := allowed[k]
		if !ok {
			return nil, &airlock.Error{Code: airlock.CodeInvalid, Field: k, Message: "The form has an unexpected field."}
		}
		if len(vs) != 1 && !multi {
			return nil, &airlock.Error{Code: airlock.CodeInvalid, Field: k, Message: "A form field was sent more than once."}
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, &airlock.Error{Code: airlock.CodeInvalid, Field: k, Message: "The form holds text that is not valid UTF-8."}
			}
		}
	}
	return vals, nil
}
