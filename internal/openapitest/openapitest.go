// Package openapitest checks HTTP traffic against an OpenAPI 3.1 document
// with a JSON Schema 2020-12 validator (santhosh-tekuri/jsonschema): the
// document itself must be a valid OpenAPI 3.1 document; every answer's
// operation must exist, its status be documented and its JSON body match
// the schema; and a request the API accepted (2xx) must have sent a body
// that matches the operation's requestBody.
package openapitest

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// oasSchema is the OpenAPI 3.1 schema (see testdata/README.md).
//
//go:embed testdata/openapi-3.1-schema.json
var oasSchema []byte

const (
	oasSchemaURL = "https://spec.openapis.org/oas/3.1/schema/2022-02-27"
	// docURL names the checked document inside the compiler, so that the
	// document's own "#/components/schemas/..." references resolve.
	docURL = "urn:airlock:openapi.json"
)

// Validator checks answers and remembers which operations it saw succeed.
type Validator struct {
	doc   map[string]any
	paths []pathEntry

	compileMu sync.Mutex
	compiler  *jsonschema.Compiler
	schemas   map[string]*jsonschema.Schema // by JSON pointer into the document

	mu     sync.Mutex
	seen   map[string]bool // "METHOD path status"
	errors []string
}

type pathEntry struct {
	template string
	re       *regexp.Regexp
	item     map[string]any
	pointer  string // JSON pointer of the path item
}

// New parses an OpenAPI document and checks it against the OpenAPI 3.1
// schema.
func New(spec []byte) (*Validator, error) {
	docAny, err := jsonschema.UnmarshalJSON(bytes.NewReader(spec))
	if err != nil {
		return nil, fmt.Errorf("parse OpenAPI: %w", err)
	}
	doc, ok := docAny.(map[string]any)
	if !ok {
		return nil, errors.New("parse OpenAPI: not an object")
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		return nil, fmt.Errorf("want OpenAPI 3.1, got %q", v)
	}
	if err := checkDocument(doc); err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020) // OpenAPI 3.1's dialect is 2020-12 plus annotations
	c.AssertFormat()                     // date-time, email and uri are promises to clients
	if err := c.AddResource(docURL, docAny); err != nil {
		return nil, err
	}
	val := &Validator{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}, seen: map[string]bool{}}
	paths, _ := doc["paths"].(map[string]any)
	for tmpl, item := range paths {
		re := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$")
		val.paths = append(val.paths, pathEntry{template: tmpl, re: re, item: item.(map[string]any), pointer: "/paths/" + escapePointer(tmpl)})
	}
	// Literal paths before templated ones.
	sort.Slice(val.paths, func(i, j int) bool {
		return strings.Count(val.paths[i].template, "{") < strings.Count(val.paths[j].template, "{")
	})
	// Compile every schema now, checked against the 2020-12 meta-schema
	// (which the OpenAPI schema leaves to the dialect), so that a broken
	// one fails here, once.
	for name := range asMap(asMap(doc["components"])["schemas"]) {
		if _, err := val.schema("/components/schemas/" + escapePointer(name)); err != nil {
			return nil, err
		}
	}
	for _, p := range val.paths {
		for method, op := range p.item {
			opm, ok := op.(map[string]any)
			if !ok || method == "parameters" {
				continue
			}
			for _, ptr := range schemaPointers(opm, p.pointer+"/"+method) {
				if _, err := val.schema(ptr); err != nil {
					return nil, err
				}
			}
		}
	}
	return val, nil
}

// checkDocument validates the document against the OpenAPI 3.1 schema.
func checkDocument(doc any) error {
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(oasSchema))
	if err != nil {
		return fmt.Errorf("parse the OpenAPI 3.1 schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(oasSchemaURL, schemaDoc); err != nil {
		return err
	}
	sch, err := c.Compile(oasSchemaURL)
	if err != nil {
		return fmt.Errorf("compile the OpenAPI 3.1 schema: %w", err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("not a valid OpenAPI 3.1 document: %v", err)
	}
	return nil
}

// schemaPointers lists the JSON pointers of an operation's schemas.
func schemaPointers(op map[string]any, at string) []string {
	var out []string
	if rb := asMap(op["requestBody"]); rb != nil {
		for mt := range asMap(rb["content"]) {
			out = append(out, at+"/requestBody/content/"+escapePointer(mt)+"/schema")
		}
	}
	for status, resp := range asMap(op["responses"]) {
		for mt := range asMap(asMap(resp)["content"]) {
			out = append(out, at+"/responses/"+status+"/content/"+escapePointer(mt)+"/schema")
		}
	}
	return out
}

func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// schema compiles, once, the schema at a JSON pointer into the document.
func (v *Validator) schema(ptr string) (*jsonschema.Schema, error) {
	v.compileMu.Lock()
	defer v.compileMu.Unlock()
	if s, ok := v.schemas[ptr]; ok {
		return s, nil
	}
	s, err := v.compiler.Compile(docURL + "#" + (&url.URL{Fragment: ptr}).EscapedFragment())
	if err != nil {
		return nil, fmt.Errorf("compile the schema at %s: %w", ptr, err)
	}
	v.schemas[ptr] = s
	return s, nil
}

// Transport returns a RoundTripper that checks every answer it carries,
// and the body of every request the API accepted.
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
	var sent []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		sent = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(sent))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(sent)), nil }
	}
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
		err := rt.v.Check(req.Method, req.URL.Path, res.StatusCode, res.Header, body)
		if err == nil && res.StatusCode/100 == 2 {
			err = rt.v.CheckRequest(req.Method, req.URL.Path, req.Header.Get("Content-Type"), sent)
		}
		if err != nil {
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

// operation finds the documented operation of a request: its path
// template, its item and the operation (nil when undocumented).
func (v *Validator) operation(method, path string) (p *pathEntry, op map[string]any) {
	for i := range v.paths {
		if v.paths[i].re.MatchString(path) {
			p = &v.paths[i]
			op, _ = p.item[strings.ToLower(method)].(map[string]any)
			return p, op
		}
	}
	return nil, nil
}

// Check validates one answer.
func (v *Validator) Check(method, path string, status int, header http.Header, body []byte) error {
	where := fmt.Sprintf("%s %s → %d", method, path, status)
	p, op := v.operation(method, path)
	if op == nil {
		// Not an operation: the API must answer a JSON 404 or 405.
		want := http.StatusNotFound
		if p != nil {
			want = http.StatusMethodNotAllowed
		}
		if status != want {
			return fmt.Errorf("%s: undocumented operation answered %d, want %d (is openapi.json missing it?)", where, status, want)
		}
		return v.checkBody(where, header, body, "/components/schemas/Error")
	}
	code := strconv.Itoa(status)
	resp, _ := asMap(op["responses"])[code].(map[string]any)
	if resp == nil {
		return fmt.Errorf("%s: status %d is not documented for %s %s", where, status, method, p.template)
	}
	v.mu.Lock()
	v.seen[method+" "+p.template+" "+code] = true
	v.mu.Unlock()
	at := p.pointer + "/" + strings.ToLower(method) + "/responses/" + code
	if ref, ok := resp["$ref"].(string); ok {
		at = strings.TrimPrefix(ref, "#")
		resp = v.resolve(ref)
	}
	content := asMap(resp["content"])
	if content == nil {
		if len(bytes.TrimSpace(body)) != 0 {
			return fmt.Errorf("%s: documented without a body, got %q", where, body)
		}
		return nil
	}
	if content["application/json"] == nil {
		return fmt.Errorf("%s: no application/json content documented", where)
	}
	for name := range asMap(resp["headers"]) {
		if header.Get(name) == "" {
			return fmt.Errorf("%s: documented header %s is missing", where, name)
		}
	}
	return v.checkBody(where, header, body, at+"/content/application~1json/schema")
}

func (v *Validator) checkBody(where string, header http.Header, body []byte, schemaPtr string) error {
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if mt != "application/json" {
		return fmt.Errorf("%s: Content-Type %q, want application/json", where, header.Get("Content-Type"))
	}
	val, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: body is not JSON: %v", where, err)
	}
	return v.validate(where, schemaPtr, val, body)
}

func (v *Validator) validate(where, schemaPtr string, val any, body []byte) error {
	sch, err := v.schema(schemaPtr)
	if err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	if err := sch.Validate(val); err != nil {
		return fmt.Errorf("%s: %v\nbody: %s", where, err, body)
	}
	return nil
}

// CheckRequest validates the body of a request that the API accepted: an
// operation that documents no request body must not have taken one, one
// that requires a body must have got one, and the body must be of a
// documented media type and match its schema. (A request the API refused
// may be as wrong as the test that sent it wanted.)
func (v *Validator) CheckRequest(method, path, contentType string, body []byte) error {
	where := fmt.Sprintf("%s %s (request accepted)", method, path)
	p, op := v.operation(method, path)
	if op == nil {
		return fmt.Errorf("%s: undocumented operation", where)
	}
	rb := asMap(op["requestBody"])
	if ref, ok := rb["$ref"].(string); ok {
		rb = v.resolve(ref)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if required, _ := rb["required"].(bool); required {
			return fmt.Errorf("%s: the request body is required, none was sent", where)
		}
		return nil
	}
	if rb == nil {
		return fmt.Errorf("%s: sent a body to an operation that documents none: %q", where, body)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if asMap(rb["content"])[mt] == nil {
		return fmt.Errorf("%s: request Content-Type %q is not documented", where, contentType)
	}
	var val any
	switch mt {
	case "application/json":
		var err error
		if val, err = jsonschema.UnmarshalJSON(bytes.NewReader(body)); err != nil {
			return fmt.Errorf("%s: request body is not JSON: %v", where, err)
		}
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("%s: request body is not a form: %v", where, err)
		}
		obj := map[string]any{}
		for k, vs := range form {
			if len(vs) == 1 {
				obj[k] = vs[0]
			} else {
				list := make([]any, len(vs))
				for i, s := range vs {
					list[i] = s
				}
				obj[k] = list
			}
		}
		val = obj
	default:
		return fmt.Errorf("%s: cannot check a request body of type %q", where, mt)
	}
	return v.validate(where, p.pointer+"/"+strings.ToLower(method)+"/requestBody/content/"+escapePointer(mt)+"/schema", val, body)
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
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		cur = asMap(cur)[part]
	}
	return asMap(cur)
}
