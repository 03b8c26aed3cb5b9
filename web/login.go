package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// notices shown after a redirect, by the m query parameter.
var notices = map[string]string{
	"reset":            "notice.reset",
	"invited":          "notice.invited",
	"signed_out":       "notice.signed_out",
	"password_changed": "notice.password_changed",
	// The code took longer than the half-signed-in state lasts.
	"two_factor_expired": "notice.two_factor_expired",
}

// offerEmailFor is how long the sign-in page offers the email of an
// account whose password was just set from a link.
const offerEmailFor = 10 * time.Minute

// returnTo returns the page to go to after signing in (or after a forced
// change of password): next when it is a path of this site, else "".
// The sign-in and sign-out pages are never a destination (no loop).
func returnTo(next string) string {
	if !edge.LocalPath(next) {
		return ""
	}
	path, _, _ := strings.Cut(next, "?")
	if path == "/login" || path == "/logout" {
		return ""
	}
	return next
}

// loginURL is the sign-in page that comes back to r's page afterwards.
func loginURL(r *http.Request) string {
	if r.Method != http.MethodGet || r.URL.Path == "/account" {
		return "/login"
	}
	if next := returnTo(r.URL.RequestURI()); next != "" {
		return "/login?next=" + url.QueryEscape(next)
	}
	return "/login"
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	if s.currentUser(r) != nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) newLoginPage(r *http.Request, next string) *page {
	p := s.newPage(r, "", "login.title")
	p.form("email", "password")
	p.focusFirst = true
	p.Data["Next"] = returnTo(next)
	if s.accounts.PasskeysOn() {
		// The browser offers passkeys in the email field's autofill, and
		// a button signs in with one.
		p.Data["Webauthn"], p.Data["PasskeyJS"] = true, true
	}
	return p
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, _ := s.pendingApp(r, returnTo(q.Get("next")))
	if u := s.currentUser(r); u != nil && (a == nil || q.Get("reauth") != "1") {
		dest := returnTo(q.Get("next"))
		if dest == "" || s.accounts.Reach(u) != account.ReachAll {
			dest = "/account"
		}
		http.Redirect(w, r, dest, http.StatusSeeOther)
		return
	}
	p := s.newLoginPage(r, q.Get("next"))
	if a := s.forApp(r, p, q.Get("next")); a != nil {
		// Signing in for an application: say which, offer the address it
		// gave (login_hint), and remember the request in this browser so
		// that a forgotten password leads back to it.
		if a.LoginHint != "" {
			p.Values["email"] = a.LoginHint
			p.focus = "password"
		}
		s.setCookie(w, continueCookie, continueURL(a.ID), account.AuthorizationTTL)
	}
	m := q.Get("m")
	if key, ok := notices[m]; ok {
		p.Notice = p.T(key)
	}
	if m == "reset" || m == "invited" {
		if q.Get("app") == "1" {
			// After a reset started from the mobile app, offer the way back.
			p.AppURL = template.URL(s.cfg.AppURL)
		}
		// The email of the account whose password was just set, kept by
		// the reset in a short-lived HttpOnly cookie (never in the URL),
		// offered once.
		if email := s.offeredEmail(r); email != "" {
			p.Values["email"] = email
			s.clearCookie(w, offerCookie)
		}
	}
	s.render(w, http.StatusOK, "login", p)
}

// offerEmail keeps email for the sign-in page that follows a reset.
func (s *Server) offerEmail(w http.ResponseWriter, email string) {
	s.setCookie(w, offerCookie, base64.RawURLEncoding.EncodeToString([]byte(email)), offerEmailFor)
}

// offeredEmail returns the email kept by offerEmail, if it is an address.
func (s *Server) offeredEmail(r *http.Request) string {
	b, err := base64.RawURLEncoding.DecodeString(s.cookie(r, offerCookie))
	if err != nil || airlock.CheckEmail(string(b)) != nil {
		return ""
	}
	return string(b)
}

func (s *Server) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	p := s.newLoginPage(r, "")
	f, err := edge.ReadForm(w, r, "email", "password", "next")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "login", p)
		return
	}
	next := returnTo(f.Get("next"))
	p.Values["email"], p.Data["Next"] = f.Get("email"), next
	u, sid, challenge, err := s.accounts.SignIn(r.Context(), f.Get("email"), f.Get("password"), next, s.meta(r))
	if err != nil {
		s.forApp(r, p, next) // tried again, still for the app
		s.render(w, s.applyError(w, p, err), "login", p)
		return
	}
	if challenge != "" {
		// Two-step sign-in: the code comes next, in this browser only.
		s.setCookie(w, twoFactorCookie, challenge, account.ChallengeTTL)
		http.Redirect(w, r, "/login/two-factor", http.StatusSeeOther)
		return
	}
	s.signedIn(w, r, u, sid, next)
}

// signedIn finishes a sign-in: the browser's previous session ends, the new
// one starts, and the user goes where they were going (or to the forced
// change of a temporary password).
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, u *airlock.User, sid, next string) {
	next = returnTo(next)
	// A session this browser had before is ended: the id is renewed at
	// every sign-in, so a planted cookie is worth nothing.
	if old := s.cookie(r, sessionCookie); old != "" {
		if err := s.accounts.SignOut(r.Context(), old, s.meta(r)); err != nil {
			s.log.Error("end previous session", "err", err)
		}
	}
	s.startSession(w, sid)
	if s.cookie(r, offerCookie) != "" {
		s.clearCookie(w, offerCookie)
	}
	switch may := s.accounts.Reach(u); {
	case may == account.ReachPasswordChange:
		http.Redirect(w, r, passwordURL(next), http.StatusSeeOther)
	case may == account.ReachEnrolment:
		http.Redirect(w, r, twoFactorURL(next), http.StatusSeeOther)
	case next != "":
		http.Redirect(w, r, next, http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	}
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
