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

func rp(t testing.TB, raw string) *passkey.RP {
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

// TestAndroidOrigins: an Android app's answers (origin
// android:apk-key-hash: and its signing certificate's SHA-256) make and
// use passkeys when that certificate's app is configured, and are refused
// without it, or from an app signed with another certificate.
func TestAndroidOrigins(t *testing.T) {
	const fp = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
	app, err := passkey.AndroidOrigin(fp)
	if err != nil || app != "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU" {
		t.Fatalf("origin %q %v", app, err)
	}
	other, _ := passkey.AndroidOrigin(strings.Replace(fp, "14:6D", "AB:CD", 1))
	for _, bad := range []string{"14:6D", "zz" + fp[2:], ""} {
		if _, err := passkey.AndroidOrigin(bad); err == nil {
			t.Errorf("fingerprint %q accepted", bad)
		}
	}
	u, _ := url.Parse("https://accounts.example.com")
	withApp, err := passkey.New(u, "Airlock", app)
	if err != nil {
		t.Fatal(err)
	}
	web := rp(t, "https://accounts.example.com")
	for _, c := range []struct {
		name   string
		rp     *passkey.RP
		origin string
		ok     bool
	}{
		{"the configured app", withApp, app, true},
		{"the public URL beside the app", withApp, "https://accounts.example.com", true},
		{"an app with no app configured", web, app, false},
		{"an app signed with another certificate", withApp, other, false},
		{"an app's hash under another prefix", withApp, strings.Replace(app, "apk-key-hash:", "apk-key-hash-sha256:", 1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := &passkey.User{ID: "user-1", Name: "ada@example.com", DisplayName: "Ada"}
			key := softkey.New(c.origin)
			opts, state, err := c.rp.BeginRegistration(u)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := key.Create(opts)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.rp.FinishRegistration(u, state, resp)
			if !c.ok {
				if !errors.Is(err, passkey.ErrRefused) {
					t.Fatalf("registration: %v", err)
				}
				// A passkey made on the web, used from the app: refused too.
				key = softkey.New("https://accounts.example.com")
				opts, state, _ = c.rp.BeginRegistration(u)
				resp, _ = key.Create(opts)
				if p, err = c.rp.FinishRegistration(u, state, resp); err != nil {
					t.Fatal(err)
				}
				key.Origin = c.origin
			} else if err != nil {
				t.Fatalf("registration: %v", err)
			}
			p.UserID = u.ID
			u.Passkeys = []*airlock.Passkey{p}
			opts, state, err = c.rp.BeginLogin(nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err = key.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.rp.FinishLogin(nil, state, resp, func([]byte) (*airlock.Passkey, error) { return p, nil })
			if c.ok && err != nil || !c.ok && !errors.Is(err, passkey.ErrRefused) {
				t.Fatalf("sign-in: %v", err)
			}
		})
	}
}

// BenchmarkCeremonies is the WebAuthn work alone of a ceremony, no
// database: the options and the check of the answer (signature, origin,
// challenge, flags), for adding a passkey and signing in with one. The
// software authenticator's own work is not timed.
func BenchmarkCeremonies(b *testing.B) {
	r := rp(b, "https://accounts.example.com")
	u := &passkey.User{ID: "user-1", Name: "ada@example.com", DisplayName: "Ada"}
	key := softkey.New("https://accounts.example.com")
	b.Run("register", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			opts, state, err := r.BeginRegistration(u)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			resp, err := key.Create(opts)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := r.FinishRegistration(u, state, resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Sign-in with one passkey, held by a fresh authenticator.
	opts, state, _ := r.BeginRegistration(u)
	key = softkey.New("https://accounts.example.com")
	resp, _ := key.Create(opts)
	p, err := r.FinishRegistration(u, state, resp)
	if err != nil {
		b.Fatal(err)
	}
	p.UserID = u.ID
	find := func([]byte) (*airlock.Passkey, error) { return p, nil }
	b.Run("sign-in", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			opts, state, err := r.BeginLogin(nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			resp, err := key.Get(opts)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := r.FinishLogin(nil, state, resp, find); err != nil {
				b.Fatal(err)
			}
		}
	})
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
