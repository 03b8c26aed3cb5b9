package web_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/testutil"

	"github.com/airlockhq/airlock"
)

// TestForgotAnswerIsIdentical: status, headers, body and cookies are the
// same for an existing, an unknown and an inactive account (SPEC §6.1).
// The page repeats the address typed (to show a typo, and to send again):
// that echo of the input aside, the answers are byte for byte the same.
func TestForgotAnswerIsIdentical(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	gone := e.user("gone@example.com", "violet tractor on the moon")
	gone.Active = false
	e.db.UpdateUser(context.Background(), gone)

	type answer struct {
		Status  int
		Headers http.Header
		Body    string
		Cookies int
	}
	var answers []answer
	for _, email := range []string{"ada@example.com", "nobody@example.com", "gone@example.com"} {
		r := e.post(nil, "/password/forgot", url.Values{"email": {email}}, "Accept-Language", "en")
		h := r.Header.Clone()
		h.Del("Date")
		if strings.Count(r.body, email) != 2 {
			t.Fatalf("the page shows %q %d times, want 2 (the text, the send-again form)", email, strings.Count(r.body, email))
		}
		if h.Get("Content-Length") != strconv.Itoa(len(r.body)) {
			t.Fatalf("Content-Length %s for %d bytes", h.Get("Content-Length"), len(r.body))
		}
		h.Del("Content-Length") // the length of the address typed
		// Every request gets a flow of its own, in a cookie of one shape.
		var flow string
		for _, c := range r.Cookies() {
			if c.Name == "__Host-airlock_flow" {
				flow = c.Value
			}
		}
		if len(flow) != 43 || strings.Contains(r.body, flow) {
			t.Fatalf("flow cookie %q", flow)
		}
		h["Set-Cookie"] = slices.Clone(h["Set-Cookie"])
		for i, c := range h["Set-Cookie"] {
			h["Set-Cookie"][i] = strings.Replace(c, flow, "FLOW", 1)
		}
		answers = append(answers, answer{r.StatusCode, h, strings.ReplaceAll(r.body, email, "EMAIL"), len(r.Cookies())})
	}
	if answers[0].Status != http.StatusOK || !strings.Contains(answers[0].Body, "Check your inbox") {
		t.Fatalf("answer = %d\n%s", answers[0].Status, answers[0].Body)
	}
	for i := 1; i < len(answers); i++ {
		if !reflect.DeepEqual(answers[0], answers[i]) {
			t.Fatalf("answers differ:\n%+v\n%+v", answers[0], answers[i])
		}
	}
	// The answer was given before any account work: nothing sent yet.
	if n := len(e.smtp.Messages()); n != 0 {
		t.Fatalf("%d emails before the worker ran", n)
	}
	e.drain()
	if msgs := e.smtp.Wait(t, 1); len(msgs) != 1 || msgs[0].To[0] != "ada@example.com" {
		t.Fatalf("emails: %+v", msgs)
	}
}

// TestLinksUsePublicURLOnly: a forged Host or X-Forwarded-Host never ends
// up in the emailed link.
func TestLinksUsePublicURLOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	r := e.post(nil, "/password/forgot", url.Values{"email": {"ada@example.com"}},
		"Host", "evil.example", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http", "Forwarded", "host=evil.example")
	if r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	e.drain()
	m := e.smtp.Wait(t, 1)[0]
	for ct, body := range m.Parts() {
		if strings.Contains(body, "evil.example") {
			t.Fatalf("%s part holds the forged host", ct)
		}
		if !strings.Contains(body, "https://accounts.example.com/password/reset?token=") {
			t.Fatalf("%s part has no link on the public URL", ct)
		}
	}
}

// TestForgotRefusesSmuggledRecipients: the email field must be one string.
func TestForgotRefusesSmuggledRecipients(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	bodies := map[string]string{
		"repeated field": "email=ada%40example.com&email=evil%40example.com",
		"array syntax":   "email%5B%5D=ada%40example.com&email%5B%5D=evil%40example.com",
		"CRLF":           "email=ada%40example.com%0D%0ABcc%3A+evil%40example.com",
		"comma list":     "email=ada%40example.com%2Cevil%40example.com",
		"too long":       "email=" + strings.Repeat("a", 250) + "%40example.com",
		"invalid UTF-8":  "email=ada%FF%40example.com",
		"malformed form": "email=%zz",
		"unknown field":  "email=ada%40example.com&cc=evil%40example.com",
		"display name":   "email=Evil+%3Cevil%40example.com%3E",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			r := e.do(nil, http.MethodPost, "/password/forgot", body)
			if r.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.StatusCode)
			}
			if strings.Count(r.body, `role="alert"`) != 1 {
				t.Fatalf("no error message shown, or more than one:\n%s", r.body)
			}
		})
	}
	if n, _ := testutil.CountJobs(e.db, ""); n != 0 {
		t.Fatalf("bad input queued %d jobs", n)
	}
	e.drain()
	if n := len(e.smtp.Messages()); n != 0 {
		t.Fatalf("%d emails sent", n)
	}
}

func TestForgotRateLimitedPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for range 20 {
		if r := e.post(nil, "/password/forgot", url.Values{"email": {"x@example.com"}}); r.StatusCode != 200 {
			t.Fatal(r.StatusCode)
		}
	}
	r := e.post(nil, "/password/forgot", url.Values{"email": {"y@example.com"}})
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("21st forgot: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(nil, http.MethodPost, "/password/forgot", "email="+strings.Repeat("a", 70<<10))
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("70 KiB form: %d, want 413", r.StatusCode)
	}
	r = e.do(nil, http.MethodPost, "/login", `{"email":"a@example.com"}`, "Content-Type", "application/json")
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("JSON to a form: %d, want 400", r.StatusCode)
	}
	if n, _ := testutil.CountJobs(e.db, airlock.JobForgot); n != 0 {
		t.Fatalf("%d jobs queued", n)
	}
}

// TestForgotSaysWhenToAskAgain: once this browser has asked as many times
// in the hour as the per-account limit sends links, the page no longer
// offers to send the link again but says when asking again can help,
// whatever the address (the browser's own requests decide, so nothing
// tells whether an account exists); an hour on, the button is back.
func TestForgotSaysWhenToAskAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ada@example.com", "violet tractor on the moon")
	for _, c := range []struct{ email, lang, says string }{
		{"ada@example.com", "en", "ask again in 58 minutes"},
		{"nobody@example.com", "fr", "redemandez dans 58 minutes"},
	} {
		b := e.client()
		for i := range 3 {
			r := e.post(b, "/password/forgot", url.Values{"email": {c.email}}, "Accept-Language", c.lang)
			again := strings.Contains(r.body, `id="send-again"`)
			if i < 2 && !again || i == 2 && (again || !strings.Contains(r.body, c.says)) {
				t.Fatalf("%s, request %d: send-again offered %v\n%s", c.email, i+1, again, r.body)
			}
			e.clock.Advance(time.Minute)
		}
		e.clock.Advance(time.Hour)
		if r := e.post(b, "/password/forgot", url.Values{"email": {c.email}}, "Accept-Language", c.lang); !strings.Contains(r.body, `id="send-again"`) {
			t.Fatalf("%s an hour later: no send-again button\n%s", c.email, r.body)
		}
	}
}
