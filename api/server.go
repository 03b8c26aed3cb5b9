// Package api serves the JSON API v1 used by the mobile apps and by
// integrations. Handlers decode requests and call account; openapi.json
// describes every route and is checked against the tests' traffic.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// OpenAPI is the OpenAPI 3.1 description of this API.
//
//go:embed openapi.json
var OpenAPI []byte

// Config holds what the API needs to know about its deployment.
type Config struct {
	Servers        []airlock.Server
	TrustedProxies []netip.Prefix
}

// Server is the JSON API.
type Server struct {
	log      *slog.Logger
	cfg      Config
	accounts *account.Service
}

// NewServer returns the API handler, to be mounted at /api/.
func NewServer(log *slog.Logger, cfg Config, accounts *account.Service) http.Handler {
	// A copy: the directory answers with each server's issuer, its URL's
	// by default.
	servers := make([]airlock.Server, len(cfg.Servers))
	for i, sv := range cfg.Servers {
		if sv.Issuer == "" {
			sv.Issuer = airlock.DefaultIssuer(sv.URL)
		}
		servers[i] = sv
	}
	cfg.Servers = servers
	s := &Server{log: log, cfg: cfg, accounts: accounts}
	return s.routes()
}

func (s *Server) meta(r *http.Request) account.Meta {
	return account.Meta{IP: edge.ClientIP(r, s.cfg.TrustedProxies), UserAgent: r.UserAgent()}
}

type ctxKey int

const userKey ctxKey = iota

func userFrom(r *http.Request) *airlock.User {
	u, _ := r.Context().Value(userKey).(*airlock.User)
	return u
}

// authed requires a valid access token, for a call anyone signed in may
// make.
func (s *Server) authed(next http.HandlerFunc) http.HandlerFunc {
	return s.authedFor(account.ReachAll, next)
}

// authedFor requires a valid access token, for a call of reach: a user
// who may reach only another (account.Reach) is refused, saying which: a
// temporary password must be changed first (password_change_required),
// the enrolment their groups require made on the web (two_factor_enrolment).
func (s *Server) authedFor(reach account.Reach, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The scheme name is case-insensitive (RFC 9110 §11.1).
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || len(r.Header.Values("Authorization")) != 1 {
			s.fail(w, r, &airlock.Error{Code: airlock.CodeUnauthorized, Key: "error.api.bearer_missing"})
			return
		}
		u, err := s.accounts.AuthenticateAPI(r.Context(), strings.TrimSpace(token))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch may := s.accounts.Reach(u); {
		case may == account.ReachAll || may == reach:
			next(w, r.WithContext(context.WithValue(r.Context(), userKey, u)))
		case may == account.ReachPasswordChange:
			writeErr(w, http.StatusForbidden, errorDetail{Code: codePasswordChangeRequired, Message: english("error.api.password_change_required")})
		default:
			// The API has no enrolment: it is made on the web.
			s.fail(w, r, &airlock.Error{Code: airlock.CodeForbidden, Detail: "two_factor_enrolment", Key: "error.two_factor.enrol_first"})
		}
	}
}

// admin requires an access token of an administrator (SPEC §6.10).
func (s *Server) admin(next http.HandlerFunc) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request) {
		if !userFrom(r).HasGroup(airlock.GroupAdmin) {
			s.fail(w, r, &airlock.Error{Code: airlock.CodeForbidden, Key: "error.admin_only"})
			return
		}
		next(w, r)
	})
}

// onlyQuery answers 400 invalid_request to a query parameter that is not
// one of names, or one repeated.
func (s *Server) onlyQuery(names []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := edge.CheckQuery(r, names...); err != nil {
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// strictURL answers 400 invalid_request when the path or the query string
// is not safe text (a NUL, invalid UTF-8, a malformed query), before the
// operation's handler reads it: a NUL in a search would otherwise reach
// the database. Unknown routes and methods still answer 404 and 405.
func (s *Server) strictURL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := edge.CheckURL(r); err != nil {
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// apiHeaders are set on every API answer, in canonical form.
var apiHeaders = http.Header{
	// Answers hold tokens and personal data: no cache may keep them.
	"Cache-Control":           {"no-store"},
	"Pragma":                  {"no-cache"},
	"X-Content-Type-Options":  {"nosniff"},
	"Referrer-Policy":         {"no-referrer"},
	"Content-Security-Policy": {"default-src 'none'; frame-ancestors 'none'"},
}

// common sets the headers of every API answer, turns a panic into a 500,
// and logs each request without its query string.
func (s *Server) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		for k, v := range apiHeaders {
			h[k] = v // shared, never changed: Header.Set replaces, never writes into them
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "path", edge.LogPath(r), "panic", v)
				writeErr(w, http.StatusInternalServerError, errorDetail{Code: codeInternal, Message: english("error.internal")})
			}
			if s.log.Enabled(r.Context(), slog.LevelDebug) { // the arguments cost even when not logged
				s.log.Debug("api", "method", r.Method, "path", edge.LogPath(r), "ms", time.Since(start).Milliseconds())
			}
		}()
		next.ServeHTTP(w, r)
	})
}
