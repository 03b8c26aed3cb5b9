// Package peer lets the Airlock servers of one operator help each other
// with a forgotten password asked on the wrong server: a server that finds
// no account for an address asks its peers, with a signed, timestamped,
// single-use request; a peer that has the account sends the person its own
// reset email (package account decides that). This package is the wire:
// keys, signing, verifying, sending.
package peer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/secretbox"
)

// Path is where a server receives its peers' requests.
const Path = "/peer/v1/forgot"

// MaxAge is how old (or how far ahead) a request may be: beyond, it is
// refused as stale, and its nonce need not be remembered longer.
const MaxAge = 60 * time.Second

// maxBody bounds a request's body.
const maxBody = 4 << 10

// Peer is another server of the directory that this one may ask and
// answer.
type Peer struct {
	URL string
	Key ed25519.PublicKey
}

// Parse reads AIRLOCK_PEERS: comma-separated URL=KEY entries, KEY the
// peer's public key as `airlock peer key` prints it.
func Parse(v string) ([]Peer, error) {
	var ps []Peer
	seen := map[string]bool{}
	for _, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		i := strings.LastIndex(entry, "=")
		if i < 0 {
			return nil, fmt.Errorf("peer %q: want URL=KEY", entry)
		}
		raw, key := strings.TrimSpace(entry[:i]), strings.TrimSpace(entry[i+1:])
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("peer %q: want the server's URL (https://host)", raw)
		}
		b, err := base64.RawURLEncoding.DecodeString(key)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("peer %s: the key is not one `airlock peer key` prints", raw)
		}
		id := Canonical(raw)
		if seen[id] {
			return nil, fmt.Errorf("peer %s is listed twice", raw)
		}
		seen[id] = true
		ps = append(ps, Peer{URL: id, Key: ed25519.PublicKey(b)})
	}
	return ps, nil
}

// Canonical is a server URL as requests name it: no trailing slash.
func Canonical(u string) string { return strings.TrimSuffix(strings.TrimSpace(u), "/") }

// KeyFrom is this server's signing key, derived from AIRLOCK_SECRET_KEY:
// nothing to store, the same on every node of the server.
func KeyFrom(box *secretbox.Box) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(box.Derive("airlock peer ed25519"))
}

// PublicKey is what a peer's AIRLOCK_PEERS lists for this server.
func PublicKey(k ed25519.PrivateKey) string {
	return base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}

// Request is what one server asks another: has it an account for Email?
type Request struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Email string `json:"email"`
	// Lang is the asker's page language, for the email when the account
	// has none of its own.
	Lang  string `json:"lang,omitempty"`
	At    int64  `json:"at"`
	Nonce string `json:"nonce"`
}

// Signature is the header that carries a request's signature.
const Signature = "Airlock-Peer-Signature"

// Sign returns a request's body and the signature of that body.
func Sign(k ed25519.PrivateKey, r Request) ([]byte, string, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, "", err
	}
	return signRaw(k, body)
}

func signRaw(k ed25519.PrivateKey, body []byte) ([]byte, string, error) {
	return body, base64.RawURLEncoding.EncodeToString(ed25519.Sign(k, body)), nil
}

// Refusal says why a request was refused (for the audit log).
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return "peer request refused: " + r.Reason }

// Reasons a request is refused.
var (
	ErrUnknownPeer = &Refusal{"unknown_peer"}
	ErrForged      = &Refusal{"forged"}
	ErrStale       = &Refusal{"stale"}
	ErrMisdirected = &Refusal{"misdirected"}
	ErrMalformed   = &Refusal{"malformed"}
	ErrReplayed    = &Refusal{"replayed"}
)

// Verify checks a request's body and signature: from a listed peer,
// signed by its key, addressed to self, at most MaxAge old or ahead. The
// nonce's single use is the caller's to check (it needs the database).
func Verify(peers []Peer, self string, body []byte, sig string, now time.Time) (*Request, *Peer, error) {
	var r Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || dec.More() || r.From == "" || r.Email == "" || len(r.Nonce) < 16 || len(r.Nonce) > 64 {
		return nil, nil, ErrMalformed
	}
	if r.Lang != "" && !airlock.ValidLanguage(r.Lang) {
		return nil, nil, ErrMalformed
	}
	var p *Peer
	for i := range peers {
		if peers[i].URL == Canonical(r.From) {
			p = &peers[i]
		}
	}
	if p == nil {
		return nil, nil, ErrUnknownPeer
	}
	s, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !ed25519.Verify(p.Key, body, s) {
		return nil, p, ErrForged
	}
	if Canonical(r.To) != Canonical(self) {
		return nil, p, ErrMisdirected // a request for another server, replayed here
	}
	at := time.UnixMilli(r.At)
	if d := now.Sub(at); d > MaxAge || d < -MaxAge {
		return nil, p, ErrStale
	}
	return &r, p, nil
}

// ReadRequest reads a request's body and signature from an HTTP request.
func ReadRequest(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, "", ErrMalformed
	}
	return body, r.Header.Get(Signature), nil
}

// Client sends this server's requests to its peers.
type Client struct {
	Self string
	Key  ed25519.PrivateKey
	HTTP *http.Client
	// Now is the clock the requests are stamped with.
	Now func() time.Time
}

// Ask asks peer whether it has an account for email. Any answer but 202
// is an error, to be retried.
func (c *Client) Ask(ctx context.Context, peerURL, email, lang string) error {
	nonce := make([]byte, 18)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	body, sig, err := Sign(c.Key, Request{From: Canonical(c.Self), To: Canonical(peerURL), Email: email, Lang: lang,
		At: c.Now().UnixMilli(), Nonce: base64.RawURLEncoding.EncodeToString(nonce)})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, Canonical(peerURL)+Path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(Signature, sig)
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("ask peer %s: %w", peerURL, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
	res.Body.Close()
	if res.StatusCode == http.StatusTooManyRequests {
		return fmt.Errorf("ask peer %s: %w", peerURL, account.ErrPeerBusy)
	}
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("ask peer %s: %s", peerURL, res.Status)
	}
	return nil
}
