package account

// Recovery codes: ten of 100 random bits, stored hashed, each good once.
// They stand in for the account's second step (the authenticator app, a
// passkey) when its device is lost, and live as long as the account has
// one.

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
	if !u.SecondStep() {
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

// codesFollowSecondStep deletes the recovery codes of the user of userID
// when, as tx sees the account now (its row locked by the caller, the
// change made), it has no second step left: turning the app off keeps
// them while a passkey remains, and removing the last passkey drops them
// as turning the app off does. The user is read again, after the lock, so
// that two steps removed at once (the app and the last passkey) cannot
// each see the other one still there.
func codesFollowSecondStep(ctx context.Context, tx airlock.Tx, userID string) error {
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.SecondStep() {
		return nil
	}
	return tx.ReplaceRecoveryCodes(ctx, userID, nil)
}

// passkeyRecoveryCodes gives u (locked in tx, a passkey just added) a set
// of recovery codes when it has no unused one and no authenticator app (the
// app's set, used up or not, is the app page's to renew): without them, a
// lost device would lock a passkey-only account out of a reset. It returns
// the codes, to show once, or nil when the account keeps the ones it has.
func (s *Service) passkeyRecoveryCodes(ctx context.Context, tx airlock.Tx, u *airlock.User, m Meta) ([]string, error) {
	if u.TwoFactor() {
		return nil, nil
	}
	// Counted after the lock: of two passkeys added at once, the second
	// sees the first one's codes.
	n, err := tx.CountRecoveryCodes(ctx, u.ID)
	if err != nil || n > 0 {
		return nil, err
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	if err := tx.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, tx, airlock.AuditTwoFactor, m, u.ID, u.Email, "success", "recovery_codes_replaced"); err != nil {
		return nil, err
	}
	return codes, nil
}

// BeginNewCodesPasskey starts the passkey that proves, with the password,
// a new set of recovery codes for u (NewRecoveryCodesWithPasskey), in the
// browser of session sid only.
func (s *Service) BeginNewCodesPasskey(ctx context.Context, u *airlock.User, sid string, m Meta) (string, []byte, error) {
	return s.BeginConfirm(ctx, u, sid, ActionNewCodes, m)
}

// NewRecoveryCodesWithPasskey makes a new set of recovery codes with the
// password and one of u's passkeys (the answer to ceremony id, begun by
// BeginNewCodesPasskey in this browser): the account page's way for an
// account whose second step is passkeys only. A session alone, say a
// stolen cookie, must not make codes that would then sign in without the
// passkey. The old set dies; the new codes are shown once.
func (s *Service) NewRecoveryCodesWithPasskey(ctx context.Context, u *airlock.User, sid, current, id string, response []byte, m Meta) ([]string, error) {
	if len(response) == 0 {
		return nil, errConfirmWithPasskey
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	m.ActorID = u.ID
	err = s.guardedChange(ctx, u, sid, ActionNewCodes, Proof{Password: current, Passkey: PasskeyAnswer{Ceremony: id, Response: response}}, m,
		func(tx airlock.Tx, cur *airlock.User, now time.Time) error {
			if err := tx.ReplaceRecoveryCodes(ctx, cur.ID, hashes); err != nil {
				return err
			}
			return s.audit(ctx, tx, airlock.AuditTwoFactor, m, cur.ID, cur.Email, "success", "recovery_codes_replaced")
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
