package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/peer"
	"github.com/airlockhq/airlock/secretbox"
)

// TestWrongServerPointsToTheRightOne: three servers of one operator, each
// on its own SQLite file, peers of each other. A person whose account is
// on North America asks for a new password on Europe: exactly one email,
// from North America, naming both; none from Europe or Asia Pacific. An
// address that exists nowhere gets the same answer and no email. Forged,
// replayed and stale questions are refused; a peer that is down changes
// nothing for the asker.
func TestWrongServerPointsToTheRightOne(t *testing.T) {
	t.Parallel()
	names := []string{"Europe", "North America", "Asia Pacific"}
	var progs []*program
	var smtps []*mailtest.Server
	var secrets []string
	for i := range names {
		smtp := mailtest.Start(t)
		secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(i + 1)}, 32))
		progs = append(progs, newProgram(t, map[string]string{"AIRLOCK_SMTP_URL": smtp.URL(), "AIRLOCK_SECRET_KEY": secret}))
		smtps, secrets = append(smtps, smtp), append(secrets, secret)
	}
	eu, na, ap := progs[0], progs[1], progs[2]
	directory := "eu=Europe=" + eu.url("") + ",na=North America=" + na.url("") + ",ap=Asia Pacific=" + ap.url("")
	keys := make([]string, len(progs))
	for i, p := range progs {
		out, err := p.run("", "peer", "key")
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = strings.TrimSpace(out)
		if !strings.HasPrefix(keys[i], p.url("")+"=") {
			t.Fatalf("peer key printed %q", out)
		}
	}
	for i, p := range progs {
		var others []string
		for j := range progs {
			if j != i {
				others = append(others, keys[j])
			}
		}
		p.env["AIRLOCK_PEERS"] = strings.Join(others, ",")
		p.env["AIRLOCK_SERVERS"] = directory
	}
	if _, err := na.run("a passphrase long enough\n", "user", "add", "--email", "fay@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	eu.serve()
	na.serve()
	stopAP := ap.serve()

	forgot := func(p *program, email string) (int, string, http.Header) {
		t.Helper()
		res, err := http.Post(p.url("/api/v1/password/forgot"), "application/json", strings.NewReader(`{"email":"`+email+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res.Header.Del("Date")
		// Each answer has a flow id of its own, of one shape.
		return res.StatusCode, flowInBody.ReplaceAllString(string(b), `"flow":"FLOW"`), res.Header
	}
	known, knownBody, knownHdr := forgot(eu, "fay@example.com")
	msg := smtps[1].Wait(t, 1)[0]
	text := msg.Parts()["text/plain"]
	if !strings.Contains(text, "Europe") || !strings.Contains(text, "North America") || !strings.Contains(text, na.url("/password/reset?token=")) || !emailCodeRE.MatchString(text) {
		t.Fatalf("the right server's email:\n%s", text)
	}
	unknown, unknownBody, unknownHdr := forgot(eu, "nobody@example.com")
	if known != unknown || knownBody != unknownBody || len(knownHdr) != len(unknownHdr) {
		t.Fatalf("the wrong server answers differently: %d %s %v / %d %s %v", known, knownBody, knownHdr, unknown, unknownBody, unknownHdr)
	}
	// Asia Pacific decided both questions (no account there): it sent nothing.
	waitFor(t, func() bool {
		out, _ := ap.run("", "audit")
		return strings.Count(out, "referred") >= 2
	})
	waitFor(t, func() bool {
		out, _ := na.run("", "audit")
		return strings.Contains(out, "nobody@example.com")
	})
	if n := len(smtps[0].Messages()) + len(smtps[2].Messages()); n != 0 {
		t.Fatalf("%d emails from the servers without the account", n)
	}
	if n := len(smtps[1].Messages()); n != 1 {
		t.Fatalf("%d emails from the right server, want 1", n)
	}

	// Questions to North America: a good one, then it replayed, a stale
	// one, one signed by another server's key, one from a stranger.
	box, _ := secretbox.Parse(secrets[0])
	euKey := peer.KeyFrom(box)
	box3, _ := secretbox.Parse(secrets[2])
	apKey := peer.KeyFrom(box3)
	ask := func(k ed25519.PrivateKey, from string, at time.Time, nonce string) int {
		t.Helper()
		body, sig, err := peer.Sign(k, peer.Request{From: from, To: na.url(""), Email: "nobody@example.com", At: at.UnixMilli(), Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, na.url(peer.Path), bytes.NewReader(body))
		req.Header.Set(peer.Signature, sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	now := time.Now()
	for name, c := range map[string]struct {
		code int
		f    func() int
	}{
		"good":     {202, func() int { return ask(euKey, eu.url(""), now, "nonce-one-0123456789") }},
		"replayed": {401, func() int { return ask(euKey, eu.url(""), now, "nonce-one-0123456789") }},
		"stale":    {401, func() int { return ask(euKey, eu.url(""), now.Add(-2*time.Minute), "nonce-two-0123456789") }},
		"forged":   {401, func() int { return ask(apKey, eu.url(""), now, "nonce-three-0123456789") }},
		"stranger": {401, func() int { return ask(apKey, "https://evil.example.com", now, "nonce-four-0123456789") }},
	} {
		if name == "replayed" {
			continue // after "good", below
		}
		if got := c.f(); got != c.code {
			t.Errorf("%s question: %d, want %d", name, got, c.code)
		}
	}
	if got := ask(euKey, eu.url(""), now, "nonce-one-0123456789"); got != 401 {
		t.Errorf("replayed question: %d, want 401", got)
	}
	out, _ := na.run("", "audit")
	for _, reason := range []string{"replayed", "stale", "forged", "unknown_peer"} {
		if !strings.Contains(out, reason) {
			t.Errorf("refusal %q not audited:\n%s", reason, out)
		}
	}

	// A peer that is down: the asker's answer is the same.
	stopAP()
	if code, body, _ := forgot(eu, "someone@example.com"); code != known || body != knownBody {
		t.Fatalf("with a peer down: %d %s", code, body)
	}
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 20 s")
}

// flowInBody finds the flow id of a forgot answer.
var flowInBody = regexp.MustCompile(`"flow":"[A-Za-z0-9_-]{43}"`)
