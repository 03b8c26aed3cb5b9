package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
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

// devMailAllowed answers 404 unless the request comes from this machine and
// names it: reset links are in the dev mailbox.
func (s *Server) devMailAllowed(w http.ResponseWriter, r *http.Request) bool {
	if a, err := netip.ParseAddr(edge.ClientIP(r, nil)); err != nil || !a.IsLoopback() {
		s.handleNotFound(w, r)
		return false
	}
	// A request relayed by a proxy on this machine comes from someone else:
	// any header a proxy adds, present at all (even empty, even twice), is
	// enough to refuse.
	for name := range r.Header {
		if proxyHeaders[http.CanonicalHeaderKey(name)] {
			s.handleNotFound(w, r)
			return false
		}
	}
	// A loopback client is not enough: a site whose name an attacker
	// points at 127.0.0.1 (DNS rebinding) would read the links in the
	// browser of someone on this machine. Its name is in Host.
	if !isLoopbackHost(r.Host) {
		s.handleNotFound(w, r)
		return false
	}
	return true
}

func (s *Server) handleDevMail(w http.ResponseWriter, r *http.Request) {
	if !s.devMailAllowed(w, r) {
		return
	}
	msgs, err := s.devMailbox.Messages(r.Context(), 100)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := s.newPage(r, "", "devmail.title")
	p.Data["Wide"] = true
	type item struct {
		ID                    int64
		To, Subject, Text, At string
		Links                 []string
		HasHTML               bool
	}
	var items []item
	for _, m := range msgs {
		items = append(items, item{ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, At: m.At.UTC().Format("2006-01-02 15:04:05"),
			Links: linkRE.FindAllString(m.Text, -1), HasHTML: m.HTML != ""})
	}
	p.Data["Messages"] = items
	// This page alone frames our own pages: each email's HTML part.
	w.Header().Set("Content-Security-Policy", csp+"; frame-src 'self'")
	s.render(w, http.StatusOK, "devmail", p)
}

// handleDevMailHTML serves one kept email's HTML part, for the dev
// mailbox's frame: sandboxed (no script, no same-origin access, no form,
// no network), as an email client would show it. Its links open in a new
// tab, outside the sandbox, as from a mail client (inside the frame the
// reset page cannot work).
func (s *Server) handleDevMailHTML(w http.ResponseWriter, r *http.Request) {
	if !s.devMailAllowed(w, r) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.handleNotFound(w, r)
		return
	}
	m, err := s.devMailbox.Message(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	h := w.Header()
	// Popups only: a link opens a tab of its own; still no script, form or
	// same-origin access in the frame.
	h.Set("Content-Security-Policy", "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, newTabLinks(m.HTML))
}

// newTabLinks makes every link of an email's HTML open a new tab: a base
// element at the start of its head (or of the document, without one).
func newTabLinks(html string) string {
	const base = `<base target="_blank">`
	if i := strings.Index(strings.ToLower(html), "<head>"); i >= 0 {
		return html[:i+len("<head>")] + base + html[i+len("<head>"):]
	}
	return base + html
}

// proxyHeaders are the headers proxies and load balancers add.
var proxyHeaders = map[string]bool{
	"X-Forwarded-For": true, "Forwarded": true, "X-Real-Ip": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true,
	"X-Forwarded-Server": true, "X-Forwarded-Port": true, "X-Client-Ip": true, "Via": true, "True-Client-Ip": true,
	"Cf-Connecting-Ip": true, "X-Cluster-Client-Ip": true, "Fastly-Client-Ip": true,
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
