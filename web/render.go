package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/i18n"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/password"
)

// page is what every template receives.
type page struct {
	Lang  string
	Title string
	// Heading, when set, is the page's heading as markup (an address that
	// may break only at its @ and dots); else the heading is Title.
	Heading template.HTML
	// Brand is the product's name (AIRLOCK_BRAND_NAME); HasLogo says
	// whether the operator gave a logo (AIRLOCK_BRAND_LOGO).
	Brand   string
	HasLogo bool
	// Path is the requested path, for the navigation's aria-current.
	Path        string
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
	// Content is the page's own body, rendered before the layout.
	Content template.HTML

	// fields are the fields of the page's form, in order, that show their
	// own errors: an error about one of them is shown under it, once;
	// any other error at the top of the page.
	fields []string
	// focusFirst puts the focus in the form on arrival (sign-in, forgot,
	// reset, change of password, new user), not only after an error.
	focusFirst bool
	// focus names the field to focus, overriding the rules above.
	focus string
	// forOther: the password is someone else's (an administrator's pages),
	// so its rules speak of "the user's" email and name, not "your".
	forOther bool
	// formTo is a CSP source, besides 'self', that the page's form may end
	// at through redirects: the application a sign-in is for (see forApp).
	formTo string
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

// When shows t in a <time> element whose date and whose time each stay on
// one line: a date never wraps as "2026-11-|30".
func (p *page) When(t time.Time) template.HTML {
	if t.IsZero() {
		return "—"
	}
	t = t.UTC()
	return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `"><span class="nowrap">` + t.Format("2006-01-02") +
		`</span> <span class="nowrap">` + t.Format("15:04:05") + ` UTC</span></time>`)
}

// shortEmail is the length of an address that any line or column can hold
// whole: it never breaks.
const shortEmail = 24

// Email shows an address that stays on one line when a line can hold it,
// and else breaks after its @ and before its dots, never in the middle of
// a word (class email: an inline block as wide as the line at most). A
// short address never breaks.
func (p *page) Email(s string) template.HTML {
	var b strings.Builder
	b.WriteString(`<span class="email">`)
	if len(s) <= shortEmail {
		b.WriteString(template.HTMLEscapeString(s) + "</span>")
		return template.HTML(b.String())
	}
	for i, r := range s {
		if r == '.' && i > 0 {
			b.WriteString("<wbr>")
		}
		b.WriteString(template.HTMLEscapeString(string(r)))
		if r == '@' {
			b.WriteString("<wbr>")
		}
	}
	b.WriteString("</span>")
	return template.HTML(b.String())
}

// Unbroken shows text whose hyphenated words ("Sign-in", "e-mail") are
// never broken at their hyphen: lines break between words only.
func (p *page) Unbroken(s string) template.HTML {
	words := strings.Split(s, " ")
	for i, w := range words {
		w = template.HTMLEscapeString(w)
		if strings.Contains(w, "-") {
			w = `<span class="nowrap">` + w + `</span>`
		}
		words[i] = w
	}
	return template.HTML(strings.Join(words, " "))
}

// IP shows a client address that may break after the colons of an IPv6
// address when it does not fit, and nowhere else.
func (p *page) IP(s string) template.HTML {
	return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(s), ":", ":<wbr>"))
}

// htmlMark stands for a markup argument of TH while the message is
// formatted and escaped; no text argument can hold it (its runes are
// removed from them).
const htmlMark, htmlMarkEnd = '\ue000', '\ue001'

// TH is T for a message whose arguments include markup made by the page
// (When, Email): the message and its text arguments are escaped, the
// template.HTML arguments kept as they are.
func (p *page) TH(key string, args ...any) template.HTML {
	var markup []template.HTML
	a := make([]any, len(args))
	for i, arg := range args {
		switch v := arg.(type) {
		case template.HTML:
			a[i] = fmt.Sprintf("%c%d%c", htmlMark, len(markup), htmlMarkEnd)
			markup = append(markup, v)
		case string:
			a[i] = strings.Map(func(r rune) rune {
				if r == htmlMark || r == htmlMarkEnd {
					return -1
				}
				return r
			}, v)
		default:
			a[i] = arg
		}
	}
	out := template.HTMLEscapeString(p.T(key, a...))
	for i, m := range markup {
		out = strings.Replace(out, fmt.Sprintf("%c%d%c", htmlMark, i, htmlMarkEnd), string(m), 1)
	}
	return template.HTML(out)
}

// IsAdmin reports whether the signed-in user administers users.
func (p *page) IsAdmin() bool { return p.User != nil && p.User.HasGroup(airlock.GroupAdmin) }

// FieldError returns the error shown under a field.
func (p *page) FieldError(name string) string { return p.FieldErrors[name] }

// Value returns a field's submitted value (never a password).
func (p *page) Value(name string) string { return p.Values[name] }

// ForOther reports whether the page sets someone else's password.
func (p *page) ForOther() bool { return p.forOther }

// textField is what the text-field template shows.
type textField struct {
	Name, Label, Value, Error string
	Autofocus                 template.HTMLAttr
}

// TextField describes the one-line text field name, labelled by labelKey.
func (p *page) TextField(name, labelKey string) textField {
	return textField{Name: name, Label: p.T(labelKey), Value: p.Values[name], Error: p.FieldErrors[name], Autofocus: p.Autofocus(name)}
}

// Problem says why a line of an imported file was refused, in the page's
// language.
func (p *page) Problem(ip account.ImportProblem) string { return p.T(ip.Key, ip.Args...) }

// form declares the fields of the page's form, in order.
func (p *page) form(fields ...string) { p.fields = fields }

// passkeyGet is a button that asks the browser for a passkey (a sign-in,
// a second step), and the form that posts its answer to Action
// (static/webauthn.js fetches the options from Options).
type passkeyGet struct {
	ID, Action, Label, Failed, Next string
	// Options is where the button asks for the ceremony's options: the
	// action's path and "/options", without the action's query (which
	// says where the answer goes on to, like ?app=1).
	Options string
	// Conditional: the sign-in page also offers passkeys in the email
	// field's autofill (conditional mediation).
	Conditional bool
}

// PasskeyGet is the passkeyGet of this page with id, posting to action,
// its button saying labelKey.
func (p *page) PasskeyGet(id, action, labelKey string) passkeyGet {
	next, _ := p.Data["Next"].(string)
	path, _, _ := strings.Cut(action, "?")
	return passkeyGet{ID: id, Action: action, Options: path + "/options", Label: p.T(labelKey), Failed: p.T("passkey.failed"), Next: next,
		Conditional: id == "passkey-signin"}
}

// Autofocus returns the autofocus attribute for the field that should
// have the focus: the first field in error; else, on a page that starts
// in its form or after an error, the first empty field (on the sign-in
// page after a reset, the password, the email being offered), else the
// first field.
func (p *page) Autofocus(field string) template.HTMLAttr {
	if p.focusField() == field {
		return " autofocus"
	}
	return ""
}

func (p *page) focusField() string {
	if p.focus != "" {
		return p.focus
	}
	for _, f := range p.fields {
		if p.FieldErrors[f] != "" {
			return f
		}
	}
	if len(p.fields) == 0 || !p.focusFirst && p.Error == "" {
		return ""
	}
	for _, f := range p.fields {
		if p.Values[f] == "" {
			return f
		}
	}
	return p.fields[0]
}

// Current returns aria-current for a navigation link to path: "page" on
// that page, "true" on a page under it (a user of the users list).
func (p *page) Current(path string) template.HTMLAttr {
	switch {
	case p.Path == path:
		return ` aria-current="page"`
	case strings.HasPrefix(p.Path, path+"/"):
		return ` aria-current="true"`
	}
	return ""
}

// fail shows msg under field when the form shows that field's errors, at
// the top of the page otherwise: once, never in both places.
func (p *page) fail(field, msg string) {
	if field != "" && slices.Contains(p.fields, field) {
		p.FieldErrors[field] = msg
		return
	}
	p.Error = msg
}

// reason says why a password was refused, in the page's language, about
// the reader's own password or, on an administrator's page, the user's.
func (p *page) reason(code string, minLength int) string {
	key := "reason." + code
	if p.forOther && i18n.Messages().Has(p.Lang, "reason.admin."+code) {
		key = "reason.admin." + code
	}
	if code == password.ReasonTooShort {
		return p.T(key, minLength)
	}
	return p.T(key)
}

func (s *Server) newPage(r *http.Request, lang, titleKey string) *page {
	if lang == "" {
		lang = s.lang(r)
	}
	return &page{Lang: lang, Title: T(lang, titleKey), Brand: s.brand.Name, HasLogo: s.brand.Logo != nil, Path: r.URL.Path,
		User: userFrom(r), FieldErrors: map[string]string{}, Values: map[string]string{}, Data: map[string]any{}}
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) {
	var body, buf bytes.Buffer
	err := s.pages.ExecuteTemplate(&body, name, p)
	if err == nil {
		// Trusted: it is html/template's own escaped output, placed where the
		// layout's body goes (the same context the page was escaped for).
		p.Content = template.HTML(body.String())
		err = s.pages.ExecuteTemplate(&buf, "layout", p)
	}
	if err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.Lang)
	if p.formTo != "" {
		w.Header().Set("Content-Security-Policy", cspFormTo(p.formTo))
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// statusClientClosed is the status of a request its client abandoned: it is
// never read, but the logs and metrics see it.
const statusClientClosed = 499

// applyError shows err on the page and returns the status to answer with.
// Errors without a code are logged in full and shown as a generic message;
// the others in the page's language, by their key.
func (s *Server) applyError(w http.ResponseWriter, p *page, err error) int {
	e := airlock.AsError(err)
	if e == nil {
		switch {
		case errors.Is(err, context.Canceled):
			// The client went away: nothing failed on our side, and an
			// attacker hanging up must not fill the error log nor count as a
			// server error (499, as proxies write it).
			s.log.Debug("request abandoned by the client", "err", err)
			p.Error = p.T("error.internal")
			return statusClientClosed
		case !errors.Is(err, http.ErrAbortHandler):
			s.log.Error("request failed", "err", err)
		}
		p.Error = p.T("error.internal")
		return http.StatusInternalServerError
	}
	text := errorText(p.Lang, e)
	switch e.Code {
	case airlock.CodeRateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
		p.Error = text
		if e.Key == "" || e.Key == "error.rate_limited" {
			// Say how long: someone locked out of their own account (another
			// used its limit up) knows when to come back.
			p.Error = p.T("error.rate_limited.wait", mail.Duration(max(e.RetryAfter, time.Second), p.Lang))
		}
		return http.StatusTooManyRequests
	case airlock.CodeUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(e.RetryAfter/time.Second))))
		p.Error = p.T("error.busy")
		return http.StatusServiceUnavailable
	case airlock.CodePasswordPolicy:
		for _, reason := range e.Reasons {
			p.Reasons = append(p.Reasons, p.reason(reason, s.accounts.Policy().MinLength))
		}
		p.fail("password", p.T("error.policy"))
		return http.StatusUnprocessableEntity
	case airlock.CodeTwoFactorRequired:
		p.fail("otp", text)
		return http.StatusUnauthorized
	case airlock.CodeUnauthorized:
		switch {
		case e.Field == "otp":
			p.fail("otp", text)
		case e.Field == "current_password":
			p.fail("current_password", p.T("error.bad_current"))
		case e.Detail == "temporary_password_expired":
			p.Error = p.T("error.temp_expired")
		case strings.HasPrefix(e.Key, "error.passkey."):
			p.Error = text
		default:
			p.Error = p.T("error.bad_credentials")
		}
		return http.StatusUnauthorized
	case airlock.CodeTooLarge:
		p.fail(e.Field, text)
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
		p.fail(e.Field, text)
		return http.StatusConflict
	default:
		p.fail(e.Field, text)
		return http.StatusBadRequest
	}
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	p := s.newPage(r, "", "error.title")
	status := s.applyError(w, p, err)
	switch status {
	case http.StatusNotFound:
		p.Title = p.T("error.not_found.title")
	case http.StatusForbidden:
		p.Title = p.T("error.forbidden.title")
	}
	s.render(w, status, "error", p)
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	if u := s.currentUser(r); u != nil && userFrom(r) == nil {
		// A signed-in visitor gets the page in their language, with the
		// way back to their account.
		r = r.WithContext(context.WithValue(r.Context(), userKey, u))
	}
	p := s.newPage(r, "", "error.not_found.title")
	p.Error = p.T("error.not_found")
	s.render(w, http.StatusNotFound, "error", p)
}
