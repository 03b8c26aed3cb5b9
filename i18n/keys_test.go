package i18n

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// keyLiteral matches a quoted message key in source code or a template: a
// namespace of the message files, a dot, more of the same.
func keyLiteral(t *testing.T) *regexp.Regexp {
	spaces := map[string]bool{}
	for _, k := range Messages().Keys(Default) {
		if ns, _, ok := strings.Cut(k, "."); ok {
			spaces[regexp.QuoteMeta(ns)] = true
		}
	}
	var alt []string
	for ns := range spaces {
		alt = append(alt, ns)
	}
	slices.Sort(alt)
	if len(alt) < 10 {
		t.Fatalf("namespaces: %v", alt)
	}
	return regexp.MustCompile(`"((?:` + strings.Join(alt, "|") + `)\.[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)"`)
}

// TestEveryKeyUsedExists: every key that the code (errors, pages) or the
// templates (pages, emails) name literally has a message in every
// language. Keys built at run time ("group." + id) are checked by the
// tests that render every page and email.
func TestEveryKeyUsedExists(t *testing.T) {
	t.Parallel()
	literal := keyLiteral(t)
	found := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(path, "_test.go") || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".html") || strings.HasSuffix(path, ".txt")) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range literal.FindAllStringSubmatch(string(data), -1) {
			found++
			for _, lang := range Languages {
				if !Messages().Has(lang, m[1]) {
					t.Errorf("%s names %q, which %s has no message for", path, m[1], lang)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 80 {
		t.Fatalf("only %d keys found in the sources", found)
	}
}
