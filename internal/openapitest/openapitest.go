// Package openapitest checks HTTP answers against an OpenAPI 3.1 document:
// the operation must exist, the status must be documented, and a JSON body
// must match its schema (the subset of JSON Schema the document uses).
package openapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Validator checks answers and remembers which operations it saw succeed.
type Validator struct {
	doc   map[string]any
	paths []pathEntry

	mu     sync.Mutex
	seen   map[string]bool // "METHOD path status"
	errors []string
}

type pathEntry struct {
	template string
	re       *regexp.Regexp
	item     map[string]any
}

// New parses an OpenAPI document.
func New(spec []byte) (*Validator, error) {
	var doc map[string]any
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("parse OpenAPI: %w", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		return nil, fmt.Errorf("want OpenAPI 3.1, got %q", v)
	}
	val := &Validator{doc: doc, seen: map[string]bool{}}
	paths, _ := doc["paths"].(map[string]any)
	for tmpl, item := range paths {
		re := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$")
		val.paths = append(val.paths, pathEntry{template: tmpl, re: re, item: item.(map[string]any)})
	}
	// Literal paths before templated ones.
	sort.Slice(val.paths, func(i, j int) bool {
		return strings.Count(val.paths[i].template, "{") < strings.Count(val.paths[j].template, "{")
	})
	return val, nil
}

// Transport returns a RoundTripper that checks every answer it carries.
func (v *Validator) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{v, base}
}

type roundTripper struct {
	v    *Validator
	base http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := rt.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	if strings.HasPrefix(req.URL.Path, "/api/") {
		if err := rt.v.Check(req.Method, req.URL.Path, res.StatusCode, res.Header, body); err != nil {
			rt.v.mu.Lock()
			rt.v.errors = append(rt.v.errors, err.Error())
			rt.v.mu.Unlock()
		}
	}
	return res, nil
}

// Errors returns the mismatches found so far.
func (v *Validator) Errors() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.errors...)
}

// Check validates one answer.
func (v *Validator) Check(method, path string, status int, header http.Header, body []byte) error {
	where := fmt.Sprintf("%s %s → %d", method, path, status)
	var item map[string]any
	var tmpl string
	for _, p := range v.paths {
		if p.re.MatchString(path) {
			item, tmpl = p.item, p.template
			break
		}
	}
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		// Not an operation: the API must answer a JSON 404 or 405.
		want := http.StatusNotFound
		if item != nil {
			want = http.StatusMethodNotAllowed
		}
		if status != want {
			return fmt.Errorf("%s: undocumented operation answered %d, want %d (is openapi.json missing it?)", where, status, want)
		}
		return v.checkBody(where, header, body, map[string]any{"$ref": "#/components/schemas/Error"})
	}
	responses, _ := op["responses"].(map[string]any)
	resp, _ := responses[strconv.Itoa(status)].(map[string]any)
	if resp == nil {
		return fmt.Errorf("%s: status %d is not documented for %s %s", where, status, method, tmpl)
	}
	v.mu.Lock()
	v.seen[method+" "+tmpl+" "+strconv.Itoa(status)] = true
	v.mu.Unlock()
	if ref, ok := resp["$ref"].(string); ok {
		resp = v.resolve(ref)
	}
	content, _ := resp["content"].(map[string]any)
	if content == nil {
		if len(bytes.TrimSpace(body)) != 0 {
			return fmt.Errorf("%s: documented without a body, got %q", where, body)
		}
		return nil
	}
	jc, _ := content["application/json"].(map[string]any)
	if jc == nil {
		return fmt.Errorf("%s: no application/json content documented", where)
	}
	for name, h := range asMap(resp["headers"]) {
		_ = h
		if header.Get(name) == "" {
			return fmt.Errorf("%s: documented header %s is missing", where, name)
		}
	}
	return v.checkBody(where, header, body, jc["schema"])
}

func (v *Validator) checkBody(where string, header http.Header, body []byte, schema any) error {
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if mt != "application/json" {
		return fmt.Errorf("%s: Content-Type %q, want application/json", where, header.Get("Content-Type"))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var val any
	if err := dec.Decode(&val); err != nil {
		return fmt.Errorf("%s: body is not JSON: %v", where, err)
	}
	if err := v.validate(schema, val, "$"); err != nil {
		return fmt.Errorf("%s: %v\nbody: %s", where, err, body)
	}
	return nil
}

// Unseen lists documented success answers (2xx) that no check has seen.
func (v *Validator) Unseen() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, p := range v.paths {
		for method, op := range p.item {
			opm, ok := op.(map[string]any)
			if !ok || method == "parameters" {
				continue
			}
			for status := range asMap(opm["responses"]) {
				if strings.HasPrefix(status, "2") && !v.seen[strings.ToUpper(method)+" "+p.template+" "+status] {
					out = append(out, strings.ToUpper(method)+" "+p.template+" "+status)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func asMap(x any) map[string]any {
	m, _ := x.(map[string]any)
	return m
}

func (v *Validator) resolve(ref string) map[string]any {
	var cur any = v.doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cur = asMap(cur)[part]
	}
	return asMap(cur)
}

func typeOf(val any) string {
	switch x := val.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// validate checks val against the JSON Schema keywords the document uses.
func (v *Validator) validate(schemaAny any, val any, at string) error {
	schema := asMap(schemaAny)
	if ref, ok := schema["$ref"].(string); ok {
		return v.validate(v.resolve(ref), val, at)
	}
	if want, ok := schema["type"].(string); ok {
		got := typeOf(val)
		if got != want && !(want == "number" && got == "integer") {
			return fmt.Errorf("%s: %s, want %s", at, got, want)
		}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(val) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, val, enum)
	}
	if c, ok := schema["const"]; ok && fmt.Sprint(c) != fmt.Sprint(val) {
		return fmt.Errorf("%s: %v, want %v", at, val, c)
	}
	switch x := val.(type) {
	case string:
		if n, ok := schema["minLength"].(float64); ok && len([]rune(x)) < int(n) {
			return fmt.Errorf("%s: shorter than %v", at, n)
		}
		if n, ok := schema["maxLength"].(float64); ok && len([]rune(x)) > int(n) {
			return fmt.Errorf("%s: longer than %v", at, n)
		}
		switch schema["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", at, x)
			}
		case "email":
			if _, err := mail.ParseAddress(x); err != nil {
				return fmt.Errorf("%s: %q is not an email address", at, x)
			}
		case "uri":
			if u, err := url.Parse(x); err != nil || u.Scheme == "" || u.Host == "" {
				return fmt.Errorf("%s: %q is not an absolute URI", at, x)
			}
		}
	case json.Number:
		f, _ := x.Float64()
		if n, ok := schema["minimum"].(float64); ok && f < n {
			return fmt.Errorf("%s: %v below %v", at, f, n)
		}
		if n, ok := schema["maximum"].(float64); ok && f > n {
			return fmt.Errorf("%s: %v above %v", at, f, n)
		}
	case []any:
		for i, item := range x {
			if err := v.validate(schema["items"], item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		props := asMap(schema["properties"])
		for _, r := range asSlice(schema["required"]) {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s: required %q is missing", at, r)
			}
		}
		for k, fv := range x {
			ps, ok := props[k]
			if !ok {
				if ap, isBool := schema["additionalProperties"].(bool); isBool && !ap {
					return fmt.Errorf("%s: %q is not documented", at, k)
				}
				continue
			}
			if err := v.validate(ps, fv, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func asSlice(x any) []any {
	s, _ := x.([]any)
	return s
}
