package api_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/api"
	"github.com/airlockhq/airlock/client"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/openapitest"
	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// spec checks every answer any test of this package receives.
var spec *openapitest.Validator

func TestMain(m *testing.M) {
	testutil.RaiseParallel(4)
	var err error
	if spec, err = openapitest.New(api.OpenAPI); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if errs := spec.Errors(); len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "answers that do not match openapi.json:\n%s\n", strings.Join(errs, "\n"))
		code = 1
	}
	// When the whole package ran, every documented success was exercised.
	if f := flag.Lookup("test.run"); code == 0 && (f == nil || f.Value.String() == "") {
		if unseen := spec.Unseen(); len(unseen) > 0 {
			fmt.Fprintf(os.Stderr, "documented answers no test received:\n%s\n", strings.Join(unseen, "\n"))
			code = 1
		}
	}
	if !testutil.DropDatabase() {
		code = 1
	}
	os.Exit(code)
}

type env struct {
	t     *testing.T
	srv   *httptest.Server
	svc   *account.Service
	db    *store.DB
	clock *testutil.Clock
	smtp  *mailtest.Server
	c     *client.Client
	http  *http.Client
}

func newEnv(t *testing.T, servers ...airlock.Server) *env {
	t.Helper()
	return newEnvOn(t, testutil.OpenStore(t), servers...)
}

// newEnvOn is newEnv on a given store.
func newEnvOn(t *testing.T, db *store.DB, servers ...airlock.Server) *env {
	t.Helper()
	e := &env{t: t, db: db, clock: testutil.NewClock(), smtp: mailtest.Start(t)}
	e.svc = testsvc.New(t, db, e.clock, testsvc.Config(nil), e.smtp.URL(), testsvc.Options{})
	e.srv = httptest.NewServer(api.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), api.Config{Servers: servers}, e.svc))
	t.Cleanup(e.srv.Close)
	e.http = &http.Client{Transport: spec.Transport(nil)}
	e.c = client.New(e.srv.URL)
	e.c.HTTP = e.http
	return e
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

// raw sends a request with any body and content type, through the checker.
func (e *env) raw(method, path, contentType, body string, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]{43})`)

func errCode(err error) string { return client.ErrorCode(err) }

var ctx = context.Background()
