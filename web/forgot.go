package web

import (
	"net/http"
	"strings"

	"github.com/airlockhq/airlock/edge"
	"github.com/airlockhq/airlock/mail"
)

func (s *Server) forgotPage(r *http.Request) *page {
	p := s.newPage(r, "", "forgot.title")
	p.form("email")
	p.focusFirst = true
	return p
}

func (s *Server) handleForgotForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "forgot", s.forgotPage(r))
}

// handleForgotSubmit answers the same page whatever the account: existing,
// unknown or inactive. Only the shape of the input or the client's own rate
// can change the answer. The page repeats the address typed (so a typo
// shows) and offers to send the link again: that posts the same form here,
// under the same limits, and gets this same answer.
func (s *Server) handleForgotSubmit(w http.ResponseWriter, r *http.Request) {
	p := s.forgotPage(r)
	f, err := edge.ReadForm(w, r, "email")
	if err == nil {
		p.Values["email"] = f.Get("email")
		err = s.accounts.RequestReset(r.Context(), f.Get("email"), s.meta(r))
	}
	if err != nil {
		s.render(w, s.applyError(w, p, err), "forgot", p)
		return
	}
	sent := s.newPage(r, "", "forgot.sent.title")
	sent.Data["Email"] = strings.TrimSpace(f.Get("email"))
	sent.Data["ValidFor"] = mail.Duration(s.accounts.Config().ResetTokenTTL, sent.Lang)
	s.render(w, http.StatusOK, "forgot_sent", sent)
}
