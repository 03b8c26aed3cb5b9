package account_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/mailtest"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/store"
)

// The same password in two spellings: "é" and "î" as one code point each
// (NFC), or as a letter and a combining accent (NFD).
const (
	cafeNFC = "Caf\u00e9 cr\u00e8me, s'il vous pla\u00eet"
	cafeNFD = "Cafe\u0301 cre\u0300me, s'il vous plai\u0302t"
)

// eachStoreEnv runs f on a Service over a fresh SQLite store and, when
// AIRLOCK_TEST_DATABASE_URL is set, over a fresh PostgreSQL database.
func eachStoreEnv(t *testing.T, f func(t *testing.T, e *env)) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		f(t, newNode(t, db, testutil.NewClock(), mailtest.Start(t)))
	})
}

// legacyHash is a hash as Airlock made them before passwords were
// normalised: of the password as typed, with the tests' cheap parameters.
func legacyHash(pw string) string {
	salt := []byte("a legacy salt 16")
	key := argon2.IDKey([]byte(pw), salt, cheap.Time, cheap.Memory, cheap.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", cheap.Memory, cheap.Time, cheap.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// TestPasswordsAreNormalised: a password set in one Unicode spelling signs
// in typed in the other, on the web and through the API (SPEC §6.7).
func TestPasswordsAreNormalised(t *testing.T) {
	t.Parallel()
	eachStoreEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i, c := range []struct{ set, typed string }{{cafeNFC, cafeNFD}, {cafeNFD, cafeNFC}} {
			email := fmt.Sprintf("u%d@example.com", i)
			e.user(t, email, c.set, airlock.GroupMobile)
			if _, _, _, err := e.svc.SignIn(ctx, email, c.typed, "", meta); err != nil {
				t.Errorf("set %+q, signed in as %+q: %v", c.set, c.typed, err)
			}
			if _, err := e.svc.SignInAPI(ctx, email, c.typed, "", meta); err != nil {
				t.Errorf("set %+q, API sign-in as %+q: %v", c.set, c.typed, err)
			}
		}
	})
}

// TestLongestDecomposedPasswordSignsIn: a password of 128 characters that
// a keyboard sends decomposed (U+1F82 as four code points, 1,024 bytes in
// all) is not refused as too long at sign-in.
func TestLongestDecomposedPasswordSignsIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	composed := strings.Repeat("\u1f82", password.MaxLength)
	decomposed := strings.Repeat("\u03b1\u0313\u0300\u0345", password.MaxLength)
	e.user(t, "greek@example.com", composed)
	if _, _, _, err := e.svc.SignIn(ctx, "greek@example.com", decomposed, "", meta); err != nil {
		t.Fatalf("%d bytes typed for %d characters: %v", len(decomposed), password.MaxLength, err)
	}
	// Beyond what any password can be typed as: refused before hashing.
	before := e.hasher.Verifications()
	if _, _, _, err := e.svc.SignIn(ctx, "greek@example.com", strings.Repeat("a", password.MaxInputBytes+1), "", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("over-long password: %v", err)
	}
	if n := e.hasher.Verifications() - before; n != 0 {
		t.Fatalf("an over-long password was hashed (%d checks)", n)
	}
}

// TestLegacyHashUpgradedAtSignIn: a hash made before normalisation, from a
// decomposed password, still signs in typed that way, and the sign-in
// stores the hash of the normalised form, which the composed spelling then
// opens too.
func TestLegacyHashUpgradedAtSignIn(t *testing.T) {
	t.Parallel()
	eachStoreEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := e.user(t, "old@example.com", goodPassword)
		old := legacyHash(cafeNFD)
		if ok, err := e.db.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, old); !ok || err != nil {
			t.Fatalf("store the legacy hash: %v %v", ok, err)
		}
		if _, _, _, err := e.svc.SignIn(ctx, "old@example.com", cafeNFC, "", meta); code(err) != airlock.CodeUnauthorized {
			t.Fatalf("composed, before the upgrade: %v (the legacy hash holds the decomposed bytes)", err)
		}
		if _, _, _, err := e.svc.SignIn(ctx, "old@example.com", cafeNFD, "", meta); err != nil {
			t.Fatalf("legacy hash, typed as set: %v", err)
		}
		got, err := e.db.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PasswordHash == old {
			t.Fatal("the legacy hash was not upgraded")
		}
		if ok, rehash, err := e.hasher.Verify(ctx, cafeNFC, got.PasswordHash); !ok || rehash || err != nil {
			t.Fatalf("stored hash, composed: ok=%v rehash=%v err=%v", ok, rehash, err)
		}
		for _, typed := range []string{cafeNFC, cafeNFD} {
			if _, _, _, err := e.svc.SignIn(ctx, "old@example.com", typed, "", meta); err != nil {
				t.Fatalf("after the upgrade, typed %+q: %v", typed, err)
			}
		}
	})
}

// TestLegacyUpgradeNeverUndoesAChange: sign-ins upgrading a legacy hash
// race an administrator setting a new password; the upgrade applies only to
// the hash it verified, so the new password always wins.
func TestLegacyUpgradeNeverUndoesAChange(t *testing.T) {
	t.Parallel()
	eachStoreEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for round := range 5 {
			email := fmt.Sprintf("race%d@example.com", round)
			u := e.user(t, email, goodPassword)
			if ok, err := e.db.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, legacyHash(cafeNFD)); !ok || err != nil {
				t.Fatalf("store the legacy hash: %v %v", ok, err)
			}
			const next = "a brand new password for the race"
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					// Before or after the change: either signed in or refused,
					// never an error of another kind.
					if _, _, _, err := e.svc.SignIn(ctx, email, cafeNFD, "", account.Meta{IP: fmt.Sprintf("198.51.100.%d", round+1)}); err != nil && code(err) != airlock.CodeUnauthorized {
						t.Error(err)
					}
				})
			}
			wg.Go(func() {
				if err := e.svc.AdminSetPassword(ctx, account.Operator, u.ID, next, "", false, meta); err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			got, err := e.db.UserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ok, _, _ := e.hasher.Verify(ctx, next, got.PasswordHash); !ok {
				t.Fatalf("round %d: the upgrade of the old hash overwrote the new password", round)
			}
		}
	})
}

// TestUnchangedPasswordInAnotherSpelling: "choose a different password"
// compares normalised forms, for the current and for a temporary password.
func TestUnchangedPasswordInAnotherSpelling(t *testing.T) {
	t.Parallel()
	eachStoreEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := e.user(t, "same@example.com", cafeNFC)
		_, err := e.svc.ChangePassword(ctx, u, "", cafeNFD, account.Proof{Password: cafeNFC}, meta)
		if e := airlock.AsError(err); e == nil || e.Key != "error.password.unchanged" {
			t.Fatalf("current password as the new one, decomposed: %v", err)
		}
		if err := e.svc.AdminSetPassword(ctx, account.Operator, u.ID, cafeNFD, "", true, meta); err != nil {
			t.Fatal(err)
		}
		u, err = e.db.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.ChangePassword(ctx, u, "", cafeNFC, account.Proof{Password: ""}, meta)
		if e := airlock.AsError(err); e == nil || e.Key != "error.password.unchanged_temporary" {
			t.Fatalf("temporary password as the new one, composed: %v", err)
		}
	})
}

// blankNames are names with no visible character: each filler or blank
// the issue lists, default-ignorable code points, and mixes of them with
// spaces (which alone are trimmed away, leaving no name).
var blankNames = []string{
	"\u3164", "\u115f", "\u1160", "\uffa0", "\u2800", "\U0001d159",
	"\u00ad", "\u034f", "\u17b4", "\u180e", "\u200c", "\u200d", "\ufe0f", "\U000e0001",
	"\u3164\u3164\u3164", " \u3164 ", "\u3000\u2800\u3000", "\u00a0\uffa0", "\u115f\u1160",
}

// TestNamesNeedAVisibleCharacter: every way a name is set refuses one with
// no visible character, with its own reason, and changes nothing; an empty
// name (names are optional) and real names in any script are accepted.
func TestNamesNeedAVisibleCharacter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	refused := func(t *testing.T, what string, err error, field string) {
		t.Helper()
		ae := airlock.AsError(err)
		if ae == nil || ae.Code != airlock.CodeInvalid || ae.Field != field || ae.Key != "error."+field+".blank" {
			t.Errorf("%s: %v, want invalid %s (error.%s.blank)", what, err, field, field)
		}
	}
	for _, name := range blankNames {
		what := fmt.Sprintf("%+q", name)
		_, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "new@example.com", FirstName: name}, meta)
		refused(t, "create, first name "+what, err, "first_name")
		_, err = e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "new@example.com", FirstName: "Noor", LastName: name}, meta)
		refused(t, "create, last name "+what, err, "last_name")
		if _, err := e.db.UserByEmail(ctx, "new@example.com"); err == nil {
			t.Fatalf("create, %s: the user was created", what)
		}
		n := name
		_, err = e.svc.AdminUpdateUser(ctx, account.Operator, u.ID, account.UserChanges{FirstName: &n}, meta)
		refused(t, "update, first name "+what, err, "first_name")
		_, err = e.svc.UpdateMyProfile(ctx, u, "Ada", name, "en", meta)
		refused(t, "own profile, last name "+what, err, "last_name")
		file, err := account.ParseUsersCSV(strings.NewReader("email,first_name\none@example.com,One\ntwo@example.com," + name + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.AdminImportUsers(ctx, account.Operator, file, false, meta, nil)
		var ie *account.ImportError
		if !errors.As(err, &ie) || len(ie.Problems) != 1 || ie.Problems[0].Line != 3 || ie.Problems[0].Key != "error.first_name.blank" {
			t.Errorf("import, first name %s: %v", what, err)
		}
		if _, err := e.db.UserByEmail(ctx, "one@example.com"); err == nil {
			t.Fatalf("import, %s: the good row was created although the file was refused", what)
		}
	}
	if got, _ := e.db.UserByID(ctx, u.ID); got.FirstName != "Ada" || got.LastName != "Lovelace" {
		t.Fatalf("a refused change was written: %q %q", got.FirstName, got.LastName)
	}
	// Names are optional: empty, or only spaces (trimmed away), is no name.
	for i, name := range []string{"", " ", "\u3000\u00a0"} {
		got, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: fmt.Sprintf("nameless%d@example.com", i), FirstName: name, LastName: name}, meta)
		if err != nil || got.FirstName != "" || got.LastName != "" {
			t.Errorf("no name %+q: %+v %v", name, got, err)
		}
	}
	for i, name := range []string{"Zoë", "李", "الحسن", "O'Brien", "\u3164A"} {
		if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: fmt.Sprintf("named%d@example.com", i), FirstName: name}, meta); err != nil {
			t.Errorf("name %+q: %v", name, err)
		}
	}
}
