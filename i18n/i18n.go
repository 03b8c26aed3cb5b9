// Package i18n holds the words people read, on pages, in emails and in
// error messages, as data: one message file per language (messages/en.json,
// messages/fr.json, embedded), with plural forms, and picks the language of
// a browser's Accept-Language header with golang.org/x/text/language.
//
// A message file is one JSON object. A value is either a message, or an
// object of plural forms by CLDR category ("one", "other"). Messages are
// fmt formats: "%d users", "Page %d of %d"; a plural message's first
// argument is the count that picks its form.
package i18n

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"golang.org/x/text/language"

	"github.com/airlockhq/airlock"
)

//go:embed messages/*.json
var files embed.FS

// Languages lists the languages Airlock speaks, the default first.
var Languages = []string{"en", "fr"}

// Default is the language of a visitor whose browser asks for none that
// Airlock speaks.
const Default = "en"

// pluralForms lists the plural categories each language's plural
// messages must give (CLDR: English and French both have "one" and
// "other"; they differ in which numbers are "one").
var pluralForms = []string{"one", "other"}

// Supported reports whether Airlock speaks lang.
func Supported(lang string) bool { return slices.Contains(Languages, lang) }

// message is one entry of a message file.
type message struct {
	text  string            // a plain message
	forms map[string]string // or its plural forms, by category
}

// Catalog holds every message of every language.
type Catalog struct {
	msgs map[string]map[string]message // language → key → message
}

// Load parses the embedded message files. It fails on a malformed file, a
// key given twice, a plural message without all its forms, or a language
// without its file; Airlock then does not start.
var Load = sync.OnceValues(func() (*Catalog, error) {
	c := &Catalog{msgs: map[string]map[string]message{}}
	for _, lang := range Languages {
		data, err := files.ReadFile("messages/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("messages of %s: %w", lang, err)
		}
		m, err := parseFile(data)
		if err != nil {
			return nil, fmt.Errorf("messages/%s.json: %w", lang, err)
		}
		c.msgs[lang] = m
	}
	return c, nil
})

// Messages returns the catalog. The message files are embedded, so they
// cannot change after a successful start; it panics if they are broken,
// which every test run and every start (Load) would have said first.
func Messages() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// parseFile reads one message file strictly: unlike encoding/json's
// Unmarshal, a key given twice is an error, not a silent overwrite.
func parseFile(data []byte) (map[string]message, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	out := map[string]message{}
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("key %q given twice", key)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		switch v := tok.(type) {
		case string:
			out[key] = message{text: v}
		case json.Delim:
			if v != '{' {
				return nil, fmt.Errorf("key %q: want a string or an object of plural forms", key)
			}
			forms := map[string]string{}
			for dec.More() {
				cat, err := stringToken(dec)
				if err != nil {
					return nil, fmt.Errorf("key %q: %w", key, err)
				}
				text, err := stringToken(dec)
				if err != nil {
					return nil, fmt.Errorf("key %q, form %q: %w", key, cat, err)
				}
				if _, dup := forms[cat]; dup || !slices.Contains(pluralForms, cat) {
					return nil, fmt.Errorf("key %q: unexpected or repeated plural form %q (want %s)", key, cat, strings.Join(pluralForms, ", "))
				}
				forms[cat] = text
			}
			if err := expectDelim(dec, '}'); err != nil {
				return nil, err
			}
			for _, cat := range pluralForms {
				if _, ok := forms[cat]; !ok {
					return nil, fmt.Errorf("key %q: no plural form %q", key, cat)
				}
			}
			out[key] = message{forms: forms}
		default:
			return nil, fmt.Errorf("key %q: want a string or an object of plural forms", key)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the object")
	}
	return out, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, found %v", want, tok)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("want a string, found %v", tok)
	}
	return s, nil
}

// T returns the message key in lang, formatted with args. A plural
// message's form is picked by its first argument, the count. A key lang
// lacks falls back to English, and a key no language has is returned as
// it is: a test renders every page and email and looks for such keys.
func (c *Catalog) T(lang, key string, args ...any) string {
	m, ok := c.msgs[lang][key]
	if !ok {
		lang = Default
		if m, ok = c.msgs[lang][key]; !ok {
			return key
		}
	}
	format := m.text
	if m.forms != nil {
		n, _ := count(args)
		format = m.forms[PluralCategory(lang, n)]
	}
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// Has reports whether lang has a message for key.
func (c *Catalog) Has(lang, key string) bool {
	_, ok := c.msgs[lang][key]
	return ok
}

// IsPlural reports whether key is a plural message in lang.
func (c *Catalog) IsPlural(lang, key string) bool {
	return c.msgs[lang][key].forms != nil
}

// Keys returns lang's keys, sorted.
func (c *Catalog) Keys(lang string) []string {
	keys := make([]string, 0, len(c.msgs[lang]))
	for k := range c.msgs[lang] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Forms returns every text of key in lang: the message, or each of its
// plural forms.
func (c *Catalog) Forms(lang, key string) []string {
	m := c.msgs[lang][key]
	if m.forms == nil {
		return []string{m.text}
	}
	var out []string
	for _, cat := range pluralForms {
		out = append(out, m.forms[cat])
	}
	return out
}

// count returns a plural message's count: its first argument.
func count(args []any) (int64, bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch n := args[0].(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case uint:
		return int64(n), true
	case uint64:
		return int64(n), true
	}
	return 0, false
}

// PluralCategory returns the CLDR plural category of the whole number n in
// lang: French uses the singular for 0 and 1 ("0 utilisateur"), English
// for 1 only ("0 users").
func PluralCategory(lang string, n int64) string {
	if n < 0 {
		n = -n
	}
	switch lang {
	case "fr":
		if n <= 1 {
			return "one"
		}
	default:
		if n == 1 {
			return "one"
		}
	}
	return "other"
}

// matcher picks among Languages; English, the first, is its fallback.
var matcher = language.NewMatcher([]language.Tag{language.English, language.French})

// Negotiate returns the language of Languages that an Accept-Language
// header prefers, or Default. A language given q=0 is refused, never
// picked: "fr;q=0" means "not French". Entries that do not parse are
// skipped (the parser would otherwise drop the whole header for one), and
// only the first 32 are read.
func Negotiate(acceptLanguage string) string {
	type weighted struct {
		tag language.Tag
		q   float32
	}
	var prefs []weighted
	for i, entry := range strings.Split(acceptLanguage, ",") {
		if i == 32 {
			break
		}
		// The parser drops an entry of weight 0.
		if t, q, err := language.ParseAcceptLanguage(entry); err == nil && len(t) == 1 {
			prefs = append(prefs, weighted{t[0], q[0]})
		}
	}
	slices.SortStableFunc(prefs, func(a, b weighted) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	tags := make([]language.Tag, len(prefs))
	for i, p := range prefs {
		tags[i] = p.tag
	}
	if len(tags) == 0 {
		return Default
	}
	_, i, confidence := matcher.Match(tags...)
	if confidence == language.No {
		return Default
	}
	return Languages[i]
}

// ErrorText says a domain error in lang: the message of its key, with its
// arguments. An error without a message of its own (a key no message file
// has, which a test forbids) says that something went wrong.
func ErrorText(lang string, e *airlock.Error) string {
	if e.Key == "" || !Messages().Has(lang, e.Key) {
		return Messages().T(lang, "error.internal")
	}
	return Messages().T(lang, e.Key, e.Args...)
}
