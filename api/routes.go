package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/airlockhq/airlock/account"
)

// routes lists every route of the API. Each path also answers other
// methods with a JSON 405, and unknown paths with a JSON 404.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// handle serves path; query names the query parameters its GET takes
	// (any other, on any method, is refused).
	handle := func(path string, byMethod map[string]http.HandlerFunc, query ...string) {
		methods := make([]string, 0, len(byMethod))
		for m, h := range byMethod {
			names := query
			if m != http.MethodGet {
				names = nil
			}
			mux.Handle(m+" "+path, s.strictURL(s.onlyQuery(names, h)))
			methods = append(methods, m)
		}
		slices.Sort(methods)
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeErr(w, http.StatusMethodNotAllowed, errorDetail{Code: codeMethodNotAllowed, Message: english("error.api.method", strings.Join(methods, " or "))})
		})
	}

	handle("/api/v1/servers", map[string]http.HandlerFunc{"GET": s.handleServers})
	handle("/api/v1/openapi.json", map[string]http.HandlerFunc{"GET": s.handleOpenAPI})

	handle("/api/v1/auth/token", map[string]http.HandlerFunc{"POST": s.handleToken})
	handle("/api/v1/auth/revoke", map[string]http.HandlerFunc{"POST": s.handleRevoke})

	handle("/api/v1/me", map[string]http.HandlerFunc{"GET": s.authed(s.handleMe)})
	handle("/api/v1/me/password", map[string]http.HandlerFunc{"POST": s.authedFor(account.ReachPasswordChange, s.handleMePassword)})

	handle("/api/v1/password/forgot", map[string]http.HandlerFunc{"POST": s.handleForgot})
	handle("/api/v1/password/reset", map[string]http.HandlerFunc{"POST": s.handleReset})

	handle("/api/v1/users", map[string]http.HandlerFunc{"GET": s.admin(s.handleListUsers), "POST": s.admin(s.handleCreateUser)},
		"q", "page", "per_page", "group", "active")
	handle("/api/v1/users/{id}", map[string]http.HandlerFunc{"GET": s.admin(s.handleGetUser), "PATCH": s.admin(s.handleUpdateUser)})
	handle("/api/v1/users/{id}/password", map[string]http.HandlerFunc{"POST": s.admin(s.handleSetUserPassword)})
	handle("/api/v1/users/{id}/reset-email", map[string]http.HandlerFunc{"POST": s.admin(s.adminAction(s.accounts.AdminSendReset, http.StatusAccepted))})
	handle("/api/v1/users/{id}/two-factor/reset", map[string]http.HandlerFunc{"POST": s.admin(s.adminAction(s.accounts.AdminResetTwoFactor, http.StatusNoContent))})
	handle("/api/v1/users/{id}/passkeys/remove", map[string]http.HandlerFunc{"POST": s.admin(s.adminAction(s.accounts.AdminRemovePasskeys, http.StatusNoContent))})
	handle("/api/v1/users/{id}/invite", map[string]http.HandlerFunc{"POST": s.admin(s.adminAction(s.accounts.AdminInvite, http.StatusAccepted))})
	handle("/api/v1/users/{id}/emails", map[string]http.HandlerFunc{"GET": s.admin(s.handleUserEmails)}, "state")

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, errorDetail{Code: codeNotFound, Message: english("error.api.no_route")})
	})
	return s.common(mux)
}
