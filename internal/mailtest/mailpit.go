package mailtest

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// MailpitVersion is the Mailpit release the interop tests are written
// against; .ci/run installs it with
// go install github.com/axllent/mailpit@v1.33.1.
const MailpitVersion = "v1.33.1"

// Mailpit is a real Mailpit (https://mailpit.axllent.org), the SMTP server
// operators use to try email, run by a test on loopback ports.
type Mailpit struct {
	SMTPAddr string // host:port of its SMTP server
	APIURL   string // its web UI and API: http://127.0.0.1:port

	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// MailpitBinary returns the path of the mailpit binary: the file named by
// AIRLOCK_TEST_MAILPIT, else mailpit on PATH. Without one it skips the
// test, saying how to install it; CI installs it.
func MailpitBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("AIRLOCK_TEST_MAILPIT"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("AIRLOCK_TEST_MAILPIT: %v", err)
		}
		return p
	}
	p, err := exec.LookPath("mailpit")
	if err != nil {
		t.Skip("no mailpit binary on PATH nor in AIRLOCK_TEST_MAILPIT (go install github.com/axllent/mailpit@" +
			MailpitVersion + "): Mailpit interop tests not run")
	}
	return p
}

// StartMailpit runs Mailpit with args added to its command line, its SMTP
// server and API on loopback ports chosen here, its database in a
// temporary directory, and stops it when the test ends.
func StartMailpit(t testing.TB, args ...string) *Mailpit {
	t.Helper()
	bin := MailpitBinary(t)
	if info, err := buildinfo.ReadFile(bin); err == nil && info.Main.Version != MailpitVersion {
		t.Logf("mailpit %s is %s %s; the tests are written for %s", bin, info.Main.Path, info.Main.Version, MailpitVersion)
	}
	// A port chosen here may be taken by someone else before Mailpit
	// listens on it: then Mailpit stops at once, and another pair is tried.
	var last string
	for range 3 {
		m, ok := startMailpit(t, bin, args)
		if ok {
			return m
		}
		last = m.out.String()
	}
	t.Fatalf("mailpit did not start:\n%s", last)
	return nil
}

func startMailpit(t testing.TB, bin string, args []string) (*Mailpit, bool) {
	t.Helper()
	m := &Mailpit{SMTPAddr: freeLoopbackAddr(t), out: &lockedBuffer{}, done: make(chan struct{})}
	httpAddr := freeLoopbackAddr(t)
	m.APIURL = "http://" + httpAddr
	m.cmd = exec.Command(bin, append([]string{
		"--smtp", m.SMTPAddr,
		"--listen", httpAddr,
		"--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", // no call to GitHub from a test
		"--smtp-disable-rdns",
	}, args...)...)
	// Mailpit reads MP_* variables as settings: none of the caller's.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MP_") {
			m.cmd.Env = append(m.cmd.Env, kv)
		}
	}
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	go func() { m.cmd.Wait(); close(m.done) }()
	t.Cleanup(m.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-m.done:
			return m, false
		default:
		}
		if m.ready() {
			return m, true
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not become ready:\n%s", m.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m *Mailpit) ready() bool {
	res, err := http.Get(m.APIURL + "/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return false
	}
	c, err := net.DialTimeout("tcp", m.SMTPAddr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (m *Mailpit) stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Signal(os.Interrupt)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

// Output is what Mailpit printed so far.
func (m *Mailpit) Output() string { return m.out.String() }

func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// MailpitAddress is an address as Mailpit's API shows it.
type MailpitAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// MailpitMessage is a message as Mailpit's API shows it.
type MailpitMessage struct {
	ID        string           `json:"ID"`        // Mailpit's own id, for the other calls
	MessageID string           `json:"MessageID"` // the Message-ID header, without brackets
	From      *MailpitAddress  `json:"From"`
	To        []MailpitAddress `json:"To"`
	Cc        []MailpitAddress `json:"Cc"`
	Bcc       []MailpitAddress `json:"Bcc"`
	Subject   string           `json:"Subject"`
	Date      time.Time        `json:"Date"`
	Username  string           `json:"Username"` // the SMTP user that sent it, if any
	Text      string           `json:"Text"`
	HTML      string           `json:"HTML"`
}

// MailpitHTMLCheck is Mailpit's HTML check of a message: how well email
// clients support its HTML and CSS (data from caniemail.com).
type MailpitHTMLCheck struct {
	Warnings []struct {
		Slug  string `json:"Slug"`
		Title string `json:"Title"`
		Score struct {
			Found       int     `json:"Found"`
			Supported   float64 `json:"Supported"`
			Partial     float64 `json:"Partial"`
			Unsupported float64 `json:"Unsupported"`
		} `json:"Score"`
	} `json:"Warnings"`
	Total struct {
		Tests       int     `json:"Tests"`
		Nodes       int     `json:"Nodes"`
		Supported   float64 `json:"Supported"`
		Partial     float64 `json:"Partial"`
		Unsupported float64 `json:"Unsupported"`
	} `json:"Total"`
}

// String lists the checks that found something, as the web UI does.
func (c MailpitHTMLCheck) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%.1f%% supported, %.1f%% partial, %.1f%% unsupported (%d nodes)",
		c.Total.Supported, c.Total.Partial, c.Total.Unsupported, c.Total.Nodes)
	for _, w := range c.Warnings {
		if w.Score.Found > 0 {
			fmt.Fprintf(&b, "\n  %s (%s): found %d, %.0f%% partial, %.0f%% unsupported",
				w.Slug, w.Title, w.Score.Found, w.Score.Partial, w.Score.Unsupported)
		}
	}
	return b.String()
}

// get decodes the JSON answer to GET path.
func (m *Mailpit) get(t testing.TB, path string, v any) {
	t.Helper()
	res, err := http.Get(m.APIURL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		t.Fatalf("mailpit GET %s: %s %s", path, res.Status, b.String())
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
}

// Messages lists the messages Mailpit holds, newest first.
func (m *Mailpit) Messages(t testing.TB) []MailpitMessage {
	t.Helper()
	var list struct {
		Messages []MailpitMessage `json:"messages"`
	}
	m.get(t, "/api/v1/messages?limit=1000", &list)
	return list.Messages
}

// WaitMessage waits until Mailpit holds the message whose Message-ID is
// messageID (with or without its brackets) and returns it in full.
func (m *Mailpit) WaitMessage(t testing.TB, messageID string) MailpitMessage {
	t.Helper()
	want := strings.Trim(messageID, "<>")
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range m.Messages(t) {
			if s.MessageID == want {
				var full MailpitMessage
				m.get(t, "/api/v1/message/"+url.PathEscape(s.ID), &full)
				return full
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit holds no message %s", messageID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Headers returns the headers of the message with Mailpit id id, as they
// arrived.
func (m *Mailpit) Headers(t testing.TB, id string) map[string][]string {
	t.Helper()
	var h map[string][]string
	m.get(t, "/api/v1/message/"+url.PathEscape(id)+"/headers", &h)
	return h
}

// HTMLCheck runs Mailpit's HTML check on the message with Mailpit id id.
func (m *Mailpit) HTMLCheck(t testing.TB, id string) MailpitHTMLCheck {
	t.Helper()
	var c MailpitHTMLCheck
	m.get(t, "/api/v1/message/"+url.PathEscape(id)+"/html-check", &c)
	return c
}

// lockedBuffer is a bytes.Buffer safe for a process's output and a test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
