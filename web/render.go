package web

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/i18n"
	"github.com/airlockhq/airlock/password"
)

// page is what every template receives.
type page struct {
	Lang  string
	Title string
	// Brand is the product's name (AIRLOCK_BRAND_NAME).
	Brand       string
	User        *airlock.User
	Notice      string
	Error       string
	FieldErrors map[string]string
	Reasons     []string
	Values      map[string]string
	// AppURL is the operator's "Return to the app" target. It is trusted:
	// it comes from configuration, where javascript: and data: are refused.
	AppURL template.URL
	Data   map[string]any
}

// T translates key into the page's language.
func (p *page) T(key string, args ...any) string { return T(p.Lang, key, args...) }

// Has reports whether list holds v (ticked checkboxes).
func (p *page) Has(list []string, v string) bool { return slices.Contains(list, v) }

// Time formats a time for the pages, in UTC.
func (p *page) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// IsAdmin reports whether the signed-in user administers users.
func (p *page) IsAdmin() bool { return p.User != nil && p.User.HasGroup(airlock.GroupAdmin) }

// Problem says why a line of an imported file was refused, in the page's
// language.
func (p *page) Problem(ip account.ImportProblem) string {
	if ip.Key != "" && i18n.Messages().Has(p.Lang, ip.Key) {
		return p.T(ip.Key, ip.Args...)
	}
	return ip.Reason
}

// FieldError returns the error shown under a field.
func (p *page) FieldError(name string) string { return p.FieldErrors[name] }

// Value returns a field's submitted value (never a password).
func (p *page) Value(name string) string { return p.Values[name] }

func (s *Server) newPage(r *http.Request, lang, titleKey string) *page {
	if lang == "" {
		lang = s.lang(r)
	}
	return &page{Lang: lang, Title: T(lang, titleKey), Brand: s.brand.Name, User: userFrom(r), FieldErrors: map[string]string{},
		Values: map[string]string{}, Data: map[string]any{}}
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) {
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.Lang)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// applyError shows err on the page and returns the status to answer with.
// Errors without a code are logged in full and shown as a generic message.
func (s *Server) applyError(w http.ResponseWriter, p *page, err error) int {
	e := airlock.AsError(err)
	if e == nil {
		switch {
		case errors.Is(err, context.Canceled):
			// The client went away: nothing failed on our side, and an
			// attacker hanging up must not fill the error log.
			s.log.Debug("request abandoned by the client", "err", err)
		case !errors.Is(err, http.ErrAbortHandler):
			s.log.Error("request failed", "err", err)
		}
		p.Error = p.T("error.internal")
		return http.StatusInternalServerError
	}
	// Shown in the page's language, by the error's key.
	text := errorText(p.Lang, e)
	switch e.Code {
	case airlock.CodeRateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
		p.Error = text
		if e.Key == "" {
			p.Error = p.T("error.rate_limited")
		}
		return http.StatusTooManyRequests
	case airlock.CodeUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(e.RetryAfter/time.Second))))
		p.Error = p.T("error.busy")
		return http.StatusServiceUnavailable
	case airlock.CodePasswordPolicy:
		p.Error = p.T("error.policy")
		for _, reason := range e.Reasons {
			if reason == password.ReasonTooShort {
				p.Reasons = append(p.Reasons, p.T("reason."+reason, s.accounts.Policy().MinLength))
			} else {
				p.Reasons = append(p.Reasons, p.T("reason."+reason))
			}
		}
		p.FieldErrors["password"] = p.Error
		return http.StatusUnprocessableEntity
	case airlock.CodeUnauthorized:
		switch {
		case e.Field == "current_password":
			p.FieldErrors["current_password"] = p.T("error.bad_current")
		case e.Detail == "temporary_password_expired":
			p.Error = p.T("error.temp_expired")
		default:
			p.Error = p.T("error.bad_credentials")
		}
		return http.StatusUnauthorized
	case airlock.CodeTooLarge:
		p.Error = text
		return http.StatusRequestEntityTooLarge
	case airlock.CodeNotFound:
		p.Error = text
		if e.Key == "" {
			p.Error = p.T("error.not_found")
		}
		return http.StatusNotFound
	case airlock.CodeForbidden:
		p.Error = text
		return http.StatusForbidden
	case airlock.CodeConflict:
		p.Error = text
		if e.Field != "" {
			p.FieldErrors[e.Field] = text
		}
		return http.StatusConflict
	default:
		if e.Field != "" && e.Field != "password" {
			p.FieldErrors[e.Field] = text
		}
		p.Error = text
		return http.StatusBadRequest
	}
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	p := s.newPage(r, "", "error.title")
	status := s.applyError(w, p, err)
	s.render(w, status, "error", p)
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "", "error.title")
	p.Error = p.T("error.not_found")
	s.render(w, http.StatusNotFound, "error", p)
}
