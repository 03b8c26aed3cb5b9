package main

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/airlockhq/airlock/peer"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/secretbox"
	"github.com/airlockhq/airlock/web"
)

// config is every setting of SPEC §3, read from the environment.
type config struct {
	Listen        string
	MetricsListen string
	PublicURL     *url.URL
	DatabaseURL   string
	SMTPURL       string
	MailFrom      string
	ResetTokenTTL time.Duration
	Servers       []server
	// Peers are AIRLOCK_PEERS: the servers asked about an address with no
	// account here.
	Peers  []peer.Peer
	AppURL string
	// AppLinks are the apps that open the emailed links
	// (AIRLOCK_IOS_APP_IDS, AIRLOCK_ANDROID_APPS).
	AppLinks             web.AppLinks
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
	// LimitPasskeyOptionsPerIP and LimitBadPasskeyPerIP bound the passkey
	// ceremonies a client address begins and its refused passkey answers.
	LimitPasskeyOptionsPerIP account.Rate
	LimitBadPasskeyPerIP     account.Rate
}

type server = airlock.Server

// settingError names the variable whose value is wrong.
type settingError struct {
	name, value string
	// secret is the setting's: its value is not shown at all.
	secret bool
	err    error
}

// Error names the variable and never shows a password written in the value,
// whether or not the value parses (SPEC §3).
func (e *settingError) Error() string {
	var msg string
	if e.secret {
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
	if !ok || len(pw) < 4 {
		// Too short to find in free text without blotting out the words
		// around it ("x" in "example"); the message never quotes the user
		// info anyway (redactUserinfo).
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

// loadConfig reads every setting of the table, overrides (from serve's
// flags) winning, and then checks the settings against each other. Every
// mistake is reported, one line each, not only the first.
func loadConfig(getenv func(string) string, overrides map[string]string) (*config, error) {
	c := &config{}
	var errs []error
	for _, s := range settings {
		// A flag given empty stays empty; an empty variable is unset.
		v, ok := overrides[s.name]
		if !ok {
			v = cmp.Or(getenv(s.name), s.defaultFor(c))
		}
		for _, err := range eachError(s.parse(c, v)) {
			errs = append(errs, &settingError{name: s.name, value: v, secret: s.secret, err: err})
		}
	}
	if c.MetricsListen != "" && c.MetricsListen == c.Listen {
		errs = append(errs, &settingError{name: "AIRLOCK_METRICS_LISTEN", value: c.MetricsListen,
			err: errors.New("must differ from AIRLOCK_LISTEN: /metrics is never served on the public listener")})
	}
	if c.SMTPURL == "" && c.PublicURL != nil && !isLoopbackHost(c.PublicURL.Hostname()) {
		// The dev mailbox shows every reset link to whoever opens it: it is
		// only ever offered on a machine's own loopback address.
		errs = append(errs, fmt.Errorf("bad setting AIRLOCK_SMTP_URL: it is required when AIRLOCK_PUBLIC_URL (%s) is not a loopback address; the dev mailbox is for local use only", c.PublicURL))
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s", strings.Join(msgs, "\n"))
	}
	return c, nil
}

// eachError returns the mistakes err holds: those of errors.Join one by
// one (a list setting reports each bad item), err alone otherwise.
func eachError(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
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
	return secretbox.FromFile(path)
}
