package web

import (
	"net/http"
	"net/url"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
	"github.com/airlockhq/airlock/password"
)

// handleResetForm serves both halves of opening a reset link. With
// ?token=T it checks T without using it (mail scanners open links), moves
// it into an HttpOnly cookie and redirects to the token-free URL, so the
// token leaves the address bar and history at once. Without a token it
// shows the form, or why the link no longer works.
func (s *Server) handleResetForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("token") {
		dest := "/password/reset"
		tokens := q["token"]
		if len(tokens) != 1 {
			s.clearCookie(w, resetCookie)
			http.Redirect(w, r, dest+"?invalid="+account.TokenUnknown, http.StatusSeeOther)
			return
		}
		_, purpose, err := s.accounts.CheckLink(r.Context(), account.ByToken(tokens[0]), s.meta(r))
		switch code := airlock.ErrorCode(err); {
		case err == nil:
			s.setCookie(w, resetCookie, tokens[0], s.accounts.Config().ResetTokenTTL)
			if q.Get("app") == "1" {
				dest += "?app=1" // asked for from the mobile app: offer the way back
			}
		case code == airlock.CodeInvalidToken:
			s.clearCookie(w, resetCookie)
			dest += "?invalid=" + airlock.AsError(err).Detail
			if purpose == airlock.TokenPurposeInvite {
				dest += "&link=invite"
			}
		case code == airlock.CodeRateLimited:
			s.clearCookie(w, resetCookie)
			dest += "?invalid=rate_limited"
		default:
			s.renderError(w, r, err)
			return
		}
		http.Redirect(w, r, dest, http.StatusSeeOther)
		return
	}
	if detail := q.Get("invalid"); detail != "" {
		purpose := ""
		if q.Get("link") == "invite" {
			purpose = airlock.TokenPurposeInvite
		}
		s.renderInvalidLink(w, r, detail, purpose)
		return
	}
	if s.cookie(r, resetCookie) == "" {
		s.renderInvalidLink(w, r, account.TokenUnknown, "")
		return
	}
	u, purpose, err := s.accounts.CheckLink(r.Context(), s.resetLink(r), s.meta(r))
	if err != nil {
		s.resetFailed(w, r, err, purpose)
		return
	}
	s.render(w, http.StatusOK, "reset", s.resetPage(r, u, purpose))
}

// resetPage is the page that sets a password from a link: a new one after
// a reset, or a first one from an invitation (purpose).
func (s *Server) resetPage(r *http.Request, u *airlock.User, purpose string) *page {
	title := "reset.title"
	if purpose == airlock.TokenPurposeInvite {
		title = "invite.title"
	}
	p := s.newPage(r, u.Language, title)
	p.form("password", "password_confirm")
	if u.SecondStep() {
		// A mailbox alone must not take the account: the second step the
		// account has (a code, a passkey) is asked first, on a step of its
		// own, then the new password.
		given, err := s.accounts.LinkCodeGiven(r.Context(), s.resetLink(r))
		if err != nil || !given {
			p.Data["CodeStep"] = true
			p.Data["Code"] = u.TwoFactor()
			p.Data["Recovery"] = !u.TwoFactor() // passkeys only: a recovery code instead
			p.form("otp")
			if u.Passkeys > 0 && s.accounts.PasskeysOn() {
				p.Data["Passkey"], p.Data["PasskeyJS"] = true, true
				p.Data["PasskeyAction"] = "/password/reset/passkey"
			}
		}
	}
	p.focusFirst = true
	s.passwordRules(p, u)
	p.Data["Invitation"] = purpose == airlock.TokenPurposeInvite
	p.Data["Email"] = u.Email
	p.Data["Action"] = "/password/reset"
	if r.URL.Query().Get("app") == "1" {
		// Asked for from the app: every step of the page, the passkey's
		// too, goes on to "Return to the app" at the end.
		p.Data["Action"] = "/password/reset?app=1"
		if p.Data["PasskeyAction"] != nil {
			p.Data["PasskeyAction"] = "/password/reset/passkey?app=1"
		}
	}
	return p
}

func (s *Server) handleResetSubmit(w http.ResponseWriter, r *http.Request) {
	link := s.resetLink(r)
	f, err := edge.ReadForm(w, r, "password", "password_confirm", "otp")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if s.cookie(r, resetCookie) == "" {
		s.renderInvalidLink(w, r, account.TokenUnknown, "")
		return
	}
	m := s.meta(r)
	if f.Has("otp") && !f.Has("password") {
		// The code step: checked and recorded on the link, then the new
		// password is asked (a wrong code costs no passphrase typed twice).
		u, purpose, err := s.accounts.VerifyLinkCode(r.Context(), link, f.Get("otp"), m)
		if err != nil {
			if u == nil {
				s.resetFailed(w, r, err, purpose)
				return
			}
			p := s.resetPage(r, u, purpose)
			s.render(w, s.applyError(w, p, err), "reset", p)
			return
		}
		dest := "/password/reset"
		if r.URL.Query().Get("app") == "1" {
			dest += "?app=1"
		}
		http.Redirect(w, r, dest, http.StatusSeeOther)
		return
	}
	if !password.Same(f.Get("password"), f.Get("password_confirm")) {
		// Nothing to set yet: check the link only to show the form again.
		u, purpose, err := s.accounts.CheckLink(r.Context(), link, m)
		if err != nil {
			s.resetFailed(w, r, err, purpose)
			return
		}
		p := s.resetPage(r, u, purpose)
		p.FieldErrors["password_confirm"] = p.T("password.mismatch")
		p.focus = "password" // both fields are typed again
		s.render(w, http.StatusUnprocessableEntity, "reset", p)
		return
	}
	u, purpose, err := s.accounts.CompleteLink(r.Context(), link, f.Get("password"), f.Get("otp"), m)
	if err != nil {
		if u == nil {
			s.resetFailed(w, r, err, purpose) // the link itself is no good (or a server error)
			return
		}
		p := s.resetPage(r, u, purpose)
		s.render(w, s.applyError(w, p, err), "reset", p)
		return
	}
	// A reset does not sign the user in (SPEC §6.9), nor does an invitation;
	// the sign-in page offers the account's email.
	s.clearCookie(w, resetCookie)
	s.clearCookie(w, flowCookie)
	s.offerEmail(w, u.Email)
	dest := "/login?m=reset"
	if purpose == airlock.TokenPurposeInvite {
		dest = "/login?m=invited"
	}
	if r.URL.Query().Get("app") == "1" {
		dest += "&app=1"
	}
	if next := s.cookie(r, continueCookie); next != "" {
		// The password was forgotten while signing in for an application:
		// signing in with the new one continues to it, if it still waits.
		if a, _ := s.pendingApp(r, returnTo(next)); a != nil {
			dest += "&next=" + url.QueryEscape(continueURL(a.ID))
		}
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

func (s *Server) resetFailed(w http.ResponseWriter, r *http.Request, err error, purpose string) {
	switch airlock.ErrorCode(err) {
	case airlock.CodeInvalidToken:
		s.clearCookie(w, resetCookie)
		s.renderInvalidLink(w, r, airlock.AsError(err).Detail, purpose)
	default:
		s.renderError(w, r, err)
	}
}

// renderInvalidLink says why a link does not work, speaking of an
// invitation when it was one (purpose).
func (s *Server) renderInvalidLink(w http.ResponseWriter, r *http.Request, detail, purpose string) {
	p := s.newPage(r, "", "reset.invalid.title")
	p.Data["Invalid"] = true
	status := http.StatusGone
	switch detail {
	case account.TokenExpired, account.TokenUsed:
		if purpose == airlock.TokenPurposeInvite {
			p.Error = p.T("invite.invalid." + detail)
		} else {
			p.Error = p.T("reset.invalid." + detail)
		}
	case account.CodeWrong:
		// A code from the email whose link died meanwhile (used, expired).
		p.Error = p.T("error.flow.wrong_code")
	case account.FlowEnded:
		p.Error = p.T("error.flow.ended")
	case "rate_limited":
		p.Error = p.T("error.rate_limited")
		w.Header().Set("Retry-After", "600")
		status = http.StatusTooManyRequests
	default:
		p.Error = p.T("reset.invalid.unknown")
	}
	s.render(w, status, "reset_invalid", p)
}
