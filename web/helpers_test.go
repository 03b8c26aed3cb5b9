package web_test

import (
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/store"
	"github.com/airlockhq/airlock/web"
)

type env struct {
	t       *testing.T
	srv     *httptest.Server
	handler http.Handler
	svc     *account.Service
	db      *store.DB
	clock   *testutil.Clock
	smtp    *mailtest.Server
	pub     *url.URL
}

type options struct {
	publicURL string
	devMail   bool
	appURL    string
	hasher    *password.Hasher
	postgres  bool
	// requireTwoFactor is AIRLOCK_REQUIRE_TWO_FACTOR.
	requireTwoFactor []string
	db               *store.DB // a store of the test's own; nil: a fresh one
	brand            string    // AIRLOCK_BRAND_NAME; "": the default
	logo             *web.Logo
	accent           string
	noSecretKey      bool // no AIRLOCK_SECRET_KEY
	// account changes the account rules' settings (limits, say).
	account func(*account.Config)
}

// onPostgres runs the pages on a fresh PostgreSQL database instead of
// SQLite (the test skips, saying so, when AIRLOCK_TEST_DATABASE_URL is not
// set; CI sets it).
func onPostgres(o *options) { o.postgres = true }

func newEnv(t *testing.T, opts ...func(*options)) *env {
	t.Helper()
	o := options{publicURL: "https://accounts.example.com"}
	for _, f := range opts {
		f(&o)
	}
	db := o.db
	switch {
	case db != nil:
	case o.postgres:
		if db = testutil.OpenPostgres(t); db == nil {
			t.Skipf("%s not set: this test needs PostgreSQL (CI sets it)", testutil.PostgresEnv)
		}
	default:
		db = testutil.OpenStore(t)
	}
	e := &env{t: t, db: db, clock: testutil.NewClock(), smtp: mailtest.Start(t)}
	e.pub, _ = url.Parse(o.publicURL)
	var so testsvc.Options
	var box *mail.DevMailbox
	if o.devMail {
		box = mail.NewDevMailbox(db, e.clock.Now)
		so.Sender = box
	}
	so.Hasher = o.hasher
	cfg := testsvc.Config(e.pub)
	cfg.AppURL = o.appURL
	cfg.RequireTwoFactor = o.requireTwoFactor
	if o.noSecretKey {
		cfg.SecretBox = nil
	}
	if o.brand != "" {
		cfg.BrandName = o.brand
	}
	if o.account != nil {
		o.account(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.svc = testsvc.New(t, db, e.clock, cfg, e.smtp.URL(), so)
	h, err := web.NewServer(log, web.Config{PublicURL: e.pub, AppURL: o.appURL, Logo: o.logo, Accent: o.accent}, e.svc, db, box)
	if err != nil {
		t.Fatal(err)
	}
	e.handler = h
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// client returns a browser-like client: cookies kept, redirects not followed.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: &insecureJar{jar}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// insecureJar sends Secure cookies to the plain-HTTP test server, so that
// the production cookie settings (https public URL) can be exercised.
type insecureJar struct{ *cookiejar.Jar }

func (j *insecureJar) SetCookies(u *url.URL, cs []*http.Cookie) {
	u2 := *u
	u2.Scheme = "https"
	j.Jar.SetCookies(&u2, cs)
}

func (j *insecureJar) Cookies(u *url.URL) []*http.Cookie {
	u2 := *u
	u2.Scheme = "https"
	return j.Jar.Cookies(&u2)
}

func (e *env) user(email, pw string, groups ...string) *airlock.User {
	e.t.Helper()
	u, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: email, FirstName: "Ada", LastName: "Lovelace", Password: pw, Groups: groups}, account.Meta{IP: "cli"})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) drain() {
	e.t.Helper()
	if _, err := e.svc.ProcessDue(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

type response struct {
	*http.Response
	body string
}

func (e *env) do(c *http.Client, method, path, body string, hdr ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = e.client()
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return response{res, string(b)}
}

func (e *env) get(c *http.Client, path string, hdr ...string) response {
	return e.do(c, http.MethodGet, path, "", hdr...)
}

func (e *env) post(c *http.Client, path string, form url.Values, hdr ...string) response {
	return e.do(c, http.MethodPost, path, form.Encode(), hdr...)
}

var linkRE = regexp.MustCompile(`(https?://[^\s]+/password/reset\?token=([A-Za-z0-9_-]{43}))`)

// resetLink asks for a reset through the page and returns the emailed link.
func (e *env) resetLink(email string) (link, token string) {
	e.t.Helper()
	n := len(e.smtp.Messages())
	if r := e.post(nil, "/password/forgot", url.Values{"email": {email}}); r.StatusCode != 200 {
		e.t.Fatalf("forgot: %d", r.StatusCode)
	}
	e.drain()
	msgs := e.smtp.Wait(e.t, n+1)
	m := linkRE.FindStringSubmatch(msgs[len(msgs)-1].Parts()["text/plain"])
	if m == nil {
		e.t.Fatal("no link in email")
	}
	return m[1], m[2]
}

// upload posts a file as the import form does (multipart/form-data).
func (e *env) upload(c *http.Client, path, filename, content string, hdr ...string) response {
	e.t.Helper()
	var body strings.Builder
	w := multipart.NewWriter(&body)
	fw, err := w.CreateFormFile("file", filename)
	if err != nil {
		e.t.Fatal(err)
	}
	io.WriteString(fw, content)
	w.Close()
	return e.do(c, http.MethodPost, path, body.String(), append([]string{"Content-Type", w.FormDataContentType()}, hdr...)...)
}
