// Package password hashes passwords with argon2id under a bound on how many
// hashes run at once, and checks new passwords against the policy.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/airlockhq/airlock"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams are OWASP's argon2id recommendation (SPEC §6.8).
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// ParseParams reads "m=19456,t=2,p=1".
func ParseParams(s string) (Params, error) {
	var p Params
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || seen[k] {
			return p, fmt.Errorf("want m=KiB,t=passes,p=threads, got %q", s)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return p, fmt.Errorf("bad value %q for %s", v, k)
		}
		switch k {
		case "m":
			if n < 8 {
				return p, fmt.Errorf("m must be at least 8 KiB")
			}
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, fmt.Errorf("p must be at most 255")
			}
			p.Threads = uint8(n)
		default:
			return p, fmt.Errorf("unknown parameter %q", k)
		}
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return p, fmt.Errorf("want m=KiB,t=passes,p=threads, got %q", s)
	}
	return p, nil
}

func (p Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

// Hasher hashes and verifies passwords. At most Concurrency hashes run at
// once so that memory stays bounded under load (each takes Params.Memory);
// the rest wait up to Wait, then get CodeUnavailable.
type Hasher struct {
	params  Params
	slots   chan struct{}
	wait    time.Duration
	running atomic.Int64
	// verified counts password checks, for the metrics and for the tests
	// that show how many guesses a limit lets through.
	verified atomic.Int64
	// onWait, when set, is told how long each hash waited for a slot.
	onWait func(time.Duration)
	dummy  string
}

// NewHasher returns a Hasher. concurrency < 1 means 1.
func NewHasher(p Params, concurrency int, wait time.Duration) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	h := &Hasher{params: p, slots: make(chan struct{}, concurrency), wait: wait}
	h.dummy = encode(p, make([]byte, saltLen), make([]byte, keyLen))
	return h
}

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.params }

// Running returns how many hashes are computing now.
func (h *Hasher) Running() int64 { return h.running.Load() }

// Verifications returns how many passwords were checked since start.
func (h *Hasher) Verifications() int64 { return h.verified.Load() }

// Capacity returns the bound on concurrent hashes.
func (h *Hasher) Capacity() int { return cap(h.slots) }

// OnWait registers f, told how long each hash waited for a slot (the
// metrics' hash wait time). Call it before the hasher is used.
func (h *Hasher) OnWait(f func(time.Duration)) { h.onWait = f }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		if h.onWait != nil {
			h.onWait(0)
		}
		return nil
	default:
	}
	start := time.Now()
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		if h.onWait != nil {
			h.onWait(time.Since(start))
		}
		return nil
	case <-t.C:
		return &airlock.Error{Code: airlock.CodeUnavailable, Key: "error.busy", RetryAfter: 2 * time.Second}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() {
	h.running.Add(-1)
	<-h.slots
}

// Normalize returns password in Unicode NFC, the one form that is hashed
// and checked (SPEC §6.7, NIST SP 800-63B §5.1.1.2): "é" typed as one code
// point or as e + U+0301 is the same password, whichever keyboard, system
// or browser sent it.
func Normalize(password string) string {
	return norm.NFC.String(password)
}

// Same reports whether a and b are the same password, once normalised.
func Same(a, b string) bool {
	return Normalize(a) == Normalize(b)
}

// Hash returns the PHC string of password, normalised.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	password = Normalize(password)
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded, and whether
// the hash should be redone (Hash, then store it): with the current
// parameters, or from the normalised password. An empty encoded string (no
// password set) is checked against a dummy hash so that the answer takes as
// long as for a real account.
//
// The normalised form is tried first. A hash made before passwords were
// normalised holds the form as it was typed then, so a password that
// normalisation changes is tried as typed too, and a match asks for a
// rehash, which stores the normalised form from then on.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	real := encoded != ""
	if !real {
		encoded = h.dummy
	}
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	h.verified.Add(1)
	match := func(pw string) bool {
		got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1
	}
	nfc := Normalize(password)
	ok = match(nfc)
	if !ok && nfc != password {
		// Tried whether or not the account exists (the dummy hash too), so
		// that the second try tells nothing about which accounts exist.
		ok = match(password)
		rehash = ok
	}
	ok = ok && real
	return ok, ok && (rehash || p != h.params), nil
}

var b64 = base64.RawStdEncoding

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("decode hash: not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("decode hash: unsupported version")
	}
	p, err := ParseParams(parts[3])
	if err != nil {
		return p, nil, nil, fmt.Errorf("decode hash: %w", err)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("decode hash salt: %w", err)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return p, nil, nil, fmt.Errorf("decode hash key: bad encoding")
	}
	return p, salt, key, nil
}
