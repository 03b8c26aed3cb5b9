package web

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// cssVars reads the custom properties of style.css: the light ones (the
// first :root block) and the dark ones (the :root block inside the
// prefers-color-scheme: dark query) over them.
func cssVars(t *testing.T) (light, dark map[string]string) {
	data, err := os.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	css := string(data)
	block := regexp.MustCompile(`(?s):root\s*\{(.*?)\}`)
	decl := regexp.MustCompile(`(--[a-z-]+)\s*:\s*([^;]+);`)
	read := func(s string, into map[string]string) {
		for _, m := range decl.FindAllStringSubmatch(s, -1) {
			into[m[1]] = strings.TrimSpace(m[2])
		}
	}
	blocks := block.FindAllStringSubmatchIndex(css, -1)
	i := strings.Index(css, "prefers-color-scheme: dark")
	if len(blocks) != 2 || i < 0 || blocks[1][0] < i {
		t.Fatalf("style.css: want a light :root and a dark one")
	}
	light, dark = map[string]string{}, map[string]string{}
	read(css[blocks[0][2]:blocks[0][3]], light)
	for k, v := range light {
		dark[k] = v
	}
	read(css[blocks[1][2]:blocks[1][3]], dark)
	// The accent comes from brand.css, computed from the default accent.
	light["--accent"], dark["--accent"] = DefaultAccent, DefaultAccent
	if light["--accent-on-dark"] != accentOnDark(DefaultAccent) {
		t.Errorf("style.css's --accent-on-dark is %s; brand.css makes it %s", light["--accent-on-dark"], accentOnDark(DefaultAccent))
	}
	return light, dark
}

func resolve(vars map[string]string, v string) string {
	for i := 0; i < 5; i++ {
		name, ok := strings.CutPrefix(v, "var(")
		if !ok {
			break
		}
		v = vars[strings.TrimSuffix(name, ")")]
	}
	return v
}

// TestContrast: text at least 4.5:1, and the non-text parts people must
// see (input borders, the focus ring) at least 3:1 (WCAG 2.2 1.4.3 and
// 1.4.11), in light and dark mode.
func TestContrast(t *testing.T) {
	t.Parallel()
	light, dark := cssVars(t)
	for mode, vars := range map[string]map[string]string{"light": light, "dark": dark} {
		for _, c := range []struct {
			fg, bg string
			min    float64
		}{
			{"--text", "--card", 4.5}, {"--text", "--page", 4.5}, {"--muted", "--card", 4.5}, {"--link", "--card", 4.5},
			{"--error", "--card", 4.5}, {"--error", "--error-bg", 4.5}, {"--text", "--notice-bg", 4.5}, {"--notice", "--card", 4.5},
			{"--header-text", "--header", 4.5}, {"--secondary-text", "--secondary-bg", 4.5}, {"--button-text", "--accent", 4.5},
			{"--warn", "--card", 4.5},
			{"--border", "--card", 3}, {"--border", "--field", 3}, {"--focus", "--card", 3}, {"--focus", "--page", 3},
			{"--header-focus", "--header", 3}, {"--error", "--field", 3},
		} {
			fg, bg := resolve(vars, vars[c.fg]), resolve(vars, vars[c.bg])
			r := Contrast(fg, bg)
			if r < c.min {
				t.Errorf("%s: %s %s on %s %s: %.2f:1, want at least %.1f:1", mode, c.fg, fg, c.bg, bg, r, c.min)
			}
		}
	}
}

// TestAccentRule: an accent lighter than 4.5:1 against white text is
// refused, with a darker shade proposed that passes; a dark-mode shade is
// derived that passes against the dark card.
func TestAccentRule(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"#1f5fd1", "#000000", "#b3261e", "#0B6E4F"} {
		got, err := ParseAccent(ok)
		if err != nil || Contrast(got, "#ffffff") < MinAccentContrast {
			t.Errorf("%s: %q %v", ok, got, err)
		}
		if r := Contrast(accentOnDark(got), darkCard); r < MinAccentContrast {
			t.Errorf("%s: its dark shade %s has %.2f:1 on the dark card", ok, accentOnDark(got), r)
		}
	}
	for _, bad := range []string{"#ffcc00", "#8fb3f5", "#ffffff", "#777777"} {
		_, err := ParseAccent(bad)
		if err == nil {
			t.Errorf("%s accepted", bad)
			continue
		}
		shade := regexp.MustCompile(`#[0-9a-f]{6}, a darker shade`).FindString(err.Error())
		if shade == "" || Contrast(shade[:7], "#ffffff") < MinAccentContrast {
			t.Errorf("%s: %v", bad, err)
		}
	}
	for _, bad := range []string{"", "1f5fd1", "#1f5fd", "#1f5fd1ff", "#gggggg", "blue", "#1F5FD1 "} {
		if _, err := ParseAccent(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
