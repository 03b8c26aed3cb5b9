package i18n

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEveryKeyInEveryLanguage: a message exists in every language or in
// none, plural in all of them or in none.
func TestEveryKeyInEveryLanguage(t *testing.T) {
	t.Parallel()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]bool{}
	for _, lang := range Languages {
		for _, k := range c.Keys(lang) {
			all[k] = true
		}
	}
	if len(all) < 200 {
		t.Fatalf("only %d keys: the message files were not read", len(all))
	}
	for k := range all {
		for _, lang := range Languages {
			if !c.Has(lang, k) {
				t.Errorf("%s has no message %q", lang, k)
				continue
			}
			if c.IsPlural(lang, k) != c.IsPlural(Default, k) {
				t.Errorf("%q is plural in %s but not in %s, or the other way round", k, lang, Default)
			}
			for _, text := range c.Forms(lang, k) {
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s: %q is empty", lang, k)
				}
			}
		}
	}
}

// verb is one fmt directive: the argument it reads and its kind.
type verb struct {
	arg  int
	kind byte // 'd' a number, 's' text
}

var directive = regexp.MustCompile(`%[-+# 0]*\d*(?:\.\d+)?(?:\[(\d+)\])?([a-zA-Z%])`)

// verbs lists the arguments a format reads, and whether it names them by
// index ("%[2]s"), which lets a translation leave one out or reorder them.
func verbs(format string) (vs []verb, indexed bool) {
	next := 1
	for _, m := range directive.FindAllStringSubmatch(format, -1) {
		if m[2] == "%" {
			continue
		}
		arg := next
		if m[1] != "" {
			arg, _ = strconv.Atoi(m[1])
			indexed = true
		}
		next = arg + 1
		kind := byte('s')
		if strings.Contains("dxX", m[2]) {
			kind = 'd'
		}
		vs = append(vs, verb{arg, kind})
	}
	return vs, indexed
}

// TestTranslationsTakeTheSameArguments: each language's message reads the
// arguments the English one reads, of the same kind, so that no page shows
// "%!d(string=…)" or "%!(EXTRA …)" in one language only.
func TestTranslationsTakeTheSameArguments(t *testing.T) {
	t.Parallel()
	if vs, indexed := verbs("%[1]s at %04[2]X, 100%% %d"); fmt.Sprint(vs) != "[{1 115} {2 100} {3 100}]" || !indexed {
		t.Fatalf("verbs: %v %v", vs, indexed)
	}
	c := Messages()
	for _, k := range c.Keys(Default) {
		want := map[int]byte{}
		for _, text := range c.Forms(Default, k) {
			vs, _ := verbs(text)
			for _, v := range vs {
				want[v.arg] = v.kind
			}
		}
		for _, lang := range Languages {
			for _, text := range c.Forms(lang, k) {
				vs, indexed := verbs(text)
				got := map[int]byte{}
				for _, v := range vs {
					got[v.arg] = v.kind
					if kind, ok := want[v.arg]; !ok || kind != v.kind {
						t.Errorf("%s %q: argument %d as %c, English has %c", lang, k, v.arg, v.kind, kind)
					}
				}
				if !indexed && len(got) != len(want) {
					t.Errorf("%s %q reads %d arguments, English %d: name them (%%[1]s) to leave one out", lang, k, len(got), len(want))
				}
			}
		}
	}
}

func TestPlurals(t *testing.T) {
	t.Parallel()
	c := Messages()
	for _, tc := range []struct {
		lang string
		n    int
		want string
	}{
		{"en", 0, "0 users"}, {"en", 1, "1 user"}, {"en", 2, "2 users"}, {"en", 31, "31 users"},
		{"fr", 0, "0 utilisateur"}, {"fr", 1, "1 utilisateur"}, {"fr", 2, "2 utilisateurs"}, {"fr", 1000, "1000 utilisateurs"},
	} {
		if got := c.T(tc.lang, "admin.count", tc.n); got != tc.want {
			t.Errorf("%s %d: %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
	if got := c.T("fr", "duration.hours", int64(1)); got != "1 heure" {
		t.Errorf("int64 count: %q", got)
	}
}

func TestMissingKeys(t *testing.T) {
	t.Parallel()
	c := Messages()
	if got := c.T("fr", "no.such.key"); got != "no.such.key" {
		t.Errorf("missing key: %q", got)
	}
	if got := c.T("de", "login.title"); got != "Sign in" {
		t.Errorf("unknown language: %q", got)
	}
}

// TestNegotiate: the Accept-Language header picks among English and
// French; a language refused with q=0 is never picked.
func TestNegotiate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ header, want string }{
		{"", "en"},
		{"fr", "fr"},
		{"fr-FR,fr;q=0.9,en;q=0.5", "fr"},
		{"fr-CA", "fr"},
		{"en-GB,en;q=0.9", "en"},
		{"de", "en"},
		{"de-DE, fr;q=0.5", "fr"},
		{"fr;q=0", "en"},
		{"fr;q=0, en;q=0", "en"},
		{"fr;q=0.0", "en"},
		{"en;q=0.1, fr;q=0.9", "fr"},
		{"en;q=0, fr;q=0.1", "fr"},
		{"fr;q=0, de", "en"},
		{"*", "en"},
		{"fr, not a tag!!, en", "fr"},
		{"🙂, fr;q=0.3", "fr"},
		{"fr;q=abc", "en"},
		{strings.Repeat("de-x-a,", 500) + "fr", "en"}, // only the first 32 entries count
	} {
		if got := Negotiate(tc.header); got != tc.want {
			t.Errorf("Accept-Language %q: %s, want %s", tc.header, got, tc.want)
		}
	}
}

func TestParseFileRefusesMistakes(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{
		"duplicate key":   `{"a": "x", "a": "y"}`,
		"missing form":    `{"a": {"one": "x"}}`,
		"unknown form":    `{"a": {"one": "x", "other": "y", "few": "z"}}`,
		"number":          `{"a": 1}`,
		"not an object":   `["a"]`,
		"trailing data":   `{"a": "x"} {}`,
		"duplicate form":  `{"a": {"one": "x", "one": "x", "other": "y"}}`,
		"nested too deep": `{"a": {"one": {"x": "y"}, "other": "y"}}`,
	} {
		if _, err := parseFile([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m, err := parseFile([]byte(`{"a": "x", "b": {"one": "%d b", "other": "%d bs"}}`))
	if err != nil || m["a"].text != "x" || m["b"].forms["other"] != "%d bs" {
		t.Fatalf("%v %v", m, err)
	}
}
