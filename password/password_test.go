package password_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/password"
)

var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h := password.NewHasher(cheap, 2, time.Second)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", enc)
	}
	if strings.Contains(enc, "correct") {
		t.Fatal("hash contains the password")
	}
	if ok, rehash, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || rehash || err != nil {
		t.Fatalf("Verify right = %v, %v, %v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(ctx, "Correct horse battery staple", enc); ok {
		t.Fatal("Verify accepted a wrong password")
	}
	// No password set: always false, but still does the work.
	if ok, _, err := h.Verify(ctx, "", ""); ok || err != nil {
		t.Fatalf("Verify with no hash = %v, %v", ok, err)
	}
	// A hash made with other parameters asks for a rehash once verified.
	stronger := password.NewHasher(password.Params{Memory: 128, Time: 1, Threads: 1}, 1, time.Second)
	if ok, rehash, _ := stronger.Verify(ctx, "correct horse battery staple", enc); !ok || !rehash {
		t.Fatalf("Verify with changed params: ok=%v rehash=%v, want both", ok, rehash)
	}
}

func TestDefaultParamsAreOWASP(t *testing.T) {
	t.Parallel()
	if password.DefaultParams != (password.Params{Memory: 19456, Time: 2, Threads: 1}) {
		t.Fatalf("default argon2id params changed: %v", password.DefaultParams)
	}
	p, err := password.ParseParams("m=19456,t=2,p=1")
	if err != nil || p != password.DefaultParams {
		t.Fatalf("ParseParams = %v, %v", p, err)
	}
	for _, bad := range []string{"", "m=0,t=1,p=1", "m=64,t=1", "m=64,t=1,p=1,x=2", "m=64,m=65,t=1,p=1", "m=a,t=1,p=1"} {
		if _, err := password.ParseParams(bad); err == nil {
			t.Errorf("ParseParams(%q) accepted", bad)
		}
	}
}

// TestBoundedConcurrency shows that no more hashes run at once than the
// bound, and that a caller who cannot get a slot in time gets "unavailable".
func TestBoundedConcurrency(t *testing.T) {
	t.Parallel()
	h := password.NewHasher(password.Params{Memory: 8 * 1024, Time: 3, Threads: 1}, 2, 5*time.Millisecond)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var busy, peak int
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				if n := int(h.Running()); n > peak {
					mu.Lock()
					peak = n
					mu.Unlock()
				}
			}
		}
	}()
	for range 12 {
		wg.Go(func() {
			_, err := h.Hash(ctx, "some long enough password")
			if airlock.ErrorCode(err) == airlock.CodeUnavailable {
				mu.Lock()
				busy++
				mu.Unlock()
				if e := airlock.AsError(err); e.RetryAfter <= 0 {
					t.Error("unavailable without Retry-After")
				}
			} else if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(stop)
	if peak > 2 {
		t.Fatalf("%d hashes ran at once, bound is 2", peak)
	}
	if busy == 0 {
		t.Fatal("no caller was turned away although 12 waited 5ms for 2 slots")
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	p := password.NewPolicy(12)
	if n := p.BlocklistSize(); n < 10000 {
		t.Fatalf("blocklist holds %d passwords, want at least 10,000", n)
	}
	u := &airlock.User{Email: "marie.curie@example.com", FirstName: "Marie", LastName: "Skłodowska"}
	tests := []struct {
		name, pw string
		want     []string
	}{
		{"ok", "violet tractor on the moon", nil},
		{"too short", "Sh0rt-pass", []string{password.ReasonTooShort}},
		{"twelve code points, more bytes", "ééééééééééé1", nil},
		{"common", "password1234", []string{password.ReasonCommon}},
		{"common any case", "PASSWORD1234", []string{password.ReasonCommon}},
		{"contains email local part", "xx-Marie.Curie-xx-2026", []string{password.ReasonHasEmail, password.ReasonHasName}},
		{"contains name", "skłodowska forever and ever", []string{password.ReasonHasName}},
		{"too long", strings.Repeat("a", 129), []string{password.ReasonTooLong}},
		{"128 is fine", strings.Repeat("ab", 64), nil},
		{"invalid UTF-8", "abcdefghijkl\xff", []string{password.ReasonInvalidText}},
		{"several reasons", "marie.curie", []string{password.ReasonTooShort, password.ReasonHasEmail, password.ReasonHasName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.pw, u)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := airlock.AsError(err)
			if e == nil || e.Code != airlock.CodePasswordPolicy {
				t.Fatalf("got %v, want password_policy", err)
			}
			if strings.Join(e.Reasons, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("reasons = %v, want %v", e.Reasons, tt.want)
			}
		})
	}
	// An operator may lower the minimum to 8, never below.
	if p := password.NewPolicy(4); p.MinLength != 8 {
		t.Fatalf("min length lowered to %d", p.MinLength)
	}
	if err := password.NewPolicy(8).Check("violet9#", nil); err != nil {
		t.Fatalf("8 chars with min 8: %v", err)
	}
}

const (
	cafeNFC = "Caf\u00e9 au lait, s'il vous pla\u00eet"
	cafeNFD = "Cafe\u0301 au lait, s'il vous plai\u0302t"
)

// TestNormalisedPasswords: "é" typed as one code point or as e + U+0301
// is the same password (SPEC §6.7), whichever form set it.
func TestNormalisedPasswords(t *testing.T) {
	t.Parallel()
	if cafeNFC == cafeNFD || norm.NFC.String(cafeNFD) != cafeNFC {
		t.Fatal("the two spellings are not what this test needs")
	}
	h := password.NewHasher(cheap, 2, time.Second)
	ctx := context.Background()
	for _, set := range []string{cafeNFC, cafeNFD} {
		enc, err := h.Hash(ctx, set)
		if err != nil {
			t.Fatal(err)
		}
		for _, typed := range []string{cafeNFC, cafeNFD} {
			if ok, rehash, err := h.Verify(ctx, typed, enc); !ok || rehash || err != nil {
				t.Errorf("set %+q, typed %+q: ok=%v rehash=%v err=%v", set, typed, ok, rehash, err)
			}
		}
		if ok, _, _ := h.Verify(ctx, "Cafe au lait, s'il vous plait", enc); ok {
			t.Errorf("set %+q: the password without its accents was accepted", set)
		}
	}
	if !password.Same(cafeNFC, cafeNFD) || password.Same(cafeNFC, "Cafe au lait, s'il vous plait") {
		t.Fatal("Same does not compare normalised forms")
	}
}

// legacyHash is a hash as made before passwords were normalised: of the
// bytes as typed.
func legacyHash(pw string) string {
	salt := []byte("sixteen byte slt")
	key := argon2.IDKey([]byte(pw), salt, cheap.Time, cheap.Memory, cheap.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", cheap.Memory, cheap.Time, cheap.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// TestLegacyHashIsUpgraded: a hash made from a password as typed (not
// normalised) still verifies that way, and asks to be rehashed, which
// stores the normalised form.
func TestLegacyHashIsUpgraded(t *testing.T) {
	t.Parallel()
	h := password.NewHasher(cheap, 2, time.Second)
	ctx := context.Background()
	old := legacyHash(cafeNFD)
	ok, rehash, err := h.Verify(ctx, cafeNFD, old)
	if !ok || !rehash || err != nil {
		t.Fatalf("legacy hash typed as set: ok=%v rehash=%v err=%v, want ok and rehash", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(ctx, "Cafe au lait, s'il vous plait", old); ok {
		t.Fatal("a wrong password matched the legacy hash")
	}
	upgraded, err := h.Hash(ctx, cafeNFD)
	if err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{cafeNFC, cafeNFD} {
		if ok, rehash, _ := h.Verify(ctx, typed, upgraded); !ok || rehash {
			t.Errorf("upgraded hash, typed %+q: ok=%v rehash=%v", typed, ok, rehash)
		}
	}
	// A legacy hash of a password that normalisation leaves as it is (all
	// ASCII, or already NFC) is the normalised hash already: no rehash.
	if ok, rehash, _ := h.Verify(ctx, cafeNFC, legacyHash(cafeNFC)); !ok || rehash {
		t.Fatalf("legacy hash of an NFC password: ok=%v rehash=%v", ok, rehash)
	}
	// No account: never a match, whatever the form typed.
	if ok, rehash, err := h.Verify(ctx, cafeNFD, ""); ok || rehash || err != nil {
		t.Fatalf("no hash: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
}

// TestPolicyChecksTheNormalisedForm: length, blocklist and "contains your
// name" see the password as it will be hashed.
func TestPolicyChecksTheNormalisedForm(t *testing.T) {
	t.Parallel()
	p := password.NewPolicy(12)
	u := &airlock.User{Email: "chloe.martin@example.com", FirstName: "Chlo\u00e9", LastName: "Martin"}
	const e = "e\u0301" // é, decomposed: two code points
	tests := []struct {
		name, pw string
		want     []string
	}{
		// Eleven characters once normalised, although 21 code points typed.
		{"short once composed", strings.Repeat(e, 10) + "1", []string{password.ReasonTooShort}},
		{"twelve once composed", strings.Repeat(e, 11) + "1", nil},
		// 128 characters once normalised, although 256 code points typed.
		{"128 once composed", strings.Repeat(e, 128), nil},
		{"129 once composed", strings.Repeat(e, 129), []string{password.ReasonTooLong}},
		// The longest a 128-character password can be typed: U+1F82
		// decomposes into four code points.
		{"128 of the most decomposed", strings.Repeat("\u03b1\u0313\u0300\u0345", 128), nil},
		{"one more byte than any password", strings.Repeat("a", password.MaxInputBytes+1), []string{password.ReasonTooLong}},
		{"name typed decomposed", "chloe\u0301 rides the night bus", []string{password.ReasonHasName}},
		{"name typed composed", "chlo\u00e9 rides the night bus", []string{password.ReasonHasName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := airlock.AsError(p.Check(tt.pw, u))
			if tt.want == nil {
				if got != nil {
					t.Fatalf("refused: %v", got.Reasons)
				}
				return
			}
			if got == nil || strings.Join(got.Reasons, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	// A name stored decomposed is found in a password typed composed.
	nfd := &airlock.User{Email: "x@example.com", FirstName: "Chloe\u0301"}
	if err := airlock.AsError(p.Check("chlo\u00e9 rides the night bus", nfd)); err == nil || strings.Join(err.Reasons, ",") != password.ReasonHasName {
		t.Errorf("decomposed name in a composed password: %v", err)
	}
	// U+037E GREEK QUESTION MARK is ";" once normalised: "asdfjkl;" is on
	// the blocklist however it is typed.
	if err := airlock.AsError(password.NewPolicy(8).Check("asdfjkl\u037e", nil)); err == nil || strings.Join(err.Reasons, ",") != password.ReasonCommon {
		t.Errorf("blocklisted password typed with U+037E: %v", err)
	}
}
