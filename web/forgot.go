package web

import (
	"net/http"
	"strings"

	"github.com/airlockhq/airlock/edge"
	"github.com/airlockhq/airlock/mail"
)

func (s *Server) handleForgotForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "forgot", s.newPage(r, "", "forgot.title"))
}

// handleForgotSubmit answers the same page whatever the account: existing,
// unknown or inactive. Only the shape of the input or the client's own rate
// can change the answer. The page repeats the address typed, so that a
// typo shows.
func (s *Server) handleForgotSubmit(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "", "forgot.title")
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
