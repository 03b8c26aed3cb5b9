package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/airlockhq/airlock/edge"
	"github.com/airlockhq/airlock/i18n"
	"github.com/airlockhq/airlock/password"
)

// sessionRow is one of the user's signed-in browsers on the account page.
type sessionRow struct {
	Client   client
	IP       string
	LastSeen time.Time
	// Current is the browser looking at the page.
	Current bool
}

// accountPage is the user's own page: what the account is, where it is
// signed in, and the form of its name and language, filled in from the
// account.
func (s *Server) accountPage(r *http.Request) (*page, error) {
	p := s.newPage(r, "", "account.title")
	u := p.User
	p.form("first_name", "last_name", "language")
	p.Values["first_name"], p.Values["last_name"], p.Values["language"] = u.FirstName, u.LastName, u.Language
	sessions, err := s.accounts.MySessions(r.Context(), u, s.cookie(r, sessionCookie))
	if err != nil {
		return nil, err
	}
	rows := make([]sessionRow, len(sessions))
	for i, si := range sessions {
		rows[i] = sessionRow{Client: parseUserAgent(si.Session.UserAgent), IP: si.Session.IP, LastSeen: si.Session.LastSeenAt, Current: si.Current}
	}
	// This browser first, then the others, most recently used first.
	slices.SortStableFunc(rows, func(a, b sessionRow) int {
		switch {
		case a.Current == b.Current:
			return 0
		case a.Current:
			return -1
		}
		return 1
	})
	p.Data["Sessions"] = rows
	p.Data["Languages"] = i18n.Languages
	if u.SecondStep() { // the app's codes, or a passkey's
		left, err := s.accounts.RecoveryCodesLeft(r.Context(), u)
		if err != nil {
			return nil, err
		}
		p.Data["CodesLeft"] = left
	}
	return p, nil
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	p, err := s.accountPage(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	q := r.URL.Query()
	switch m := q.Get("m"); m {
	case "profile_saved":
		p.Notice = p.T("account.notice.profile_saved")
	case "signed_out_others":
		if n, err := strconv.Atoi(q.Get("n")); err == nil && n == 0 {
			p.Notice = p.T("account.notice.signed_out_others_none")
		} else if err == nil && n > 0 {
			p.Notice = p.T("account.notice.signed_out_others", n)
		}
	default:
		if key, ok := notices[m]; ok {
			p.Notice = p.T(key)
		}
	}
	s.render(w, http.StatusOK, "account", p)
}

// handleAccountProfile changes the user's own name and language. The
// email address is not theirs to change here: it is how administrators
// and the reset emails reach them, so it stays with administrators.
func (s *Server) handleAccountProfile(w http.ResponseWriter, r *http.Request) {
	p, err := s.accountPage(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := edge.ReadForm(w, r, "first_name", "last_name", "language")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "account", p)
		return
	}
	p.Values["first_name"], p.Values["last_name"], p.Values["language"] = f.Get("first_name"), f.Get("last_name"), f.Get("language")
	if _, err := s.accounts.UpdateMyProfile(r.Context(), p.User, f.Get("first_name"), f.Get("last_name"), f.Get("language"), s.meta(r)); err != nil {
		s.render(w, s.applyError(w, p, err), "account", p)
		return
	}
	// The next page speaks the language just chosen.
	http.Redirect(w, r, "/account?m=profile_saved", http.StatusSeeOther)
}

// handleSignOutOthers ends every other session of the user and the mobile
// apps' sign-ins; this browser stays signed in.
func (s *Server) handleSignOutOthers(w http.ResponseWriter, r *http.Request) {
	p, err := s.accountPage(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if _, err := edge.ReadForm(w, r); err != nil {
		s.render(w, s.applyError(w, p, err), "account", p)
		return
	}
	n, err := s.accounts.SignOutOthers(r.Context(), p.User, s.cookie(r, sessionCookie), s.meta(r))
	if err != nil {
		s.render(w, s.applyError(w, p, err), "account", p)
		return
	}
	http.Redirect(w, r, "/account?m=signed_out_others&n="+strconv.Itoa(n), http.StatusSeeOther)
}

// passwordPage is the change of one's own password; next is the page to
// go on to afterwards (a deep link kept across a forced change).
func (s *Server) passwordPage(r *http.Request, next string) *page {
	p := s.newPage(r, "", "change.title")
	forced := p.User.MustChangePassword
	p.Data["Forced"] = forced
	p.Data["Next"] = returnTo(next)
	s.forApp(r, p, next)
	if forced {
		p.form("password", "password_confirm")
	} else {
		s.confirm(r, p, p.User, "password", "/account/password/options", "change.with_passkey_submit", "current_password", "password", "password_confirm")
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
	fields := []string{"current_password", "password", "password_confirm", "next", "otp", "credential"}
	if u.MustChangePassword {
		// A forced change does not ask for the temporary password again,
		// nor a second step (the sign-in just asked it).
		fields = []string{"password", "password_confirm", "next"}
	}
	f, err := edge.ReadForm(w, r, fields...)
	if err != nil {
		s.render(w, s.applyError(w, p, err), "password", p)
		return
	}
	next := returnTo(f.Get("next"))
	p.Data["Next"] = next
	s.forApp(r, p, next)
	if !password.Same(f.Get("password"), f.Get("password_confirm")) {
		p.FieldErrors["password_confirm"] = p.T("password.mismatch")
		p.focus = "password" // both new-password fields are typed again
		if !u.MustChangePassword {
			p.focus = "current_password"
		}
		s.render(w, http.StatusUnprocessableEntity, "password", p)
		return
	}
	changed, err := s.accounts.ChangePassword(r.Context(), u, s.cookie(r, sessionCookie), f.Get("password"), s.proofFrom(w, r, f), s.meta(r))
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
