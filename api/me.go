package api

// The signed-in user's own profile and password.

import (
	"net/http"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// userJSON is a user in the API, with the back office form's field names.
type userJSON struct {
	ID                 string    `json:"id"`
	Email              string    `json:"email"`
	FirstName          string    `json:"first_name"`
	LastName           string    `json:"last_name"`
	Language           string    `json:"language"`
	Active             bool      `json:"active"`
	Groups             []string  `json:"groups"`
	MustChangePassword bool      `json:"must_change_password"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	// Invitation is "invited" or "invitation_expired" for a user who was
	// invited and has not chosen a password; absent otherwise.
	Invitation string     `json:"invitation,omitempty"`
	InvitedAt  *time.Time `json:"invited_at,omitempty"`
	// TwoFactor says whether the user signs in in two steps.
	TwoFactor bool `json:"two_factor"`
	// Passkeys is how many passkeys the user has.
	Passkeys int `json:"passkeys"`
}

func (s *Server) toJSON(u *airlock.User) userJSON {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	j := userJSON{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Language: u.Language,
		Active: u.Active, Groups: groups, MustChangePassword: u.MustChangePassword, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		TwoFactor: u.TwoFactor(), Passkeys: u.Passkeys}
	if j.Invitation = s.accounts.InvitationState(u); j.Invitation != "" {
		j.InvitedAt = &u.InvitedAt
	}
	return j
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.toJSON(userFrom(r)))
}

func (s *Server) handleMePassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CurrentPassword string `json:"current_password"`
		Password        string `json:"password"`
		// OTP is the second step the account has: a code from the
		// authenticator app, or a recovery code. A passkey only a browser
		// gives: the account page's (a token carries no ceremony).
		OTP string `json:"otp"`
	}
	if err := edge.ReadJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Password == "" {
		s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Field: "password", Key: "error.api.password_missing"})
		return
	}
	// Every token of the user, this one included, stops working: the app
	// signs in again with the new password.
	if _, err := s.accounts.ChangePassword(r.Context(), userFrom(r), "", req.Password, account.Proof{Password: req.CurrentPassword, Code: req.OTP}, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
