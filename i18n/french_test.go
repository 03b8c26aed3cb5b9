package i18n

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// frenchMistakes lists what French typography forbids in text: the ASCII
// apostrophe (one apostrophe, ’, throughout), a plain space or none before
// : ; ? ! (a no-break space goes there: U+00A0 before a colon, U+202F
// before the others), « guillemets » without no-break spaces inside, and a
// missing elision before a vowel or the product's name ("de Airlock").
func frenchMistakes(text string) []string {
	var found []string
	// HTTP header names quoted as they are written ("Content-Type:").
	text = httpHeader.ReplaceAllString(text, "")
	for _, r := range []struct {
		re   *regexp.Regexp
		what string
	}{
		{regexp.MustCompile(`'`), "ASCII apostrophe (use ’)"},
		{regexp.MustCompile(` [:;?!]`), "plain space before : ; ? ! (use a no-break space)"},
		{regexp.MustCompile(`[\p{L}\p{N})»][;?!](?:\s|$)|[\p{L})»]:(?:\s|$)`), "no space before : ; ? !"},
		{regexp.MustCompile(`«[^\x{00a0}\x{202f}]|[^\x{00a0}\x{202f}]»`), "guillemets without no-break spaces"},
		// Letters, not \b (ASCII only), mark a word's start; "Transmettez-le à" is not one.
		{regexp.MustCompile(`(?i)(?:^|[^\p{L}-])(de|le|la|que|ne|se|je|me|te|ce) (airlock|[aeiouéèêàâîôû])`), "missing elision"},
	} {
		for _, m := range r.re.FindAllString(text, -1) {
			found = append(found, r.what+": "+strings.TrimSpace(m))
		}
	}
	return found
}

var httpHeader = regexp.MustCompile(`\b(?:Content-Type|Authorization): `)

// TestFrenchTypography: the French messages and email templates follow
// French typography (issue 26, item 9).
func TestFrenchTypography(t *testing.T) {
	for _, key := range Messages().Keys("fr") {
		for _, text := range Messages().Forms("fr", key) {
			for _, m := range frenchMistakes(text) {
				t.Errorf("fr.json %s: %s in %q", key, m, text)
			}
		}
	}
	files, err := filepath.Glob("../mail/templates/*.fr.*")
	if err != nil || len(files) < 10 {
		t.Fatalf("French email templates: %v %v", files, err)
	}
	// The words of a template: what is left between its actions and tags.
	markup := regexp.MustCompile(`(?s){{.*?}}|<[^>]*>`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range markup.Split(string(b), -1) {
			for _, m := range frenchMistakes(part) {
				t.Errorf("%s: %s in %q", filepath.Base(f), m, part)
			}
		}
	}
}

// TestFrenchMistakesAreFound: the check above finds each mistake it names.
func TestFrenchMistakesAreFound(t *testing.T) {
	for _, bad := range []string{"l'adresse", "Bienvenue : ici", "Bienvenue: ici", "Vraiment ?", "Vraiment?", "« champ »",
		"un compte de Airlock", "le administrateur", "Un problème de accès"} {
		if len(frenchMistakes(bad)) == 0 {
			t.Errorf("%q passed", bad)
		}
	}
	for _, good := range []string{"l’adresse", "Bienvenue\u00a0: ici", "Vraiment\u202f?", "«\u00a0champ\u00a0»", "un compte sur Airlock",
		"à 08:00", "https://example.com/?a=1", "le hibou", "Un problème est survenu", "Transmettez-le à", "Si un compte", "Content-Type: application/json"} {
		if m := frenchMistakes(good); len(m) != 0 {
			t.Errorf("%q: %v", good, m)
		}
	}
}
