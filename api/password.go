package api

// The forgotten-password flow: the request, and the new password with the
// link's token or with the request's flow and the code from the email.

import (
	"net/http"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

func (s *Server) handleForgot(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string `json:"email"`
	}
	if err := edge.ReadJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	m := s.meta(r)
	m.App = true // the link's page will offer "Return to the app"
	// Same answer and timing whatever the account (SPEC §6.1).
	flow, err := s.accounts.RequestReset(r.Context(), req.Email, m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeFlow(w, flow)
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
		// Flow and Code stand for the link: the flow id the forgot request
		// was answered with, and the code from its email.
		Flow     string `json:"flow"`
		Code     string `json:"code"`
		Password string `json:"password"`
		// OTP is needed when the account has two-step sign-in: the link alone
		// (a mailbox) does not change its password.
		OTP string `json:"otp"`
	}
	if err := edge.ReadJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	byToken, byCode := req.Token != "", req.Flow != "" || req.Code != ""
	if byToken == byCode || byCode && (req.Flow == "" || req.Code == "") || req.Password == "" {
		// One way to name the link, whole, and a password.
		s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Key: "error.api.reset_fields"})
		return
	}
	link := account.ByToken(req.Token)
	if byCode {
		link = account.ByCode(req.Flow, req.Code)
	}
	if _, _, err := s.accounts.CompleteLink(r.Context(), link, req.Password, req.OTP, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
