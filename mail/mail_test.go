package mail_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/mail"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d          time.Duration
		lang, want string
	}{
		{30 * time.Minute, "en", "30 minutes"},
		{time.Minute, "en", "1 minute"},
		{90 * time.Second, "en", "2 minutes"},
		{time.Hour, "en", "1 hour"},
		{2 * time.Hour, "fr", "2 heures"},
		{90 * time.Minute, "fr", "90 minutes"},
		{24 * time.Hour, "fr", "1 jour"},
		{48 * time.Hour, "en", "2 days"},
		{72 * time.Hour, "fr", "3 jours"},
		{time.Hour, "fr", "1 heure"},
		{time.Minute, "fr", "1 minute"},
	}
	for _, tt := range tests {
		if got := mail.Duration(tt.d, tt.lang); got != tt.want {
			t.Errorf("Duration(%v, %s) = %q, want %q", tt.d, tt.lang, got, tt.want)
		}
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	tpl, err := mail.ParseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"Lang": "en", "Name": `Ada <b>"Lovelace"</b>`, "Email": "ada@example.com",
		"Link": "https://accounts.example.com/password/reset?token=abc&app=1", "ValidFor": "30 minutes",
		"When": "2026-03-02 08:00", "ForgotLink": "https://accounts.example.com/password/forgot"}
	for _, lang := range []string{"en", "fr", "de"} {
		for _, kind := range []string{mail.KindReset, mail.KindPasswordChanged} {
			subject, text, html, err := tpl.Render(kind, lang, data)
			if err != nil {
				t.Fatalf("%s %s: %v", kind, lang, err)
			}
			if subject == "" || strings.ContainsAny(subject, "\r\n") {
				t.Errorf("%s %s: subject %q", kind, lang, subject)
			}
			if !strings.Contains(text, "ada@example.com") || !strings.Contains(html, "ada@example.com") {
				t.Errorf("%s %s: the account is not named", kind, lang)
			}
			// The HTML part escapes what it is given; the link keeps its query.
			if strings.Contains(html, "<b>") || (kind == mail.KindReset && !strings.Contains(html, "token=abc&amp;app=1")) {
				t.Errorf("%s %s: HTML not escaped properly:\n%s", kind, lang, html)
			}
		}
	}
	// An unknown language falls back to English.
	subject, _, _, _ := tpl.Render(mail.KindReset, "de", data)
	if subject != "Reset your password" {
		t.Errorf("fallback subject = %q", subject)
	}
}

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"smtp://localhost:25", "smtps://user:pass@mail.example.com:465", "smtp://user@127.0.0.1:2525"} {
		if _, err := mail.NewSMTP(ok, "Airlock <no-reply@example.com>", mail.Options{}); err != nil {
			t.Errorf("NewSMTP(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"smtp://localhost", "http://localhost:25", "smtp://:25", "smtp://localhost:99999"} {
		if _, err := mail.NewSMTP(bad, "Airlock <no-reply@example.com>", mail.Options{}); err == nil {
			t.Errorf("NewSMTP(%q) accepted", bad)
		}
	}
	if _, err := mail.NewSMTP("smtp://localhost:25", "not an address", mail.Options{}); err == nil {
		t.Error("a bad sender was accepted")
	}
}

// TestDevMailbox: the dev mailbox keeps its emails in the database, HTML
// and text, newest first, and a new mailbox on the same database (a
// restart) still has them.
func TestDevMailbox(t *testing.T) {
	t.Parallel()
	db := testutil.OpenStore(t)
	box := mail.NewDevMailbox(db, time.Now)
	for _, s := range []string{"one", "two", "three"} {
		if _, err := box.Send(context.Background(), &mail.Message{To: "ada@example.com", Subject: s, Text: s + " text", HTML: "<p>" + s + "</p>"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := mail.NewDevMailbox(db, time.Now).Messages(context.Background(), 2)
	if err != nil || len(got) != 2 || got[0].Subject != "three" || got[1].Subject != "two" || got[0].HTML != "<p>three</p>" || got[0].Text != "three text" {
		t.Fatalf("messages = %+v, %v", got, err)
	}
}

// TestRenderLinkText: the address shown for copying in the HTML part is
// the link itself once its line-break opportunities are left out, and it
// is escaped like the rest.
func TestRenderLinkText(t *testing.T) {
	t.Parallel()
	tpl, err := mail.ParseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	const hostile = `https://accounts.example.com/password/reset?token=abc"><b>x</b>&app=1`
	data := map[string]any{"Lang": "en", "Name": "Ada", "Email": "ada@example.com", "Link": hostile,
		"ValidFor": "30 minutes", "When": "2026-03-02 08:00", "ForgotLink": hostile}
	for _, lang := range []string{"en", "fr"} {
		for _, kind := range []string{mail.KindReset, mail.KindPasswordChanged} {
			_, _, html, err := tpl.Render(kind, lang, data)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(html, "<b>") {
				t.Errorf("%s %s: the link is not escaped:\n%s", kind, lang, html)
			}
			shown := strings.ReplaceAll(html, "<wbr>", "")
			if !strings.Contains(shown, `>https://accounts.example.com/password/reset?token=abc&#34;&gt;&lt;b&gt;x&lt;/b&gt;&amp;app=1</a>`) {
				t.Errorf("%s %s: the address shown is not the link:\n%s", kind, lang, html)
			}
		}
	}
}

// TestEveryEmailNamesTheServiceAndSaysWhy: every email, in both parts and
// both languages, names the service (AIRLOCK_BRAND_NAME) and ends with a
// footer saying why the person got it; none shows a message key or a
// formatting mistake; the accent colours its buttons and links.
func TestEveryEmailNamesTheServiceAndSaysWhy(t *testing.T) {
	t.Parallel()
	tpl, err := mail.ParseTemplates(mail.WithAccent("#0b6e4f"))
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`\b(?:mail|duration|error|email)\.[a-z_]+(?:\.[a-z_]+)*\b`)
	why := map[string]map[string]string{
		"en": {mail.KindReset: "You get this email because an account for ada@example.com exists on Acme Field.",
			mail.KindPasswordChanged: "You get this email because an account for ada@example.com exists on Acme Field.",
			mail.KindInvitation:      "You get this email because an administrator of Acme Field created an account for ada@example.com.",
			mail.KindTwoFactorOn:     "You get this email because an account for ada@example.com exists on Acme Field.",
			mail.KindTwoFactorOff:    "You get this email because an account for ada@example.com exists on Acme Field.",
			mail.KindTwoFactorFailed: "You get this email because an account for ada@example.com exists on Acme Field.",
			mail.KindResetCodeFailed: "You get this email because an account for ada@example.com exists on Acme Field.",
			mail.KindPasskeyAdded:    "You get this email because an account for ada@example.com exists on Acme Field.",
			mail.KindPasskeyRemoved:  "You get this email because an account for ada@example.com exists on Acme Field."},
		"fr": {mail.KindReset: "Vous recevez cet e-mail parce qu’un compte existe pour ada@example.com sur Acme Field.",
			mail.KindPasswordChanged: "Vous recevez cet e-mail parce qu’un compte existe pour ada@example.com sur Acme Field.",
			mail.KindInvitation:      "Vous recevez cet e-mail parce qu’un administrateur a créé pour ada@example.com un compte sur Acme Field.",
			mail.KindTwoFactorOn:     "Vous recevez cet e-mail parce qu’un compte existe pour ada@example.com sur Acme Field.",
			mail.KindTwoFactorOff:    "Vous recevez cet e-mail parce qu’un compte existe pour ada@example.com sur Acme Field.",
			mail.KindTwoFactorFailed: "Vous recevez cet e-mail parce qu’un compte existe pour ada@example.com sur Acme Field.",
			mail.KindResetCodeFailed: "Vous recevez cet e-mail parce qu’un compte existe pour ada@example.com sur Acme Field.",
			mail.KindPasskeyAdded:    "Vous recevez cet e-mail parce qu’un compte existe pour ada@example.com sur Acme Field.",
			mail.KindPasskeyRemoved:  "Vous recevez cet e-mail parce qu’un compte existe pour ada@example.com sur Acme Field."},
	}
	for _, lang := range []string{"en", "fr"} {
		for _, kind := range mail.Kinds {
			data := map[string]any{"Lang": lang, "Name": "Ada Lovelace", "Email": "ada@example.com", "Brand": "Acme Field", "By": "Grace Hopper",
				"Link": "https://accounts.example.com/password/reset?token=abc", "Code": "KBZR-TMWX", "ValidFor": mail.Duration(time.Hour, lang),
				"When": "2026-03-02 08:00", "ForgotLink": "https://accounts.example.com/password/forgot", "LoginLink": "https://accounts.example.com/login",
				"IP": "192.0.2.10", "Passkey": "Work phone"}
			subject, text, html, err := tpl.Render(kind, lang, data)
			if err != nil {
				t.Fatal(err)
			}
			for part, body := range map[string]string{"text": text, "html": html} {
				if !strings.Contains(body, "Acme Field") {
					t.Errorf("%s %s %s: the service is not named", kind, lang, part)
				}
				if !strings.Contains(strings.ReplaceAll(body, "&rsquo;", "’"), why[lang][kind]) {
					t.Errorf("%s %s %s: no footer %q:\n%s", kind, lang, part, why[lang][kind], body)
				}
				if m := key.FindString(body); m != "" {
					t.Errorf("%s %s %s shows the key %q", kind, lang, part, m)
				}
				if strings.Contains(body, "%!") || strings.Contains(body, "<no value>") || strings.Contains(body, "ZgotmplZ") {
					t.Errorf("%s %s %s: a template mistake:\n%s", kind, lang, part, body)
				}
			}
			button := kind == mail.KindReset || kind == mail.KindInvitation // the emails whose link is a button
			if button && (!strings.Contains(text, "KBZR-TMWX") || !strings.Contains(html, "<strong>KBZR-TMWX</strong>")) {
				t.Errorf("%s %s: the code beside the link is not shown", kind, lang)
			}
			if button && !strings.Contains(html, `bgcolor="#0b6e4f"`) || !strings.Contains(html, `color:#0b6e4f`) || strings.Contains(html, "#1f5fd1") {
				t.Errorf("%s %s: the accent does not colour the HTML:\n%s", kind, lang, html)
			}
			// The footer comes last in the text part, after the usual "-- ".
			if !strings.HasSuffix(text, "\n-- \n"+why[lang][kind]+"\n") {
				t.Errorf("%s %s: the text part does not end with its footer:\n%s", kind, lang, text)
			}
			if subject == "" {
				t.Errorf("%s %s: no subject", kind, lang)
			}
		}
	}
}
