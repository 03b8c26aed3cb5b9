package api

// The administrators' users: list, create, read, change, set a password.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// queryInt reads an optional positive integer query parameter.
func queryInt(q url.Values, name string, def, maxV int) (int, error) {
	vs, ok := q[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(vs[0])
	if len(vs) != 1 || err != nil || n < 1 || n > maxV {
		return 0, &airlock.Error{Code: airlock.CodeInvalid, Field: name, Key: "error.api.query_number", Args: []any{name, maxV}}
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
			s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Field: "group", Key: "error.api.group_filter"})
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
		s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Field: "active", Key: "error.api.active_filter"})
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
		s.fail(w, r, &airlock.Error{Code: airlock.CodeInvalid, Field: "password", Key: "error.api.password_missing"})
		return
	}
	temporary := req.Temporary == nil || *req.Temporary
	if err := s.accounts.AdminSetPassword(r.Context(), userFrom(r), r.PathValue("id"), req.Password, req.CurrentPassword, temporary, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
