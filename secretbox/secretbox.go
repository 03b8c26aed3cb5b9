// Package secretbox seals the few secrets Airlock must be able to read back
// (two-step sign-in keys) with AES-256-GCM under keys from
// AIRLOCK_SECRET_KEY. Several keys may be given for rotation: the first
// seals, every one opens. Each sealed value names its key by an id derived
// from the key, never the key itself.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	keyLen  = 32
	idLen   = 8
	version = 1
)

// Box seals and opens values with a list of keys.
type Box struct {
	keys []key
	// derive is the root of the keys Derive makes, from the first key.
	derive [32]byte
}

type key struct {
	id   [idLen]byte
	aead cipher.AEAD
	mac  []byte // the HMAC key derived from it (see MACs)
}

// ErrNoKey is returned when a sealed value names a key the box lacks.
var ErrNoKey = errors.New("secretbox: sealed with a key that is not in AIRLOCK_SECRET_KEY")

// New makes a box of raw 32-byte keys; the first seals.
func New(raw ...[]byte) (*Box, error) {
	if len(raw) == 0 {
		return nil, errors.New("secretbox: no key")
	}
	b := &Box{}
	for _, k := range raw {
		if len(k) != keyLen {
			return nil, fmt.Errorf("secretbox: a key must be %d bytes, not %d", keyLen, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		var id [idLen]byte
		sum := sha256.Sum256(append([]byte("airlock secretbox key id\x00"), k...))
		copy(id[:], sum[:])
		mac := sha256.Sum256(append([]byte("airlock secretbox mac key\x00"), k...))
		b.keys = append(b.keys, key{id: id, aead: aead, mac: mac[:]})
	}
	b.derive = sha256.Sum256(append([]byte("airlock secretbox derive\x00"), raw[0]...))
	return b, nil
}

// Parse reads an AIRLOCK_SECRET_KEY value: comma-separated entries, each a
// base64 (standard or URL) 32-byte key or file:PATH naming a file that holds
// one. The error never contains a key.
func Parse(v string) (*Box, error) {
	var raw [][]byte
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var k []byte
		var err error
		if path, ok := strings.CutPrefix(part, "file:"); ok {
			k, err = readKeyFile(path)
		} else {
			k, err = decodeKey(part)
		}
		if err != nil {
			return nil, err
		}
		raw = append(raw, k)
	}
	return New(raw...)
}

// FromFile reads the one key of the file at path (made by NewKeyFile). Its
// path is taken whole: a comma in it is part of the name, not a list as in
// Parse.
func FromFile(path string) (*Box, error) {
	k, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	return New(k)
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, errors.Unwrap(err))
	}
	return decodeKey(strings.TrimSpace(string(b)))
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == keyLen {
			return k, nil
		}
	}
	return nil, fmt.Errorf("a key must be %d random bytes in base64 (for example from: openssl rand -base64 32)", keyLen)
}

// NewKeyFile writes a new random key to path with mode 0600 (refusing to
// overwrite a file); FromFile reads it.
func NewKeyFile(path string) error {
	k := make([]byte, keyLen)
	if _, err := rand.Read(k); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Exists reports whether path exists.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// Seal encrypts plain under the first key; associated binds the sealed
// value to its place (such as a user id), so it cannot be moved to another.
func (b *Box) Seal(plain, associated []byte) ([]byte, error) {
	k := b.keys[0]
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{version}, k.id[:]...)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plain, associated), nil
}

// Open decrypts a value sealed by Seal under any of the box's keys.
func (b *Box) Open(sealed, associated []byte) ([]byte, error) {
	if len(sealed) < 1+idLen || sealed[0] != version {
		return nil, errors.New("secretbox: not a sealed value")
	}
	id := sealed[1 : 1+idLen]
	for _, k := range b.keys {
		if string(k.id[:]) != string(id) {
			continue
		}
		rest := sealed[1+idLen:]
		ns := k.aead.NonceSize()
		if len(rest) < ns {
			return nil, errors.New("secretbox: truncated")
		}
		return k.aead.Open(nil, rest[:ns], rest[ns:], associated)
	}
	return nil, ErrNoKey
}

// Derive returns 32 bytes for label, made from the first key (HMAC-SHA256):
// a key of another purpose (a server's signing key for its peers) that
// needs no storage, and changes when the first key does.
func (b *Box) Derive(label string) []byte {
	m := hmac.New(sha256.New, b.derive[:])
	m.Write([]byte(label))
	return m.Sum(nil)
}

// MACs returns HMAC-SHA256 of msg under each key, the first key's first
// (the one to store); a value stored under a key rotated out since matches
// one of the others. The MAC keys are derived from the keys, never the
// AES keys themselves.
func (b *Box) MACs(msg []byte) [][]byte {
	out := make([][]byte, len(b.keys))
	for i, k := range b.keys {
		h := hmac.New(sha256.New, k.mac)
		h.Write(msg)
		out[i] = h.Sum(nil)
	}
	return out
}
