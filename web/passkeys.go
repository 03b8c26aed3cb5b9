package web

// Passkeys on the pages: the account's list, adding and removing one,
// signing in with one, and one as the second step after a password or with
// a reset link. The browser's side is static/webauthn.js; the rules are
// package account's.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// passkeyCookie holds the id of the passkey ceremony this browser began:
// HttpOnly, as long as the ceremony lives. A ceremony is finished only by
// the browser holding it.
const passkeyCookie = "airlock_passkey"

// passkeyNotices shown on the passkeys page after a redirect.
var passkeyNotices = map[string]string{
	"added":   "passkey.notice.added",
	"removed": "passkey.notice.removed",
}

// passkeyRow is one passkey on the account's list.
type passkeyRow struct {
	ID       string // base64url of the credential id, for its removal's URL
	P        *airlock.Passkey
	LastUsed bool
}

// passkeysPage lists the user's passkeys and offers to add one.
func (s *Server) passkeysPage(r *http.Request) (*page, error) {
	p := s.newPage(r, "", "passkey.title")
	u := p.User
	s.confirm(r, p, u, "add", "/account/passkeys/new/options", "passkey.add.with_passkey_submit", "name", "current_password")
	p.Data["On"] = s.accounts.PasskeysOn()
	p.Data["Required"] = s.accounts.TwoFactorRequired(u)
	if key, ok := passkeyNotices[r.URL.Query().Get("m")]; ok {
		p.Notice = p.T(key)
	}
	keys, err := s.accounts.Passkeys(r.Context(), u)
	if err != nil {
		return p, err
	}
	rows := make([]passkeyRow, len(keys))
	for i, k := range keys {
		rows[i] = passkeyRow{ID: base64.RawURLEncoding.EncodeToString(k.ID), P: k}
	}
	p.Data["Passkeys"] = rows
	p.Data["PasskeyJS"] = true
	if len(keys) > 0 && !u.TwoFactor() {
		// Passkeys only: their recovery codes are told here (with the app,
		// on its page).
		left, err := s.accounts.RecoveryCodesLeft(r.Context(), u)
		p.Data["CodesLeft"] = left
		return p, err
	}
	return p, nil
}

func (s *Server) handlePasskeys(w http.ResponseWriter, r *http.Request) {
	p, err := s.passkeysPage(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "passkeys", p)
}

// handlePasskeyBegin checks the password, a second step the account has
// (account.Proof) and the name, then shows the page that asks the browser
// to make the passkey.
func (s *Server) handlePasskeyBegin(w http.ResponseWriter, r *http.Request) {
	p, err := s.passkeysPage(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := edge.ReadForm(w, r, "name", "current_password", "otp", "credential")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "passkeys", p)
		return
	}
	p.Values["name"] = f.Get("name")
	id, options, err := s.accounts.BeginPasskeyRegistration(r.Context(), p.User, s.cookie(r, sessionCookie), f.Get("name"), s.proofFrom(w, r, f), s.meta(r))
	if err != nil {
		s.render(w, s.applyError(w, p, err), "passkeys", p)
		return
	}
	s.setCookie(w, passkeyCookie, id, account.PasskeyCeremonyTTL)
	s.renderPasskeyCreate(w, r, http.StatusOK, f.Get("name"), options, nil)
}

// renderPasskeyCreate shows the step where the browser makes the passkey
// (the options in a data attribute, for passkey.js), or says why it failed.
func (s *Server) renderPasskeyCreate(w http.ResponseWriter, r *http.Request, status int, name string, options []byte, err error) {
	p := s.newPage(r, "", "passkey.create.title")
	p.Data["Name"] = name
	p.Data["Options"] = string(options)
	p.Data["PasskeyJS"] = true
	if err != nil {
		status = s.applyError(w, p, err)
	}
	s.render(w, status, "passkey_create", p)
}

// handlePasskeyFinish stores the passkey the browser made.
func (s *Server) handlePasskeyFinish(w http.ResponseWriter, r *http.Request) {
	f, err := edge.ReadForm(w, r, "name", "credential")
	if err != nil {
		s.renderPasskeyCreate(w, r, 0, "", nil, err)
		return
	}
	added, err := s.accounts.FinishPasskeyRegistration(r.Context(), userFrom(r), s.cookie(r, sessionCookie), s.cookie(r, passkeyCookie),
		f.Get("name"), []byte(f.Get("credential")), s.meta(r))
	s.clearCookie(w, passkeyCookie)
	if err != nil {
		s.renderPasskeyCreate(w, r, 0, f.Get("name"), nil, err)
		return
	}
	if added.Session != "" {
		// The first passkey ended every other session: this browser goes
		// on in a new one (set before the codes page, which it shows).
		s.startSession(w, added.Session)
	}
	if added.Codes != nil {
		s.renderPasskeyCodes(w, r, "passkey.codes.added", added.Codes)
		return
	}
	http.Redirect(w, r, "/account/passkeys?m=added", http.StatusSeeOther)
}

// confirmStep is the second step a form guarded by the account page's
// proof asks after the password (account.Proof): the authenticator's code
// (or a recovery code), and a button that confirms with one of the
// account's passkeys instead (template "confirm-step"). An account whose
// only second step is a passkey gets the button alone.
type confirmStep struct {
	Code    bool // the account has an authenticator app: its code field
	Passkey bool // the account has passkeys: the confirm button
	// Recovery: passkeys only, and recovery codes left: a recovery code
	// field, for a lost passkey (the form's own button sends it).
	Recovery bool
	// Name names the form (id Name-form), its button (Name-with-passkey)
	// and where the script says what failed (Name-error).
	Name    string
	Options string // where the button gets the ceremony's options
	Label   string // the button's words (a key)
	// Optional: the form makes changes that need no proof too (a name):
	// its own button stays beside the passkey's.
	Optional bool
}

// Plain says whether the form's own submit button is shown: the password
// alone, or with the code, can send it, or the change may need no proof.
func (c *confirmStep) Plain() bool { return c.Code || c.Recovery || !c.Passkey || c.Optional }

// confirm puts on p the second step the account of u (the one proving it
// is them) asks, for the form form; the button asks options for its
// ceremony. It returns the step (to make Optional).
func (s *Server) confirm(r *http.Request, p *page, u *airlock.User, name, options, label string, fields ...string) *confirmStep {
	c := &confirmStep{Code: u.TwoFactor(), Passkey: u.Passkeys > 0 && s.accounts.PasskeysOn(), Name: name, Options: options, Label: label}
	if !c.Code && u.Passkeys > 0 {
		// A lost passkey must not leave its owner unable to add another
		// or remove it: a recovery code is a second step too.
		left, err := s.accounts.RecoveryCodesLeft(r.Context(), u)
		c.Recovery = err == nil && left > 0
	}
	p.Data["Confirm"] = c
	if c.Passkey {
		p.Data["PasskeyJS"] = true
	}
	if c.Code || c.Recovery {
		fields = append(fields, "otp")
	}
	p.form(fields...)
	return c
}

// proofFrom reads the account page's proof from the form f: the password,
// the code, and a passkey's answer to this browser's ceremony (its cookie,
// cleared: a ceremony is answered once).
func (s *Server) proofFrom(w http.ResponseWriter, r *http.Request, f url.Values) account.Proof {
	p := account.Proof{Password: f.Get("current_password"), Code: f.Get("otp")}
	if c := f.Get("credential"); c != "" {
		p.Passkey = account.PasskeyAnswer{Ceremony: s.cookie(r, passkeyCookie), Response: []byte(c)}
		s.clearCookie(w, passkeyCookie)
	}
	return p
}

// confirmOptions begins, in this browser, the passkey that confirms the
// change action names (the script's request for the button's options).
func (s *Server) confirmOptions(action func(r *http.Request) account.Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.passkeyOptions(w, r, func() (string, []byte, error) {
			return s.accounts.BeginConfirm(r.Context(), userFrom(r), s.cookie(r, sessionCookie), action(r), s.meta(r))
		})
	}
}

// passkeyOf returns the user's passkey named by the path's id.
func (s *Server) passkeyOf(r *http.Request) (*airlock.Passkey, string, error) {
	raw := r.PathValue("id")
	id, err := base64.RawURLEncoding.DecodeString(raw)
	if err == nil {
		keys, err := s.accounts.Passkeys(r.Context(), userFrom(r))
		if err != nil {
			return nil, "", err
		}
		for _, k := range keys {
			if string(k.ID) == string(id) {
				return k, raw, nil
			}
		}
	}
	return nil, "", &airlock.Error{Code: airlock.CodeNotFound, Key: "error.passkey.not_found"}
}

// passkeyRemovePage asks for the password and a second step the account
// has: with an authenticator app, its code (or a recovery code) or a
// passkey; without one, a passkey (the one removed will do). The passkey
// confirms in the same form as the password: its button asks the browser,
// then sends the form with the answer.
func (s *Server) passkeyRemovePage(r *http.Request, k *airlock.Passkey, id string) *page {
	p := s.newPage(r, "", "passkey.remove.title")
	s.confirm(r, p, p.User, "remove", "/account/passkeys/"+id+"/remove/options", "passkey.remove.with_passkey_submit", "current_password")
	p.focusFirst = true
	p.Data["Passkey"] = k
	p.Data["ID"] = id
	return p
}

// handlePasskeyRemoveForm asks for the password and a second step before
// a passkey is removed.
func (s *Server) handlePasskeyRemoveForm(w http.ResponseWriter, r *http.Request) {
	k, id, err := s.passkeyOf(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "passkey_remove", s.passkeyRemovePage(r, k, id))
}

func (s *Server) handlePasskeyRemove(w http.ResponseWriter, r *http.Request) {
	k, id, err := s.passkeyOf(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := s.passkeyRemovePage(r, k, id)
	f, err := edge.ReadForm(w, r, "current_password", "otp", "credential")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "passkey_remove", p)
		return
	}
	err = s.accounts.RemovePasskey(r.Context(), p.User, s.cookie(r, sessionCookie), k.ID, s.proofFrom(w, r, f), s.meta(r))
	if err != nil {
		s.render(w, s.applyError(w, p, err), "passkey_remove", p)
		return
	}
	http.Redirect(w, r, "/account/passkeys?m=removed", http.StatusSeeOther)
}

// handlePasskeyRemoveOptions begins the passkey that confirms a removal,
// in this browser.
func (s *Server) handlePasskeyRemoveOptions(w http.ResponseWriter, r *http.Request) {
	k, _, err := s.passkeyOf(r)
	if err != nil {
		s.passkeyJSONError(w, r, err)
		return
	}
	s.passkeyOptions(w, r, func() (string, []byte, error) {
		return s.accounts.BeginPasskeyRemoval(r.Context(), userFrom(r), s.cookie(r, sessionCookie), k.ID, s.meta(r))
	})
}

// passkeyOptions answers a script's request for a ceremony's options
// (JSON), the ceremony's id in this browser's cookie; or an error, in the
// reader's language.
func (s *Server) passkeyOptions(w http.ResponseWriter, r *http.Request, begin func() (string, []byte, error)) {
	if _, err := edge.ReadForm(w, r); err != nil {
		s.passkeyJSONError(w, r, err)
		return
	}
	id, options, err := begin()
	if err != nil {
		s.passkeyJSONError(w, r, err)
		return
	}
	s.setCookie(w, passkeyCookie, id, account.PasskeyCeremonyTTL)
	w.Header().Set("Content-Type", "application/json")
	w.Write(options)
}

func (s *Server) passkeyJSONError(w http.ResponseWriter, r *http.Request, err error) {
	p := s.newPage(r, "", "error.title")
	status := s.applyError(w, p, err)
	msg := p.Error
	for _, v := range p.FieldErrors {
		msg = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "status": strconv.Itoa(status)})
}

// handlePasskeySignInOptions begins a sign-in with a passkey, no password.
func (s *Server) handlePasskeySignInOptions(w http.ResponseWriter, r *http.Request) {
	s.passkeyOptions(w, r, func() (string, []byte, error) { return s.accounts.BeginPasskeySignIn(r.Context(), s.meta(r)) })
}

// handlePasskeySignIn signs in with the passkey the browser gave.
func (s *Server) handlePasskeySignIn(w http.ResponseWriter, r *http.Request) {
	p := s.newLoginPage(r, "")
	f, err := edge.ReadForm(w, r, "credential", "next")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "login", p)
		return
	}
	next := returnTo(f.Get("next"))
	p.Data["Next"] = next
	u, sid, err := s.accounts.FinishPasskeySignIn(r.Context(), s.cookie(r, passkeyCookie), []byte(f.Get("credential")), s.meta(r))
	s.clearCookie(w, passkeyCookie)
	if err != nil {
		s.render(w, s.applyError(w, p, err), "login", p)
		return
	}
	s.signedIn(w, r, u, sid, next)
}

// handlePasskeyStepOptions begins the second step with a passkey, for the
// half-signed-in state of this browser.
func (s *Server) handlePasskeyStepOptions(w http.ResponseWriter, r *http.Request) {
	s.passkeyOptions(w, r, func() (string, []byte, error) {
		return s.accounts.BeginPasskeyStep(r.Context(), s.cookie(r, twoFactorCookie), s.meta(r))
	})
}

// handlePasskeyStep finishes a sign-in with a passkey after the password.
func (s *Server) handlePasskeyStep(w http.ResponseWriter, r *http.Request) {
	s.completeSecondStep(w, r, "credential", func(challenge string, f url.Values) (*airlock.User, string, string, error) {
		defer s.clearCookie(w, passkeyCookie) // a ceremony is answered once
		return s.accounts.CompleteSignInWithPasskey(r.Context(), challenge, s.cookie(r, passkeyCookie), []byte(f.Get("credential")), s.meta(r))
	})
}

// handleResetPasskeyOptions begins the second step of this browser's reset
// link with a passkey.
func (s *Server) handleResetPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	s.passkeyOptions(w, r, func() (string, []byte, error) {
		return s.accounts.BeginLinkPasskey(r.Context(), s.resetLink(r), s.meta(r))
	})
}

// handleResetPasskey takes a reset link's second step with a passkey, then
// asks for the new password.
func (s *Server) handleResetPasskey(w http.ResponseWriter, r *http.Request) {
	link := s.resetLink(r)
	f, err := edge.ReadForm(w, r, "credential")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if s.cookie(r, resetCookie) == "" {
		s.renderInvalidLink(w, r, account.TokenUnknown, "")
		return
	}
	u, err := s.accounts.VerifyLinkPasskey(r.Context(), link, s.cookie(r, passkeyCookie), []byte(f.Get("credential")), s.meta(r))
	s.clearCookie(w, passkeyCookie)
	if err != nil {
		if u == nil {
			s.resetFailed(w, r, err, "")
			return
		}
		_, purpose, cerr := s.accounts.CheckLink(r.Context(), link, s.meta(r))
		if cerr != nil {
			s.resetFailed(w, r, cerr, purpose)
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
}
