// Package mail renders Airlock's emails (English and French, HTML and plain
// text) and delivers them over SMTP or into the dev mailbox.
package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// Message is a rendered email with exactly one recipient. It has no
// Message-ID: the sender makes a new one for every attempt (SPEC §7).
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers messages. A failed Send returns a *DeliveryError, which
// says whether trying again may help.
type Sender interface {
	Send(ctx context.Context, m *Message) (Receipt, error)
}

// Email kinds.
const (
	KindReset           = "reset"
	KindPasswordChanged = "password_changed"
	KindInvitation      = "invitation"
	KindTwoFactorOn     = "two_factor_enabled"
	KindTwoFactorOff    = "two_factor_disabled"
)

// Kinds lists every email kind; each has a template per language.
var Kinds = []string{KindReset, KindPasswordChanged, KindInvitation, KindTwoFactorOn, KindTwoFactorOff}

//go:embed templates
var templateFS embed.FS

// Templates are the parsed email templates, one set per kind and language.
type Templates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// ParseTemplates parses every template; a broken one stops the start.
func ParseTemplates() (*Templates, error) {
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for _, kind := range Kinds {
		for _, lang := range []string{"en", "fr"} {
			key := kind + "." + lang
			tt, err := texttemplate.ParseFS(templateFS, "templates/"+key+".txt")
			if err != nil {
				return nil, fmt.Errorf("parse mail template %s: %w", key, err)
			}
			ht, err := htmltemplate.New(key).Funcs(htmlFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+key+".html")
			if err != nil {
				return nil, fmt.Errorf("parse mail template %s: %w", key, err)
			}
			t.text[key], t.html[key] = tt, ht
		}
	}
	return t, nil
}

// htmlFuncs are the functions the HTML templates may call.
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

// Duration says d in words in lang ("30 minutes", "1 heure").
func Duration(d time.Duration, lang string) string {
	unit := func(n int, en, enPl, fr, frPl string) string {
		w := map[bool][2]string{false: {en, enPl}, true: {fr, frPl}}[lang == "fr"]
		if n == 1 {
			return fmt.Sprintf("%d %s", n, w[0])
		}
		return fmt.Sprintf("%d %s", n, w[1])
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return unit(int(d/(24*time.Hour)), "day", "days", "jour", "jours")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int(d/time.Hour), "hour", "hours", "heure", "heures")
	default:
		return unit(int((d+time.Minute-1)/time.Minute), "minute", "minutes", "minute", "minutes")
	}
}
