package passkey_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/softkey"
	"github.com/airlockhq/airlock/passkey"
)

func rp(t *testing.T, raw string) *passkey.RP {
	t.Helper()
	u, _ := url.Parse(raw)
	r, err := passkey.New(u, "Airlock")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCeremonies: a passkey made for this server signs in; one answering
// for another origin, without user verification, or with a counter gone
// back is refused or flagged; an IP address is no relying party.
func TestCeremonies(t *testing.T) {
	r := rp(t, "https://accounts.example.com")
	u := &passkey.User{ID: "user-1", Name: "ada@example.com", DisplayName: "Ada"}
	key := softkey.New("https://accounts.example.com")
	opts, state, err := r.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.FinishRegistration(u, state, resp)
	if err != nil {
		t.Fatal(err)
	}
	p.UserID, p.Name = u.ID, "Phone"
	u.Passkeys = []*airlock.Passkey{p}
	find := func(id []byte) (*airlock.Passkey, error) {
		if string(id) == string(p.ID) {
			return p, nil
		}
		return nil, airlock.ErrNotFound
	}
	for _, who := range []*passkey.User{nil, u} {
		opts, state, err = r.BeginLogin(who)
		if err != nil {
			t.Fatal(err)
		}
		resp, err = key.Get(opts)
		if err != nil {
			t.Fatal(err)
		}
		a, err := r.FinishLogin(who, state, resp, find)
		if err != nil {
			t.Fatal(err)
		}
		if a.Passkey != p || a.CounterWentBack || a.SignCount == 0 {
			t.Fatalf("assertion: %+v", a)
		}
		p.SignCount = a.SignCount
		// The same answer to the same state carries the same counter now.
		again, err := r.FinishLogin(who, state, resp, find)
		if err != nil || !again.CounterWentBack {
			t.Fatalf("a replayed answer: %+v %v", again, err)
		}
	}
	for name, k := range map[string]*softkey.Key{
		"another origin":       key.Clone(100),
		"no user verification": key.Clone(100),
	} {
		if name == "another origin" {
			k.Origin = "https://accounts.example.com.evil.test"
		} else {
			k.NotVerified = true
		}
		opts, state, _ := r.BeginLogin(nil)
		resp, err := k.Get(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.FinishLogin(nil, state, resp, find); !errors.Is(err, passkey.ErrRefused) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := passkey.New(&url.URL{Scheme: "http", Host: "127.0.0.1:8080"}, "Airlock"); !errors.Is(err, passkey.ErrNoDomain) {
		t.Fatalf("an IP address: %v", err)
	}
}

func challengeOf(t *testing.T, options []byte) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options %s: %v", options, err)
	}
	return o.PublicKey.Challenge
}

// TestRefusalKeepsNoChallenge: an answer to another ceremony (a replay, a
// second tab) is refused, and the refusal, which is logged, names neither
// challenge (the ceremony waited on is still alive); other refusals keep
// the library's details for the operator.
func TestRefusalKeepsNoChallenge(t *testing.T) {
	r := rp(t, "https://accounts.example.com")
	u := &passkey.User{ID: "user-1", Name: "ada@example.com", DisplayName: "Ada"}
	key := softkey.New("https://accounts.example.com")
	optsA, _, err := r.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	optsB, stateB, err := r.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Create(optsA)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.FinishRegistration(u, stateB, resp)
	if !errors.Is(err, passkey.ErrRefused) {
		t.Fatalf("a registration answering another ceremony: %v", err)
	}
	for _, c := range []string{challengeOf(t, optsA), challengeOf(t, optsB)} {
		if strings.Contains(err.Error(), c) {
			t.Fatalf("a challenge in the refusal: %v", err)
		}
	}

	// A passkey to sign in with, then an answer to the wrong sign-in ceremony.
	key = softkey.New("https://accounts.example.com")
	opts, state, _ := r.BeginRegistration(u)
	resp, _ = key.Create(opts)
	stored, err := r.FinishRegistration(u, state, resp)
	if err != nil {
		t.Fatal(err)
	}
	stored.UserID = u.ID
	find := func([]byte) (*airlock.Passkey, error) { return stored, nil }
	optsA, _, _ = r.BeginLogin(nil)
	optsB, stateB, _ = r.BeginLogin(nil)
	resp, _ = key.Get(optsA)
	_, err = r.FinishLogin(nil, stateB, resp, find)
	if !errors.Is(err, passkey.ErrRefused) {
		t.Fatalf("a sign-in answering another ceremony: %v", err)
	}
	for _, c := range []string{challengeOf(t, optsA), challengeOf(t, optsB)} {
		if strings.Contains(err.Error(), c) {
			t.Fatalf("a challenge in the refusal: %v", err)
		}
	}
	// Another origin: the details stay (which origin came).
	evil := key.Clone(100)
	evil.Origin = "https://evil.example.net"
	opts, state, _ = r.BeginLogin(nil)
	resp, _ = evil.Get(opts)
	if _, err := r.FinishLogin(nil, state, resp, find); !errors.Is(err, passkey.ErrRefused) || !strings.Contains(err.Error(), "https://evil.example.net") {
		t.Fatalf("another origin's refusal: %v", err)
	}
}

// TestRefusalIsShort: what a refused answer echoes (its origin, here 10,000
// characters) is cut before it reaches the log.
func TestRefusalIsShort(t *testing.T) {
	r := rp(t, "https://accounts.example.com")
	u := &passkey.User{ID: "user-1", Name: "ada@example.com", DisplayName: "Ada"}
	key := softkey.New("https://" + strings.Repeat("é", 5000) + ".example")
	opts, state, err := r.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.FinishRegistration(u, state, resp)
	if !errors.Is(err, passkey.ErrRefused) || len(err.Error()) > 500 || !utf8.ValidString(err.Error()) || !strings.Contains(err.Error(), "origin") {
		t.Fatalf("%d bytes: %.200s", len(err.Error()), err)
	}
}
