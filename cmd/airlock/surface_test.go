package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/testutil"
)

// refusedStart runs `airlock serve` expecting it to refuse to start, and
// returns its error. A serve that starts anyway is stopped after a while, so
// that a failing test does not hang.
func (p *program) refusedStart() error {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"serve"}, p.getenv, p.environ, strings.NewReader(""), &out, p.logs)
	if err == nil {
		p.t.Errorf("serve started:\n%s", out.String())
	}
	return err
}

// TestMetricsListener: /metrics is never on the public listener; with
// AIRLOCK_METRICS_LISTEN it is on a second listener that serves nothing
// else and stops with the main one.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	t.Run("off by default", func(t *testing.T) {
		p := newProgram(t, nil)
		p.serve()
		if res, _ := get(t, browser(), p.url("/metrics")); res.StatusCode != http.StatusNotFound {
			t.Fatalf("/metrics on the public listener: %d", res.StatusCode)
		}
	})
	t.Run("on its own listener", func(t *testing.T) {
		metricsAddr := freePort(t)
		p := newProgram(t, map[string]string{"AIRLOCK_METRICS_LISTEN": metricsAddr})
		stop := p.serve()
		c := browser()
		get(t, c, p.url("/healthz"))
		get(t, c, p.url("/api/v1/users/some-id"))
		if res, _ := get(t, c, p.url("/metrics")); res.StatusCode != http.StatusNotFound {
			t.Fatalf("/metrics on the public listener: %d", res.StatusCode)
		}
		res, body := get(t, c, "http://"+metricsAddr+"/metrics")
		// Requests are counted by route pattern, never by path (which may
		// hold an identifier); the database's and the outbox's state, the
		// hashing load and the lease takeovers are there to alert on.
		for _, want := range []string{`airlock_http_requests_total{code="200",route="GET /healthz"} `,
			`airlock_http_requests_total{code="401",route="GET /api/v1/users/{id}"} 1`, "airlock_database_up 1",
			"airlock_outbox_oldest_waiting_seconds 0", "airlock_job_lease_takeovers_total 0", "airlock_queue_lag_seconds 0", "airlock_forgot_refused_busy_total 0", "airlock_password_hash_wait_seconds_bucket",
			"airlock_database_outages_total 0"} {
			if res.StatusCode != 200 || !strings.Contains(body, want) {
				t.Errorf("/metrics on the metrics listener: %d, no %s", res.StatusCode, want)
			}
		}
		if strings.Contains(body, "some-id") {
			t.Error("a path reached the metrics")
		}
		for _, path := range []string{"/", "/healthz", "/login", "/api/v1/servers", "/dev/mail", "/metrics/x"} {
			if res, _ := get(t, c, "http://"+metricsAddr+path); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s on the metrics listener: %d", path, res.StatusCode)
			}
		}
		out := stop()
		if !strings.Contains(out, "Prometheus metrics at http://"+metricsAddr+"/metrics") || !strings.Contains(out, "Airlock stopped") {
			t.Fatalf("serve output:\n%s", out)
		}
		if conn, err := net.DialTimeout("tcp", metricsAddr, time.Second); err == nil {
			conn.Close()
			t.Fatal("the metrics listener is still open after shutdown")
		}
	})
	t.Run("bad or clashing address", func(t *testing.T) {
		for _, v := range []string{"nonsense", "127.0.0.1:http-alt", "127.0.0.1:70000", "SAME"} {
			p := newProgram(t, nil)
			if v == "SAME" {
				v = p.env["AIRLOCK_LISTEN"]
			}
			p.env["AIRLOCK_METRICS_LISTEN"] = v
			if err := p.refusedStart(); err == nil || !strings.Contains(err.Error(), "AIRLOCK_METRICS_LISTEN") {
				t.Errorf("AIRLOCK_METRICS_LISTEN=%q: %v", v, err)
			}
		}
	})
}

// TestDevMailboxChecksHost: a page on another site whose name resolves to
// 127.0.0.1 (DNS rebinding) reaches the dev mailbox from a loopback client,
// but with its own name in Host: that request must find nothing.
func TestDevMailboxChecksHost(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	if _, err := p.run("", "user", "add", "--email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {"ada@example.com"}})
	_, port, _ := net.SplitHostPort(p.env["AIRLOCK_LISTEN"])
	devMail := func(host string) (int, string) {
		req, err := http.NewRequest("GET", p.url("/dev/mail"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		res, err := browser().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, body := devMail("127.0.0.1:" + port); linkRE.MatchString(body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no reset link in the dev mailbox")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, host := range []string{"localhost", "localhost:" + port, "LocalHost:" + port, "dev.localhost:" + port,
		"127.0.0.1", "127.0.0.1:" + port, "127.1.2.3:" + port, "[::1]", "[::1]:" + port} {
		if code, body := devMail(host); code != 200 || !linkRE.MatchString(body) {
			t.Errorf("Host %q: %d", host, code)
		}
	}
	for _, host := range []string{"rebind.example.com", "rebind.example.com:" + port, "localhost.example.com:" + port,
		"localhost.evil", "127.0.0.1.nip.io:" + port, "10.0.0.1:" + port, "[::ffff:10.0.0.1]:" + port, "[fe80::1]:" + port,
		"xlocalhost", "[::1]:" + port + ":1"} {
		code, body := devMail(host)
		if code != http.StatusNotFound || linkRE.MatchString(body) || strings.Contains(body, "token=") {
			t.Errorf("Host %q: %d", host, code)
		}
	}
}

// TestNoDirectoryListings: /static/ serves its files, never a list of them.
func TestNoDirectoryListings(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	p.serve()
	c := browser()
	res, body := get(t, c, p.url("/static/style.css"))
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || body == "" {
		t.Fatalf("/static/style.css: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// Redirects (path cleaning, index.html) are followed to the end.
	follow := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/static", "/static/", "/static/.", "/static//", "/static/./", "/static/index.html", "/static/nope.css"} {
		res, body := get(t, follow, p.url(path))
		if res.StatusCode != http.StatusNotFound || strings.Contains(body, "style.css") {
			t.Errorf("%s: %d\n%s", path, res.StatusCode, body)
		}
	}
}

// TestSettingsNeverEchoASecret: whatever the value, parsed or not, the
// message that refuses it never shows the password written in it.
func TestSettingsNeverEchoASecret(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, value string }{
		{"AIRLOCK_SMTP_URL", "smtp://u:secret@h:notaport"},
		{"AIRLOCK_SMTP_URL", "smtp://u:secret@h:25:26"},
		{"AIRLOCK_SMTP_URL", "smtp://u:secret@[::1"},
		{"AIRLOCK_SMTP_URL", "smtp://u:secret%zz@h:25"},
		{"AIRLOCK_SMTP_URL", "smtp://u:secret\x01@h:25"},
		{"AIRLOCK_SMTP_URL", " smtp://u:secret@h:25"},
		{"AIRLOCK_SMTP_URL", "smtp://u:secret"},
		{"AIRLOCK_SMTP_URL", "smtp://u:secret@mail.example.com"},
		{"AIRLOCK_SMTP_URL", "smtps://u:secret@mail.example.com:0"},
		{"AIRLOCK_SMTP_URL", "http://u:secret@mail.example.com"},
		{"AIRLOCK_SMTP_URL", "smtp://u:se@cret@h:x"},
		{"AIRLOCK_DATABASE_URL", "postgres://u:secret@h:notaport/db"},
		{"AIRLOCK_DATABASE_URL", "postgresql://u:secret@h:5432:1/db"},
		{"AIRLOCK_DATABASE_URL", "postgres://u:secret@[::1/db"},
		{"AIRLOCK_DATABASE_URL", "postgres://u:secret%zz@h/db"},
		{"AIRLOCK_DATABASE_URL", "postgres://u:secret@h/db\x7f"},
		{"AIRLOCK_DATABASE_URL", "postgres://u:secret@h/db?sslmode=bogus"},
		{"AIRLOCK_DATABASE_URL", "postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"},
		{"AIRLOCK_DATABASE_URL", "mysql://u:secret@h/db"},
		{"AIRLOCK_DATABASE_URL", "host=h user=u password=secret dbname=db"},
		{"AIRLOCK_DATABASE_URL", "postgres:/u:secret@h/db"},
		{"AIRLOCK_PUBLIC_URL", "https://u:secret@accounts.example.com:bad"},
		{"AIRLOCK_PUBLIC_URL", "https://u:secret@accounts.example.com"},
		{"AIRLOCK_APP_URL", "https://u:secret@app.example.com:bad"},
		{"AIRLOCK_SERVERS", "eu=Europe=https://u:secret@eu.example.com:bad"},
		// A one-letter password is hidden without hiding the variable's name.
		{"AIRLOCK_SMTP_URL", "smtp://u:A@h:notaport"},
		{"AIRLOCK_PUBLIC_URL", "https://u:L@h:bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			p := newProgram(t, map[string]string{tt.name: tt.value})
			err := p.refusedStart()
			if err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Fatalf("%s=%q: %v", tt.name, tt.value, err)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "ecre") {
				t.Errorf("the error shows the password: %v", err)
			}
			if logs := p.logs.String(); strings.Contains(logs, "ecre") {
				t.Errorf("stderr shows the password:\n%s", logs)
			}
		})
	}
}

// app opens the program's database and services directly, as a second
// process would.
func (p *program) app() *app {
	p.t.Helper()
	cfg, err := loadConfig(p.getenv, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), airlock.SystemClock{})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { a.db.Close() })
	return a
}

// TestUserAddRunsNoJobs: the command line never runs queued jobs. A forgot
// request queued by the server stays queued for the server's workers: a CLI
// would send its email to its own dev mailbox, where it is lost.
func TestUserAddRunsNoJobs(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	if _, err := p.run("", "user", "add", "--email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := p.app()
	// Queue a forgot request as the server's handler does.
	if _, err := a.accounts.RequestReset(ctx, "ada@example.com", account.Meta{IP: "192.0.2.1", UserAgent: "test"}); err != nil {
		t.Fatal(err)
	}
	queued := func() int {
		t.Helper()
		n, err := testutil.CountJobs(a.db, airlock.JobForgot)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := queued(); n != 1 {
		t.Fatalf("%d forgot requests queued, want 1", n)
	}
	if out, err := p.run("", "user", "add", "--email", "bob@example.com"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if n := queued(); n != 1 {
		t.Fatalf("the command line ran the server's queued jobs: %d left", n)
	}
}

// TestTerminalOutputEscaped: what users typed (an email at sign-in, a name,
// a browser's user agent) reaches the operator's terminal escaped: no
// escape sequence, C1 control, bidi override or line break gets through.
func TestTerminalOutputEscaped(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	if _, err := p.run("", "migrate"); err != nil {
		t.Fatal(err)
	}
	a := p.app()
	ctx := context.Background()
	const hostile = "x\x1b]52;c;AAAA\x07\x1b[2J\u009b31m\u202eevil\u2028\u2029\r\nFORGED ROW\t\x7f\u0085\u2066\\x1b"
	now := time.Now()
	for _, e := range []*airlock.AuditEvent{
		{At: now, Kind: "login_failed", Subject: "ada" + hostile + "@example.com", IP: "192.0.2.1", UserAgent: "Mozilla" + hostile, Outcome: "refused", Detail: "bad password" + hostile},
		{At: now, Kind: "rate_limited" + hostile, ActorID: "id" + hostile, IP: "192.0.2.1" + hostile, Outcome: "refused" + hostile,
			Detail: "a raw \x9b byte, which an 8-bit terminal reads as CSI"},
	} {
		if err := a.db.InsertAudits(ctx, []*airlock.AuditEvent{e}); err != nil {
			t.Fatal(err)
		}
	}
	// Older data, or data written by another tool, is not trusted either.
	u := &airlock.User{ID: "u1" + hostile, Email: "bob" + hostile + "@example.com", FirstName: "Bob" + hostile, LastName: hostile,
		Language: "en" + hostile, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := a.db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"audit"}, {"user", "list"}} {
		out, err := p.run("", args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if args[0] == "audit" && (!utf8.ValidString(out) || !strings.Contains(out, `a raw \x9b byte`)) {
			t.Errorf("audit prints invalid UTF-8 raw:\n%q", out)
		}
		for i, r := range out {
			if r != '\n' && airlock.UnsafeRune(r) {
				t.Errorf("%v prints %U raw at byte %d", args, r, i)
			}
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "FORGED") {
				t.Errorf("%v: a typed line break starts a line of its own:\n%s", args, out)
			}
		}
		for _, want := range []string{`\x1b`, `\u009b`, `\u202e`, `\u2028`, `\x0a`, `\\x1b`} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: %s missing from:\n%s", args, want, out)
			}
		}
	}
}
