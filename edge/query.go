package edge

import (
	"net/http"
	"net/url"
)

// CheckURL refuses a request whose path or query string a handler could
// not safely use as text: a malformed query, or a NUL or invalid UTF-8 in
// the path or in any query parameter's name or value. Both fronts run it
// before routing, so no handler has to remember to (a NUL in a search
// would otherwise reach PostgreSQL, which answers it with an error).
func CheckURL(r *http.Request) error {
	if bad := badText(r.URL.Path); bad != "" {
		return invalidText("", "error.url.bad_path")
	}
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return invalid("error.url.malformed_query")
	}
	for k, vs := range q {
		if bad := badText(k); bad != "" {
			return invalidText("", "error.url.bad_param_name")
		}
		for _, v := range vs {
			if bad := badText(v); bad != "" {
				return invalidText(k, "error.url.bad_param")
			}
		}
	}
	return nil
}
