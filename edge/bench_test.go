package edge

import "testing"

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
