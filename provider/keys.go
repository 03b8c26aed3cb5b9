package provider

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/secretbox"
)

// Key timing. A new key is published PublishLead before it signs, so that
// every relying party that caches the JWKS (for at most jwksMaxAge) has it
// before the first token it signs; a retired key stays published while
// tokens it signed may still be valid (the longest token lifetime).
const (
	jwksMaxAge  = 5 * time.Minute
	PublishLead = jwksMaxAge + time.Minute
	// IDTokenTTL is the ID tokens' lifetime, the longest of what a key signs.
	IDTokenTTL = time.Hour
	// keysFresh is how long a node trusts its copy of the keys: a rotation
	// made on another node is seen within it (well inside PublishLead).
	keysFresh = 30 * time.Second
)

// KeyStore is what the keys need from the store.
type KeyStore interface {
	SigningKeys(ctx context.Context, since time.Time) ([]*airlock.SigningKey, error)
	InsertSigningKey(ctx context.Context, k *airlock.SigningKey) error
	RetireSigningKeys(ctx context.Context, before, at time.Time) error
	Update(ctx context.Context, fn func(airlock.Tx) error) error
}

// Keys are the provider's signing keys: generated at first start, their
// private halves sealed with AIRLOCK_SECRET_KEY in the database.
type Keys struct {
	store KeyStore
	box   *secretbox.Box
	clock airlock.Clock

	mu       sync.Mutex
	loaded   []*signingKey
	loadedAt time.Time
}

type signingKey struct {
	id        string
	alg       jose.SignatureAlgorithm
	private   crypto.Signer
	public    jose.JSONWebKey
	signsFrom time.Time
	retiredAt time.Time
}

// NewKeys returns the keys kept in store, sealed with box.
func NewKeys(store KeyStore, box *secretbox.Box, clock airlock.Clock) *Keys {
	return &Keys{store: store, box: box, clock: clock}
}

// Ensure makes the first keys if there are none.
func (k *Keys) Ensure(ctx context.Context) error {
	active := func(ks []*airlock.SigningKey) bool {
		return slices.ContainsFunc(ks, func(key *airlock.SigningKey) bool { return key.RetiredAt.IsZero() })
	}
	now := k.clock.Now()
	ks, err := k.store.SigningKeys(ctx, now.Add(-IDTokenTTL))
	if err != nil || active(ks) {
		return err
	}
	// Made before the transaction (an RSA key takes a while), kept only
	// if still none exist under the lock: nodes starting together make one
	// set between them, not one each (each would sign with its own, which
	// the others' key sets lack).
	made, err := k.newKeys(now)
	if err != nil {
		return err
	}
	err = k.store.Update(ctx, func(tx airlock.Tx) error {
		if err := tx.LockSigningKeys(ctx); err != nil {
			return err
		}
		ks, err := tx.SigningKeys(ctx, now.Add(-IDTokenTTL))
		if err != nil || active(ks) {
			return err
		}
		for _, m := range made {
			if err := tx.InsertSigningKey(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.loaded = nil
	k.mu.Unlock()
	return nil
}

// Rotate publishes a new key now, which signs from PublishLead on; the
// keys before it stop signing then, and stay published until the tokens
// they signed have expired. It returns when the new key signs.
func (k *Keys) Rotate(ctx context.Context) (time.Time, error) {
	now := k.clock.Now()
	from := now.Add(PublishLead)
	made, err := k.newKeys(from)
	if err != nil {
		return time.Time{}, err
	}
	for _, m := range made {
		if err := k.store.InsertSigningKey(ctx, m); err != nil {
			return time.Time{}, err
		}
	}
	if err := k.store.RetireSigningKeys(ctx, from, from); err != nil {
		return time.Time{}, err
	}
	k.mu.Lock()
	k.loaded = nil
	k.mu.Unlock()
	return from, nil
}

// newKeys makes the keys that sign from from, sealed: RS256 (the
// algorithm every OpenID client supports) and ES256 (for the clients that
// ask for it).
func (k *Keys) newKeys(from time.Time) ([]*airlock.SigningKey, error) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	var made []*airlock.SigningKey
	for _, m := range []struct {
		alg  jose.SignatureAlgorithm
		priv crypto.Signer
	}{{jose.RS256, rsaKey}, {jose.ES256, ecKey}} {
		row, err := k.sealed(m.alg, m.priv, from)
		if err != nil {
			return nil, err
		}
		made = append(made, row)
	}
	return made, nil
}

// sealed is the stored form of a new key.
func (k *Keys) sealed(alg jose.SignatureAlgorithm, priv crypto.Signer, from time.Time) (*airlock.SigningKey, error) {
	idb := make([]byte, 12)
	if _, err := rand.Read(idb); err != nil {
		return nil, err
	}
	id := base64.RawURLEncoding.EncodeToString(idb)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	sealed, err := k.box.Seal(der, []byte("oauth-key:"+id))
	if err != nil {
		return nil, err
	}
	pub, err := json.Marshal(jose.JSONWebKey{Key: priv.Public(), KeyID: id, Algorithm: string(alg), Use: "sig"})
	if err != nil {
		return nil, err
	}
	return &airlock.SigningKey{ID: id, Alg: string(alg), Private: sealed, PublicJWK: pub, CreatedAt: k.clock.Now(), SignsFrom: from}, nil
}

// all returns the keys still published, from the node's copy when fresh.
func (k *Keys) all(ctx context.Context, reload bool) ([]*signingKey, error) {
	now := k.clock.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if !reload && k.loaded != nil && now.Sub(k.loadedAt) < keysFresh {
		return k.loaded, nil
	}
	rows, err := k.store.SigningKeys(ctx, now.Add(-IDTokenTTL))
	if err != nil {
		return nil, err
	}
	ks := make([]*signingKey, 0, len(rows))
	for _, r := range rows {
		der, err := k.box.Open(r.Private, []byte("oauth-key:"+r.ID))
		if err != nil {
			return nil, fmt.Errorf("open signing key %s (is AIRLOCK_SECRET_KEY the one it was sealed with?): %w", r.ID, err)
		}
		p, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("parse signing key %s: %w", r.ID, err)
		}
		signer, ok := p.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("signing key %s: not a signer", r.ID)
		}
		var pub jose.JSONWebKey
		if err := pub.UnmarshalJSON(r.PublicJWK); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.ID, err)
		}
		ks = append(ks, &signingKey{id: r.ID, alg: jose.SignatureAlgorithm(r.Alg), private: signer, public: pub,
			signsFrom: r.SignsFrom, retiredAt: r.RetiredAt})
	}
	k.loaded, k.loadedAt = ks, now
	return ks, nil
}

// signing returns the key of alg that signs now: the oldest of those
// whose time has come and who are not retired. Oldest, so that every node
// picks the same one, whichever keys its copy holds.
func (k *Keys) signing(ctx context.Context, alg jose.SignatureAlgorithm) (*signingKey, error) {
	ks, err := k.all(ctx, false)
	if err != nil {
		return nil, err
	}
	now := k.clock.Now()
	var best *signingKey
	for _, key := range ks {
		if key.alg != alg || key.signsFrom.After(now) || (!key.retiredAt.IsZero() && !key.retiredAt.After(now)) {
			continue
		}
		if best == nil || key.signsFrom.Before(best.signsFrom) || key.signsFrom.Equal(best.signsFrom) && key.id < best.id {
			best = key
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no signing key: run serve once, or airlock keys rotate")
	}
	return best, nil
}

// public returns the JWKS's keys: every key not retired longer ago than
// the longest token lifetime, the next one included.
func (k *Keys) public(ctx context.Context) ([]*signingKey, error) {
	ks, err := k.all(ctx, false)
	if err != nil {
		return nil, err
	}
	now := k.clock.Now()
	out := make([]*signingKey, 0, len(ks))
	for _, key := range ks {
		if key.retiredAt.IsZero() || now.Sub(key.retiredAt) < IDTokenTTL {
			out = append(out, key)
		}
	}
	return out, nil
}

// The op package's views of a key.

type opSigningKey struct{ k *signingKey }

func (s opSigningKey) SignatureAlgorithm() jose.SignatureAlgorithm { return s.k.alg }
func (s opSigningKey) Key() any                                    { return s.k.private }
func (s opSigningKey) ID() string                                  { return s.k.id }

type opKey struct{ k *signingKey }

func (p opKey) ID() string                         { return p.k.id }
func (p opKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p opKey) Use() string                        { return "sig" }
func (p opKey) Key() any                           { return p.k.public.Key }
