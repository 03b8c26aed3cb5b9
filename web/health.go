package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/airlockhq/airlock/edge"
)

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// handleReadyz answers 200 only while the database answers.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.db.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unreachable\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

func (s *Server) handleDevMail(w http.ResponseWriter, r *http.Request) {
	// Reset links are in there: only this machine may read them.
	if a, err := netip.ParseAddr(edge.ClientIP(r, nil)); err != nil || !a.IsLoopback() {
		s.handleNotFound(w, r)
		return
	}
	// A loopback client is not enough: a site whose name an attacker
	// points at 127.0.0.1 (DNS rebinding) would read the links in the
	// browser of someone on this machine. Its name is in Host.
	if !isLoopbackHost(r.Host) {
		s.handleNotFound(w, r)
		return
	}
	p := s.newPage(r, "", "devmail.title")
	type item struct {
		To, Subject, Text, At string
		Links                 []string
	}
	var items []item
	for _, m := range s.devMailbox.Messages() {
		items = append(items, item{To: m.To, Subject: m.Subject, Text: m.Text, At: m.At.UTC().Format("2006-01-02 15:04:05"),
			Links: linkRE.FindAllString(m.Text, -1)})
	}
	p.Data["Messages"] = items
	s.render(w, http.StatusOK, "devmail", p)
}

// isLoopbackHost reports whether a Host header names this machine only:
// localhost, a name under .localhost, 127.0.0.0/8 or [::1], with or
// without a port.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		if strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") && len(host) > len(".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.IsLoopback()
}
