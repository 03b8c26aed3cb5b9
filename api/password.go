package api

// The forgotten-password flow: the request, and the new password with the
// link's token.

import (
	"net/http"

	"github.com/airlockhq/airlock"
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
	if err := s.accounts.RequestReset(r.Context(), req.Email, m); err != nil {
		s.fail(w, r, err)
		return
	}
	writeAccepted(w)
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
		// OTP is needed when the account has two-step sign-in: the link alone
		// (a mailbox) does not change its password.
		OTP string `json:"otp"`
	}
	if err := edge.ReadJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Token == "" || req.Password == "" {
		s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Key: "error.api.reset_fields"})
		return
	}
	if _, _, err := s.accounts.CompleteLink(r.Context(), req.Token, req.Password, req.OTP, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
