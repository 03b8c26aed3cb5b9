package edge

import (
	"fmt"
	"testing"
)

// BenchmarkDecodeJSON is the strict reader on the body of a forgot
// request, the API's most flooded one.
func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(`{"email":"ada.lovelace@example.com"}`)
	b.ReportAllocs()
	for b.Loop() {
		var req struct {
			Email string `json:"email"`
		}
		if err := DecodeJSON(body, &req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeJSONManyKeys is a 64 KiB body of distinct keys in an
// object whose keys are not a struct's (here, a string field's value):
// the repeated-key check must stay linear in the body.
func BenchmarkDecodeJSONManyKeys(b *testing.B) {
	body := []byte(`{"email":{`)
	for i := 0; len(body) < MaxBodyBytes-16; i++ {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `"%x":0`, i)
	}
	body = append(body, "}}"...)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var req struct {
			Email string `json:"email"`
		}
		if err := DecodeJSON(body, &req); err == nil {
			b.Fatal("accepted an object for a string")
		}
	}
}
