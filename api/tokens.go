package api

// Sign-in, refresh and sign-out of the apps (OAuth 2.0 password and
// refresh_token grants, RFC 7009 revocation).

import (
	"net/http"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// tokenRequest is the body of POST /auth/token, as JSON or as an OAuth
// form. client_id and scope are accepted and ignored, as OAuth clients send them.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	Username     string `json:"username"`
	Password     string `json:"password"`
	RefreshToken string `json:"refresh_token"`
	ClientID     string `json:"client_id"`
	Scope        string `json:"scope"`
	// OTP is the code of an account with two-step sign-in (from the
	// authenticator app, or a recovery code).
	OTP string `json:"otp"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	// Client authentication, a client_id in the body or HTTP Basic, proves
	// nothing: the apps are public clients (RFC 6749 §2.1); the user's
	// password or refresh token does. The password grant reads the
	// client_id only to know whether that application may still use it.
	var req tokenRequest
	var err error
	switch edge.MediaType(r) {
	case "application/x-www-form-urlencoded":
		err = edge.ReadOAuthForm(w, r, map[string]*string{"grant_type": &req.GrantType, "username": &req.Username, "password": &req.Password,
			"refresh_token": &req.RefreshToken, "client_id": &req.ClientID, "scope": &req.Scope, "otp": &req.OTP})
	default:
		err = edge.ReadJSON(w, r, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var t *account.Tokens
	switch req.GrantType {
	case "password":
		if req.Username == "" || req.Password == "" || req.RefreshToken != "" {
			s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Key: "error.api.password_grant"})
			return
		}
		m := s.meta(r)
		// The client_id only says which application asks, and so whether
		// it may still use this grant; the password is what proves anything.
		m.ClientID = req.ClientID
		if id, _, ok := r.BasicAuth(); ok && m.ClientID == "" {
			m.ClientID = id
		}
		t, err = s.accounts.SignInAPI(r.Context(), req.Username, req.Password, req.OTP, m)
	case "refresh_token":
		if req.RefreshToken == "" || req.Username != "" || req.Password != "" || req.OTP != "" {
			s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Key: "error.api.refresh_grant"})
			return
		}
		t, err = s.accounts.Refresh(r.Context(), req.RefreshToken, s.meta(r))
	default:
		err = &airlock.Error{Code: airlock.CodeInvalid, Field: "grant_type", Key: "error.api.grant_type"}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: t.AccessToken, TokenType: "Bearer",
		ExpiresIn: int(t.ExpiresIn / time.Second), RefreshToken: t.RefreshToken})
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	// As on the token endpoint, a public client's client_id (RFC 7009 §2.1)
	// is accepted and ignored: the token itself is what is revoked.
	var req struct {
		Token         string `json:"token"`
		TokenTypeHint string `json:"token_type_hint"`
		ClientID      string `json:"client_id"`
	}
	var err error
	if edge.MediaType(r) == "application/x-www-form-urlencoded" {
		err = edge.ReadOAuthForm(w, r, map[string]*string{"token": &req.Token, "token_type_hint": &req.TokenTypeHint, "client_id": &req.ClientID})
	} else {
		err = edge.ReadJSON(w, r, &req)
	}
	if err == nil && req.Token == "" {
		err = &airlock.Error{Code: airlock.CodeInvalid, Field: "token", Key: "error.api.token_missing"}
	}
	if err == nil {
		err = s.accounts.RevokeAPIToken(r.Context(), req.Token, s.meta(r))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// RFC 7009: the answer is the same whether the token was known or not.
	writeJSON(w, http.StatusOK, map[string]string{"status": "revoked"})
}
