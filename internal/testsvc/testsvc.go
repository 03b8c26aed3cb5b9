// Package testsvc wires an account.Service for tests as `airlock serve`
// does, with what tests change: cheap password hashing, a fixed sealing key
// and an injected clock. The web, api and account tests build theirs here.
package testsvc

import (
	"bytes"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/secretbox"
)

// Cheap are argon2id parameters that keep tests fast; the production
// defaults never change for tests.
var Cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

// Box seals two-step keys in tests: one key for every node, as
// AIRLOCK_SECRET_KEY is shared by every node of a deployment.
var Box, _ = secretbox.New(bytes.Repeat([]byte{42}, 32))

// Public is the public URL of the tests' service unless one is given.
var Public, _ = url.Parse("https://accounts.example.com")

// Config is the default configuration for public (nil: Public) with Box.
func Config(public *url.URL) account.Config {
	if public == nil {
		public = Public
	}
	cfg := account.DefaultConfig(public)
	cfg.SecretBox = Box
	return cfg
}

// NewHasher is a hasher with the Cheap parameters, four at once.
func NewHasher() *password.Hasher { return password.NewHasher(Cheap, 4, 10*time.Second) }

// Options say what differs from the defaults; every field may be left out.
type Options struct {
	Log    *slog.Logger     // nil: discarded
	Sender mail.Sender      // nil: a real SMTP client to SMTPURL
	Hasher *password.Hasher // nil: NewHasher()
}

// New returns a Service on db with cfg, sending through o.Sender or, when
// it is nil, over SMTP to smtpURL (an in-process mailtest server).
func New(t testing.TB, db airlock.Store, clock airlock.Clock, cfg account.Config, smtpURL string, o Options) *account.Service {
	t.Helper()
	sender := o.Sender
	if sender == nil {
		smtp, err := mail.NewSMTP(smtpURL, "Airlock <no-reply@example.com>", mail.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sender = smtp
	}
	tpl, err := mail.ParseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	hasher := o.Hasher
	if hasher == nil {
		hasher = NewHasher()
	}
	return account.New(log, cfg, db, hasher, password.NewPolicy(12), tpl, sender, clock)
}

// DebugLog is a logger at debug level (the level that writes a line per
// request) into w.
func DebugLog(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
