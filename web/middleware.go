package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// csp allows our own stylesheets, images and scripts (static/app.js: show
// password, the live password checklist; static/webauthn.js: passkeys;
// every page works without them), the scripts' requests to ourselves only
// (a passkey ceremony's options), and nothing else: no inline script or
// style, no third-party resources, no framing, forms only to ourselves.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// cspFormTo is csp whose forms may also end at source. Chrome and Safari
// check form-action against every redirect that follows a submission, so
// a sign-in form whose redirects end at an application needs it.
func cspFormTo(source string) string {
	return strings.Replace(csp, "form-action 'self'", "form-action 'self' "+source, 1)
}

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Reset pages hold a token: no Referer may carry it away, no cache may keep it.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs each request by its route pattern and path only: the
// query string may hold a reset token and is never logged.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.log.Debug("http", "method", r.Method, "path", edge.LogPath(r), "status", sw.status, "ms", time.Since(start).Milliseconds())
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "path", edge.LogPath(r), "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// strictURL answers a 400 page when the path or the query string is not
// safe text (a NUL, invalid UTF-8, a malformed query), before any handler
// reads it: a NUL in a search would otherwise reach the database.
func (s *Server) strictURL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := edge.CheckURL(r); err != nil {
			s.renderError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) meta(r *http.Request) account.Meta {
	m := account.Meta{IP: edge.ClientIP(r, s.cfg.TrustedProxies), UserAgent: r.UserAgent(), Language: s.lang(r)}
	if u := userFrom(r); u != nil {
		m.ActorID = u.ID
	}
	return m
}

// requireUser lets signed-in users through to a page anyone signed in may
// reach, and sends others to /login.
func (s *Server) requireUser(next http.HandlerFunc) http.Handler {
	return s.requireUserFor(account.ReachAll, next)
}

// requireUserFor lets signed-in users through to a page of reach (the
// temporary password's change, the two-step enrolment, or ReachAll): one
// who may reach only another page is sent there (account.Reach decides).
func (s *Server) requireUserFor(reach account.Reach, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.authenticate(r)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if u == nil {
			// Back to this page after signing in (a deep link kept).
			http.Redirect(w, r, loginURL(r), http.StatusSeeOther)
			return
		}
		switch may := s.accounts.Reach(u); {
		case may == account.ReachAll || may == reach:
			next(w, r.WithContext(context.WithValue(r.Context(), userKey, u)))
		case may == account.ReachPasswordChange:
			dest := "/account/password"
			if r.Method == http.MethodGet && r.URL.Path != "/account" {
				dest = passwordURL(r.URL.RequestURI()) // back here once changed
			}
			http.Redirect(w, r, dest, http.StatusSeeOther)
		default:
			http.Redirect(w, r, "/account/two-factor", http.StatusSeeOther)
		}
	})
}
