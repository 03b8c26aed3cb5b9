package web

import (
	"net/http"

	"github.com/airlockhq/airlock/edge"
)

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "", "account.title")
	if key, ok := notices[r.URL.Query().Get("m")]; ok {
		p.Notice = p.T(key)
	}
	s.render(w, http.StatusOK, "account", p)
}

func (s *Server) passwordPage(r *http.Request) *page {
	p := s.newPage(r, "", "change.title")
	p.Data["Forced"] = p.User.MustChangePassword
	p.Data["MinLength"] = s.accounts.Policy().MinLength
	return p
}

func (s *Server) handlePasswordForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "password", s.passwordPage(r))
}

func (s *Server) handlePasswordSubmit(w http.ResponseWriter, r *http.Request) {
	p := s.passwordPage(r)
	u := p.User
	fields := []string{"current_password", "password", "password_confirm"}
	if u.MustChangePassword {
		// A forced change does not ask for the temporary password again.
		fields = fields[1:]
	}
	f, err := edge.ReadForm(w, r, fields...)
	if err != nil {
		s.render(w, s.applyError(w, p, err), "password", p)
		return
	}
	if f.Get("password") != f.Get("password_confirm") {
		p.FieldErrors["password_confirm"] = p.T("password.mismatch")
		s.render(w, http.StatusUnprocessableEntity, "password", p)
		return
	}
	changed, err := s.accounts.ChangePassword(r.Context(), u, f.Get("current_password"), f.Get("password"), s.meta(r))
	if err != nil {
		s.render(w, s.applyError(w, p, err), "password", p)
		return
	}
	// Every session ended with the change; this browser gets a new one.
	sid, err := s.accounts.StartSession(r.Context(), changed, s.meta(r))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.startSession(w, sid)
	http.Redirect(w, r, "/account?m=password_changed", http.StatusSeeOther)
}
