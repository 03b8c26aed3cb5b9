package edge

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the client's address. X-Forwarded-For is believed only
// when the direct peer is a trusted proxy, and then only up to the first
// address that is not itself a trusted proxy, read from the right: entries
// further left are whatever the client chose to send. A hop may be written
// 203.0.113.7, 203.0.113.7:40000, 2001:db8::1, [2001:db8::1] or
// [2001:db8::1]:443; reading stops at the first hop that is none of these.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// What lies left of an unreadable hop cannot be attributed:
			// the last address we could read is the client.
			break
		}
		if !isTrusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

// parseHop reads one X-Forwarded-For entry, with or without a port,
// IPv4-mapped IPv6 addresses unmapped. A zone (fe80::1%eth0) means nothing
// to us and is refused, so it cannot make one client look like many.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		if inner, ok := strings.CutPrefix(s, "["); ok && strings.HasSuffix(inner, "]") {
			a, err = netip.ParseAddr(strings.TrimSuffix(inner, "]"))
			if err == nil && !a.Is6() {
				return netip.Addr{}, false
			}
		} else {
			var ap netip.AddrPort
			ap, err = netip.ParseAddrPort(s)
			a = ap.Addr()
		}
	}
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
