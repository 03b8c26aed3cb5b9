package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// env is what a command sees of its environment.
type env struct {
	// getenv reads one variable.
	getenv func(string) string
	// environ lists every variable as NAME=value; only the names are read.
	environ func() []string
	// stderr receives the warnings about unknown variables.
	stderr io.Writer
}

// load reads the settings, overrides (serve's flags) winning, after a
// warning for each AIRLOCK_* variable that is no setting: a misspelt name
// would otherwise be ignored in silence and its default used.
func (e env) load(overrides map[string]string) (*config, error) {
	if e.environ != nil {
		for _, w := range unknownSettings(e.environ()) {
			fmt.Fprintln(e.stderr, "airlock: warning:", w)
		}
	}
	return loadConfig(e.getenv, overrides)
}

// testVariable reports whether name belongs to Airlock's test suite rather
// than to the program (AIRLOCK_TEST_DATABASE_URL, AIRLOCK_FAULT_TESTS,
// AIRLOCK_ARTIFACTS): CI exports them for every process it starts, and a
// warning about them would only be noise.
func testVariable(name string) bool {
	return strings.HasPrefix(name, "AIRLOCK_TEST_") || strings.HasPrefix(name, "AIRLOCK_FAULT_") || name == "AIRLOCK_ARTIFACTS"
}

// settingNames returns the name of every setting, sorted. They are the
// names loadConfig reads, so the list cannot drift from what the program
// honours: loadConfig reads every one of them, whatever their values.
var settingNames = sync.OnceValue(func() []string {
	seen := map[string]bool{}
	loadConfig(func(name string) string { seen[name] = true; return "" }, nil)
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
})

// unknownSettings returns one warning for each variable of environ whose
// name starts with AIRLOCK_ and is no setting, naming the closest setting
// when one is close. Values are never shown: one may hold a password.
func unknownSettings(environ []string) []string {
	known := map[string]bool{}
	for _, n := range settingNames() {
		known[n] = true
	}
	var warnings []string
	seen := map[string]bool{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "AIRLOCK_") || known[name] || testVariable(name) || seen[name] {
			continue
		}
		seen[name] = true
		w := terminalText(name) + " is not a setting: it is ignored"
		if s := closestSetting(name); s != "" {
			w += "; did you mean " + s + "?"
		}
		warnings = append(warnings, w)
	}
	sort.Strings(warnings)
	return warnings
}

// closestSetting returns the setting whose name is nearest to name, or ""
// when none is close. Case and the AIRLOCK_ prefix do not count. A setting
// that holds every word of a name of two words or more, in order, or whose
// words that name holds, comes first (AIRLOCK_LIMIT_FORGOT suggests
// AIRLOCK_LIMIT_FORGOT_PER_IP, not AIRLOCK_LOG_FORMAT); otherwise a setting
// is close when its edit distance is at most half the longer name's
// length (AIRLOCK_LSITEN suggests AIRLOCK_LISTEN, AIRLOCK_FOO nothing).
// Ties go to the smaller distance, then to alphabetical order.
func closestSetting(name string) string {
	typed := strings.TrimPrefix(strings.ToUpper(name), "AIRLOCK_")
	best, bestWords, bestDist := "", false, 0
	for _, known := range settingNames() {
		k := strings.TrimPrefix(known, "AIRLOCK_")
		d := editDistance(typed, k)
		words := sameWords(typed, k)
		if !words && d > max(len(typed), len(k))/2 {
			continue
		}
		if best == "" || words && !bestWords || words == bestWords && d < bestDist {
			best, bestWords, bestDist = known, words, d
		}
	}
	return best
}

// sameWords reports whether the shorter of a and b has two words or more
// (separated by "_") and the longer holds them all, in order.
func sameWords(a, b string) bool {
	short, long := strings.Split(a, "_"), strings.Split(b, "_")
	if len(short) > len(long) {
		short, long = long, short
	}
	if len(short) < 2 {
		return false
	}
	i := 0
	for _, w := range long {
		if i < len(short) && w == short[i] {
			i++
		}
	}
	return i == len(short)
}

// editDistance is the optimal string alignment distance between a and b:
// the insertions, deletions, substitutions and swaps of two neighbours
// needed to turn one into the other (so a swap, AIRLOCK_LSITEN, counts 1).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// settingsHelp tells where the settings are, for serve's usage.
func settingsHelp() string {
	var b strings.Builder
	b.WriteString("Settings are these environment variables (a flag above overrides its own);\n" +
		"README.md, section \"Settings\", says what each one means and its default.\n" +
		"Any other AIRLOCK_* variable is reported and ignored.\n")
	line := " "
	for _, n := range settingNames() {
		if len(line)+1+len(n) > 80 {
			b.WriteString(line + "\n")
			line = " "
		}
		line += " " + n
	}
	b.WriteString(line)
	return b.String()
}
