package web

// Recovery codes of an account whose second step is passkeys only: shown
// once when its first passkey is added, renewed with the password and a
// passkey. (An account with the authenticator app renews them with a code,
// twofactor.go.)

import (
	"net/http"

	"github.com/airlockhq/airlock/edge"
)

// renderPasskeyCodes shows recovery codes once, after notice.
func (s *Server) renderPasskeyCodes(w http.ResponseWriter, r *http.Request, notice string, codes []string) {
	p := s.newPage(r, "", "twofactor.codes.title")
	p.Notice = p.T(notice)
	p.Data["Codes"] = codes
	p.Data["Passkey"] = true
	s.render(w, http.StatusOK, "two_factor_codes", p)
}

// handleNewCodesPasskeyOptions begins the passkey that proves a new set
// of recovery codes, in this browser's session.
func (s *Server) handleNewCodesPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	s.passkeyOptions(w, r, func() (string, []byte, error) {
		return s.accounts.BeginNewCodesPasskey(r.Context(), userFrom(r), s.cookie(r, sessionCookie), s.meta(r))
	})
}

// handleNewCodesPasskey makes a new set of recovery codes with the
// password and the passkey the browser gave, and shows it, once.
func (s *Server) handleNewCodesPasskey(w http.ResponseWriter, r *http.Request) {
	p := s.newCodesPage(r)
	f, err := edge.ReadForm(w, r, "current_password", "credential")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "two_factor_new_codes", p)
		return
	}
	codes, err := s.accounts.NewRecoveryCodesWithPasskey(r.Context(), userFrom(r), s.cookie(r, sessionCookie), f.Get("current_password"),
		s.cookie(r, passkeyCookie), []byte(f.Get("credential")), s.meta(r))
	s.clearCookie(w, passkeyCookie)
	if err != nil {
		s.render(w, s.applyError(w, p, err), "two_factor_new_codes", p)
		return
	}
	s.renderPasskeyCodes(w, r, "twofactor.newcodes.done", codes)
}
