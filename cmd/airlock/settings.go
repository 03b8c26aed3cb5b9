package main

import (
	"errors"
	"fmt"
	"github.com/airlockhq/airlock/peer"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/secretbox"
	"github.com/airlockhq/airlock/web"
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

// setting is one environment variable of SPEC §3. loadConfig, the
// warning about a misspelt name and serve's --help are all made from the
// table below, so the three cannot disagree.
type setting struct {
	name string
	// def is the value used when the variable is unset or empty. When
	// defaultOf is set, def says in words what it computes, for --help.
	def string
	// defaultOf computes the default from the settings above it in the
	// table.
	defaultOf func(c *config) string
	// secret values may hold a password or a key: no message shows them.
	secret bool
	// parse checks the value and stores it in c. A list setting reports
	// each bad item with errors.Join.
	parse func(c *config, v string) error
	// help is what --help says of the setting, in one line.
	help string
}

// defaultFor returns the value the setting takes when it is not set.
func (s setting) defaultFor(c *config) string {
	if s.defaultOf != nil {
		return s.defaultOf(c)
	}
	return s.def
}

// settings is every setting, in the order of the README's table and of
// serve's --help.
var settings = []setting{
	{name: "AIRLOCK_LISTEN", def: "127.0.0.1:8080", help: "listen address (host:port)",
		parse: func(c *config, v string) error {
			c.Listen = v
			_, _, err := net.SplitHostPort(v)
			return err
		}},
	{name: "AIRLOCK_METRICS_LISTEN", help: "a second listener, for /metrics only; empty: off",
		parse: func(c *config, v string) error {
			c.MetricsListen = v
			if v == "" {
				return nil
			}
			return checkListenAddr(v)
		}},
	{name: "AIRLOCK_PUBLIC_URL", def: "http://localhost:8080", help: "the only origin used in links (https:// for secure cookies)",
		parse: parsePublicURL},
	{name: "AIRLOCK_DATABASE_URL", def: "sqlite:airlock.db", secret: true, help: "sqlite:PATH or postgres://user:pass@host:5432/db?sslmode=…",
		parse: parseDatabaseURL},
	{name: "AIRLOCK_DATABASE_TIMEOUT", def: "5s", help: "time limit of every query and write transaction (1s–1m)",
		parse: func(c *config, v string) (err error) {
			c.DatabaseTimeout, err = durationIn(v, time.ParseDuration, time.Second, time.Minute, "must be between 1s and 1m")
			return err
		}},
	{name: "AIRLOCK_SMTP_URL", secret: true, help: "smtp://[user:pass@]host:port or smtps://…; empty: dev mailbox",
		parse: func(c *config, v string) error {
			c.SMTPURL = v
			if v == "" {
				return nil
			}
			return checkSMTPURL(v)
		}},
	// Many receiving servers refuse "localhost": by default Airlock greets
	// the relay with the public URL's host.
	{name: "AIRLOCK_SMTP_HELO", def: "(public URL's host)", help: "the name Airlock greets the relay with (EHLO)",
		defaultOf: func(c *config) string {
			if c.PublicURL == nil {
				return ""
			}
			return c.PublicURL.Hostname()
		},
		parse: func(c *config, v string) error { c.SMTPHelo = v; return nil }},
	{name: "AIRLOCK_SMTP_CA_FILE", help: "PEM file of the private CA that signed the relay's certificate",
		parse: func(c *config, v string) error {
			c.SMTPCAFile = v
			if v == "" {
				return nil
			}
			if _, err := os.Stat(v); err != nil {
				return fmt.Errorf("cannot read the file: %w", errors.Unwrap(err))
			}
			return nil
		}},
	{name: "AIRLOCK_MAIL_FROM", def: "Airlock <no-reply@localhost>", help: "sender of the emails",
		parse: func(c *config, v string) error { c.MailFrom = v; return nil }},
	{name: "AIRLOCK_RESET_TOKEN_TTL", def: "30m", help: "lifetime of a reset link (1m–24h)",
		parse: func(c *config, v string) (err error) {
			c.ResetTokenTTL, err = durationIn(v, time.ParseDuration, time.Minute, 24*time.Hour, "must be between 1m and 24h")
			return err
		}},
	{name: "AIRLOCK_SERVERS", help: "server directory: id=Name=https://url,… or a JSON file's path",
		parse: func(c *config, v string) (err error) {
			c.Servers, err = parseServers(v)
			return err
		}},
	{name: "AIRLOCK_PEERS", help: "servers asked about a reset asked here for an address with no account: https://url=KEY,… (KEY: what `airlock peer key` prints there)",
		parse: func(c *config, v string) (err error) {
			c.Peers, err = peer.Parse(v)
			return err
		}},
	{name: "AIRLOCK_APP_URL", help: "\"Return to the app\" link: https://… or com.example.app:/done",
		parse: func(c *config, v string) error {
			c.AppURL = v
			if v == "" {
				return nil
			}
			return checkAppURL(v)
		}},
	{name: "AIRLOCK_IOS_APP_IDS", help: "iOS apps that open the emailed links: TEAMID.bundle.id,…",
		parse: func(c *config, v string) (err error) {
			c.AppLinks.IOSAppIDs, err = web.ParseIOSAppIDs(v)
			return err
		}},
	{name: "AIRLOCK_ANDROID_APPS", help: "Android apps that open the emailed links and use the passkeys: package=SHA256[+SHA256…],…",
		parse: func(c *config, v string) (err error) {
			c.AppLinks.Android, err = web.ParseAndroidApps(v)
			return err
		}},
	{name: "AIRLOCK_TRUSTED_PROXIES", help: "CIDRs whose X-Forwarded-For is believed (load balancers)",
		parse: parseTrustedProxies},
	{name: "AIRLOCK_LIMIT_FORGOT_PER_IP", def: "20/10m", help: "forgot requests per client IP (N/duration; 0: off)",
		parse: rate(func(c *config) *account.Rate { return &c.LimitForgotPerIP })},
	{name: "AIRLOCK_LIMIT_RESET_PER_ACCOUNT", def: "3/1h", help: "reset emails per account",
		parse: rate(func(c *config) *account.Rate { return &c.LimitResetPerAccount })},
	{name: "AIRLOCK_LIMIT_BAD_TOKEN_PER_IP", def: "20/10m", help: "invalid reset links per client IP",
		parse: rate(func(c *config) *account.Rate { return &c.LimitBadTokenPerIP })},
	{name: "AIRLOCK_LIMIT_LOGIN_PER_EMAIL", def: "10/15m", help: "failed sign-ins per email string",
		parse: rate(func(c *config) *account.Rate { return &c.LimitLoginPerEmail })},
	{name: "AIRLOCK_LIMIT_LOGIN_PER_IP", def: "100/15m", help: "failed sign-ins per client IP",
		parse: rate(func(c *config) *account.Rate { return &c.LimitLoginPerIP })},
	{name: "AIRLOCK_LIMIT_PASSKEY_OPTIONS_PER_IP", def: "600/10m", help: "passkey ceremonies begun per client IP (sign-in page, second step, reset, removal)",
		parse: rate(func(c *config) *account.Rate { return &c.LimitPasskeyOptionsPerIP })},
	{name: "AIRLOCK_LIMIT_BAD_PASSKEY_PER_IP", def: "100/15m", help: "refused passkey answers per client IP",
		parse: rate(func(c *config) *account.Rate { return &c.LimitBadPasskeyPerIP })},
	{name: "AIRLOCK_PASSWORD_MIN_LENGTH", def: strconv.Itoa(password.DefaultMinLength),
		help: fmt.Sprintf("minimum password length in characters (%d–64)", password.MinLengthFloor),
		parse: func(c *config, v string) (err error) {
			c.PasswordMinLength, err = intIn(v, password.MinLengthFloor, 64)
			return err
		}},
	{name: "AIRLOCK_ARGON2", def: password.DefaultParams.String(), help: "argon2id cost (OWASP); lower it for tests only",
		parse: func(c *config, v string) (err error) {
			c.Argon2, err = password.ParseParams(v)
			return err
		}},
	{name: "AIRLOCK_HASH_CONCURRENCY", def: "(max(2, cores))", help: "password hashes computed at once; the rest wait 2 s, then 503",
		defaultOf: func(*config) string { return strconv.Itoa(max(2, runtime.GOMAXPROCS(0))) },
		parse: func(c *config, v string) (err error) {
			c.HashConcurrency, err = intIn(v, 1, 256)
			return err
		}},
	{name: "AIRLOCK_AUDIT_RETENTION", def: "400d", help: "audit events older than this are deleted (1d–3650d)",
		parse: func(c *config, v string) (err error) {
			c.AuditRetention, err = parseRetention(v)
			return err
		}},
	{name: "AIRLOCK_LOG_LEVEL", def: "info", help: "debug, info, warn or error",
		parse: func(c *config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{name: "AIRLOCK_LOG_FORMAT", def: "text", help: "text or json",
		parse: func(c *config, v string) error {
			switch v {
			case "text":
			case "json":
				c.LogJSON = true
			default:
				return errors.New("want text or json")
			}
			return nil
		}},
	{name: "AIRLOCK_BRAND_NAME", def: "Airlock", help: "the product's name on the pages and in the emails",
		parse: func(c *config, v string) error {
			c.BrandName = v
			if n := utf8.RuneCountInString(v); n > 60 || !airlock.CheckText(v) || strings.TrimSpace(v) == "" {
				// It goes into every email's subject and every page's title.
				return errors.New("want 1 to 60 characters on one line, without control characters")
			}
			return nil
		}},
	{name: "AIRLOCK_BRAND_LOGO", help: "PNG or SVG file shown in the pages' header",
		parse: func(c *config, v string) (err error) {
			if v == "" {
				return nil
			}
			c.BrandLogo, err = web.ReadLogo(v)
			return err
		}},
	{name: "AIRLOCK_BRAND_COLOR", def: web.DefaultAccent, help: "#rrggbb of buttons and links (4.5:1 against white)",
		parse: func(c *config, v string) (err error) {
			c.BrandColor, err = web.ParseAccent(v)
			return err
		}},
	{name: "AIRLOCK_INVITE_TTL", def: "72h", help: "lifetime of an invitation link (1h–30d)",
		parse: func(c *config, v string) (err error) {
			c.InviteTTL, err = durationIn(v, parseDays, time.Hour, 30*24*time.Hour, "must be between 1h and 30d")
			return err
		}},
	{name: "AIRLOCK_SECRET_KEY", secret: true, help: "seals the two-step sign-in keys: base64 or file:PATH; empty: a key file",
		parse: func(c *config, v string) error {
			c.SecretKey = v
			if v == "" {
				return nil
			}
			_, err := secretbox.Parse(v)
			return err
		}},
	{name: "AIRLOCK_REQUIRE_TWO_FACTOR", help: "groups whose members must enrol in two-step sign-in (e.g. admin)",
		parse: parseRequireTwoFactor},
}

// parsePublicURL accepts an origin, with a path perhaps, and nothing else.
func parsePublicURL(c *config, v string) error {
	u, err := parseURL(v)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil) {
		err = errors.New("want an origin like https://accounts.example.com")
	}
	if err != nil {
		return err
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c.PublicURL = u
	return nil
}

// parseDatabaseURL accepts sqlite:PATH in an existing directory, or a
// postgres:// URL.
func parseDatabaseURL(c *config, v string) error {
	c.DatabaseURL = v
	switch {
	case v == "sqlite:":
		return errors.New("the sqlite path is empty")
	case strings.HasPrefix(v, "sqlite:"):
		return checkSQLiteDir(strings.TrimPrefix(v, "sqlite:"))
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		if _, err := parseURL(v); err != nil {
			return fmt.Errorf("want postgres://user:pass@host:port/db?…: %w", err)
		}
		return nil
	default:
		return errors.New("want sqlite:PATH or postgres://…")
	}
}

// parseTrustedProxies reads comma-separated CIDRs or addresses (a /32 or
// /128).
func parseTrustedProxies(c *config, v string) error {
	var errs []error
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			if a, aerr := netip.ParseAddr(part); aerr == nil {
				p, err = a.Prefix(a.BitLen())
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	return errors.Join(errs...)
}

// parseRequireTwoFactor reads comma-separated group names.
func parseRequireTwoFactor(c *config, v string) error {
	if v == "" {
		return nil
	}
	var errs []error
	for _, g := range strings.Split(v, ",") {
		g = strings.TrimSpace(g)
		if !airlock.ValidGroup(g) {
			errs = append(errs, fmt.Errorf("unknown group %q (groups: %s)", g, strings.Join(airlock.Groups, ", ")))
			continue
		}
		c.RequireTwoFactor = append(c.RequireTwoFactor, g)
	}
	return errors.Join(errs...)
}

// rate returns the parser of a limit (N/duration) stored in field.
func rate(field func(c *config) *account.Rate) func(*config, string) error {
	return func(c *config, v string) (err error) {
		*field(c), err = account.ParseRate(v)
		return err
	}
}

// durationIn reads v with read and refuses it outside [lo, hi], saying so
// with outside.
func durationIn(v string, read func(string) (time.Duration, error), lo, hi time.Duration, outside string) (time.Duration, error) {
	d, err := read(v)
	if err == nil && (d < lo || d > hi) {
		return d, errors.New(outside)
	}
	return d, err
}

// intIn reads a whole number from lo to hi.
func intIn(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err == nil && (n < lo || n > hi) {
		return n, fmt.Errorf("must be between %d and %d", lo, hi)
	}
	return n, err
}

// settingNames returns the name of every setting, sorted.
func settingNames() []string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = s.name
	}
	slices.Sort(names)
	return names
}

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

// settingsHelp lists every setting with its default and what it is, for
// serve's usage. It shows the defaults, never the environment's values.
func settingsHelp() string {
	var b strings.Builder
	b.WriteString("Settings are these environment variables (a flag above overrides its own);\n" +
		"any other AIRLOCK_* variable is reported and ignored. README.md, section\n" +
		"\"Settings\", says more of each.\n\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	for _, s := range settings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.name, s.def, s.help)
	}
	tw.Flush()
	return b.String()
}
