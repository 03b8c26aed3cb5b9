package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/airlockhq/airlock/peer"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/api"
	"github.com/airlockhq/airlock/internal/metrics"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/passkey"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/provider"
	"github.com/airlockhq/airlock/secretbox"
	"github.com/airlockhq/airlock/store"
	"github.com/airlockhq/airlock/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: airlock COMMAND [FLAGS]

Airlock is an accounts service: user accounts, sign-in for web and mobile,
forgotten passwords and the administrators' password actions.

Commands:
  serve              run the server (migrates the database first)
  migrate            apply database migrations and exit
  user add           create a user
  user import        create users from a CSV file, all or nothing
  user set-password  set a user's password, read from standard input
  user list          list users
  client add         add an application that signs people in (OpenID Connect)
  client list        list the applications
  client remove      remove an application
  client rotate-secret  give an application a new secret
  client set-grants  set what an application may use (the password grant, for one)
  keys rotate        publish a new token signing key
  peer key           print this server's key, for its peers' AIRLOCK_PEERS
  audit              print the security event log
  mail list          list the emails in the outbox and their delivery
  mail retry         send a failed or deferred email again
  mail clear-dev     empty the dev mailbox
  version            print the version
  help [COMMAND]     print this help, or a command's

Run "airlock COMMAND --help" for a command's flags. Settings are environment
variables (AIRLOCK_*): "airlock serve --help" lists them, and the README's
"Settings" section says what each one means and its default.
`

// usageError is bad command-line input: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// run is the whole program, so that tests can drive it as a user would.
// getenv reads a setting; environ lists the whole environment, only so that
// a misspelt AIRLOCK_* variable can be reported.
func run(ctx context.Context, args []string, getenv func(string) string, environ func() []string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, env{getenv, environ, stderr}, stdin, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// dispatch runs the command that args name. It returns errHelp when a
// usage was asked for and printed on stdout.
func dispatch(ctx context.Context, args []string, e env, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{"no command"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], e, stdout, stderr)
	case "migrate":
		c := newCommand("migrate", "", `
Apply the database migrations of AIRLOCK_DATABASE_URL and exit. "airlock serve"
migrates too, so this is only needed to migrate ahead of a start (several nodes
starting together migrate once).`)
		if err := c.parse(args[1:], stdout, stderr); err != nil {
			return err
		}
		if err := c.noArgs(stderr); err != nil {
			return err
		}
		cfg, err := e.load(nil)
		if err != nil {
			return err
		}
		db, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "user":
		return userCommand(ctx, args[1:], e, stdin, stdout, stderr)
	case "client":
		return clientCommand(ctx, args[1:], e, stdout, stderr)
	case "keys":
		return keysCommand(ctx, args[1:], e, stdout, stderr)
	case "peer":
		return peerCommand(ctx, args[1:], e, stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], e, stdout, stderr)
	case "mail":
		return mailCommand(ctx, args[1:], e, stdout, stderr)
	case "version":
		c := newCommand("version", "", "Print the version of this airlock binary.")
		if err := c.parse(args[1:], stdout, stderr); err != nil {
			return err
		}
		if err := c.noArgs(stderr); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "airlock", version)
		return nil
	case "help", "-h", "-help", "--help":
		if args[0] == "help" && len(args) > 1 {
			// "airlock help user add" is "airlock user add --help".
			return dispatch(ctx, append(append([]string{}, args[1:]...), "--help"), e, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return &usageError{fmt.Sprintf("unknown command %q", terminalText(args[0]))}
	}
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func openStore(ctx context.Context, cfg *config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		// The driver's message should not hold the password; make sure.
		return nil, fmt.Errorf("open the database of AIRLOCK_DATABASE_URL: %s", hidePassword(err.Error(), cfg.DatabaseURL))
	}
	db.SetTimeout(cfg.DatabaseTimeout)
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// app is the wired service.
type app struct {
	db         *store.DB
	accounts   *account.Service
	hasher     *password.Hasher
	devMailbox *mail.DevMailbox
	// box seals two-step keys and signing keys (nil: no AIRLOCK_SECRET_KEY).
	box   *secretbox.Box
	clock airlock.Clock
}

func newApp(ctx context.Context, cfg *config, log *slog.Logger, clock airlock.Clock) (*app, error) {
	box, err := secretBox(cfg, cfg.serving, func(msg string) { log.Warn(msg) })
	if err != nil {
		return nil, err
	}
	if box == nil && cfg.serving {
		// Without a key nothing can be sealed: say what the operator loses.
		log.Warn("AIRLOCK_SECRET_KEY is not set: nobody can turn on two-step sign-in, and an email sent again after a node failed mid-delivery carries a new link instead of the same one")
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var look []mail.Option
	if cfg.BrandColor != "" {
		look = append(look, mail.WithAccent(cfg.BrandColor))
	}
	templates, err := mail.ParseTemplates(look...)
	if err != nil {
		db.Close()
		return nil, err
	}
	a := &app{db: db, box: box, clock: clock}
	var sender mail.Sender
	if cfg.SMTPURL == "" {
		a.devMailbox = mail.NewDevMailbox(db, clock.Now)
		sender = a.devMailbox
	} else {
		smtp, err := mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom, mail.Options{HELO: cfg.SMTPHelo, CAFile: cfg.SMTPCAFile})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("bad setting AIRLOCK_SMTP_URL, AIRLOCK_MAIL_FROM, AIRLOCK_SMTP_HELO or AIRLOCK_SMTP_CA_FILE: %w", err)
		}
		sender = smtp
	}
	a.hasher = password.NewHasher(cfg.Argon2, cfg.HashConcurrency, 2*time.Second)
	acfg := account.DefaultConfig(cfg.PublicURL)
	acfg.AppURL = cfg.AppURL
	acfg.ResetTokenTTL = cfg.ResetTokenTTL
	acfg.AuditRetention = cfg.AuditRetention
	acfg.BrandName = cfg.BrandName
	acfg.InviteTTL = cfg.InviteTTL
	acfg.SecretBox = box
	acfg.RequireTwoFactor = cfg.RequireTwoFactor
	for _, app := range cfg.AppLinks.Android {
		for _, fp := range app.Fingerprints {
			origin, err := passkey.AndroidOrigin(fp)
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("bad setting AIRLOCK_ANDROID_APPS: %w", err)
			}
			acfg.PasskeyApps = append(acfg.PasskeyApps, origin)
		}
	}
	acfg.ServerName = serverName(cfg.Servers, cfg.PublicURL.String())
	if len(cfg.Peers) > 0 {
		if box == nil {
			db.Close()
			return nil, fmt.Errorf("AIRLOCK_PEERS needs AIRLOCK_SECRET_KEY: this server signs its questions with a key made from it")
		}
		for _, p := range cfg.Peers {
			acfg.Peers = append(acfg.Peers, account.Peer{URL: p.URL, Name: serverName(cfg.Servers, p.URL)})
		}
		acfg.PeerAsker = &peer.Client{Self: cfg.PublicURL.String(), Key: peer.KeyFrom(box), HTTP: &http.Client{Timeout: 10 * time.Second}, Now: clock.Now}
	}
	acfg.LimitForgotPerIP = cfg.LimitForgotPerIP
	acfg.LimitResetPerAccount = cfg.LimitResetPerAccount
	acfg.LimitBadTokenPerIP = cfg.LimitBadTokenPerIP
	acfg.LimitLoginPerEmail = cfg.LimitLoginPerEmail
	acfg.LimitLoginPerIP = cfg.LimitLoginPerIP
	acfg.LimitPasskeyOptionsPerIP = cfg.LimitPasskeyOptionsPerIP
	acfg.LimitBadPasskeyPerIP = cfg.LimitBadPasskeyPerIP
	a.accounts = account.New(log, acfg, db, a.hasher, password.NewPolicy(cfg.PasswordMinLength), templates, sender, clock)
	return a, nil
}

// newHTTPServer returns a server with timeouts and size limits, so that slow
// or oversized requests cannot hold connections or memory.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

func serve(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	c := newCommand("serve", "[--listen ADDR] [--public-url URL] [--database-url URL]", `
Run the server: the web pages, the JSON API and the workers that send emails.
The database is migrated first. SIGINT or SIGTERM stops it gracefully.`)
	fs := c.flags
	listen := fs.String("listen", "", "`ADDR` listen address (host:port), instead of AIRLOCK_LISTEN")
	publicURL := fs.String("public-url", "", "`URL` the public URL, the only origin used in links, instead of AIRLOCK_PUBLIC_URL")
	dbURL := fs.String("database-url", "", "`URL` the database: sqlite:PATH or postgres://…, instead of AIRLOCK_DATABASE_URL")
	c.more = settingsHelp()
	if err := c.parse(args, stdout, stderr); err != nil {
		return err
	}
	if err := c.noArgs(stderr); err != nil {
		return err
	}
	overrides := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			overrides["AIRLOCK_LISTEN"] = *listen
		case "public-url":
			overrides["AIRLOCK_PUBLIC_URL"] = *publicURL
		case "database-url":
			overrides["AIRLOCK_DATABASE_URL"] = *dbURL
		}
	})
	cfg, err := e.load(overrides)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	cfg.serving = true
	a, err := newApp(ctx, cfg, log, airlock.SystemClock{})
	if err != nil {
		return err
	}
	defer a.db.Close()
	for _, p := range cfg.TrustedProxies {
		if p.Bits() == 0 {
			// Anyone could then write their own X-Forwarded-For and pick the
			// address every per-IP limit counts against.
			log.Warn("AIRLOCK_TRUSTED_PROXIES trusts every address: clients choose the IP their limits count against; name your load balancers only", "prefix", p.String())
		}
	}
	if off, err := a.db.AutovacuumOff(ctx); err != nil {
		log.Warn("could not read PostgreSQL's autovacuum setting", "err", err)
	} else if off {
		// Airlock leaves its queue's upkeep to autovacuum (migration 11).
		log.Warn("PostgreSQL's autovacuum is off: the jobs table keeps its dead rows until a VACUUM; turn autovacuum on, or VACUUM the database regularly")
	}
	if setDefaultLogger != nil {
		// The protocol library logs through slog's default logger: its
		// lines then follow AIRLOCK_LOG_FORMAT and level like ours. Only
		// the real process sets it (tests run several servers in one).
		setDefaultLogger(log)
	}
	if setMemoryLimit != nil && e.getenv("GOMEMLIMIT") == "" {
		limit := memoryLimit(cfg)
		setMemoryLimit(limit)
		log.Info("soft memory limit set (GOMEMLIMIT overrides it)", "mib", limit>>20)
	}
	if !a.accounts.PasskeysOn() {
		log.Warn("passkeys are off: WebAuthn needs AIRLOCK_PUBLIC_URL to name a host (localhost will do), not an IP address", "public_url", cfg.PublicURL.String())
	}
	if d := password.DefaultParams; cfg.Argon2.Memory < d.Memory || cfg.Argon2.Time < d.Time {
		log.Warn("AIRLOCK_ARGON2 is below the OWASP recommendation: use it for tests only", "argon2", cfg.Argon2.String(), "recommended", d.String())
	}

	reg := newMetrics(a, log, cfg.MetricsListen != "")
	requests := metrics.NewCounterVec("airlock_http_requests_total",
		"HTTP requests answered, by route and status code.", "route", "code")
	inFlight := metrics.NewGauge("airlock_http_requests_in_flight",
		"HTTP requests being answered now.")
	reg.MustRegister(requests, inFlight)

	pages, err := web.NewServer(log, web.Config{PublicURL: cfg.PublicURL, AppURL: cfg.AppURL, TrustedProxies: cfg.TrustedProxies,
		Logo: cfg.BrandLogo, Accent: cfg.BrandColor, AppLinks: cfg.AppLinks}, a.accounts, a.db, a.devMailbox)
	if err != nil {
		return err
	}
	root := http.NewServeMux()
	jsonAPI := api.NewServer(log, api.Config{Servers: cfg.Servers, TrustedProxies: cfg.TrustedProxies}, a.accounts)
	root.Handle("/api/", jsonAPI)
	root.Handle("/api", jsonAPI)
	root.Handle("/", pages)
	if err := mountProvider(ctx, root, cfg, a, log); err != nil {
		return err
	}
	if len(cfg.Peers) > 0 {
		receiver := &peer.Receiver{Accounts: a.accounts, Peers: cfg.Peers, Names: map[string]string{}, Self: cfg.PublicURL.String(),
			TrustedProxies: cfg.TrustedProxies}
		for _, p := range cfg.Peers {
			receiver.Names[p.URL] = serverName(cfg.Servers, p.URL)
		}
		root.Handle(peer.Path, receiver)
	}
	handler := countRequests(requests, inFlight, root)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (AIRLOCK_LISTEN): %w", cfg.Listen, err)
	}
	servers := []*http.Server{newHTTPServer(handler, log)}
	listeners := []net.Listener{ln}
	if cfg.MetricsListen != "" {
		// Metrics tell how busy the service is and what runs it: they stay
		// on an operator's listener, never on the public one.
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (AIRLOCK_METRICS_LISTEN): %w", cfg.MetricsListen, err)
		}
		metricsMux := http.NewServeMux()
		metricsMux.Handle("GET /metrics", reg.Handler(log))
		servers = append(servers, newHTTPServer(metricsMux, log))
		listeners = append(listeners, mln)
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { a.accounts.RunWorkers(workCtx) })

	fmt.Fprintf(stdout, "Airlock %s listening on http://%s (public URL %s)\n", version, ln.Addr(), cfg.PublicURL)
	if len(listeners) > 1 {
		fmt.Fprintf(stdout, "Prometheus metrics at http://%s/metrics\n", listeners[1].Addr())
	}
	if a.devMailbox != nil {
		fmt.Fprintf(stdout, "No AIRLOCK_SMTP_URL: emails go to the dev mailbox at %s/dev/mail\n", cfg.PublicURL)
	}
	serveErr := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { serveErr <- srv.Serve(listeners[i]) }()
	}

	var failed error
	select {
	case err := <-serveErr:
		failed = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		log.Info("shutting down")
	}
	// In-flight requests finish first; then the workers stop between jobs.
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var shutErrs []error
	for _, srv := range servers {
		if err := srv.Shutdown(shutCtx); err != nil {
			shutErrs = append(shutErrs, err)
		}
	}
	stopWork()
	wg.Wait()
	if failed != nil {
		return failed
	}
	if err := errors.Join(shutErrs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(stdout, "Airlock stopped")
	return nil
}

// setMemoryLimit is runtime/debug.SetMemoryLimit in the real process (main
// sets it); the tests leave it nil, since the limit is process-wide.
var setMemoryLimit func(int64) int64

// memoryLimit is the soft memory limit serve gives the Go runtime when
// GOMEMLIMIT is unset: 32 MiB for everything else, plus twice what the
// hashes running at once hold. Each argon2id hash allocates its whole
// memory cost (19 MiB by default) and drops it; without a limit the
// collector lets that garbage pile up to the next doubling of the heap, and
// a burst of sign-ins costs far more resident memory than the hashes need.
// With it the collector runs sooner and the runtime hands pages back.
func memoryLimit(cfg *config) int64 {
	return 32<<20 + 2*int64(cfg.HashConcurrency)*int64(cfg.Argon2.Memory)<<10
}

// mountProvider serves the OpenID Provider's paths. Its signing keys are
// sealed with AIRLOCK_SECRET_KEY: without a key it is off, and serve
// refuses to start once an application uses it (it could not sign in).
func mountProvider(ctx context.Context, root *http.ServeMux, cfg *config, a *app, log *slog.Logger) error {
	if a.box == nil {
		cs, err := a.accounts.Clients(ctx)
		if err != nil {
			return err
		}
		// The built-in application of the password grant needs no
		// provider; one that signs people in or gets tokens of its own does.
		if slices.ContainsFunc(cs, func(c *airlock.Client) bool {
			return c.Allows(airlock.GrantAuthorizationCode) || c.Allows(airlock.GrantClientCredentials)
		}) {
			return fmt.Errorf("AIRLOCK_SECRET_KEY is required once an application exists (airlock client list): the OpenID Provider's signing keys are sealed with it")
		}
		log.Warn("AIRLOCK_SECRET_KEY is not set: the OpenID Provider is off")
		return nil
	}
	keys := provider.NewKeys(a.db, a.box, a.clock)
	if err := keys.Ensure(ctx); err != nil {
		return err
	}
	p, err := provider.New(provider.Config{Issuer: cfg.PublicURL.String(), TrustedProxies: cfg.TrustedProxies,
		SessionID: web.SessionID(cfg.PublicURL), Log: log},
		a.accounts, a.db, keys)
	if err != nil {
		return err
	}
	for _, path := range provider.Paths() {
		root.Handle(path, p)
	}
	return nil
}

// serverName names the server of URL u in emails: its name in the
// directory (AIRLOCK_SERVERS), else its host.
func serverName(servers []server, u string) string {
	for _, s := range servers {
		if peer.Canonical(s.URL) == peer.Canonical(u) {
			return s.Name
		}
	}
	if parsed, err := url.Parse(u); err == nil && parsed.Host != "" {
		return parsed.Host
	}
	return u
}

// setDefaultLogger makes serve's logger slog's default; nil in tests.
var setDefaultLogger func(*slog.Logger)
