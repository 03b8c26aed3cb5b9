package edge_test

// Tests that kill mutants gremlins found alive in edge (bench/mutation.sh,
// bench/RESULTS.md 2026-12-07).

import (
	"io"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/edge"
)

// TestReadBodyWholeAndAtTheLimit: a body is read whole however the
// network hands it over (here a byte at a time, its length announced or
// not), and one of exactly MaxBodyBytes is taken, while one byte more is
// refused, announced or not.
func TestReadBodyWholeAndAtTheLimit(t *testing.T) {
	read := func(body string, announced int64, oneByte bool) ([]byte, error) {
		var rd io.Reader = strings.NewReader(body)
		if oneByte {
			rd = iotest.OneByteReader(rd)
		}
		r := httptest.NewRequest("POST", "/", rd)
		r.ContentLength = announced
		return edge.ReadBody(httptest.NewRecorder(), r)
	}
	small := `{"email":"ada@example.com"}`
	full := strings.Repeat("a", edge.MaxBodyBytes)
	for _, body := range []string{small, full} {
		for _, announced := range []int64{int64(len(body)), -1} {
			for _, oneByte := range []bool{false, true} {
				got, err := read(body, announced, oneByte)
				if err != nil || string(got) != body {
					t.Errorf("%d bytes (announced %d, a byte at a time: %v): read %d bytes, %v", len(body), announced, oneByte, len(got), err)
				}
			}
		}
	}
	over := full + "a"
	for _, announced := range []int64{int64(len(over)), -1} {
		if _, err := read(over, announced, false); airlock.ErrorCode(err) != airlock.CodeTooLarge {
			t.Errorf("MaxBodyBytes + 1 (announced %d): %v, want too large", announced, err)
		}
	}
}

// TestTruncatedJSONIsRefused: every truncation of a request body is
// refused as invalid input, never a panic (the fast path reads up to the
// end of the body and no further).
func TestTruncatedJSONIsRefused(t *testing.T) {
	type request struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	body := ` { "email" : "ada@example.com" , "password" : "violet tractor" } `
	for i := range strings.LastIndex(body, "}") + 1 { // every prefix short of the closing brace
		prefix := body[:i]
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("%q: panic %v", prefix, v)
				}
			}()
			var dst request
			if err := edge.DecodeJSON([]byte(prefix), &dst); airlock.ErrorCode(err) != airlock.CodeInvalid {
				t.Errorf("%q: %v, want invalid", prefix, err)
			}
		}()
	}
	var dst request
	if err := edge.DecodeJSON([]byte(body), &dst); err != nil || dst.Email != "ada@example.com" || dst.Password != "violet tractor" {
		t.Fatalf("the whole body: %+v, %v", dst, err)
	}
}

// TestMediaTypeDropsParameters: the media type is compared without its
// parameters and case, whatever the client adds to it.
func TestMediaTypeDropsParameters(t *testing.T) {
	for ct, want := range map[string]string{
		"application/json":                                 "application/json",
		"application/x-www-form-urlencoded":                "application/x-www-form-urlencoded",
		"application/json; charset=utf-8":                  "application/json",
		"Application/JSON":                                 "application/json",
		"application/x-www-form-urlencoded; charset=UTF-8": "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=----x":              "multipart/form-data",
		"text/plain":                                       "text/plain",
		"":                                                 "",
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Content-Type", ct)
		if got := edge.MediaType(r); got != want {
			t.Errorf("MediaType(%q) = %q, want %q", ct, got, want)
		}
	}
}

// TestClientIPBracketsOnlyIPv6: a bracketed hop must be an IPv6 address;
// "[203.0.113.9]" is no hop, and reading stops there.
func TestClientIPBracketsOnlyIPv6(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for xff, want := range map[string]string{
		"[203.0.113.9]":    "10.0.0.2",
		"[2001:db8::7]":    "2001:db8::7",
		"[::ffff:1.2.3.4]": "1.2.3.4",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.2:5000"
		r.Header.Set("X-Forwarded-For", xff)
		if got := edge.ClientIP(r, trusted); got != want {
			t.Errorf("X-Forwarded-For %q: %s, want %s", xff, got, want)
		}
	}
}

// TestLocalPathLength: a local path of 2048 bytes is taken, one more byte
// is not.
func TestLocalPathLength(t *testing.T) {
	if p := "/" + strings.Repeat("a", 2047); !edge.LocalPath(p) {
		t.Error("a path of 2048 bytes refused")
	}
	if p := "/" + strings.Repeat("a", 2048); edge.LocalPath(p) {
		t.Error("a path of 2049 bytes taken")
	}
}
