package web

import (
	"net/http"
	"net/url"

	"github.com/airlockhq/airlock/edge"
)

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "", "account.title")
	if key, ok := notices[r.URL.Query().Get("m")]; ok {
		p.Notice = p.T(key)
	}
	s.render(w, http.StatusOK, "account", p)
}

// passwordPage is the change of one's own password; next is the page to
// go on to afterwards (a deep link kept across a forced change).
func (s *Server) passwordPage(r *http.Request, next string) *page {
	p := s.newPage(r, "", "change.title")
	forced := p.User.MustChangePassword
	p.Data["Forced"] = forced
	p.Data["Next"] = returnTo(next)
	if forced {
		p.form("password", "password_confirm")
	} else {
		p.form("current_password", "password", "password_confirm")
	}
	p.focusFirst = true
	s.passwordRules(p, p.User)
	return p
}

func (s *Server) handlePasswordForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "password", s.passwordPage(r, r.URL.Query().Get("next")))
}

func (s *Server) handlePasswordSubmit(w http.ResponseWriter, r *http.Request) {
	p := s.passwordPage(r, "")
	u := p.User
	fields := []string{"current_password", "password", "password_confirm", "next"}
	if u.MustChangePassword {
		// A forced change does not ask for the temporary password again.
		fields = fields[1:]
	}
	f, err := edge.ReadForm(w, r, fields...)
	if err != nil {
		s.render(w, s.applyError(w, p, err), "password", p)
		return
	}
	next := returnTo(f.Get("next"))
	p.Data["Next"] = next
	if f.Get("password") != f.Get("password_confirm") {
		p.FieldErrors["password_confirm"] = p.T("password.mismatch")
		p.focus = "password" // both new-password fields are typed again
		if !u.MustChangePassword {
			p.focus = "current_password"
		}
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
	if next != "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?m=password_changed", http.StatusSeeOther)
}

// passwordURL is the change page that goes on to next afterwards.
func passwordURL(next string) string {
	if next = returnTo(next); next != "" {
		return "/account/password?next=" + url.QueryEscape(next)
	}
	return "/account/password"
}
