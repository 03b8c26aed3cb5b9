package main

// Faults: a stalled database (in the main suite: it only stalls this
// node's own connections, through a proxy), and, run alone after the suite
// because they stop PostgreSQL and kill processes, a node killed under load
// and a PostgreSQL outage (AIRLOCK_FAULT_TESTS=1; .ci/run sets it).

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airlockhq/airlock/client"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testutil"
)

// stallProxy forwards TCP connections to target until stalled: then it
// forwards nothing (old connections hang, new ones are accepted and never
// answered), like a network path that drops packets. Unstalling closes the
// hung connections and forwards again.
type stallProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	stall  bool
	conns  []net.Conn
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setStall(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			stalled := p.stall
			p.mu.Unlock()
			if stalled {
				continue // accepted, never answered
			}
			go p.forward(c)
		}
	}()
	return p
}

func (p *stallProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, up)
	p.mu.Unlock()
	copyUnlessStalled := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				dst.Close()
				return
			}
			p.mu.Lock()
			stalled := p.stall
			p.mu.Unlock()
			if stalled {
				continue // the packets are lost
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				src.Close()
				return
			}
		}
	}
	go copyUnlessStalled(up, c)
	go copyUnlessStalled(c, up)
}

func (p *stallProxy) setStall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stall = on
	if !on {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// TestStalledDatabaseAnswers503: while the database stalls, pages answer a
// 503 page and the API 503 unavailable, both with Retry-After, within the
// database time limit; /readyz fails; /metrics answers; the log says so
// once. When it comes back, the node recovers by itself within 5 s.
func TestStalledDatabaseAnswers503(t *testing.T) {
	t.Parallel()
	base := testutil.PostgresURL(t)
	if base == "" {
		t.Skipf("%s not set: this test needs PostgreSQL (CI sets it)", testutil.PostgresEnv)
	}
	u, _ := url.Parse(base)
	proxy := startStallProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	metricsAddr := freePort(t)
	p := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": u.String(), "AIRLOCK_DATABASE_TIMEOUT": "1s",
		"AIRLOCK_METRICS_LISTEN": metricsAddr, "AIRLOCK_LIMIT_FORGOT_PER_IP": "0"})
	if _, err := p.run("the old password, long enough\n", "user", "add", "--email", "ada@example.com", "--group", "mobile", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	app := client.New(p.url(""))

	proxy.setStall(true)
	for range 2 {
		start := time.Now()
		res := postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {"ada@example.com"}})
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Fatalf("web forgot while stalled: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("the answer took %v", took)
		}
		_, err := app.Forgot(context.Background(), "ada@example.com")
		if ce, ok := err.(*client.Error); !ok || ce.Status != 503 || ce.Code != "unavailable" || ce.RetryAfter <= 0 {
			t.Fatalf("API forgot while stalled: %v", err)
		}
		res = postForm(t, browser(), p.url("/login"), url.Values{"email": {"ada@example.com"}, "password": {"the old password, long enough"}})
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("sign-in while stalled: %d", res.StatusCode)
		}
	}
	if res, _ := get(t, browser(), p.url("/readyz")); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz while stalled: %d", res.StatusCode)
	}
	mc := &http.Client{Timeout: 10 * time.Second}
	if res, err := mc.Get("http://" + metricsAddr + "/metrics"); err != nil {
		t.Fatalf("metrics while stalled: %v", err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), "airlock_database_up 0") {
			t.Fatal("metrics do not say the database is down")
		}
	}
	if n := strings.Count(p.logs.String(), "database unreachable"); n != 1 {
		t.Fatalf("the outage was logged %d times, want once:\n%s", n, p.logs.String())
	}

	proxy.setStall(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, _ := get(t, browser(), p.url("/readyz"))
		if _, err := app.Forgot(context.Background(), "ada@example.com"); res.StatusCode == 200 && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 5 s after the database came back: readyz %d", res.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(p.logs.String(), "database reachable again") {
		t.Fatal("the recovery was not logged")
	}
}

// faultTests gates the tests that must run alone: they stop PostgreSQL or
// kill nodes. .ci/run runs them after the suite with AIRLOCK_FAULT_TESTS=1.
func faultTests(t *testing.T) string {
	if os.Getenv("AIRLOCK_FAULT_TESTS") != "1" {
		t.Skip("AIRLOCK_FAULT_TESTS not set: this test stops PostgreSQL or kills nodes, so it runs alone (.ci/run runs it after the suite)")
	}
	dsn := testutil.PostgresURL(t)
	if dsn == "" {
		t.Fatalf("AIRLOCK_FAULT_TESTS is set but %s is not", testutil.PostgresEnv)
	}
	return dsn
}

var buildOnce struct {
	sync.Once
	path string
	err  error
}

// binary builds airlock once for the tests that run it as a real process.
func binary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "airlock-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "airlock")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// process is `airlock serve` as a real process.
type process struct {
	cmd  *exec.Cmd
	addr string
	logs *testutil.Buffer
}

func startProcess(t *testing.T, env map[string]string) *process {
	addr := freePort(t)
	p := &process{addr: addr, logs: &testutil.Buffer{}}
	p.cmd = exec.Command(binary(t), "serve")
	p.cmd.Env = append(os.Environ(), "AIRLOCK_LISTEN="+addr, "AIRLOCK_PUBLIC_URL=http://"+addr, "AIRLOCK_ARGON2=m=64,t=1,p=1")
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not start:\n%s", p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var takeoversRE = regexp.MustCompile(`(?m)^airlock_job_lease_takeovers_total (\d+)`)

func scrape(t *testing.T, metricsAddr string, re *regexp.Regexp) int {
	res, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := re.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in the metrics", re)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestFaultKilledNodeLosesNothing: two nodes on one PostgreSQL, a slow
// SMTP server; the node that accepted the forgot requests is SIGKILLed in
// the middle of sending. Every accepted request's email arrives exactly
// once, within 60 s; the survivor took the dead node's work over. A node
// stopped gracefully hands its work back at once.
func TestFaultKilledNodeLosesNothing(t *testing.T) {
	dsn := faultTests(t)
	smtp := mailtest.Start(t)
	smtp.Delay(700 * time.Millisecond)
	cli := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": dsn})
	// More emails than a node sends at once (8) and claims at once (32), so
	// that the kill lands while the doomed node holds unsent ones.
	const n = 40
	for i := range n {
		if _, err := cli.run("", "user", "add", "--email", fmt.Sprintf("worker%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"AIRLOCK_DATABASE_URL": dsn, "AIRLOCK_SMTP_URL": smtp.URL(), "AIRLOCK_LIMIT_FORGOT_PER_IP": "0"}
	survivorMetrics := freePort(t)
	survivorEnv := map[string]string{"AIRLOCK_METRICS_LISTEN": survivorMetrics}
	for k, v := range env {
		survivorEnv[k] = v
	}
	doomed := startProcess(t, env)
	startProcess(t, survivorEnv)
	app := client.New("http://" + doomed.addr)
	for i := range n {
		if _, err := app.Forgot(context.Background(), fmt.Sprintf("worker%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1500 * time.Millisecond) // both nodes are sending now, slowly
	killed := time.Now()
	doomed.cmd.Process.Signal(syscall.SIGKILL)
	doomed.cmd.Wait()

	deadline := killed.Add(60 * time.Second)
	for len(smtp.Messages()) < n && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	// Once the outbox holds nothing to send, no duplicate can come.
	outboxDone(t, dsn)
	got := map[string]int{}
	for _, m := range smtp.Messages() {
		got[m.To[0]]++
	}
	for i := range n {
		if to := fmt.Sprintf("worker%d@example.com", i); got[to] != 1 {
			t.Errorf("%s got %d emails within 60 s of the kill, want exactly 1", to, got[to])
		}
	}
	if scrape(t, survivorMetrics, takeoversRE) < 1 {
		t.Error("the survivor took nothing over from the killed node")
	}

	// A graceful stop in the middle of sending hands the work back at once:
	// no takeover (and no 30 s wait) needed.
	before := len(smtp.Messages())
	gentle := startProcess(t, env)
	app = client.New("http://" + gentle.addr)
	for i := range n {
		if _, err := app.Forgot(context.Background(), fmt.Sprintf("worker%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	takeovers := scrape(t, survivorMetrics, takeoversRE)
	gentle.cmd.Process.Signal(syscall.SIGTERM)
	gentle.cmd.Wait()
	deadline = time.Now().Add(20 * time.Second)
	for len(smtp.Messages()) < before+n && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	outboxDone(t, dsn)
	if got := len(smtp.Messages()) - before; got != n {
		t.Fatalf("%d emails after a graceful stop, want %d within 20 s", got, n)
	}
	if scrape(t, survivorMetrics, takeoversRE) != takeovers {
		t.Error("work of a gracefully stopped node had to be taken over")
	}
}

// TestFaultPostgresOutage stops the local PostgreSQL cluster under a
// running node: 503 with Retry-After (never a 500) while it is down,
// /readyz fails; after it starts again the node recovers within 5 s.
func TestFaultPostgresOutage(t *testing.T) {
	dsn := faultTests(t)
	// The cluster to stop: AIRLOCK_FAULT_PG_CLUSTER ("15 fault"), or the
	// first version's main cluster (the one CI tests on, alone).
	version, name := "", "main"
	if v := strings.Fields(os.Getenv("AIRLOCK_FAULT_PG_CLUSTER")); len(v) == 2 {
		version, name = v[0], v[1]
	} else if versions, _ := filepath.Glob("/etc/postgresql/*"); len(versions) > 0 {
		version = filepath.Base(versions[0])
	} else {
		t.Fatal("no PostgreSQL cluster under /etc/postgresql")
	}
	cluster := func(action string) {
		out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", version, name, action).CombinedOutput()
		if err != nil {
			t.Logf("pg_ctlcluster %s: %v\n%s", action, err, out)
		}
	}
	port := "5432"
	if u, err := url.Parse(dsn); err == nil && u.Port() != "" {
		port = u.Port()
	}
	p := newProgram(t, map[string]string{"AIRLOCK_DATABASE_URL": dsn, "AIRLOCK_DATABASE_TIMEOUT": "2s"})
	if _, err := p.run("the old password, long enough\n", "user", "add", "--email", "ada@example.com", "--group", "mobile", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p.serve()
	// Whatever happens, PostgreSQL runs again when the test ends.
	defer func() {
		if exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", version, name, "status").Run() != nil {
			cluster("start")
		}
	}()
	cluster("stop")
	app := client.New(p.url(""))
	for range 3 {
		res := postForm(t, browser(), p.url("/password/forgot"), url.Values{"email": {"ada@example.com"}})
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Fatalf("web forgot with PostgreSQL stopped: %d", res.StatusCode)
		}
		res = postForm(t, browser(), p.url("/login"), url.Values{"email": {"ada@example.com"}, "password": {"the old password, long enough"}})
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("sign-in with PostgreSQL stopped: %d", res.StatusCode)
		}
		if _, err := app.SignIn(context.Background(), "ada@example.com", "the old password, long enough"); client.ErrorCode(err) != "unavailable" {
			t.Fatalf("API sign-in with PostgreSQL stopped: %v", err)
		}
	}
	if res, _ := get(t, browser(), p.url("/readyz")); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with PostgreSQL stopped: %d", res.StatusCode)
	}
	cluster("start")
	for range 60 {
		if exec.Command("pg_isready", "-q", "-h", "127.0.0.1", "-p", port).Run() == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	up := time.Now()
	for {
		res, _ := get(t, browser(), p.url("/readyz"))
		if res.StatusCode == 200 {
			if _, err := app.SignIn(context.Background(), "ada@example.com", "the old password, long enough"); err == nil {
				break
			}
		}
		if time.Since(up) > 5*time.Second {
			t.Fatalf("not recovered 5 s after PostgreSQL came back: readyz %d", res.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(p.logs.String(), "level=ERROR msg=\"request failed\"") {
		t.Fatalf("an outage reached a 500:\n%s", p.logs.String())
	}
}
