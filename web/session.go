package web

import (
	"net/http"
	"time"

	"github.com/airlockhq/airlock"
)

// Cookie names get the __Host- prefix over HTTPS, which pins them to this
// host and path / and requires Secure.
func (s *Server) cookieName(base string) string {
	if s.secure {
		return "__Host-" + base
	}
	return base
}

func (s *Server) setCookie(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(base), Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearCookie(w http.ResponseWriter, base string) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(base), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) cookie(r *http.Request, base string) string {
	c, err := r.Cookie(s.cookieName(base))
	if err != nil {
		return ""
	}
	return c.Value
}

const (
	sessionCookie = "airlock_session"
	resetCookie   = "airlock_reset"
	// offerCookie holds, for a few minutes after a reset, the email the
	// sign-in page offers.
	offerCookie = "airlock_signin_email"
	// askedCookie holds when this browser's last forgot requests were
	// accepted (Unix seconds): the page says when it may ask again, from
	// the browser's own requests, so it tells nothing about any account.
	askedCookie = "airlock_asked"
	// flowCookie holds the flow id of this browser's last forgot request:
	// the code from its email is typed here, in the browser that asked.
	flowCookie = "airlock_flow"
)

// currentUser returns the signed-in user, or nil.
func (s *Server) currentUser(r *http.Request) *airlock.User {
	u, _ := s.authenticate(r)
	return u
}

// authenticate returns the signed-in user, nil for a visitor without a
// working session, or the error that kept it from telling (the database
// is unavailable): such a visitor must get a 503, not the sign-in page.
func (s *Server) authenticate(r *http.Request) (*airlock.User, error) {
	sid := s.cookie(r, sessionCookie)
	if sid == "" {
		return nil, nil
	}
	u, err := s.accounts.Authenticate(r.Context(), sid)
	switch {
	case err == nil:
		return u, nil
	case airlock.ErrorCode(err) == airlock.CodeUnauthorized:
		return nil, nil
	case airlock.ErrorCode(err) != airlock.CodeUnavailable:
		s.log.Error("authenticate", "err", err)
	}
	return nil, err
}

func (s *Server) startSession(w http.ResponseWriter, sid string) {
	s.setCookie(w, sessionCookie, sid, s.accounts.Config().SessionAbsolute)
}
