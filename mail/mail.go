// Package mail renders Airlock's emails (English and French, HTML and plain
// text) and delivers them over SMTP or into the dev mailbox.
package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/airlockhq/airlock/i18n"
)

// Message is a rendered email with exactly one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// ID is the Message-ID, with its angle brackets, from the Sender's
	// NewMessageID; Date its date. Both are chosen at the email's first
	// attempt and kept, so that an email delivered twice is the same
	// message (SPEC §7). Empty or zero: a new one, now.
	ID   string
	Date time.Time
}

// Sender delivers messages. A failed Send returns a *DeliveryError, which
// says whether trying again may help.
type Sender interface {
	Send(ctx context.Context, m *Message) (Receipt, error)
	// NewMessageID returns a new Message-ID for this sender, with its
	// angle brackets.
	NewMessageID() string
}

// Email kinds.
const (
	KindReset           = "reset"
	KindPasswordChanged = "password_changed"
	KindInvitation      = "invitation"
	KindTwoFactorOn     = "two_factor_enabled"
	KindTwoFactorOff    = "two_factor_disabled"
	// KindTwoFactorFailed tells the owner that someone entered their
	// password and then failed the second step.
	KindTwoFactorFailed = "two_factor_failed"
	// KindResetCodeFailed tells the owner that wrong codes were typed with
	// a reset link sent to them, which then died.
	KindResetCodeFailed = "reset_code_failed"
	// KindPasskeyAdded and KindPasskeyRemoved tell the owner that a passkey
	// was added to or removed from their account.
	KindPasskeyAdded   = "passkey_added"
	KindPasskeyRemoved = "passkey_removed"
)

// Kinds lists every email kind; each has a template per language.
var Kinds = []string{KindReset, KindPasswordChanged, KindInvitation, KindTwoFactorOn, KindTwoFactorOff, KindTwoFactorFailed, KindResetCodeFailed,
	KindPasskeyAdded, KindPasskeyRemoved}

//go:embed templates
var templateFS embed.FS

// Templates are the parsed email templates, one set per kind and language.
type Templates struct {
	text   map[string]*texttemplate.Template
	html   map[string]*htmltemplate.Template
	accent string
}

// DefaultAccent is the colour of the emails' buttons and links.
const DefaultAccent = "#1f5fd1"

// Option changes how the emails look.
type Option func(*Templates)

// WithAccent colours the emails' buttons and links with accent (#rrggbb,
// AIRLOCK_BRAND_COLOR, checked by web.ParseAccent: white text on it is
// readable, and so is it on white).
func WithAccent(accent string) Option {
	return func(t *Templates) {
		if accentRE.MatchString(accent) {
			t.accent = accent
		}
	}
}

var accentRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ParseTemplates parses every template; a broken one stops the start.
// The sentences shared by every email (the footer saying why the person
// got it, durations) come from the message files of package i18n.
func ParseTemplates(opts ...Option) (*Templates, error) {
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}, accent: DefaultAccent}
	for _, o := range opts {
		o(t)
	}
	words, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	for _, kind := range Kinds {
		for _, lang := range i18n.Languages {
			key := kind + "." + lang
			tr := func(k string, args ...any) string { return words.T(lang, k, args...) }
			accent := func() string { return t.accent }
			tt, err := texttemplate.New(key).Funcs(texttemplate.FuncMap{"t": tr}).ParseFS(templateFS, "templates/"+key+".txt")
			if err != nil {
				return nil, fmt.Errorf("parse mail template %s: %w", key, err)
			}
			ht, err := htmltemplate.New(key).Funcs(htmlFuncs).Funcs(htmltemplate.FuncMap{"t": tr, "accent": accent}).
				ParseFS(templateFS, "templates/layout.html", "templates/"+key+".html")
			if err != nil {
				return nil, fmt.Errorf("parse mail template %s: %w", key, err)
			}
			t.text[key], t.html[key] = tt, ht
		}
	}
	return t, nil
}

// htmlFuncs are the functions the HTML templates may call: breakable, and
// per language t (a message of package i18n) and accent (the colour).
var htmlFuncs = htmltemplate.FuncMap{"breakable": breakable}

// breakable writes a long address as HTML that can wrap on a narrow
// screen: a <wbr> (a place to break the line, left out when the text is
// copied) after each / ? & = and inside long runs of other characters.
// Email clients do not all honour word-break, which would do the same.
func breakable(s string) htmltemplate.HTML {
	var b strings.Builder
	run := 0
	for _, r := range s {
		// Every character is escaped here: the result is trusted as HTML.
		b.WriteString(htmltemplate.HTMLEscapeString(string(r)))
		run++
		if strings.ContainsRune("/?&=", r) || run == 16 {
			b.WriteString("<wbr>")
			run = 0
		}
	}
	return htmltemplate.HTML(b.String())
}

// Render fills the kind's template in lang (English when unknown).
func (t *Templates) Render(kind, lang string, data any) (subject, text, html string, err error) {
	key := kind + "." + lang
	if _, ok := t.text[key]; !ok {
		key = kind + ".en"
	}
	tt, ok := t.text[key]
	if !ok {
		return "", "", "", fmt.Errorf("no mail template %q", kind)
	}
	var sb, tb, hb bytes.Buffer
	if err := tt.ExecuteTemplate(&sb, "subject", data); err != nil {
		return "", "", "", fmt.Errorf("render %s subject: %w", key, err)
	}
	if err := tt.ExecuteTemplate(&tb, "body", data); err != nil {
		return "", "", "", fmt.Errorf("render %s text: %w", key, err)
	}
	if err := t.html[key].ExecuteTemplate(&hb, "layout", data); err != nil {
		return "", "", "", fmt.Errorf("render %s html: %w", key, err)
	}
	return strings.TrimSpace(sb.String()), strings.TrimSpace(tb.String()) + "\n", hb.String(), nil
}

// Duration says d in words in lang ("30 minutes", "1 heure"), with the
// plural forms of the message files.
func Duration(d time.Duration, lang string) string {
	words := i18n.Messages()
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return words.T(lang, "duration.days", int(d/(24*time.Hour)))
	case d >= time.Hour && d%time.Hour == 0:
		return words.T(lang, "duration.hours", int(d/time.Hour))
	default:
		return words.T(lang, "duration.minutes", int((d+time.Minute-1)/time.Minute))
	}
}
