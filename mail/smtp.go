package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/airlockhq/airlock"
)

// conversationTimeout bounds one delivery attempt, from connect to the
// message written; dataEndTimeout bounds the wait for the relay's answer
// to the end of the message, which a relay that scans content may take
// minutes to give (RFC 5321 §4.5.3.2.6 says 10): given up on earlier, the
// delivery is uncertain and the message would go again, and again.
// Variables for the tests.
var (
	conversationTimeout = 30 * time.Second
	dataEndTimeout      = 10 * time.Minute
)

// SMTP delivers messages to an SMTP server. It drives the conversation
// itself (with go-mail's smtp package) so that it knows at which stage and
// with which reply a delivery failed, and the server's final reply when it
// succeeded. A connection that delivered a message is kept open a few
// seconds for the next one (several messages, one conversation each after
// the greeting, as RFC 5321 allows).
type SMTP struct {
	host        string // as in the URL: the name the TLS certificate must bear
	addr        string // host:port
	implicitTLS bool   // smtps://
	loopback    bool   // host is localhost or a loopback address: a local relay
	auth        bool   // the URL has a user name
	username    string
	password    string
	from        string // AIRLOCK_MAIL_FROM, for the From header
	envelope    string // its address alone, for MAIL FROM
	domain      string // its domain, for Message-IDs
	helo        string
	tlsConfig   *tls.Config
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	idle        idlePool
}

// Options tune an SMTP sender.
type Options struct {
	// HELO is the name Airlock greets the relay with (EHLO): a host name,
	// or an IP address (sent as an address literal). Empty means localhost.
	HELO string
	// CAFile is a PEM file of CA certificates to trust for the relay's TLS
	// certificate, besides the system's (AIRLOCK_SMTP_CA_FILE).
	CAFile string
}

// NewSMTP parses an AIRLOCK_SMTP_URL value and the sender,
// AIRLOCK_MAIL_FROM ("Airlock <no-reply@example.com>").
//
// smtps://[user:pass@]host:port speaks TLS from the start.
// smtp://host:port uses STARTTLS when the server offers it. With a user
// name, smtp://user:pass@host:port requires STARTTLS, unless host is
// localhost or a loopback address (a relay on the same machine).
func NewSMTP(rawURL, from string, opts Options) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("not a URL")
	}
	host, portStr, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return nil, fmt.Errorf("want smtp://host:port or smtps://host:port")
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("bad port %q", portStr)
	}
	helo, err := heloName(opts.HELO)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host)
	s := &SMTP{host: host, addr: net.JoinHostPort(host, portStr), from: from, helo: helo,
		loopback: strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback(),
		dial:     (&net.Dialer{}).DialContext}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.implicitTLS = true
	default:
		return nil, fmt.Errorf("scheme must be smtp or smtps")
	}
	if u.User != nil {
		s.auth = true
		s.username = u.User.Username()
		s.password, _ = u.User.Password()
	}
	// The sender's address is held to the shared rule: its domain names
	// every Message-ID, which must be well formed.
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("bad sender %q: %w", from, err)
	}
	if err := airlock.CheckEmail(addr.Address); err != nil {
		return nil, fmt.Errorf("bad sender %q: %w", from, err)
	}
	if err := gomail.NewMsg().From(from); err != nil {
		return nil, fmt.Errorf("bad sender %q: %w", from, err)
	}
	s.envelope = addr.Address
	s.domain = strings.ToLower(addr.Address[strings.LastIndexByte(addr.Address, '@')+1:])
	s.tlsConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read the CA file: %w", err)
		}
		pool, err := x509.SystemCertPool() // a copy: adding to it changes nothing else
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificate in the CA file %s", opts.CAFile)
		}
		s.tlsConfig.RootCAs = pool
	}
	return s, nil
}

// heloName checks the name to greet the relay with: a host name, or an IP
// address written as an address literal (RFC 5321 §4.1.3).
func heloName(name string) (string, error) {
	if name == "" {
		return "localhost", nil
	}
	if ip := net.ParseIP(name); ip != nil {
		if ip.To4() != nil {
			return "[" + ip.String() + "]", nil
		}
		return "[IPv6:" + ip.String() + "]", nil
	}
	if !airlock.Hostname(name) {
		return "", fmt.Errorf("the HELO name %q is not a host name", name)
	}
	return name, nil
}

// NewMessageID returns a Message-ID in the sender's domain.
func (s *SMTP) NewMessageID() string { return newMessageID(s.domain) }

// Send delivers m in one SMTP conversation, under m's Message-ID and date
// (new ones when it has none). A failure is a *DeliveryError.
func (s *SMTP) Send(ctx context.Context, m *Message) (Receipt, error) {
	// One recipient only: the address stored on the account, held to the
	// same rule as every address Airlock accepts. One it refuses would be
	// refused at every attempt.
	if err := airlock.CheckEmail(m.To); err != nil {
		return Receipt{}, permanent("recipient %q refused before sending: %w", m.To, err)
	}
	to := strings.TrimSpace(m.To)
	id, date := idOf(m, s.domain, time.Now())
	raw, err := s.compose(m, to, id, date)
	if err != nil {
		return Receipt{}, permanent("compose the message: %w", err)
	}
	reply, err := s.deliver(ctx, to, raw)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{MessageID: id, Reply: reply}, nil
}

// compose writes the message: text and HTML alternatives, its Date and
// Message-ID, and the headers that tell robots it is automatic.
func (s *SMTP) compose(m *Message, to, id string, date time.Time) ([]byte, error) {
	// No User-Agent or X-Mailer: they help no reader, and tell an attacker
	// which library and version to aim at.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")) // go-mail adds the angle brackets
	msg.SetDateWithValue(date)
	// RFC 3834: vacation responders and other robots must not answer.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// deliver sends one message and returns the server's final reply. It uses
// a connection kept open by an earlier delivery when there is one (no new
// TCP, TLS, EHLO and AUTH round trips for each email of a batch), else
// opens one; after a success the connection is kept for the next message.
func (s *SMTP) deliver(parent context.Context, to string, raw []byte) (reply string, err error) {
	ctx, cancel := context.WithTimeout(parent, conversationTimeout)
	defer cancel()
	for {
		c := s.idle.take()
		reused := c != nil
		if !reused {
			var d *DeliveryError
			if c, d = s.open(ctx); d != nil {
				return "", d
			}
		}
		reply, err, stale := s.transaction(ctx, parent, c, reused, to, raw)
		if stale && ctx.Err() == nil {
			// The relay had closed the kept connection meanwhile (an idle
			// timeout, a restart): it refused the MAIL FROM, so nothing of
			// this message was sent. Again on a new connection.
			continue
		}
		return reply, err
	}
}

// conn is an open conversation with the relay: greeted and, as the
// settings ask, over TLS and signed in, ready for a message.
type conn struct {
	net net.Conn // the TCP connection under it, for deadlines
	c   *smtp.Client
	// idle closes the connection when it stays unused in the pool.
	idle *time.Timer
}

// close ends the conversation politely, within a few seconds.
func (c *conn) close() {
	c.net.SetDeadline(time.Now().Add(5 * time.Second))
	_ = c.c.Quit()
	c.net.Close()
}

// watch makes any read or write on c fail once ctx ends; the function it
// returns stops that, and says whether c can still be used.
func (c *conn) watch(ctx context.Context) (stop func() (usable bool)) {
	// A deadline in the past unblocks any read or write once ctx ends.
	after := context.AfterFunc(ctx, func() { c.net.SetDeadline(time.Unix(1, 0)) })
	return func() bool {
		if !after() {
			return false // ctx ended: the deadline is in the past
		}
		c.net.SetDeadline(time.Time{})
		return true
	}
}

// open connects to the relay, greets it, protects the conversation with
// TLS and signs in as the settings say.
func (s *SMTP) open(ctx context.Context) (*conn, *DeliveryError) {
	netConn, err := s.dial(ctx, "tcp", s.addr)
	if err != nil {
		return nil, s.failure(ctx, nil, "connect to "+s.addr, err)
	}
	c := &conn{net: netConn}
	stop := c.watch(ctx)
	ok := false
	defer func() {
		if !ok {
			stop()
			netConn.Close()
		}
	}()
	var tcp net.Conn = netConn
	if s.implicitTLS {
		tc := tls.Client(netConn, s.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, s.failure(ctx, nil, "TLS handshake", err)
		}
		tcp = tc
	}
	client, err := smtp.NewClient(tcp, s.host)
	if err != nil {
		return nil, s.failure(ctx, nil, "greeting", err)
	}
	client.SkipSMTPUTF8(true) // every address is ASCII (airlock.CheckEmail)
	if err := client.Hello(s.helo); err != nil {
		return nil, s.failure(ctx, client, "EHLO", err)
	}
	if !s.implicitTLS {
		offered, _ := client.Extension("STARTTLS")
		switch {
		case offered:
			// No fallback to clear text when the handshake fails: the
			// server said it can do TLS.
			if err := client.StartTLS(s.tlsConfig); err != nil {
				return nil, s.failure(ctx, nil, "STARTTLS", err)
			}
		case s.auth && !s.loopback:
			// Never send the password in clear: anyone on the path could
			// read it, or strip STARTTLS from the reply to make us do so.
			_ = client.Quit()
			return nil, relayProblem("the SMTP relay %s offered no STARTTLS, and Airlock does not send the SMTP password in clear:"+
				" in AIRLOCK_SMTP_URL, use smtps:// or a server that offers STARTTLS", s.addr)
		}
	}
	if s.auth {
		if d := s.authenticate(ctx, client); d != nil {
			return nil, d
		}
	}
	if !stop() {
		return nil, s.failure(ctx, nil, "greeting", context.Cause(ctx))
	}
	c.c = client
	ok = true
	return c, nil
}

// transaction sends one message on c (MAIL FROM, RCPT TO, DATA) and keeps
// c for the next one if it went through, else closes it. stale says that a
// reused c turned out closed by the relay before anything was sent.
// The answer to the end of the message is waited for under parent
// (dataEndTimeout), not ctx.
func (s *SMTP) transaction(ctx, parent context.Context, c *conn, reused bool, to string, raw []byte) (reply string, err error, stale bool) {
	stop := c.watch(ctx)
	keep := false
	defer func() {
		if stop() && keep {
			s.idle.put(c)
		} else {
			c.net.Close()
		}
	}()
	if err := c.c.Mail("<" + s.envelope + ">"); err != nil {
		d := s.failure(ctx, nil, "MAIL FROM", err)
		if reused && (d.Code == 0 || d.Code == 421) {
			return "", d, true
		}
		if d.Code != 0 {
			_ = c.c.Quit()
		}
		return "", d, false
	}
	if err := c.c.Rcpt("<" + to + ">"); err != nil {
		return "", s.failure(ctx, c.c, "RCPT TO", err), false
	}
	w, err := c.c.Data()
	if err != nil {
		return "", s.failure(ctx, c.c, "DATA", err), false
	}
	// The end-of-data mark is written by Close only: until then the server
	// cannot have accepted the message.
	if _, err := w.Write(raw); err != nil {
		return "", s.failure(ctx, nil, "message body", err), false
	}
	if !stop() {
		return "", s.failure(ctx, nil, "message body", context.Cause(ctx)), false
	}
	// The deadline first: parent ending after it still moves it to the past.
	ctx = parent
	c.net.SetDeadline(time.Now().Add(dataEndTimeout))
	stop = c.watch(ctx)
	if err := w.Close(); err != nil {
		var refused *textproto.Error
		if errors.As(err, &refused) {
			return "", s.failure(ctx, c.c, "end of DATA", err), false
		}
		d := s.failure(ctx, nil, "end of DATA", err)
		d.Err = fmt.Errorf("uncertain delivery: the end of the message was sent but no reply came back;"+
			" the server may have accepted it, and a retry may deliver it twice: %w", d.Err)
		return "", d, false
	}
	words := ""
	if dc, ok := w.(*smtp.DataCloser); ok {
		words = dc.ServerResponse()
	}
	keep = true // the message is accepted; the connection serves the next one
	return cleanReply("250 "+words, MaxReplyBytes), nil, false
}

// Connections kept open between deliveries: at most maxIdle (as many as
// the workers send at once), each closed (QUIT) after idleTimeout unused.
// A relay's own idle timeout is minutes long (RFC 5321 §4.5.3.2.7).
const (
	maxIdle     = 8
	idleTimeout = 5 * time.Second
)

// idlePool holds the connections kept open between deliveries.
type idlePool struct {
	mu    sync.Mutex
	conns []*conn
}

// take returns the connection used last, or nil.
func (p *idlePool) take() *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	if n == 0 {
		return nil
	}
	c := p.conns[n-1]
	p.conns = p.conns[:n-1]
	c.idle.Stop() // if it fired meanwhile, it finds c gone from the pool and leaves it
	return c
}

// put keeps c for the next delivery, or closes it if enough are kept.
func (p *idlePool) put(c *conn) {
	p.mu.Lock()
	if len(p.conns) >= maxIdle {
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns = append(p.conns, c)
	c.idle = time.AfterFunc(idleTimeout, func() {
		p.mu.Lock()
		i := slices.Index(p.conns, c)
		if i >= 0 {
			p.conns = slices.Delete(p.conns, i, i+1)
		}
		p.mu.Unlock()
		if i >= 0 {
			c.close()
		}
	})
	p.mu.Unlock()
}

// authenticate signs in with the URL's credentials, with PLAIN or LOGIN.
func (s *SMTP) authenticate(ctx context.Context, c *smtp.Client) *DeliveryError {
	ok, offered := c.Extension("AUTH")
	if !ok {
		return relayProblem("AIRLOCK_SMTP_URL has a user name but the relay offers no AUTH: remove the user name, or use a relay that signs senders in")
	}
	mechs := strings.Fields(strings.ToUpper(offered))
	has := func(m string) bool {
		for _, o := range mechs {
			if o == m {
				return true
			}
		}
		return false
	}
	// Outside TLS only a loopback relay gets here (see deliver); go-mail's
	// PLAIN and LOGIN check TLS again for any other host.
	var a smtp.Auth
	switch {
	case has("PLAIN"):
		a = smtp.PlainAuth("", s.username, s.password, s.host, s.loopback)
	case has("LOGIN"):
		a = smtp.LoginAuth(s.username, s.password, s.host, s.loopback)
	default:
		return relayProblem("the relay offers AUTH %s; Airlock signs in with PLAIN or LOGIN", cleanReply(offered, 100))
	}
	if err := c.Auth(a); err != nil {
		return s.failure(ctx, nil, "AUTH", err) // go-mail already said QUIT
	}
	return nil
}

// failure classifies err at stage. When the server replied (c not nil and
// a reply error), the conversation ends politely with QUIT.
func (s *SMTP) failure(ctx context.Context, c *smtp.Client, stage string, err error) *DeliveryError {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
	}
	var unknownCA x509.UnknownAuthorityError
	var wrongName x509.HostnameError
	switch {
	case errors.As(err, &unknownCA):
		err = fmt.Errorf("the relay's TLS certificate is signed by an unknown authority: set AIRLOCK_SMTP_CA_FILE"+
			" to the relay's CA certificate (PEM), or SSL_CERT_FILE: %w", err)
	case errors.As(err, &wrongName):
		err = fmt.Errorf("the relay's TLS certificate is not valid for %s: in AIRLOCK_SMTP_URL, name the relay"+
			" as its certificate does: %w", s.host, err)
	}
	d := replyError(stage, err)
	if c != nil && d.Code != 0 {
		_ = c.Quit()
	}
	return d
}
