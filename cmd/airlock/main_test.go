package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testutil"
)

// program runs airlock commands against one database, as a user would.
type program struct {
	t    *testing.T
	env  map[string]string
	logs *testutil.Buffer
}

func TestMain(m *testing.M) {
	os.Exit(testutil.Main(m, 3))
}

// freePort returns a loopback address whose port nobody listens on now,
// for a server the test starts. The ports are handed out one after the
// other from a random point of 20000–29999, below the kernel's ephemeral
// range (32768 and up): no connection's own port, and no other test of
// this process running at the same time, can take one between its check
// here and the server's listening.
func freePort(t *testing.T) string {
	t.Helper()
	for range 10000 {
		port := 20000 + int(nextPort.Add(1))%10000
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken by another program: the next one
		}
		ln.Close()
		return addr
	}
	t.Fatal("no free port in 20000-29999")
	return ""
}

// nextPort is the last port freePort handed out, from a random start.
var nextPort = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(mathrand.Int64N(10000))
	return &n
}()

func newProgram(t *testing.T, env map[string]string) *program {
	addr := freePort(t)
	p := &program{t: t, logs: &testutil.Buffer{}, env: map[string]string{
		"AIRLOCK_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "airlock.db"),
		"AIRLOCK_LISTEN":       addr,
		"AIRLOCK_PUBLIC_URL":   "http://" + addr,
		// Cheap hashing for tests; production defaults are tested in password/.
		"AIRLOCK_ARGON2":    "m=64,t=1,p=1",
		"AIRLOCK_LOG_LEVEL": "debug",
	}}
	for k, v := range env {
		p.env[k] = v
	}
	return p
}

func (p *program) getenv(k string) string { return p.env[k] }

// environ lists the program's environment, as os.Environ does.
func (p *program) environ() []string {
	var kv []string
	for k, v := range p.env {
		kv = append(kv, k+"="+v)
	}
	return kv
}

func (p *program) url(path string) string { return p.env["AIRLOCK_PUBLIC_URL"] + path }

// direct is path on this node's own listener, which is its public URL
// unless several nodes share one public URL (behind a load balancer).
func (p *program) direct(path string) string { return "http://" + p.env["AIRLOCK_LISTEN"] + path }

// run runs one command to completion.
func (p *program) run(stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), args, p.getenv, p.environ, strings.NewReader(stdin), &out, p.logs)
	return out.String(), err
}

// serve starts `airlock serve` and returns a function that stops it the way
// SIGTERM does and returns what it printed.
func (p *program) serve() (stop func() string) {
	p.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testutil.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, p.getenv, p.environ, strings.NewReader(""), out, p.logs) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.direct("/healthz"))
		if err == nil {
			res.Body.Close()
			break
		}
		select {
		case err := <-done:
			p.t.Fatalf("serve stopped: %v\n%s", err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatal("serve did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	stop = func() string {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err := <-done:
				if err != nil {
					p.t.Errorf("serve returned %v", err)
				}
			case <-time.After(20 * time.Second):
				p.t.Fatal("serve did not stop")
			}
		}
		return out.String()
	}
	p.t.Cleanup(func() { stop() })
	return stop
}

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

var linkRE = regexp.MustCompile(`http://[^\s]+/password/reset\?token=([A-Za-z0-9_-]{43})`)

// emailCodeRE finds the code beside the link in an email.
var emailCodeRE = regexp.MustCompile(`\b[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\b`)

// TestEndToEnd walks the whole web flow against the real program and a real
// SMTP conversation: add a user with the CLI, ask for a reset, read the
// email off SMTP, open the link, set the password, sign in with the new one
// and fail with the old one.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	smtp := mailtest.Start(t)
	p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL(), "AIRLOCK_MAIL_FROM": "Airlock <accounts@example.com>"})
	const oldPW, newPW = "the old password, long enough", "a brand new passphrase"
	if out, err := p.run(oldPW+"\n", "user", "add", "--email", "Field.Worker@Example.com", "--first-name", "Fay",
		"--language", "en", "--group", "mobile", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	stop := p.serve()

	// The CLI writes while serve runs: no "database is locked".
	for i := range 3 {
		if out, err := p.run("", "user", "add", "--email", fmt.Sprintf("extra%d@example.com", i)); err != nil {
			t.Fatalf("user add while serving: %v\n%s", err, out)
		}
	}

	c := browser()
	if res, body := get(t, c, p.url("/login")); res.StatusCode != 200 || !strings.Contains(body, `href="/password/forgot"`) {
		t.Fatalf("login page: %d", res.StatusCode)
	}
	if res := postForm(t, c, p.url("/password/forgot"), url.Values{"email": {"field.worker@example.com"}}); res.StatusCode != 200 {
		t.Fatalf("forgot: %d", res.StatusCode)
	}
	msg := smtp.Wait(t, 1)[0]
	if len(msg.To) != 1 || msg.To[0] != "Field.Worker@Example.com" || !strings.Contains(msg.From, "accounts@example.com") {
		t.Fatalf("envelope: from %s to %v", msg.From, msg.To)
	}
	m := linkRE.FindStringSubmatch(msg.Parts()["text/plain"])
	if m == nil {
		t.Fatalf("no link in:\n%s", msg.Parts()["text/plain"])
	}
	link, token := m[0], m[1]
	if !strings.HasPrefix(link, p.url("/password/reset?token=")) {
		t.Fatalf("link %s is not on the public URL", link)
	}

	res, _ := get(t, c, link)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/password/reset" {
		t.Fatalf("open link: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res, body := get(t, c, p.url("/password/reset")); res.StatusCode != 200 || !strings.Contains(body, "Choose a new password") {
		t.Fatalf("reset form: %d", res.StatusCode)
	}
	res = postForm(t, c, p.url("/password/reset"), url.Values{"password": {newPW}, "password_confirm": {newPW}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?m=reset" {
		t.Fatalf("set password: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res := postForm(t, browser(), p.url("/login"), url.Values{"email": {"field.worker@example.com"}, "password": {newPW}}); res.Header.Get("Location") != "/account" {
		t.Fatalf("sign in with the new password: %d", res.StatusCode)
	}
	if res := postForm(t, browser(), p.url("/login"), url.Values{"email": {"field.worker@example.com"}, "password": {oldPW}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign in with the old password: %d", res.StatusCode)
	}
	// "Your password was changed" arrives too.
	if m := smtp.Wait(t, 2)[1]; m.Header("Subject") != "Your password was changed" {
		t.Fatalf("second email: %q", m.Header("Subject"))
	}
	// No dev mailbox when SMTP is configured; no metrics on the public listener.
	if res, _ := get(t, c, p.url("/dev/mail")); res.StatusCode != http.StatusNotFound {
		t.Fatalf("/dev/mail with SMTP: %d", res.StatusCode)
	}
	if res, _ := get(t, c, p.url("/metrics")); res.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the public listener: %d", res.StatusCode)
	}

	out := stop()
	if !strings.Contains(out, "Airlock stopped") {
		t.Fatalf("serve output:\n%s", out)
	}
	logs := p.logs.String()
	if !strings.Contains(logs, "mail sent") {
		t.Fatal("no logs captured: the secret check below would prove nothing")
	}
	for name, secret := range map[string]string{"reset token": token, "old password": oldPW, "new password": newPW} {
		if strings.Contains(logs, secret) || strings.Contains(out, secret) {
			t.Errorf("the %s appears in the program's output", name)
		}
	}
}

func TestServeWithDevMailbox(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	if _, err := p.run("", "user", "add", "--email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	stop := p.serve()
	postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {"ada@example.com"}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := get(t, browser(), p.url("/dev/mail"))
		if linkRE.MatchString(body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reset link in the dev mailbox:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := stop(); !strings.Contains(out, "dev mailbox at "+p.url("/dev/mail")) {
		t.Fatalf("serve does not say where the dev mailbox is:\n%s", out)
	}
}

// TestGracefulShutdown: a request in flight when the stop arrives
// finishes, with the metrics listener running beside the public one.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	metrics := freePort(t)
	p := newProgram(t, map[string]string{"AIRLOCK_METRICS_LISTEN": metrics})
	stop := p.serve()
	conn, err := net.Dial("tcp", p.env["AIRLOCK_LISTEN"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "email=ada%40example.com"
	fmt.Fprintf(conn, "POST /password/forgot HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:5])
	// The request is in its handler, waiting for the rest of its body.
	for deadline := time.Now().Add(20 * time.Second); scrape(t, metrics, inFlightRE) < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached its handler")
		}
	}
	stopped := make(chan string)
	go func() { stopped <- stop() }()
	// The stop has begun: serve says so before it waits for the request.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(p.logs.String(), "shutting down"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("serve never began to stop")
		}
	}
	fmt.Fprint(conn, body[5:])
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("in-flight request: %d", res.StatusCode)
	}
	if out := <-stopped; !strings.Contains(out, "Airlock stopped") {
		t.Fatal(out)
	}
}

func TestBadSettingsNameTheVariable(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"AIRLOCK_LISTEN":                  "nonsense",
		"AIRLOCK_METRICS_LISTEN":          "nonsense",
		"AIRLOCK_PUBLIC_URL":              "ftp://x",
		"AIRLOCK_DATABASE_URL":            "mysql://x",
		"AIRLOCK_SMTP_URL":                "http://mail.example.com",
		"AIRLOCK_RESET_TOKEN_TTL":         "forever",
		"AIRLOCK_SERVERS":                 "eu=Europe",
		"AIRLOCK_APP_URL":                 "vbscript:msgbox(1)",
		"AIRLOCK_TRUSTED_PROXIES":         "10.0.0.0/99",
		"AIRLOCK_LIMIT_FORGOT_PER_IP":     "lots",
		"AIRLOCK_LIMIT_RESET_PER_ACCOUNT": "3/ever",
		"AIRLOCK_LOG_LEVEL":               "chatty",
		"AIRLOCK_LOG_FORMAT":              "xml",
		"AIRLOCK_PASSWORD_MIN_LENGTH":     "6",
		"AIRLOCK_ARGON2":                  "m=0",
		"AIRLOCK_HASH_CONCURRENCY":        "0",
		"AIRLOCK_AUDIT_RETENTION":         "12h",
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			p := newProgram(t, map[string]string{name: value})
			_, err := p.run("", "serve")
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("serve with %s=%q: %v", name, value, err)
			}
		})
	}
	// Without SMTP, a public URL that is not this machine is refused: the
	// dev mailbox would show reset links to anyone.
	p := newProgram(t, map[string]string{"AIRLOCK_PUBLIC_URL": "https://accounts.example.com"})
	if _, err := p.run("", "serve"); err == nil || !strings.Contains(err.Error(), "AIRLOCK_SMTP_URL") {
		t.Fatalf("public URL without SMTP: %v", err)
	}
	// Passwords in URLs are never echoed back.
	for name, value := range map[string]string{"AIRLOCK_SMTP_URL": "http://user:hunter2@mail.example.com", "AIRLOCK_DATABASE_URL": "mysql://user:hunter2@db"} {
		p = newProgram(t, map[string]string{name: value})
		if _, err := p.run("", "serve"); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("%s: error = %v", name, err)
		}
	}
}

func TestParseServers(t *testing.T) {
	t.Parallel()
	got, err := parseServers("eu=Europe=https://eu.example.com,na=North America=https://na.example.com/")
	if err != nil || len(got) != 2 || got[1].Name != "North America" || got[1].URL != "https://na.example.com/" ||
		got[0].Issuer != "https://eu.example.com" || got[1].Issuer != "https://na.example.com" {
		t.Fatalf("parseServers = %+v, %v", got, err)
	}
	file := filepath.Join(t.TempDir(), "servers.json")
	os.WriteFile(file, []byte(`{"servers":[{"id":"eu","name":"Europe","url":"https://eu.example.com"}]}`), 0o644)
	if got, err := parseServers(file); err != nil || len(got) != 1 || got[0].Name != "Europe" {
		t.Fatalf("parseServers(file) = %+v, %v", got, err)
	}
	badFile := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(badFile, []byte(`{"servers":[{"id":"eu","name":"Europe","url":"https://eu.example.com","extra":1}]}`), 0o644)
	for _, bad := range []string{badFile, "eu=Europe=ftp://x", "eu=Europe=https://a,eu=Again=https://b", "=x=https://a", "/no/such/file.json"} {
		if _, err := parseServers(bad); err == nil {
			t.Errorf("parseServers(%q) accepted", bad)
		}
	}
}

func TestUserCommands(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	if out, err := p.run("", "version"); err != nil || !strings.HasPrefix(out, "airlock ") {
		t.Fatalf("version: %q %v", out, err)
	}
	if _, err := p.run("", "migrate"); err != nil {
		t.Fatal(err)
	}
	out, err := p.run("", "user", "add", "--email", "ada@example.com", "--first-name", "Ada", "--group", "admin", "--group", "mobile", "--language", "fr")
	if err != nil || !strings.Contains(out, "no password set") {
		t.Fatalf("add without password: %q %v", out, err)
	}
	bad := [][]string{
		{"user", "add", "--email", "ADA@example.com"},                  // taken, in another case
		{"user", "add", "--email", "x@example.com", "--group", "root"}, // unknown group
		{"user", "add", "--email", "x@example.com", "--language", "de"},
		{"user", "add", "--email", "not-an-address"},
		{"user", "add"},
		{"user", "set-password", "--email", "ada@example.com"}, // no --password-stdin
		{"user", "set-password", "--email", "nobody@example.com", "--password-stdin"},
		{"user", "frobnicate"},
		{"frobnicate"},
	}
	for _, args := range bad {
		if out, err := p.run("a long enough password\n", args...); err == nil {
			t.Errorf("%v accepted: %s", args, out)
		}
	}
	if _, err := p.run("password1234\n", "user", "set-password", "--email", "ada@example.com", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "common") {
		t.Fatalf("common password via CLI: %v", err)
	}
	if _, err := p.run("words for the field\n", "user", "set-password", "--email", "ada@example.com", "--password-stdin", "--temporary"); err != nil {
		t.Fatal(err)
	}
	out, err = p.run("", "user", "list")
	if err != nil || !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "admin,mobile") || !strings.Contains(out, "temporary") || !strings.Contains(out, "\n1 user\n") {
		t.Fatalf("list:\n%s %v", out, err)
	}
	if strings.Contains(out, "words for the field") || strings.Contains(out, "argon2") {
		t.Fatal("list shows the password or its hash")
	}
}

func TestAuditCommand(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	if _, err := p.run("", "user", "add", "--email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.run("", "user", "add", "--email", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.run("a temporary phrase\n", "user", "set-password", "--email", "ada@example.com", "--password-stdin", "--temporary"); err != nil {
		t.Fatal(err)
	}
	out, err := p.run("", "audit")
	if err != nil || !strings.Contains(out, "password_changed") || !strings.Contains(out, "user_created") || !strings.Contains(out, "4 of 4 events\n") {
		t.Fatalf("audit:\n%s %v", out, err)
	}
	// Newest first.
	if strings.Index(out, "sessions_revoked") > strings.Index(out, "user_created") {
		t.Fatalf("not newest first:\n%s", out)
	}
	out, err = p.run("", "audit", "--user", "bob@example.com")
	if err != nil || !strings.Contains(out, "1 of 1 event\n") || strings.Contains(out, "ada@") {
		t.Fatalf("audit --user:\n%s %v", out, err)
	}
	out, err = p.run("", "audit", "--kind", "password_changed", "--limit", "1")
	if err != nil || !strings.Contains(out, "1 of 1 event\n") {
		t.Fatalf("audit --kind:\n%s %v", out, err)
	}
	if strings.Contains(out, "a temporary phrase") {
		t.Fatal("the audit log shows a password")
	}
	for _, args := range [][]string{{"audit", "--limit", "0"}, {"audit", "extra"}, {"audit", "--user", "nobody@example.com"}} {
		if _, err := p.run("", args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestTwoNodesOnePostgres runs two `airlock serve` on one PostgreSQL: a
// reset asked for on one node is finished on the other (SPEC §8).
func TestTwoNodesOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := testutil.PostgresURL(t)
	if dsn == "" {
		t.Skipf("%s not set: this test needs PostgreSQL (CI sets it)", testutil.PostgresEnv)
	}
	smtp := mailtest.Start(t)
	one := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": dsn, "AIRLOCK_SMTP_URL": smtp.URL()})
	two := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": dsn, "AIRLOCK_SMTP_URL": smtp.URL()})
	if _, err := one.run("the old password, long enough\n", "user", "add", "--email", "ada@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	one.serve()
	two.serve()
	if res := postForm(t, browser(), one.url("/password/forgot"), url.Values{"email": {"ada@example.com"}}); res.StatusCode != 200 {
		t.Fatalf("forgot on node one: %d", res.StatusCode)
	}
	m := linkRE.FindStringSubmatch(smtp.Wait(t, 1)[0].Parts()["text/plain"])
	if m == nil {
		t.Fatal("no link")
	}
	c := browser()
	if res, _ := get(t, c, two.url("/password/reset?token="+m[1])); res.Header.Get("Location") != "/password/reset" {
		t.Fatalf("open the link on node two: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res := postForm(t, c, two.url("/password/reset"), url.Values{"password": {"finished on node two"}, "password_confirm": {"finished on node two"}})
	if res.Header.Get("Location") != "/login?m=reset" {
		t.Fatalf("reset on node two: %d", res.StatusCode)
	}
	if res := postForm(t, browser(), one.url("/login"), url.Values{"email": {"ada@example.com"}, "password": {"finished on node two"}}); res.Header.Get("Location") != "/account" {
		t.Fatalf("sign in on node one with the new password: %d", res.StatusCode)
	}
	// Exactly two emails in all: the reset and "your password was changed".
	// Once the outbox holds no email still to send, none can go out twice.
	smtp.Wait(t, 2)
	outboxDone(t, dsn)
	if n := len(smtp.Messages()); n != 2 {
		t.Fatalf("%d emails from two nodes, want 2", n)
	}
}

// TestAutovacuumOffIsSaid: serve warns when PostgreSQL's autovacuum is off
// (the jobs table's upkeep is left to it), and only then; on SQLite never.
// CI's cluster runs with autovacuum off, which a test cannot change for one
// session: the warning is expected exactly when the server says "off".
// Also: on PostgreSQL without AIRLOCK_SECRET_KEY, serve says what is lost.
func TestAutovacuumOffIsSaid(t *testing.T) {
	t.Parallel()
	const warning = "autovacuum is off"
	lite := newProgram(t, nil)
	lite.serve()()
	if strings.Contains(lite.logs.String(), warning) {
		t.Fatalf("warned on SQLite:\n%s", lite.logs.String())
	}
	dsn := testutil.PostgresURL(t)
	if dsn == "" {
		t.Skipf("%s not set: the PostgreSQL half needs it (CI sets it)", testutil.PostgresEnv)
	}
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var setting string
	if err := conn.QueryRow("SHOW autovacuum").Scan(&setting); err != nil {
		t.Fatal(err)
	}
	pg := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": dsn})
	pg.serve()()
	if said := strings.Contains(pg.logs.String(), warning); said != (setting == "off") {
		t.Fatalf("autovacuum %s, warned %v:\n%s", setting, said, pg.logs.String())
	}
	// PostgreSQL has no key file: without AIRLOCK_SECRET_KEY, serve says
	// what is lost; with it, nothing.
	const noKey = "AIRLOCK_SECRET_KEY is not set"
	if !strings.Contains(pg.logs.String(), noKey) {
		t.Fatalf("no warning about the missing key:\n%s", pg.logs.String())
	}
	keyed := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": dsn, "AIRLOCK_SECRET_KEY": base64.StdEncoding.EncodeToString(make([]byte, 32))})
	keyed.serve()()
	if strings.Contains(keyed.logs.String(), noKey) || strings.Contains(lite.logs.String(), noKey) {
		t.Fatalf("warned with a key:\n%s\n%s", keyed.logs.String(), lite.logs.String())
	}
}

// TestSecretKeyFile: on the embedded default, serve creates the key that
// seals two-step sign-in keys beside the SQLite file, mode 0600, and says
// so; a bad AIRLOCK_SECRET_KEY stops the start without echoing it.
func TestSecretKeyFile(t *testing.T) {
	t.Parallel()
	p := newProgram(t, nil)
	dbPath := strings.TrimPrefix(p.env["AIRLOCK_DATABASE_URL"], "sqlite:")
	p.serve()()
	fi, err := os.Stat(dbPath + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if !strings.Contains(p.logs.String(), "Created "+dbPath+".key") {
		t.Fatalf("serve did not say it created the key file:\n%s", p.logs.String())
	}
	key, _ := os.ReadFile(dbPath + ".key")
	// Starting again uses the same file.
	p.serve()()
	if again, _ := os.ReadFile(dbPath + ".key"); string(again) != string(key) {
		t.Fatal("the key file changed at the second start")
	}
	bad := newProgram(t, map[string]string{"AIRLOCK_SECRET_KEY": "c2l4dGVlbiBieXRlIGtleQ=="})
	_, err = bad.run("", "migrate")
	if err == nil || !strings.Contains(err.Error(), "AIRLOCK_SECRET_KEY") || strings.Contains(err.Error(), "c2l4dGVlbiBieXRlIGtleQ") {
		t.Fatalf("bad key: %v", err)
	}
}

// outboxDone waits until the database at dsn holds no job still to run:
// every email is sent (or failed), so no node will send anything more.
func outboxDone(t *testing.T, dsn string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		var n int
		err := db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'deferred', 'sending')`).Scan(&n)
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox still holds %d jobs (%v)", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inFlightRE reads the requests being answered now from the metrics.
var inFlightRE = regexp.MustCompile(`(?m)^airlock_http_requests_in_flight (\d+)`)

// TestProviderNeedsTheKey: on PostgreSQL without AIRLOCK_SECRET_KEY (no key
// file there), the OpenID Provider is off and serve still starts; once an
// application that signs people in exists, serve refuses to start and
// says why, rather than run a provider that cannot sign.
func TestProviderNeedsTheKey(t *testing.T) {
	t.Parallel()
	dsn := testutil.PostgresURL(t)
	if dsn == "" {
		t.Skipf("%s not set: this test needs PostgreSQL (CI sets it)", testutil.PostgresEnv)
	}
	p := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": dsn})
	p.serve()()
	if !strings.Contains(p.logs.String(), "the OpenID Provider is off") {
		t.Fatalf("serve did not say the provider is off:\n%s", p.logs.String())
	}
	if _, err := p.run("", "client", "add", "--name", "Portal", "--confidential", "--redirect-uri", "https://portal.example.com/cb"); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"serve"}, p.getenv, p.environ, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "AIRLOCK_SECRET_KEY is required") {
		t.Fatalf("serve with an application and no key: %v", err)
	}
}
