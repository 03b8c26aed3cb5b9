package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/mailtest"
)

// TestSMTPHelo: serve greets the relay with the host of AIRLOCK_PUBLIC_URL
// (many receiving servers refuse "localhost"), or with AIRLOCK_SMTP_HELO,
// and names each Message-ID after the domain of AIRLOCK_MAIL_FROM.
func TestSMTPHelo(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ helo, want string }{
		{"", "accounts.example.com"},
		{"mx-out.example.net", "mx-out.example.net"},
	} {
		t.Run("AIRLOCK_SMTP_HELO="+tt.helo, func(t *testing.T) {
			smtp := mailtest.Start(t)
			p := newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL(), "AIRLOCK_SMTP_HELO": tt.helo,
				"AIRLOCK_PUBLIC_URL": "https://accounts.example.com", "AIRLOCK_MAIL_FROM": "Airlock <no-reply@mail.example.com>"})
			if _, err := p.run("", "user", "add", "--email", "ada@example.com"); err != nil {
				t.Fatal(err)
			}
			// The public URL is not this machine: talk to the listener.
			base := "http://" + p.env["AIRLOCK_LISTEN"]
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"serve"}, p.getenv, p.environ, strings.NewReader(""), &strings.Builder{}, p.logs)
			}()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			})
			deadline := time.Now().Add(20 * time.Second)
			for {
				res, err := http.Post(base+"/api/v1/password/forgot", "application/json", strings.NewReader(`{"email":"ada@example.com"}`))
				if err == nil {
					res.Body.Close()
					if res.StatusCode != http.StatusAccepted {
						t.Fatalf("forgot: %d", res.StatusCode)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("serve did not start: %v\n%s", err, p.logs.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			m := smtp.Wait(t, 1)[0]
			if got := smtp.Hellos(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("the relay was greeted with %q, want %q", got, tt.want)
			}
			if id := m.Header("Message-ID"); !regexp.MustCompile(`^<[a-z2-7]{26}@mail\.example\.com>$`).MatchString(id) {
				t.Errorf("Message-ID %q", id)
			}
		})
	}
}
