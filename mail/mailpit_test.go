package mail_test

import (
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/mail"
)

// minHTMLSupport is the least share of email clients, by Mailpit's HTML
// check, that must support every email's HTML (issue 13).
const minHTMLSupport = 95.0

// mailpitPassword is the SMTP password Mailpit is given: its password
// file takes no spaces.
const mailpitPassword = "correct-horse-battery-staple"

// TestMailpit sends every email kind in every language through Airlock's
// SMTP sender to a real Mailpit, and reads each back through Mailpit's
// API: one recipient, the headers receiving servers and robots look at,
// both parts with the link, and HTML that email clients render.
func TestMailpit(t *testing.T) {
	t.Parallel()
	mp := mailtest.StartMailpit(t)
	tpl, err := mail.ParseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	s, err := mail.NewSMTP("smtp://"+mp.SMTPAddr, from, mail.Options{HELO: "accounts.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	const link = "https://accounts.example.com/password/reset?token=UMjD3Vx8lq2g5hOQw2cKQ0pTQnHL3q0AO8G1xT0q2aE&app=1"
	const forgot = "https://accounts.example.com/password/forgot"
	for _, lang := range []string{"en", "fr"} {
		for _, kind := range mail.Kinds {
			t.Run(kind+"."+lang, func(t *testing.T) {
				data := map[string]any{"Lang": lang, "Name": "Ada Lovelace", "Email": "ada@example.com", "Brand": "Acme Field", "By": "Grace Hopper",
					"Link": link, "Code": "KBZR-TMWX", "ValidFor": mail.Duration(30*time.Minute, lang), "When": "2026-03-02 08:00", "ForgotLink": forgot,
					"LoginLink": "https://accounts.example.com/login"}
				subject, text, html, err := tpl.Render(kind, lang, data)
				if err != nil {
					t.Fatal(err)
				}
				sent := time.Now()
				r, err := s.Send(t.Context(), &mail.Message{To: "ada@example.com", Subject: subject, Text: text, HTML: html})
				if err != nil {
					t.Fatal(err)
				}
				got := mp.WaitMessage(t, r.MessageID)

				h := mp.Headers(t, got.ID)
				if ids := h["Message-Id"]; len(ids) != 1 || ids[0] != r.MessageID || !wellFormedID.MatchString(ids[0]) {
					t.Errorf("Message-ID %q, receipt %q", ids, r.MessageID)
				}
				if v := h["Auto-Submitted"]; len(v) != 1 || v[0] != "auto-generated" {
					t.Errorf("Auto-Submitted %q", v)
				}
				for _, name := range []string{"X-Mailer", "User-Agent"} {
					if v, ok := h[name]; ok {
						t.Errorf("%s: %q", name, v)
					}
				}
				if v := h["Date"]; len(v) != 1 {
					t.Errorf("Date %q", v)
				} else if d, err := netmail.ParseDate(v[0]); err != nil || d.Before(sent.Add(-time.Minute)) || d.After(time.Now().Add(time.Minute)) {
					t.Errorf("Date %q: %v", v[0], err)
				}
				if v := h["From"]; len(v) != 1 {
					t.Errorf("From %q", v)
				} else if a, err := netmail.ParseAddress(v[0]); err != nil || a.Name != "Airlock" || a.Address != "no-reply@accounts.example.com" {
					t.Errorf("From %q: %v", v[0], err)
				}
				if got.Subject != subject || len(got.To) != 1 || got.To[0].Address != "ada@example.com" || len(got.Cc)+len(got.Bcc) != 0 {
					t.Errorf("subject %q, to %+v, cc %+v, bcc %+v", got.Subject, got.To, got.Cc, got.Bcc)
				}

				// Both parts say the same: the account, the link to follow,
				// and for a reset how long it works.
				want := []string{"ada@example.com"}
				switch kind {
				case mail.KindReset:
					want = append(want, link, mail.Duration(30*time.Minute, lang))
				case mail.KindPasswordChanged:
					want = append(want, forgot, "2026-03-02 08:00")
				case mail.KindInvitation:
					want = append(want, link, mail.Duration(30*time.Minute, lang), "Acme Field", "Grace Hopper")
				}
				for _, w := range want {
					if !strings.Contains(got.Text, w) {
						t.Errorf("the text part lacks %q:\n%s", w, got.Text)
					}
					if !strings.Contains(got.HTML, strings.ReplaceAll(w, "&", "&amp;")) {
						t.Errorf("the HTML part lacks %q:\n%s", w, got.HTML)
					}
				}

				check := mp.HTMLCheck(t, got.ID)
				t.Logf("Mailpit HTML check: %s", check)
				if check.Total.Supported < minHTMLSupport {
					t.Errorf("Mailpit's HTML check: %.1f%% supported, want ≥ %.0f%%: %s", check.Total.Supported, minHTMLSupport, check)
				}
			})
		}
	}
}

// TestMailpitTLS: Mailpit requiring STARTTLS and a password, with a
// certificate from a private CA, as issue 13 tried it. Airlock signs in
// over TLS when given the CA, and says which setting fixes it when not.
func TestMailpitTLS(t *testing.T) {
	t.Parallel()
	cert, key, ca := mailtest.CertificateFiles(t, "relay.example.com")
	auth := filepath.Join(t.TempDir(), "smtp-users")
	if err := os.WriteFile(auth, []byte(user+":"+mailpitPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mp := mailtest.StartMailpit(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls", "--smtp-auth-file", auth)
	// The relay is named as on a network, so that Airlock's rules for a
	// remote relay apply, and reached on Mailpit's loopback port.
	rawURL := "smtp://" + user + ":" + mailpitPassword + "@relay.example.com:587"

	s, err := mail.NewSMTP(rawURL, from, mail.Options{HELO: "accounts.example.com", CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	mail.DialVia(s, mp.SMTPAddr)
	r, err := s.Send(t.Context(), message())
	if err != nil {
		t.Fatalf("%v\nmailpit:\n%s", err, mp.Output())
	}
	if got := mp.WaitMessage(t, r.MessageID); got.Username != user {
		t.Errorf("signed in as %q", got.Username)
	}

	s, err = mail.NewSMTP(rawURL, from, mail.Options{HELO: "accounts.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	mail.DialVia(s, mp.SMTPAddr)
	_, err = s.Send(t.Context(), message())
	if deliveryError(t, err); !strings.Contains(err.Error(), "AIRLOCK_SMTP_CA_FILE") {
		t.Errorf("the error does not name AIRLOCK_SMTP_CA_FILE: %v", err)
	}
	if n := len(mp.Messages(t)); n != 1 {
		t.Errorf("mailpit holds %d messages, want the first one only", n)
	}
}

// TestMailpitNoSTARTTLS: Mailpit taking passwords in clear; Airlock,
// given credentials for a relay that is not on this machine, sends it
// nothing.
func TestMailpitNoSTARTTLS(t *testing.T) {
	t.Parallel()
	auth := filepath.Join(t.TempDir(), "smtp-users")
	if err := os.WriteFile(auth, []byte(user+":"+mailpitPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mp := mailtest.StartMailpit(t, "--smtp-auth-file", auth, "--smtp-auth-allow-insecure")
	s, err := mail.NewSMTP("smtp://"+user+":"+mailpitPassword+"@relay.example.com:587", from, mail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mail.DialVia(s, mp.SMTPAddr)
	_, err = s.Send(t.Context(), message())
	if d := deliveryError(t, err); d.Permanent || !strings.Contains(err.Error(), "offered no STARTTLS") {
		t.Errorf("%+v: %v", d, err)
	}
	if n := len(mp.Messages(t)); n != 0 {
		t.Errorf("mailpit holds %d messages", n)
	}
}
