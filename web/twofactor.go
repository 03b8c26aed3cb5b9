package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// twoFactorCookie holds the half-signed-in state between the password and
// the code: HttpOnly, and only as long as the state itself.
const twoFactorCookie = "airlock_2fa"

// twoFactorNotices shown on the account's two-step page after a redirect.
var twoFactorNotices = map[string]string{
	"off": "twofactor.notice.off",
}

// handleSecondStepForm asks for the code after a right password.
func (s *Server) handleSecondStepForm(w http.ResponseWriter, r *http.Request) {
	u, next, err := s.accounts.ChallengeUser(r.Context(), s.cookie(r, twoFactorCookie))
	if err != nil {
		s.secondStepLost(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "login_code", s.secondStepPage(r, u, next))
}

// secondStepPage is the code page of a sign-in that goes on to next.
func (s *Server) secondStepPage(r *http.Request, u *airlock.User, next string) *page {
	p := s.newPage(r, u.Language, "twofactor.login.title")
	p.form("current_password", "otp")
	p.focusFirst = true
	s.forApp(r, p, next)
	// The second step the account has: the app's code, a passkey, or both.
	p.Data["Code"] = u.TwoFactor()
	if u.Passkeys > 0 && s.accounts.PasskeysOn() {
		p.Data["Passkey"], p.Data["PasskeyJS"] = true, true
	}
	// Passkeys only: a recovery code in place of a lost passkey (passkeys
	// off or not, it is then the one way on).
	p.Data["Recovery"] = !u.TwoFactor()
	return p
}

// secondStepLost sends a browser whose half-signed-in state ended (too
// slow, another browser, the account changed) back to the sign-in page.
func (s *Server) secondStepLost(w http.ResponseWriter, r *http.Request, err error) {
	if airlock.ErrorCode(err) != airlock.CodeUnauthorized {
		s.renderError(w, r, err)
		return
	}
	s.clearCookie(w, twoFactorCookie)
	http.Redirect(w, r, "/login?m=two_factor_expired", http.StatusSeeOther)
}

// handleSecondStepSubmit checks the code and opens the session.
func (s *Server) handleSecondStepSubmit(w http.ResponseWriter, r *http.Request) {
	s.completeSecondStep(w, r, "otp", func(challenge string, f url.Values) (*airlock.User, string, string, error) {
		return s.accounts.CompleteSignIn(r.Context(), challenge, f.Get("otp"), s.meta(r))
	})
}

// completeSecondStep takes the second step of this browser's
// half-signed-in state with the form's field (a code, a passkey's answer)
// through complete, and opens the session; a state that ended sends the
// browser back to the sign-in page.
func (s *Server) completeSecondStep(w http.ResponseWriter, r *http.Request, field string,
	complete func(challenge string, f url.Values) (*airlock.User, string, string, error)) {
	challenge := s.cookie(r, twoFactorCookie)
	u, next, err := s.accounts.ChallengeUser(r.Context(), challenge)
	if err != nil {
		s.secondStepLost(w, r, err)
		return
	}
	p := s.secondStepPage(r, u, next)
	f, err := edge.ReadForm(w, r, field)
	if err != nil {
		s.render(w, s.applyError(w, p, err), "login_code", p)
		return
	}
	u, sid, next, err := complete(challenge, f)
	if err != nil {
		if e := airlock.AsError(err); e != nil && e.Detail == "challenge" {
			s.secondStepLost(w, r, err)
			return
		}
		s.render(w, s.applyError(w, p, err), "login_code", p)
		return
	}
	s.clearCookie(w, twoFactorCookie)
	s.signedIn(w, r, u, sid, next)
}

// twoFactorURL is the two-step page that, once two-step sign-in is on,
// offers to go on to next: an enrolment that a sign-in for an application
// required leads back to the application.
func twoFactorURL(next string) string {
	if next = returnTo(next); next != "" {
		return "/account/two-factor?next=" + url.QueryEscape(next)
	}
	return "/account/two-factor"
}

// handleTwoFactor shows the account's two-step sign-in: how to turn it on
// (a key of this visit's own, as a QR code and as text, then a code to
// confirm), or how to turn it off.
func (s *Server) handleTwoFactor(w http.ResponseWriter, r *http.Request) {
	p, err := s.twoFactorPage(r, "")
	p.Data["Next"] = returnTo(r.URL.Query().Get("next"))
	status := http.StatusOK
	if err != nil {
		status = s.applyError(w, p, err)
	}
	s.render(w, status, "two_factor", p)
}

// twoFactorPage builds the page; visit (the one the form sent back) shows
// again the key that visit was shown (the page answering a wrong code),
// "" a new visit with a new key. An error (no AIRLOCK_SECRET_KEY, the
// database away) is for the caller to show on it.
func (s *Server) twoFactorPage(r *http.Request, visit string) (*page, error) {
	p := s.newPage(r, "", "twofactor.title")
	u := p.User
	if key, ok := twoFactorNotices[r.URL.Query().Get("m")]; ok {
		p.Notice = p.T(key)
	}
	if s.accounts.TwoFactorRequired(u) {
		p.Data["Required"] = true
	}
	p.form("current_password", "otp")
	if u.TwoFactor() {
		p.Data["On"] = true
		left, err := s.accounts.RecoveryCodesLeft(r.Context(), u)
		p.Data["CodesLeft"] = left
		return p, err
	}
	en, err := s.accounts.BeginTwoFactor(r.Context(), u, s.cookie(r, sessionCookie), visit)
	if err != nil {
		return p, err
	}
	p.focusFirst = true
	p.focus = "otp"            // the person comes back from the app with a code
	p.Data["Enrolling"] = true // no recovery codes yet: none offered
	p.Data["Secret"] = en.Secret
	// Built by totp.URI from our issuer and the escaped address; an
	// otpauth: link, which html/template would otherwise refuse.
	p.Data["URI"] = template.URL(en.URI)
	p.Data["Visit"] = en.Visit
	// With passkeys, the account has a second step already: one of them
	// confirms the app, a way in added (ConfirmTwoFactorProved).
	// Its code field holds the new app's code: no recovery code here.
	s.confirm(r, p, u, "two-factor", "/account/two-factor/options", "twofactor.confirm.with_passkey_submit", "current_password", "otp").Recovery = false
	// Our own SVG, drawn from the QR library's matrix (totp.QRSVG): no
	// text of the user's is in it but their escaped address.
	p.Data["QR"] = template.HTML(en.QRSVG)
	return p, nil
}

// handleTwoFactorConfirm turns two-step sign-in on with a first code and
// shows the recovery codes, once. Every other session ends: this browser
// goes on in a new one.
func (s *Server) handleTwoFactorConfirm(w http.ResponseWriter, r *http.Request) {
	f, err := edge.ReadForm(w, r, "current_password", "otp", "enrolment", "next", "credential")
	if err != nil {
		p, _ := s.twoFactorPage(r, "")
		s.render(w, s.applyError(w, p, err), "two_factor", p)
		return
	}
	visit, next := f.Get("enrolment"), returnTo(f.Get("next"))
	proof := s.proofFrom(w, r, f)
	proof.Code = "" // the form's code is the new app's
	codes, sid, err := s.accounts.ConfirmTwoFactorProved(r.Context(), userFrom(r), s.cookie(r, sessionCookie), visit, proof, f.Get("otp"), s.meta(r))
	if err != nil {
		p, _ := s.twoFactorPage(r, visit)
		p.Data["Next"] = next
		s.render(w, s.applyError(w, p, err), "two_factor", p)
		return
	}
	s.startSession(w, sid)
	p := s.newPage(r, "", "twofactor.codes.title")
	p.Notice = p.T("twofactor.codes.on")
	p.Data["Codes"] = codes
	if s.forApp(r, p, next) != nil {
		// Kept the codes: on to the application that asked for the
		// sign-in (a link, so nothing is sent before the codes are kept).
		p.Data["Next"] = next
	}
	s.render(w, http.StatusOK, "two_factor_codes", p)
}

// handleNewCodesForm asks for the password and a code before making a new
// set of recovery codes.
func (s *Server) handleNewCodesForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "two_factor_new_codes", s.newCodesPage(r))
}

func (s *Server) newCodesPage(r *http.Request) *page {
	p := s.newPage(r, "", "twofactor.newcodes.title")
	p.form("current_password", "otp")
	p.focusFirst = true
	// With the app, its code (or a recovery code) proves it; with passkeys
	// only, a passkey does.
	p.Data["Code"] = p.User.TwoFactor()
	p.Data["PasskeyJS"] = !p.User.TwoFactor()
	return p
}

// handleNewCodes makes a new set of recovery codes (the old set dies) and
// shows it, once.
func (s *Server) handleNewCodes(w http.ResponseWriter, r *http.Request) {
	p := s.newCodesPage(r)
	f, err := edge.ReadForm(w, r, "current_password", "otp")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "two_factor_new_codes", p)
		return
	}
	codes, err := s.accounts.NewRecoveryCodes(r.Context(), userFrom(r), f.Get("current_password"), f.Get("otp"), s.meta(r))
	if err != nil {
		s.render(w, s.applyError(w, p, err), "two_factor_new_codes", p)
		return
	}
	p = s.newPage(r, "", "twofactor.codes.title")
	p.Notice = p.T("twofactor.newcodes.done")
	p.Data["Codes"] = codes
	s.render(w, http.StatusOK, "two_factor_codes", p)
}

// handleRecoveryCodesFile returns the codes the page just showed as a text
// file: the browser sends them back (they are stored hashed only), and they
// must look like recovery codes.
func (s *Server) handleRecoveryCodesFile(w http.ResponseWriter, r *http.Request) {
	f, err := edge.ReadForm(w, r, "codes*")
	if err != nil || !account.ValidRecoveryCodes(f["codes"]) {
		s.renderError(w, r, &airlock.Error{Code: airlock.CodeInvalid, Key: "error.form.malformed"})
		return
	}
	p := s.newPage(r, "", "twofactor.codes.title")
	var b strings.Builder
	b.WriteString(p.T("twofactor.codes.file", s.brand.Name, p.User.Email) + "\r\n\r\n")
	for _, c := range f["codes"] {
		b.WriteString(c + "\r\n")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="recovery-codes.txt"`)
	w.Write([]byte(b.String()))
}

// handleTwoFactorDisable turns two-step sign-in off, with the password and
// a code.
func (s *Server) handleTwoFactorDisable(w http.ResponseWriter, r *http.Request) {
	p, _ := s.twoFactorPage(r, "")
	f, err := edge.ReadForm(w, r, "current_password", "otp")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "two_factor", p)
		return
	}
	if err := s.accounts.DisableTwoFactor(r.Context(), userFrom(r), f.Get("current_password"), f.Get("otp"), s.meta(r)); err != nil {
		s.render(w, s.applyError(w, p, err), "two_factor", p)
		return
	}
	http.Redirect(w, r, "/account/two-factor?m=off", http.StatusSeeOther)
}
