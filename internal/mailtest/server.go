// Package mailtest runs a real SMTP server in the test process, so tests
// read what Airlock's SMTP conversation actually delivered.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message as the SMTP server received it.
type Message struct {
	From    string   // MAIL FROM
	To      []string // every RCPT TO
	Raw     []byte
	QueueID string // the n of the final reply "250 2.0.0 Ok: queued as n"
}

// Header returns a decoded header of the message.
func (m Message) Header(name string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(name)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// Parts returns the decoded bodies by content type (text/plain, text/html).
func (m Message) Parts() map[string]string {
	out := map[string]string{}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return out
	}
	walkPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, out)
	return out
}

func walkPart(ctype, cte string, body io.Reader, out map[string]string) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walkPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, out)
		}
	}
	b, _ := io.ReadAll(decodeCTE(cte, body))
	out[mt] = string(b)
}

// Options shape a server for one test.
type Options struct {
	// TLS makes the server offer STARTTLS with a certificate for 127.0.0.1,
	// ::1, localhost and TLSNames, signed by a CA made for this server
	// alone: a client trusts it only through CAFile.
	TLS      bool
	TLSNames []string
	// ImplicitTLS makes the server speak TLS from the first byte, as on
	// port 465 (smtps://), with the same certificate as TLS.
	ImplicitTLS bool
	// Username and Password, when set, make the server offer AUTH and
	// refuse MAIL FROM until the client signed in with them. Without TLS
	// the server still offers AUTH, as a careless relay would: a client
	// that sends its password there is caught in Wire.
	Username, Password string
	// AuthMechanisms are the mechanisms offered: PLAIN and LOGIN are known.
	// Empty means PLAIN.
	AuthMechanisms []string
}

// Server is an in-process SMTP server.
type Server struct {
	Addr   string
	srv    *smtp.Server
	opts   Options
	caFile string

	mu        sync.Mutex
	msgs      []Message
	queued    int
	failNext  int
	dropNext  int
	refused   map[string]bool
	hellos    []string
	signedIn  []string
	wire      []byte
	arrived   chan struct{}
	connected int
	delay     time.Duration
	slowEnd   time.Duration
	stallNext int

	release     chan struct{}
	releaseOnce sync.Once
}

// Start starts a plain server on a loopback port, closed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a server shaped by o on a loopback port, closed when the
// test ends.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), opts: o, refused: map[string]bool{}, arrived: make(chan struct{}, 1000), release: make(chan struct{})}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "mailtest.local"
	// Without TLS, AUTH is offered in clear on purpose (see Options); with
	// TLS, only after STARTTLS, as a careful relay does.
	s.srv.AllowInsecureAuth = !o.TLS && !o.ImplicitTLS
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	var l net.Listener = recordingListener{ln, s}
	if o.TLS || o.ImplicitTLS {
		cert, caPEM := newCertificate(t, o.TLSNames)
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.caFile = writeFile(t, "mailtest-ca.pem", caPEM)
	}
	if o.ImplicitTLS {
		l = tls.NewListener(l, s.srv.TLSConfig)
	}
	go s.srv.Serve(l)
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// URL is the AIRLOCK_SMTP_URL of the server.
func (s *Server) URL() string {
	if s.opts.ImplicitTLS {
		return "smtps://" + s.Addr
	}
	return "smtp://" + s.Addr
}

// CAFile is the path of the PEM certificate of the CA that signed the
// server's certificate; empty without TLS.
func (s *Server) CAFile() string { return s.caFile }

// FailNext makes the next n deliveries fail at the end of DATA with a
// temporary error (451 4.3.0 try again later), as during an outage.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

// DropNext makes the server, for the next n messages, read the whole
// message and then close the connection without replying: the client
// cannot know whether it was accepted. The server keeps these messages
// (Messages lists them), the worst case for a client that retries.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	s.dropNext = n
	s.mu.Unlock()
}

// StallNext makes the server, for the next n messages, read the whole
// message, keep it, and hold its reply until Release, then close the
// connection without one: the sender stays in the middle of its delivery
// (as a node frozen or killed there), for as long as the test wants.
func (s *Server) StallNext(n int) {
	s.mu.Lock()
	s.stallNext = n
	s.mu.Unlock()
}

// Release ends every stall of StallNext (their connections close unanswered).
func (s *Server) Release() {
	s.releaseOnce.Do(func() { close(s.release) })
}

// SlowEnd makes the server take d to answer the end of each message, as
// a relay that scans content does; the message is kept before the wait.
func (s *Server) SlowEnd(d time.Duration) {
	s.mu.Lock()
	s.slowEnd = d
	s.mu.Unlock()
}

// Delay makes the server wait d before it answers each MAIL FROM, as a slow
// relay does; a client that dies meanwhile has delivered nothing.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// RefuseRecipient makes the server answer RCPT TO for addr with
// "550 5.1.1 no such user".
func (s *Server) RefuseRecipient(addr string) {
	s.mu.Lock()
	s.refused[strings.ToLower(addr)] = true
	s.mu.Unlock()
}

// Messages returns what was delivered so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Hellos returns the names clients greeted the server with (HELO or EHLO),
// in order; a client that says EHLO again after STARTTLS appears twice.
func (s *Server) Hellos() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hellos...)
}

// SignedIn returns the user names that authenticated successfully.
func (s *Server) SignedIn() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.signedIn...)
}

// Wire returns every byte the clients sent, as it crossed the network:
// commands in clear before STARTTLS, ciphertext after.
func (s *Server) Wire() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.wire...)
}

// Connections returns how many connections the server accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Wait waits until at least n messages arrived, or fails the test.
func (s *Server) Wait(t testing.TB, n int) []Message {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("waited 30s for %d messages, got %d", n, len(s.Messages()))
		}
	}
}

// recordingListener records what clients send, for Wire.
type recordingListener struct {
	net.Listener
	s *Server
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.connected++
	l.s.mu.Unlock()
	return recordingConn{c, l.s}, nil
}

type recordingConn struct {
	net.Conn
	s *Server
}

func (c recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.s.mu.Lock()
	c.s.wire = append(c.s.wire, p[:n]...)
	c.s.mu.Unlock()
	return n, err
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.hellos = append(b.s.hellos, c.Hostname())
	b.s.mu.Unlock()
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// AuthMechanisms offers AUTH only when the server has credentials.
func (x *session) AuthMechanisms() []string {
	if x.s.opts.Username == "" {
		return nil
	}
	if len(x.s.opts.AuthMechanisms) == 0 {
		return []string{sasl.Plain}
	}
	return x.s.opts.AuthMechanisms
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	offered := false
	for _, m := range x.AuthMechanisms() {
		offered = offered || strings.EqualFold(m, mech)
	}
	if !offered {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	check := func(username, password string) error {
		if username != x.s.opts.Username || password != x.s.opts.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad user name or password"}
		}
		x.authed = true
		x.s.mu.Lock()
		x.s.signedIn = append(x.s.signedIn, username)
		x.s.mu.Unlock()
		return nil
	}
	if strings.EqualFold(mech, sasl.Plain) {
		return sasl.NewPlainServer(func(_, username, password string) error { return check(username, password) }), nil
	}
	return &loginServer{check: check}, nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opts.Username != "" && !x.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	x.s.mu.Lock()
	d := x.s.delay
	x.s.mu.Unlock()
	time.Sleep(d)
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	refused := x.s.refused[strings.ToLower(to)]
	x.s.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	if x.s.stallNext > 0 {
		// Kept, then no reply until Release: the sender is frozen or dead
		// for all it knows.
		x.s.stallNext--
		x.s.queued++
		x.s.msgs = append(x.s.msgs, Message{From: x.from, To: append([]string(nil), x.to...), Raw: b, QueueID: strconv.Itoa(x.s.queued)})
		release := x.s.release
		x.s.mu.Unlock()
		select {
		case x.s.arrived <- struct{}{}:
		default:
		}
		<-release
		x.conn.Conn().Close()
		return nil
	}
	if d := x.s.slowEnd; d > 0 {
		x.s.mu.Unlock()
		defer time.Sleep(d) // after the message is kept, before the answer
		x.s.mu.Lock()
	}
	defer x.s.mu.Unlock()
	if x.s.failNext > 0 {
		x.s.failNext--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	x.s.queued++
	id := strconv.Itoa(x.s.queued)
	x.s.msgs = append(x.s.msgs, Message{From: x.from, To: append([]string(nil), x.to...), Raw: b, QueueID: id})
	select {
	case x.s.arrived <- struct{}{}:
	default:
	}
	if x.s.dropNext > 0 {
		x.s.dropNext--
		// Closing the socket under go-smtp makes its reply fail to go out.
		x.conn.Conn().Close()
		return nil
	}
	// go-smtp writes the code and words of an *SMTPError returned by Data
	// as they are: the only way to choose the words of a success.
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + id}
}

// loginServer is the server side of the LOGIN mechanism, which go-sasl
// does not provide: a user name and a password, each asked for in turn.
type loginServer struct {
	check    func(username, password string) error
	step     int
	username string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if response == nil {
			return []byte("Username:"), false, nil
		}
		// An initial response is the user name.
		l.username = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 1:
		l.username = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.username, string(response))
	}
	return nil, false, fmt.Errorf("LOGIN: unexpected response")
}
