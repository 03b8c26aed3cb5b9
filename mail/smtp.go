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
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/airlockhq/airlock"
)

// conversationTimeout bounds one delivery attempt, from connect to QUIT.
const conversationTimeout = 30 * time.Second

// SMTP delivers messages to an SMTP server, one conversation per message.
// It drives the conversation itself (with go-mail's smtp package) so that
// it knows at which stage and with which reply a delivery failed, and the
// server's final reply when it succeeded.
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
	if !hostname(name) {
		return "", fmt.Errorf("the HELO name %q is not a host name", name)
	}
	return name, nil
}

// hostname reports whether s is a DNS host name: letter-digit-hyphen
// labels, none starting or ending with a hyphen, at most 253 bytes, a last
// label that is not all digits; one label only for localhost.
func hostname(s string) bool {
	labels := strings.Split(s, ".")
	if len(s) > 253 || len(labels) < 2 && !strings.EqualFold(s, "localhost") {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// Send delivers m in one SMTP conversation under a new Message-ID. A
// failure is a *DeliveryError.
func (s *SMTP) Send(ctx context.Context, m *Message) (Receipt, error) {
	// One recipient only: the address stored on the account, held to the
	// same rule as every address Airlock accepts. One it refuses would be
	// refused at every attempt.
	if err := airlock.CheckEmail(m.To); err != nil {
		return Receipt{}, permanent("recipient %q refused before sending: %w", m.To, err)
	}
	to := strings.TrimSpace(m.To)
	id := newMessageID(s.domain)
	raw, err := s.compose(m, to, id)
	if err != nil {
		return Receipt{}, permanent("compose the message: %w", err)
	}
	reply, err := s.deliver(ctx, to, raw)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{MessageID: "<" + id + ">", Reply: reply}, nil
}

// compose writes the message: text and HTML alternatives, a Date, the
// Message-ID id, and the headers that tell robots it is automatic.
func (s *SMTP) compose(m *Message, to, id string) ([]byte, error) {
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
	msg.SetMessageIDWithValue(id) // go-mail adds the angle brackets
	msg.SetDate()
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

// deliver runs the conversation and returns the server's final reply.
func (s *SMTP) deliver(ctx context.Context, to string, raw []byte) (reply string, err error) {
	ctx, cancel := context.WithTimeout(ctx, conversationTimeout)
	defer cancel()
	netConn, err := s.dial(ctx, "tcp", s.addr)
	if err != nil {
		return "", s.failure(ctx, nil, "connect to "+s.addr, err)
	}
	defer netConn.Close()
	// A deadline in the past unblocks any read or write once ctx ends.
	stop := context.AfterFunc(ctx, func() { netConn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	conn := netConn
	if s.implicitTLS {
		tc := tls.Client(netConn, s.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return "", s.failure(ctx, nil, "TLS handshake", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return "", s.failure(ctx, nil, "greeting", err)
	}
	c.SkipSMTPUTF8(true) // every address is ASCII (airlock.CheckEmail)
	if err := c.Hello(s.helo); err != nil {
		return "", s.failure(ctx, c, "EHLO", err)
	}
	if !s.implicitTLS {
		offered, _ := c.Extension("STARTTLS")
		switch {
		case offered:
			// No fallback to clear text when the handshake fails: the
			// server said it can do TLS.
			if err := c.StartTLS(s.tlsConfig); err != nil {
				return "", s.failure(ctx, nil, "STARTTLS", err)
			}
		case s.auth && !s.loopback:
			// Never send the password in clear: anyone on the path could
			// read it, or strip STARTTLS from the reply to make us do so.
			_ = c.Quit()
			return "", relayProblem("the SMTP relay %s offered no STARTTLS, and Airlock does not send the SMTP password in clear:"+
				" in AIRLOCK_SMTP_URL, use smtps:// or a server that offers STARTTLS", s.addr)
		}
	}
	if s.auth {
		if err := s.authenticate(ctx, c); err != nil {
			return "", err
		}
	}
	if err := c.Mail("<" + s.envelope + ">"); err != nil {
		return "", s.failure(ctx, c, "MAIL FROM", err)
	}
	if err := c.Rcpt("<" + to + ">"); err != nil {
		return "", s.failure(ctx, c, "RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return "", s.failure(ctx, c, "DATA", err)
	}
	// The end-of-data mark is written by Close only: until then the server
	// cannot have accepted the message.
	if _, err := w.Write(raw); err != nil {
		return "", s.failure(ctx, nil, "message body", err)
	}
	if err := w.Close(); err != nil {
		var refused *textproto.Error
		if errors.As(err, &refused) {
			return "", s.failure(ctx, c, "end of DATA", err)
		}
		d := s.failure(ctx, nil, "end of DATA", err)
		d.Err = fmt.Errorf("uncertain delivery: the end of the message was sent but no reply came back;"+
			" the server may have accepted it, and a retry may deliver it twice: %w", d.Err)
		return "", d
	}
	words := ""
	if dc, ok := w.(*smtp.DataCloser); ok {
		words = dc.ServerResponse()
	}
	_ = c.Quit() // the message is accepted: a failed QUIT changes nothing
	return cleanReply("250 "+words, MaxReplyBytes), nil
}

// authenticate signs in with the URL's credentials, with PLAIN or LOGIN.
func (s *SMTP) authenticate(ctx context.Context, c *smtp.Client) error {
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
