package openapitest

import (
	"net/http"
	"testing"
)

const doc = `{"openapi":"3.1.0","paths":{
 "/api/v1/users/{id}":{"get":{"responses":{"200":{"description":"u","content":{"application/json":{"schema":{"$ref":"#/components/schemas/U"}}}},"204":{"description":"none"}}}}},
 "components":{"schemas":{
  "U":{"type":"object","additionalProperties":false,"required":["id","at"],"properties":{"id":{"type":"string"},"at":{"type":"string","format":"date-time"},"n":{"type":"integer","minimum":0},"g":{"type":"array","items":{"type":"string","enum":["a","b"]}}}},
  "Error":{"type":"object","required":["error"]}}}}`

func TestValidator(t *testing.T) {
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
