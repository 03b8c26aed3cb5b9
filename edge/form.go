package edge

import (
	"net/http"
	"net/url"
	"strings"
)

// ReadForm reads an application/x-www-form-urlencoded body strictly: a
// bounded body, only the named fields, each at most once (a repeated field
// could sneak a second email address past a check), names and values valid
// UTF-8 without NUL. A field named with a trailing "*" (repeated checkboxes
// such as "groups*") may appear several times. Fields may be absent
// (unticked checkboxes).
func ReadForm(w http.ResponseWriter, r *http.Request, fields ...string) (url.Values, error) {
	if MediaType(r) != "application/x-www-form-urlencoded" {
		return nil, invalid("error.form.type")
	}
	body, err := ReadBody(w, r)
	if err != nil {
		return nil, err
	}
	return parseForm(string(body), fields)
}

// ReadOAuthForm reads an OAuth 2.0 style form (RFC 6749 §4.3) into fields,
// with the rules of ReadForm: every field at most once, and only those named.
func ReadOAuthForm(w http.ResponseWriter, r *http.Request, fields map[string]*string) error {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	vals, err := ReadForm(w, r, names...)
	if err != nil {
		return err
	}
	for k, vs := range vals {
		*fields[k] = vs[0]
	}
	return nil
}

func parseForm(body string, fields []string) (url.Values, error) {
	vals, err := url.ParseQuery(body)
	if err != nil {
		return nil, invalid("error.form.malformed")
	}
	allowed := make(map[string]bool, len(fields)) // name → may repeat
	for _, f := range fields {
		name, multi := strings.CutSuffix(f, "*")
		allowed[name] = multi
	}
	for k, vs := range vals {
		if bad := badText(k); bad != "" {
			// Not echoed as the field: the name itself is what is wrong.
			return nil, invalidText("", "error.form.bad_name")
		}
		multi, ok := allowed[k]
		if !ok {
			return nil, unknownField(k)
		}
		if len(vs) != 1 && !multi {
			return nil, invalidField(k, "error.form.repeated", k)
		}
		for _, v := range vs {
			if bad := badText(v); bad != "" {
				return nil, invalidText(k, "error.form.bad_value")
			}
		}
	}
	return vals, nil
}
