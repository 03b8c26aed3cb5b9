package account

// Recovery codes: ten of 100 random bits, stored hashed, each good once.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

// RecoveryCodes is how many single-use recovery codes an enrolment gives.
const RecoveryCodes = 10

// RecoveryCodesLeft says how many of u's recovery codes are unused.
func (s *Service) RecoveryCodesLeft(ctx context.Context, u *airlock.User) (int, error) {
	if !u.TwoFactor() {
		return 0, nil
	}
	return s.store.CountRecoveryCodes(ctx, u.ID)
}

// NewRecoveryCodes makes a new set of recovery codes, with the password and
// a code (an old recovery code will do); the old set dies. The new codes
// are shown once.
func (s *Service) NewRecoveryCodes(ctx context.Context, u *airlock.User, current, code string, m Meta) ([]string, error) {
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	m.ActorID = u.ID
	err = s.withOwnCode(ctx, u, current, code, m, func(tx airlock.Tx, locked *airlock.User, _ time.Time) error {
		if err := tx.ReplaceRecoveryCodes(ctx, locked.ID, hashes); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditTwoFactor, m, locked.ID, locked.Email, "success", "recovery_codes_replaced")
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

var recoveryEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// newRecoveryCodes returns codes of 100 random bits ("xxxxx-xxxxx-xxxxx-xxxxx")
// and their hashes; a fast hash is enough at that entropy, with attempts
// limited per account.
func newRecoveryCodes() ([]string, [][]byte, error) {
	var codes []string
	var hashes [][]byte
	for range RecoveryCodes {
		b := make([]byte, 13)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, err
		}
		s := recoveryEncoding.EncodeToString(b)[:20]
		code := s[0:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:20]
		codes = append(codes, code)
		hashes = append(hashes, recoveryHash(code))
	}
	return codes, hashes, nil
}

// normalRecoveryCode is a recovery code as typed without its dashes and
// spaces, in lower case.
func normalRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// recoveryHash normalises a recovery code as typed and hashes it.
func recoveryHash(code string) []byte {
	h := sha256.Sum256([]byte("airlock recovery code\x00" + normalRecoveryCode(code)))
	return h[:]
}

// ValidRecoveryCodes reports whether codes look like recovery codes, for
// the download of the codes just shown (nothing is looked up).
func ValidRecoveryCodes(codes []string) bool {
	if len(codes) == 0 || len(codes) > RecoveryCodes {
		return false
	}
	for _, c := range codes {
		if len(c) != 23 || strings.Count(c, "-") != 3 {
			return false
		}
		if _, err := recoveryEncoding.DecodeString(strings.ReplaceAll(c, "-", "") + "aaaa"); err != nil {
			return false
		}
	}
	return true
}

// looksLikeRecoveryCode reports whether code, as typed, has the form of a
// recovery code (20 characters of their alphabet, dashes and spaces aside).
func looksLikeRecoveryCode(code string) bool {
	c := normalRecoveryCode(code)
	if len(c) != 20 {
		return false
	}
	_, err := recoveryEncoding.DecodeString(c + "aaaa")
	return err == nil
}
