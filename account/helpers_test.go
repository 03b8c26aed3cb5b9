package account_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/store"
)

// cheap argon2id parameters keep tests fast; production defaults are
// checked in the password package.
var cheap = testsvc.Cheap

type env struct {
	svc    *account.Service
	hasher *password.Hasher
	db     *store.DB
	clock  *testutil.Clock
	smtp   *mailtest.Server
	logs   *testutil.Buffer
}

// newEnv wires a Service on a fresh SQLite file, a stopped clock and a real
// SMTP server in the test process.
func newEnv(t testing.TB, tweak ...func(*account.Config)) *env {
	t.Helper()
	return newNode(t, testutil.OpenStore(t), testutil.NewClock(), mailtest.Start(t), tweak...)
}

// newNode wires a Service on the given store, clock and SMTP server: several
// nodes may share them, as Airlock nodes share one PostgreSQL.
func newNode(t testing.TB, db *store.DB, clock *testutil.Clock, smtp *mailtest.Server, tweak ...func(*account.Config)) *env {
	t.Helper()
	e := &env{db: db, clock: clock, smtp: smtp, logs: &testutil.Buffer{}}
	// These tests pile many writers on purpose onto a loaded machine (under
	// -race); the production time limit (5 s, tested in cmd/airlock) would
	// turn SQLite's queueing into spurious 503s here.
	db.SetTimeout(30 * time.Second)
	cfg := testsvc.Config(nil)
	for _, f := range tweak {
		f(&cfg)
	}
	e.hasher = testsvc.NewHasher()
	e.svc = e.service(t, db, cfg)
	return e
}

var meta = account.Meta{IP: "192.0.2.10", UserAgent: "test-agent/1.0"}

const goodPassword = "violet tractor on the moon"

func (e *env) user(t testing.TB, email, pw string, groups ...string) *airlock.User {
	t.Helper()
	u, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: email, FirstName: "Ada", LastName: "Lovelace", Password: pw, Groups: groups}, meta)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// drain runs every due job. When it returns, every email those jobs sent is
// at the SMTP server (it keeps a message before it answers 250), and no
// other email is on its way: the test's counts are final, with no waiting.
func (e *env) drain(t *testing.T) {
	t.Helper()
	if _, err := e.svc.ProcessDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

var tokenRE = regexp.MustCompile(`/password/reset\?token=([A-Za-z0-9_-]{43})`)

// tokenFrom extracts the reset token from a delivered email's text part.
func tokenFrom(t *testing.T, m mailtest.Message) string {
	t.Helper()
	got := tokenRE.FindStringSubmatch(m.Parts()["text/plain"])
	if got == nil {
		t.Fatalf("no reset link in email %q", m.Header("Subject"))
	}
	return got[1]
}

// resetToken asks for a reset and returns the token of the email it sends.
func (e *env) resetToken(t *testing.T, email string) string {
	t.Helper()
	before := len(e.smtp.Messages())
	if _, err := e.svc.RequestReset(context.Background(), email, meta); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	msgs := e.smtp.Wait(t, before+1)
	return tokenFrom(t, msgs[len(msgs)-1])
}

func code(err error) airlock.Code {
	if err == nil {
		return ""
	}
	return airlock.ErrorCode(err)
}
