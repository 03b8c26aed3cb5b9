package web

import (
	"html/template"
	"net/http"

	"github.com/airlockhq/airlock/edge"
)

// notices shown after a redirect, by the m query parameter.
var notices = map[string]string{
	"reset":            "notice.reset",
	"invited":          "notice.invited",
	"signed_out":       "notice.signed_out",
	"password_changed": "notice.password_changed",
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	if s.currentUser(r) != nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) loginPage(r *http.Request) *page {
	p := s.newPage(r, "", "login.title")
	m := r.URL.Query().Get("m")
	if key, ok := notices[m]; ok {
		p.Notice = p.T(key)
	}
	if (m == "reset" || m == "invited") && r.URL.Query().Get("app") == "1" {
		// After a reset started from the mobile app, offer the way back.
		p.AppURL = template.URL(s.cfg.AppURL)
	}
	return p
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if u := s.currentUser(r); u != nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "login", s.loginPage(r))
}

func (s *Server) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "", "login.title")
	f, err := edge.ReadForm(w, r, "email", "password")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "login", p)
		return
	}
	p.Values["email"] = f.Get("email")
	u, sid, err := s.accounts.SignIn(r.Context(), f.Get("email"), f.Get("password"), s.meta(r))
	if err != nil {
		s.render(w, s.applyError(w, p, err), "login", p)
		return
	}
	// A session this browser had before is ended: the id is renewed at
	// every sign-in, so a planted cookie is worth nothing.
	if old := s.cookie(r, sessionCookie); old != "" {
		if err := s.accounts.SignOut(r.Context(), old, s.meta(r)); err != nil {
			s.log.Error("end previous session", "err", err)
		}
	}
	s.startSession(w, sid)
	if u.MustChangePassword {
		http.Redirect(w, r, "/account/password", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if sid := s.cookie(r, sessionCookie); sid != "" {
		if err := s.accounts.SignOut(r.Context(), sid, s.meta(r)); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	s.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login?m=signed_out", http.StatusSeeOther)
}
