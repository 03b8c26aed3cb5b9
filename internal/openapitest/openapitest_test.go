package openapitest

import (
	"net/http"
	"testing"
)

const doc = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{
 "/api/v1/users/{id}":{"get":{"responses":{"200":{"description":"u","content":{"application/json":{"schema":{"$ref":"#/components/schemas/U"}}}},"204":{"description":"none"}}}}},
 "components":{"schemas":{
  "U":{"type":"object","additionalProperties":false,"required":["id","at"],"properties":{"id":{"type":"string"},"at":{"type":"string","format":"date-time"},"n":{"type":"integer","minimum":0},"g":{"type":"array","items":{"type":"string","enum":["a","b"]}}}},
  "Error":{"type":"object","required":["error"]}}}}`

func TestValidator(t *testing.T) {
	t.Parallel()
	v, err := New([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	good := `{"id":"1","at":"2026-01-02T03:04:05Z","n":3,"g":["a"]}`
	if err := v.Check("GET", "/api/v1/users/1", 200, json, []byte(good)); err != nil {
		t.Fatalf("good answer refused: %v", err)
	}
	if unseen := v.Unseen(); len(unseen) != 1 || unseen[0] != "GET /api/v1/users/{id} 204" {
		t.Fatalf("Unseen = %v", unseen)
	}
	bad := map[string]struct {
		method, path string
		status       int
		hdr          http.Header
		body         string
	}{
		"undocumented field":  {"GET", "/api/v1/users/1", 200, json, `{"id":"1","at":"2026-01-02T03:04:05Z","x":1}`},
		"missing required":    {"GET", "/api/v1/users/1", 200, json, `{"id":"1"}`},
		"wrong type":          {"GET", "/api/v1/users/1", 200, json, `{"id":1,"at":"2026-01-02T03:04:05Z"}`},
		"bad date-time":       {"GET", "/api/v1/users/1", 200, json, `{"id":"1","at":"yesterday"}`},
		"below minimum":       {"GET", "/api/v1/users/1", 200, json, `{"id":"1","at":"2026-01-02T03:04:05Z","n":-1}`},
		"not in enum":         {"GET", "/api/v1/users/1", 200, json, `{"id":"1","at":"2026-01-02T03:04:05Z","g":["c"]}`},
		"undocumented status": {"GET", "/api/v1/users/1", 418, json, `{}`},
		"body on a 204":       {"GET", "/api/v1/users/1", 204, json, `{}`},
		"not JSON":            {"GET", "/api/v1/users/1", 200, http.Header{"Content-Type": {"text/html"}}, good},
		"undocumented route":  {"GET", "/api/v1/other", 200, json, `{}`},
		"undocumented method": {"DELETE", "/api/v1/users/1", 200, json, `{}`},
	}
	for name, c := range bad {
		if err := v.Check(c.method, c.path, c.status, c.hdr, []byte(c.body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

const requestDoc = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{
 "/api/v1/token":{"post":{
  "requestBody":{"required":true,"content":{
   "application/json":{"schema":{"$ref":"#/components/schemas/T"}},
   "application/x-www-form-urlencoded":{"schema":{"$ref":"#/components/schemas/T"}}}},
  "responses":{"200":{"description":"ok"}}}},
 "/api/v1/ping":{"post":{"responses":{"204":{"description":"pong"}}}}},
 "components":{"schemas":{
  "T":{"type":"object","additionalProperties":false,"required":["grant_type"],"properties":{"grant_type":{"type":"string","enum":["password"]},"username":{"type":"string","format":"email"}}}}}}`

func TestRequestBodies(t *testing.T) {
	t.Parallel()
	v, err := New([]byte(requestDoc))
	if err != nil {
		t.Fatal(err)
	}
	good := []struct{ path, ctype, body string }{
		{"/api/v1/token", "application/json", `{"grant_type":"password","username":"a@example.com"}`},
		{"/api/v1/token", "application/json; charset=utf-8", `{"grant_type":"password"}`},
		{"/api/v1/token", "application/x-www-form-urlencoded", `grant_type=password&username=a%40example.com`},
		{"/api/v1/ping", "", ``},
	}
	for _, c := range good {
		if err := v.CheckRequest("POST", c.path, c.ctype, []byte(c.body)); err != nil {
			t.Errorf("%s %s: %v", c.path, c.body, err)
		}
	}
	bad := map[string]struct{ path, ctype, body string }{
		"missing required field":   {"/api/v1/token", "application/json", `{"username":"a@example.com"}`},
		"undocumented field":       {"/api/v1/token", "application/json", `{"grant_type":"password","scope":"x"}`},
		"not in enum":              {"/api/v1/token", "application/json", `{"grant_type":"client_credentials"}`},
		"bad format":               {"/api/v1/token", "application/json", `{"grant_type":"password","username":"nobody"}`},
		"undocumented form field":  {"/api/v1/token", "application/x-www-form-urlencoded", `grant_type=password&cc=x`},
		"repeated form field":      {"/api/v1/token", "application/x-www-form-urlencoded", `grant_type=password&grant_type=password`},
		"undocumented media type":  {"/api/v1/token", "text/plain", `grant_type=password`},
		"required body missing":    {"/api/v1/token", "application/json", ``},
		"body where none is taken": {"/api/v1/ping", "application/json", `{}`},
		"not JSON":                 {"/api/v1/token", "application/json", `{`},
	}
	for name, c := range bad {
		if err := v.CheckRequest("POST", c.path, c.ctype, []byte(c.body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDocumentChecked: a document that breaks the OpenAPI 3.1 schema is
// refused before any traffic is checked against it.
func TestDocumentChecked(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]string{
		"no info":                      `{"openapi":"3.1.0","paths":{}}`,
		"response without description": `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{}}}}}}`,
		"path not starting with /":     `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"a":{}}}`,
		"unknown operation field":      `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"respones":{}}}}}`,
		"bad status code":              `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"600":{"description":"x"}}}}}}`,
		"parameter without in":         `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"parameters":[{"name":"q","schema":{}}],"responses":{"200":{"description":"x"}}}}}}`,
		"schema not a schema":          `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"components":{"schemas":{"X":{"type":"strnig"}}}}`,
	} {
		if _, err := New([]byte(d)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
