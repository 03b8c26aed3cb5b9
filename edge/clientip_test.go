package edge_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/airlockhq/airlock/edge"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct", "198.51.100.1:5000", "", "198.51.100.1"},
		{"untrusted peer's XFF is ignored", "198.51.100.1:5000", "203.0.113.9", "198.51.100.1"},
		{"trusted proxy", "10.0.0.2:5000", "203.0.113.9", "203.0.113.9"},
		{"spoofed left entries ignored", "10.0.0.2:5000", "1.2.3.4, 203.0.113.9", "203.0.113.9"},
		{"chain of proxies", "10.0.0.2:5000", "203.0.113.9, 10.1.1.1", "203.0.113.9"},
		{"garbage", "10.0.0.2:5000", "nonsense", "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := edge.ClientIP(r, trusted); got != tt.want {
				t.Fatalf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}
