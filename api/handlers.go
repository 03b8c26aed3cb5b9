package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

func (s *Server) handleServers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"servers": s.cfg.Servers})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(OpenAPI)
}

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
	// Client authentication, a client_id in the body or HTTP Basic, is
	// accepted and ignored: the apps are public clients (RFC 6749 §2.1), so
	// it would prove nothing; the user's password or refresh token does.
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
			s.fail(w, r, invalid("The password grant takes username and password."))
			return
		}
		t, err = s.accounts.SignInAPI(r.Context(), req.Username, req.Password, req.OTP, s.meta(r))
	case "refresh_token":
		if req.RefreshToken == "" || req.Username != "" || req.Password != "" || req.OTP != "" {
			s.fail(w, r, invalid("The refresh_token grant takes refresh_token only."))
			return
		}
		t, err = s.accounts.Refresh(r.Context(), req.RefreshToken, s.meta(r))
	default:
		err = &airlock.Error{Code: airlock.CodeInvalid, Field: "grant_type", Message: "grant_type must be password or refresh_token."}
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
		err = &airlock.Error{Code: airlock.CodeInvalid, Field: "token", Message: "Send the token to revoke."}
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
}

func (s *Server) toJSON(u *airlock.User) userJSON {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	j := userJSON{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Language: u.Language,
		Active: u.Active, Groups: groups, MustChangePassword: u.MustChangePassword, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		TwoFactor: u.TwoFactor()}
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
	}
	if err := edge.ReadJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Password == "" {
		s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Field: "password", Message: "Send the new password."})
		return
	}
	// Every token of the user, this one included, stops working: the app
	// signs in again with the new password.
	if _, err := s.accounts.ChangePassword(r.Context(), userFrom(r), req.CurrentPassword, req.Password, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

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
		s.fail(w, r, invalid("Send token and password."))
		return
	}
	if _, _, err := s.accounts.CompleteLink(r.Context(), req.Token, req.Password, req.OTP, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// queryInt reads an optional positive integer query parameter.
func queryInt(q url.Values, name string, def, maxV int) (int, error) {
	vs, ok := q[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(vs[0])
	if len(vs) != 1 || err != nil || n < 1 || n > maxV {
		return 0, &airlock.Error{Code: airlock.CodeInvalid, Field: name, Message: name + " must be a number from 1 to " + strconv.Itoa(maxV) + "."}
	}
	return n, nil
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := queryInt(q, "page", 1, 100000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	perPage, err := queryInt(q, "per_page", 25, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := airlock.UserFilter{Query: strings.TrimSpace(q.Get("q")), Limit: perPage, Offset: (page - 1) * perPage}
	if g := q.Get("group"); g != "" {
		if !airlock.ValidGroup(g) {
			s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Field: "group", Message: "Unknown group."})
			return
		}
		f.Group = g
	}
	switch q.Get("active") {
	case "":
	case "true":
		f.Active = ptr(true)
	case "false":
		f.Active = ptr(false)
	default:
		s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Field: "active", Message: "active must be true or false."})
		return
	}
	users, total, err := s.accounts.AdminListUsers(r.Context(), userFrom(r), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = s.toJSON(u)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "total": total})
}

func ptr[T any](v T) *T { return &v }

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email     string   `json:"email"`
		FirstName string   `json:"first_name"`
		LastName  string   `json:"last_name"`
		Language  string   `json:"language"`
		Groups    []string `json:"groups"`
		Password  string   `json:"password"`
		Temporary *bool    `json:"temporary"`
		// Invite sends a welcome email to choose a first password.
		Invite bool `json:"invite"`
	}
	if err := edge.ReadJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	temporary := req.Temporary == nil || *req.Temporary // temporary unless said otherwise
	u, err := s.accounts.AdminCreateUser(r.Context(), userFrom(r), account.NewUser{Email: req.Email, FirstName: req.FirstName,
		LastName: req.LastName, Language: req.Language, Groups: req.Groups, Password: req.Password, Temporary: temporary,
		Invite: req.Invite}, s.meta(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+url.PathEscape(u.ID))
	writeJSON(w, http.StatusCreated, s.toJSON(u))
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.accounts.AdminGetUser(r.Context(), userFrom(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toJSON(u))
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	// PATCH changes only the fields it names.
	var req struct {
		Email     *string   `json:"email"`
		FirstName *string   `json:"first_name"`
		LastName  *string   `json:"last_name"`
		Language  *string   `json:"language"`
		Active    *bool     `json:"active"`
		Groups    *[]string `json:"groups"`
		// CurrentPassword, and OTP with two-step sign-in, prove it is them
		// when administrators change their own email address or groups.
		CurrentPassword string `json:"current_password"`
		OTP             string `json:"otp"`
	}
	if err := edge.ReadJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.accounts.AdminUpdateUser(r.Context(), userFrom(r), r.PathValue("id"), account.UserChanges{Email: req.Email,
		FirstName: req.FirstName, LastName: req.LastName, Language: req.Language, Active: req.Active, Groups: req.Groups,
		CurrentPassword: req.CurrentPassword, OTP: req.OTP}, s.meta(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toJSON(u))
}

func (s *Server) handleSetUserPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password  string `json:"password"`
		Temporary *bool  `json:"temporary"`
		// CurrentPassword is required when administrators set their own.
		CurrentPassword string `json:"current_password"`
	}
	if err := edge.ReadJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Password == "" {
		s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Field: "password", Message: "Send the new password."})
		return
	}
	temporary := req.Temporary == nil || *req.Temporary
	if err := s.accounts.AdminSetPassword(r.Context(), userFrom(r), r.PathValue("id"), req.Password, req.CurrentPassword, temporary, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSendResetEmail(w http.ResponseWriter, r *http.Request) {
	// The body, if any, must be empty or {}.
	body, err := edge.ReadBody(w, r)
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		var empty struct{}
		err = edge.DecodeJSON(body, &empty)
	}
	if err == nil {
		err = s.accounts.AdminSendReset(r.Context(), userFrom(r), r.PathValue("id"), s.meta(r))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeAccepted(w)
}

// emailJSON is one email of a user's outbox and its history.
type emailJSON struct {
	ID            int64      `json:"id"`
	Kind          string     `json:"kind"`
	State         string     `json:"state"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	Problem       string     `json:"problem,omitempty"`
	ServerReply   string     `json:"server_reply,omitempty"`
	MessageID     string     `json:"message_id,omitempty"`
}

func (s *Server) handleUserEmails(w http.ResponseWriter, r *http.Request) {
	u, err := s.accounts.AdminGetUser(r.Context(), userFrom(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := airlock.EmailFilter{UserID: u.ID, State: r.URL.Query().Get("state"), Limit: 50}
	emails, err := s.accounts.AdminListEmails(r.Context(), userFrom(r), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]emailJSON, len(emails))
	for i, j := range emails {
		e := emailJSON{ID: j.ID, Kind: j.EmailKind, State: j.State, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
			Attempts: j.Attempts, Problem: account.DeliveryProblem(j), MessageID: j.MessageID}
		switch j.State {
		case airlock.EmailSent:
			e.SentAt, e.ServerReply = &j.SentAt, j.Reply
		case airlock.EmailDeferred:
			e.NextAttemptAt, e.ServerReply = &j.RunAt, j.LastError
		case airlock.EmailFailed:
			e.ServerReply = j.LastError
		}
		out[i] = e
	}
	writeJSON(w, http.StatusOK, map[string]any{"emails": out})
}

func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request) {
	// The body, if any, must be empty or {}.
	body, err := edge.ReadBody(w, r)
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		var empty struct{}
		err = edge.DecodeJSON(body, &empty)
	}
	if err == nil {
		err = s.accounts.AdminInvite(r.Context(), userFrom(r), r.PathValue("id"), s.meta(r))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeAccepted(w)
}

func (s *Server) handleResetTwoFactor(w http.ResponseWriter, r *http.Request) {
	body, err := edge.ReadBody(w, r)
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		var empty struct{}
		err = edge.DecodeJSON(body, &empty)
	}
	if err == nil {
		err = s.accounts.AdminResetTwoFactor(r.Context(), userFrom(r), r.PathValue("id"), s.meta(r))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
