package web

import (
	"context"
	"net/http"
	"net/netip"
	"regexp"
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
