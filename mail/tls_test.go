package mail_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/mail"
)

const (
	user     = "airlock"
	password = "correct horse battery"
)

// relay returns a sender for rawURL that connects to srv whatever host
// rawURL names, so that the server can stand for a remote relay.
func relay(t *testing.T, srv *mailtest.Server, rawURL string, opts mail.Options) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(rawURL, from, opts)
	if err != nil {
		t.Fatal(err)
	}
	mail.DialVia(s, srv.Addr)
	return s
}

// assertPasswordNeverSent checks the bytes that crossed the network hold
// no AUTH command and the password in no form.
func assertPasswordNeverSent(t *testing.T, srv *mailtest.Server) {
	t.Helper()
	wire := srv.Wire()
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	login := base64.StdEncoding.EncodeToString([]byte(password))
	for _, secret := range []string{"AUTH", password, plain, login} {
		if bytes.Contains(wire, []byte(secret)) {
			t.Errorf("%q crossed the network in clear:\n%s", secret, wire)
		}
	}
}

func TestHELO(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ helo, want string }{
		{"", "localhost"},
		{"accounts.example.com", "accounts.example.com"},
		{"192.0.2.7", "[192.0.2.7]"},
	} {
		srv := mailtest.Start(t)
		s, err := mail.NewSMTP(srv.URL(), from, mail.Options{HELO: tt.helo})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Send(t.Context(), message()); err != nil {
			t.Fatal(err)
		}
		if got := srv.Hellos(); len(got) != 1 || got[0] != tt.want {
			t.Errorf("HELO %q: the server was greeted with %q", tt.helo, got)
		}
	}
	for _, bad := range []string{"accounts example com", "-accounts.example.com", "accounts..example.com",
		"accounts.example.com\r\nMAIL FROM:<eve@example.net>", "accounts.example.com.", "mailhost", "example.123", "exämple.com"} {
		if _, err := mail.NewSMTP("smtp://localhost:25", from, mail.Options{HELO: bad}); err == nil {
			t.Errorf("HELO %q accepted", bad)
		}
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	t.Run("credentials and no STARTTLS: refused, the password never sent", func(t *testing.T) {
		srv := mailtest.StartWith(t, mailtest.Options{Username: user, Password: password})
		s := relay(t, srv, "smtp://"+user+":"+strings.ReplaceAll(password, " ", "%20")+"@relay.example.com:587", mail.Options{})
		_, err := s.Send(t.Context(), message())
		d := deliveryError(t, err)
		for _, want := range []string{"offered no STARTTLS", "AIRLOCK_SMTP_URL", "smtps://"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the error does not say %q: %v", want, err)
			}
		}
		if d.Permanent {
			// The operator fixes the relay; the emails waiting then go out.
			t.Errorf("a relay problem marked the email failed for good: %v", err)
		}
		assertPasswordNeverSent(t, srv)
		if n := len(srv.SignedIn()) + len(srv.Messages()); n != 0 {
			t.Errorf("signed in or delivered anyway")
		}
	})
	t.Run("a loopback relay takes credentials without TLS", func(t *testing.T) {
		for _, host := range []string{"127.0.0.1", "localhost"} {
			srv := mailtest.StartWith(t, mailtest.Options{Username: user, Password: password})
			s := relay(t, srv, "smtp://"+user+":"+strings.ReplaceAll(password, " ", "%20")+"@"+host+":25", mail.Options{})
			if _, err := s.Send(t.Context(), message()); err != nil {
				t.Fatalf("%s: %v", host, err)
			}
			if got := srv.SignedIn(); !slices.Equal(got, []string{user}) {
				t.Errorf("%s: signed in %q", host, got)
			}
		}
	})
	t.Run("credentials over STARTTLS to a relay with a private CA", func(t *testing.T) {
		for _, mech := range []string{"PLAIN", "LOGIN"} {
			srv := mailtest.StartWith(t, mailtest.Options{TLS: true, TLSNames: []string{"relay.example.com"},
				Username: user, Password: password, AuthMechanisms: []string{mech}})
			s := relay(t, srv, "smtp://"+user+":"+strings.ReplaceAll(password, " ", "%20")+"@relay.example.com:587",
				mail.Options{CAFile: srv.CAFile(), HELO: "accounts.example.com"})
			r, err := s.Send(t.Context(), message())
			if err != nil {
				t.Fatalf("%s: %v", mech, err)
			}
			if got := srv.SignedIn(); !slices.Equal(got, []string{user}) || r.Reply != "250 2.0.0 Ok: queued as 1" {
				t.Errorf("%s: signed in %q, reply %q", mech, got, r.Reply)
			}
			// The server was greeted before and after STARTTLS, and all
			// but STARTTLS itself went through TLS.
			if got := srv.Hellos(); !slices.Equal(got, []string{"accounts.example.com", "accounts.example.com"}) {
				t.Errorf("%s: hellos %q", mech, got)
			}
			if wire := srv.Wire(); !bytes.Contains(wire, []byte("STARTTLS")) || bytes.Contains(wire, []byte("MAIL FROM")) {
				t.Errorf("%s: the conversation was not encrypted:\n%s", mech, wire)
			}
			assertPasswordNeverSent(t, srv)
		}
	})
	t.Run("untrusted certificate: the error names AIRLOCK_SMTP_CA_FILE, no fallback to clear text", func(t *testing.T) {
		for _, tls := range []mailtest.Options{
			{TLS: true, Username: user, Password: password},
			{ImplicitTLS: true, Username: user, Password: password},
		} {
			srv := mailtest.StartWith(t, tls)
			scheme := strings.SplitN(srv.URL(), ":", 2)[0]
			s := relay(t, srv, scheme+"://"+user+":"+strings.ReplaceAll(password, " ", "%20")+"@127.0.0.1:587", mail.Options{})
			_, err := s.Send(t.Context(), message())
			deliveryError(t, err)
			if !strings.Contains(err.Error(), "set AIRLOCK_SMTP_CA_FILE to the relay's CA certificate (PEM), or SSL_CERT_FILE") {
				t.Errorf("%s: %v", scheme, err)
			}
			if len(srv.SignedIn())+len(srv.Messages()) != 0 {
				t.Errorf("%s: signed in or delivered to an untrusted server", scheme)
			}
			assertPasswordNeverSent(t, srv)
		}
	})
	t.Run("smtps:// with a private CA", func(t *testing.T) {
		srv := mailtest.StartWith(t, mailtest.Options{ImplicitTLS: true, Username: user, Password: password})
		s := relay(t, srv, "smtps://"+user+":"+strings.ReplaceAll(password, " ", "%20")+"@127.0.0.1:465", mail.Options{CAFile: srv.CAFile()})
		if _, err := s.Send(t.Context(), message()); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(srv.Wire(), []byte("EHLO")) {
			t.Error("the conversation was not encrypted")
		}
		assertPasswordNeverSent(t, srv)
	})
	t.Run("certificate for another name", func(t *testing.T) {
		srv := mailtest.StartWith(t, mailtest.Options{TLS: true})
		_, err := relay(t, srv, "smtp://other.example.com:25", mail.Options{CAFile: srv.CAFile()}).Send(t.Context(), message())
		if deliveryError(t, err); !strings.Contains(err.Error(), "not valid for other.example.com") {
			t.Error(err)
		}
	})
	t.Run("wrong password is a 535 the operator fixes: temporary", func(t *testing.T) {
		srv := mailtest.StartWith(t, mailtest.Options{TLS: true, Username: user, Password: password})
		_, err := relay(t, srv, "smtp://"+user+":wrong@127.0.0.1:25", mail.Options{CAFile: srv.CAFile()}).Send(t.Context(), message())
		if d := deliveryError(t, err); d.Permanent || d.Code != 535 || d.Reply != "535 5.7.8 bad user name or password" {
			t.Errorf("%+v", d)
		}
	})
	t.Run("without credentials STARTTLS is used when offered", func(t *testing.T) {
		srv := mailtest.StartWith(t, mailtest.Options{TLS: true})
		if _, err := relay(t, srv, "smtp://relay.example.com:25", mail.Options{CAFile: srv.CAFile(), HELO: "localhost"}).Send(t.Context(), message()); err == nil {
			t.Fatal("a certificate for another name was accepted")
		}
		if _, err := relay(t, srv, "smtp://127.0.0.1:25", mail.Options{CAFile: srv.CAFile()}).Send(t.Context(), message()); err != nil {
			t.Fatal(err)
		}
		if wire := srv.Wire(); !bytes.Contains(wire, []byte("STARTTLS")) || bytes.Contains(wire, []byte("Subject:")) {
			t.Errorf("sent in clear:\n%s", wire)
		}
	})
}

func TestNewSMTPCAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{filepath.Join(dir, "missing.pem"), notPEM} {
		if _, err := mail.NewSMTP("smtp://localhost:25", from, mail.Options{CAFile: file}); err == nil {
			t.Errorf("CA file %s accepted", file)
		}
	}
}
