package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/secretbox"
	"github.com/airlockhq/airlock/web"
)

// config is every setting of SPEC §3, read from the environment.
type config struct {
	Listen               string
	MetricsListen        string
	PublicURL            *url.URL
	DatabaseURL          string
	SMTPURL              string
	MailFrom             string
	ResetTokenTTL        time.Duration
	Servers              []server
	AppURL               string
	TrustedProxies       []netip.Prefix
	LimitForgotPerIP     account.Rate
	LimitResetPerAccount account.Rate
	LimitBadTokenPerIP   account.Rate
	LimitLoginPerEmail   account.Rate
	LimitLoginPerIP      account.Rate
	LogLevel             slog.Level
	LogJSON              bool
	PasswordMinLength    int
	Argon2               password.Params
	HashConcurrency      int
	AuditRetention       time.Duration
	DatabaseTimeout      time.Duration
	BrandName            string
	BrandLogo            *web.Logo
	BrandColor           string
	InviteTTL            time.Duration
	SMTPHelo             string
	SMTPCAFile           string
	// SecretKey is AIRLOCK_SECRET_KEY as given ("": none; see secretKeyFile).
	SecretKey        string
	RequireTwoFactor []string
	// serving is set by serve, the one command that creates the key file.
	serving bool
}

type server = airlock.Server

// settingError names the variable whose value is wrong.
type settingError struct {
	name, value string
	err         error
}

// secretSettings are the variables whose value may hold a password, in
// any form (user:pass@ or password=…): their value is never shown.
var secretSettings = map[string]bool{"AIRLOCK_DATABASE_URL": true, "AIRLOCK_SMTP_URL": true}

// Error names the variable and never shows a password written in the value,
// whether or not the value parses (SPEC §3).
func (e *settingError) Error() string {
	var msg string
	if secretSettings[e.name] {
		msg = fmt.Sprintf(" (value not shown: it may hold a password): %v", e.err)
	} else {
		msg = fmt.Sprintf("=%q: %v", redactUserinfo(e.value), e.err)
	}
	// The name stays out of hidePassword: a one-letter password must not
	// erase it.
	return "bad setting " + e.name + hidePassword(msg, e.value)
}

// redactUserinfo hides everything between a scheme and the last "@" of v:
// a URL's user info is never shown, even when v does not parse.
func redactUserinfo(v string) string {
	at := strings.LastIndex(v, "@")
	if at < 0 {
		return v
	}
	prefix := ""
	if i := strings.Index(v[:at], "://"); i >= 0 && schemeRE.MatchString(v[:i]) {
		prefix = v[:i+3]
	}
	return prefix + "***" + v[at:]
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// hidePassword replaces in msg the password of a scheme://user:pass@ value
// (from the first colon after the scheme to the last "@", so that a
// malformed value is covered too), as written, quoted or decoded. A second
// line of defence: messages are built not to quote such values at all.
func hidePassword(msg, value string) string {
	_, rest, ok := strings.Cut(value, ":")
	if !ok {
		return msg
	}
	rest = strings.TrimLeft(rest, "/")
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return msg
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok || pw == "" {
		return msg
	}
	forms := []string{pw, strings.Trim(strconv.Quote(pw), `"`)}
	if d, err := url.PathUnescape(pw); err == nil {
		forms = append(forms, d)
	}
	for _, f := range forms {
		if f != "" {
			msg = strings.ReplaceAll(msg, f, "***")
		}
	}
	return msg
}

// parseURL parses a URL-ish setting. Its error says nothing of the value:
// the parser's own messages repeat the URL, or part of it, password included.
func parseURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	return u, nil
}

// loadConfig reads the settings; overrides (from serve's flags) win.
func loadConfig(getenv func(string) string, overrides map[string]string) (*config, error) {
	get := func(name, def string) string {
		if v, ok := overrides[name]; ok {
			return v
		}
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var errs []error
	check := func(name, value string, err error) {
		if err != nil {
			errs = append(errs, &settingError{name, value, err})
		}
	}
	c := &config{}

	c.Listen = get("AIRLOCK_LISTEN", "127.0.0.1:8080")
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		check("AIRLOCK_LISTEN", c.Listen, err)
	}

	c.MetricsListen = get("AIRLOCK_METRICS_LISTEN", "")
	if c.MetricsListen != "" {
		check("AIRLOCK_METRICS_LISTEN", c.MetricsListen, checkListenAddr(c.MetricsListen))
		if c.MetricsListen == c.Listen {
			check("AIRLOCK_METRICS_LISTEN", c.MetricsListen, fmt.Errorf("must differ from AIRLOCK_LISTEN: /metrics is never served on the public listener"))
		}
	}

	pub := get("AIRLOCK_PUBLIC_URL", "http://localhost:8080")
	u, err := parseURL(pub)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil) {
		err = fmt.Errorf("want an origin like https://accounts.example.com")
	}
	check("AIRLOCK_PUBLIC_URL", pub, err)
	if err == nil {
		u.Path = strings.TrimSuffix(u.Path, "/")
		c.PublicURL = u
	}

	c.DatabaseURL = get("AIRLOCK_DATABASE_URL", "sqlite:airlock.db")
	switch {
	case c.DatabaseURL == "sqlite:":
		check("AIRLOCK_DATABASE_URL", c.DatabaseURL, fmt.Errorf("the sqlite path is empty"))
	case strings.HasPrefix(c.DatabaseURL, "sqlite:"):
		check("AIRLOCK_DATABASE_URL", c.DatabaseURL, checkSQLiteDir(strings.TrimPrefix(c.DatabaseURL, "sqlite:")))
	case strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		if _, err := parseURL(c.DatabaseURL); err != nil {
			check("AIRLOCK_DATABASE_URL", c.DatabaseURL, fmt.Errorf("want postgres://user:pass@host:port/db?…: %w", err))
		}
	default:
		check("AIRLOCK_DATABASE_URL", c.DatabaseURL, fmt.Errorf("want sqlite:PATH or postgres://…"))
	}

	c.SMTPURL = get("AIRLOCK_SMTP_URL", "")
	if c.SMTPURL != "" {
		check("AIRLOCK_SMTP_URL", c.SMTPURL, checkSMTPURL(c.SMTPURL))
	}
	if c.SMTPURL == "" && c.PublicURL != nil && !isLoopbackHost(c.PublicURL.Hostname()) {
		// The dev mailbox shows every reset link to whoever opens it: it is
		// only ever offered on a machine's own loopback address.
		errs = append(errs, fmt.Errorf("bad setting AIRLOCK_SMTP_URL: it is required when AIRLOCK_PUBLIC_URL (%s) is not a loopback address; the dev mailbox is for local use only", c.PublicURL))
	}
	c.MailFrom = get("AIRLOCK_MAIL_FROM", "Airlock <no-reply@localhost>")
	helo := ""
	if c.PublicURL != nil {
		helo = c.PublicURL.Hostname()
	}
	// The name Airlock greets the relay with: many receiving servers refuse
	// "localhost", so by default it is the public URL's host.
	c.SMTPHelo = get("AIRLOCK_SMTP_HELO", helo)
	c.SMTPCAFile = get("AIRLOCK_SMTP_CA_FILE", "")
	if c.SMTPCAFile != "" {
		if _, err := os.Stat(c.SMTPCAFile); err != nil {
			check("AIRLOCK_SMTP_CA_FILE", c.SMTPCAFile, fmt.Errorf("cannot read the file: %w", errors.Unwrap(err)))
		}
	}

	c.BrandName = get("AIRLOCK_BRAND_NAME", "Airlock")
	if n := utf8.RuneCountInString(c.BrandName); n > 60 || !airlock.CheckText(c.BrandName) || strings.TrimSpace(c.BrandName) == "" {
		// It goes into every email's subject and every page's title.
		check("AIRLOCK_BRAND_NAME", c.BrandName, fmt.Errorf("want 1 to 60 characters on one line, without control characters"))
	}
	if logo := get("AIRLOCK_BRAND_LOGO", ""); logo != "" {
		c.BrandLogo, err = web.ReadLogo(logo)
		check("AIRLOCK_BRAND_LOGO", logo, err)
	}
	if color := get("AIRLOCK_BRAND_COLOR", ""); color != "" {
		c.BrandColor, err = web.ParseAccent(color)
		check("AIRLOCK_BRAND_COLOR", color, err)
	}
	it := get("AIRLOCK_INVITE_TTL", "72h")
	c.InviteTTL, err = parseDays(it)
	if err == nil && (c.InviteTTL < time.Hour || c.InviteTTL > 30*24*time.Hour) {
		err = fmt.Errorf("must be between 1h and 30d")
	}
	check("AIRLOCK_INVITE_TTL", it, err)

	c.SecretKey = get("AIRLOCK_SECRET_KEY", "")
	if c.SecretKey != "" {
		if _, err := secretbox.Parse(c.SecretKey); err != nil {
			// Never the value: it is a key.
			errs = append(errs, fmt.Errorf("bad setting AIRLOCK_SECRET_KEY: %v", err))
		}
	}
	if rt := get("AIRLOCK_REQUIRE_TWO_FACTOR", ""); rt != "" {
		for _, g := range strings.Split(rt, ",") {
			g = strings.TrimSpace(g)
			if !airlock.ValidGroup(g) {
				check("AIRLOCK_REQUIRE_TWO_FACTOR", rt, fmt.Errorf("unknown group %q (groups: %s)", g, strings.Join(airlock.Groups, ", ")))
				continue
			}
			c.RequireTwoFactor = append(c.RequireTwoFactor, g)
		}
	}

	dt := get("AIRLOCK_DATABASE_TIMEOUT", "5s")
	c.DatabaseTimeout, err = time.ParseDuration(dt)
	if err == nil && (c.DatabaseTimeout < time.Second || c.DatabaseTimeout > time.Minute) {
		err = fmt.Errorf("must be between 1s and 1m")
	}
	check("AIRLOCK_DATABASE_TIMEOUT", dt, err)

	ttl := get("AIRLOCK_RESET_TOKEN_TTL", "30m")
	c.ResetTokenTTL, err = time.ParseDuration(ttl)
	if err == nil && (c.ResetTokenTTL < time.Minute || c.ResetTokenTTL > 24*time.Hour) {
		err = fmt.Errorf("must be between 1m and 24h")
	}
	check("AIRLOCK_RESET_TOKEN_TTL", ttl, err)

	srv := get("AIRLOCK_SERVERS", "")
	c.Servers, err = parseServers(srv)
	check("AIRLOCK_SERVERS", srv, err)

	c.AppURL = get("AIRLOCK_APP_URL", "")
	if c.AppURL != "" {
		check("AIRLOCK_APP_URL", c.AppURL, checkAppURL(c.AppURL))
	}

	tp := get("AIRLOCK_TRUSTED_PROXIES", "")
	for _, part := range strings.Split(tp, ",") {
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
		check("AIRLOCK_TRUSTED_PROXIES", tp, err)
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}

	rate := func(name, def string, dst *account.Rate) {
		v := get(name, def)
		r, err := account.ParseRate(v)
		check(name, v, err)
		*dst = r
	}
	rate("AIRLOCK_LIMIT_FORGOT_PER_IP", "20/10m", &c.LimitForgotPerIP)
	rate("AIRLOCK_LIMIT_RESET_PER_ACCOUNT", "3/1h", &c.LimitResetPerAccount)
	rate("AIRLOCK_LIMIT_BAD_TOKEN_PER_IP", "20/10m", &c.LimitBadTokenPerIP)
	rate("AIRLOCK_LIMIT_LOGIN_PER_EMAIL", "10/15m", &c.LimitLoginPerEmail)
	rate("AIRLOCK_LIMIT_LOGIN_PER_IP", "100/15m", &c.LimitLoginPerIP)

	lvl := get("AIRLOCK_LOG_LEVEL", "info")
	check("AIRLOCK_LOG_LEVEL", lvl, c.LogLevel.UnmarshalText([]byte(lvl)))
	switch f := get("AIRLOCK_LOG_FORMAT", "text"); f {
	case "text":
	case "json":
		c.LogJSON = true
	default:
		check("AIRLOCK_LOG_FORMAT", f, fmt.Errorf("want text or json"))
	}

	ml := get("AIRLOCK_PASSWORD_MIN_LENGTH", strconv.Itoa(password.DefaultMinLength))
	c.PasswordMinLength, err = strconv.Atoi(ml)
	if err == nil && (c.PasswordMinLength < password.MinLengthFloor || c.PasswordMinLength > 64) {
		err = fmt.Errorf("must be between %d and 64", password.MinLengthFloor)
	}
	check("AIRLOCK_PASSWORD_MIN_LENGTH", ml, err)

	a2 := get("AIRLOCK_ARGON2", password.DefaultParams.String())
	c.Argon2, err = password.ParseParams(a2)
	check("AIRLOCK_ARGON2", a2, err)

	hc := get("AIRLOCK_HASH_CONCURRENCY", strconv.Itoa(max(2, runtime.GOMAXPROCS(0))))
	c.HashConcurrency, err = strconv.Atoi(hc)
	if err == nil && (c.HashConcurrency < 1 || c.HashConcurrency > 256) {
		err = fmt.Errorf("must be between 1 and 256")
	}
	check("AIRLOCK_HASH_CONCURRENCY", hc, err)

	ar := get("AIRLOCK_AUDIT_RETENTION", "400d")
	c.AuditRetention, err = parseRetention(ar)
	check("AIRLOCK_AUDIT_RETENTION", ar, err)

	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s", strings.Join(msgs, "\n"))
	}
	return c, nil
}

// appSchemeRE is a private-use URI scheme in reverse-DNS form followed by
// one slash, as RFC 8252 §7.1 asks of apps: com.example.fieldapp:/done.
var appSchemeRE = regexp.MustCompile(`^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+:/([^/]|$)`)

// checkAppURL accepts the "Return to the app" link by allowlist: https://…,
// http:// on a loopback host, or an app's reverse-DNS scheme. It is a link
// on a page users trust: javascript:, data:, file: or an unowned scheme
// (myapp://, which any app may claim) must never get there.
func checkAppURL(v string) error {
	const want = "want https://…, http:// on a loopback host, or an app's reverse-DNS scheme such as com.example.fieldapp:/done (RFC 8252 §7.1)"
	if err := checkURLText(v); err != nil {
		return err
	}
	if strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") {
		if err := checkWebURL(v, true); err != nil {
			return fmt.Errorf("%s: %w", want, err)
		}
		return nil
	}
	if !appSchemeRE.MatchString(v) {
		return errors.New(want)
	}
	if _, err := parseURL(v); err != nil {
		return fmt.Errorf("%s: %w", want, err)
	}
	return nil
}

// checkURLText accepts printable ASCII without spaces or backslashes, which
// browsers and apps read as "/": anything else is percent-encoded, and an
// international host name is written in punycode.
func checkURLText(v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return errors.New("a URL is printable ASCII without spaces or backslashes (percent-encode the rest; punycode for host names)")
		}
	}
	return nil
}

// hostnameRE is a DNS name: letters, digits and hyphens in dot-separated labels.
var hostnameRE = regexp.MustCompile(`^(?i)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkWebURL accepts https://host[:port][/path], or http:// when the host
// is this machine: a password sent to any other http:// URL crosses the
// network in clear. User info is never accepted; a query and a fragment
// only when withQuery is set.
func checkWebURL(v string, withQuery bool) error {
	if err := checkURLText(v); err != nil {
		return err
	}
	u, err := parseURL(v)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(v, u.Scheme+"://") || u.Opaque != "" {
		return errors.New("want https://host[:port][/path]")
	}
	if u.User != nil {
		return errors.New("no user name or password in the URL")
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return errors.New("no IPv6 zone in the host")
		}
	} else if host == "" || len(host) > 253 || !hostnameRE.MatchString(host) {
		return errors.New("want a host name (letters, digits, hyphens, dots) or an IP address")
	}
	if strings.HasSuffix(u.Host, ":") {
		return errors.New("empty port")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("the port must be from 1 to 65535")
		}
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopbackHost(host):
	default:
		return errors.New("want https://, or http:// on a loopback host only")
	}
	if !withQuery && (u.RawQuery != "" || u.ForceQuery || strings.Contains(v, "#")) {
		return errors.New("no query or fragment")
	}
	return nil
}

// daysRE is a whole number of days, such as 400d.
var daysRE = regexp.MustCompile(`^[0-9]{1,5}d$`)

// parseRetention reads a Go duration or a whole number of days (400d),
// from 1 day to 3650 days: pruning sooner would lose the record of an
// attack before anyone looks; keeping more only grows the table.
func parseRetention(v string) (time.Duration, error) {
	const day = 24 * time.Hour
	d, err := parseDays(v)
	if err != nil {
		return 0, err
	}
	if d < day || d > 3650*day {
		return 0, errors.New("must be between 1d and 3650d")
	}
	return d, nil
}

// parseDays reads a whole number of days ("30d") or a Go duration ("72h").
func parseDays(v string) (time.Duration, error) {
	if daysRE.MatchString(v) {
		n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
		if err != nil || n > 100000 {
			return 0, errors.New("too many days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("want a whole number of days such as 30d, or a Go duration such as 72h")
	}
	return d, nil
}

// checkSQLiteDir checks that the directory of a SQLite file exists: SQLite
// creates the file but not its directory, and says only "unable to open
// database file" when it is missing.
func checkSQLiteDir(path string) error {
	path, _, _ = strings.Cut(path, "?")
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the directory %s does not exist: create it, or choose a file in an existing directory", dir)
	case err != nil:
		return fmt.Errorf("cannot use the directory %s: %w", dir, errors.Unwrap(err))
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// checkSMTPURL accepts smtp://[user:pass@]host:port and smtps://….
func checkSMTPURL(v string) error {
	const want = "want smtp://[user:pass@]host:port or smtps://[user:pass@]host:port"
	u, err := parseURL(v)
	if err != nil {
		return fmt.Errorf("%s: %w", want, err)
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" || u.Opaque != "" {
		return errors.New(want)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return errors.New(want)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s, with a port from 1 to 65535", want)
	}
	return nil
}

// checkListenAddr accepts host:port with a port number from 1 to 65535.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("want host:port with a port from 1 to 65535")
	}
	return nil
}

// isLoopbackHost reports whether host names this machine only.
func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// secretKeyFile is where the embedded default keeps its key: beside the
// SQLite file, so that a backup of the one is taken with the other.
func secretKeyFile(c *config) string {
	path, ok := strings.CutPrefix(c.DatabaseURL, "sqlite:")
	if !ok {
		return ""
	}
	return path + ".key"
}

// secretBox opens the box of AIRLOCK_SECRET_KEY, or of the key file beside
// the SQLite file; serve creates that file (mode 0600) on first start and
// says so. With PostgreSQL and no setting there is none: nobody can enrol
// in two-step sign-in until the operator sets AIRLOCK_SECRET_KEY.
func secretBox(c *config, create bool, say func(string)) (*secretbox.Box, error) {
	if c.SecretKey != "" {
		return secretbox.Parse(c.SecretKey)
	}
	path := secretKeyFile(c)
	if path == "" {
		return nil, nil
	}
	if !secretbox.Exists(path) {
		if !create {
			return nil, nil
		}
		if err := secretbox.NewKeyFile(path); err != nil {
			return nil, fmt.Errorf("create the key file %s (AIRLOCK_SECRET_KEY): %w", path, err)
		}
		say(fmt.Sprintf("Created %s, the key that seals two-step sign-in keys (AIRLOCK_SECRET_KEY): back it up with the database", path))
	}
	return secretbox.Parse("file:" + path)
}
