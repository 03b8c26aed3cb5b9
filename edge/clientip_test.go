package edge_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/airlockhq/airlock/edge"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
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

// TestClientIPHopsWithPorts: proxies may write a hop as ip:port or as a
// bracketed IPv6 address with or without a port (RFC 7239 style). Falling
// back to the proxy's own address would put every client behind one limit.
func TestClientIPHopsWithPorts(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"IPv4 with a port", "10.0.0.2:5000", "203.0.113.7:40000", "203.0.113.7"},
		{"bracketed IPv6 with a port", "10.0.0.2:5000", "[2001:db8::1]:443", "2001:db8::1"},
		{"bracketed IPv6", "10.0.0.2:5000", "[2001:db8::1]", "2001:db8::1"},
		{"bare IPv6", "10.0.0.2:5000", "2001:db8::1", "2001:db8::1"},
		{"IPv4-mapped IPv6 with a port", "10.0.0.2:5000", "[::ffff:203.0.113.7]:1234", "203.0.113.7"},
		{"chain with ports", "10.0.0.2:5000", "198.51.100.1:1, 203.0.113.7:40000, 10.1.1.1:80", "203.0.113.7"},
		{"trusted IPv6 proxy in the chain", "[fd00::2]:5000", "203.0.113.7:40000, [fd00::3]:8080", "203.0.113.7"},
		{"garbage with a port stops", "10.0.0.2:5000", "203.0.113.7, nonsense:80", "10.0.0.2"},
		{"empty port stops", "10.0.0.2:5000", "203.0.113.7:", "10.0.0.2"},
		{"zone stops", "10.0.0.2:5000", "[fe80::1%eth0]:80", "10.0.0.2"},
		{"unclosed bracket stops", "10.0.0.2:5000", "[2001:db8::1", "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			r.Header.Set("X-Forwarded-For", tt.xff)
			if got := edge.ClientIP(r, trusted); got != tt.want {
				t.Fatalf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}
