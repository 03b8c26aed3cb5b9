package account

// The code beside the link: every reset and invitation email carries a
// short code, so that a reset started in the app (or in one browser) can
// finish there, with the flow id its forgot request was answered with.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

// codeAlphabet is the letters of an email code: 20 consonants, so that no
// code spells a word and none looks like a digit (no O, I, U) or another
// letter; typed in either case. Eight of them are 20^8 ≈ 2.6×10^10 codes.
const codeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// CodeLength is how many letters an email code has.
const CodeLength = 8

// flowCodeAttempts is how many wrong codes end a flow (they also count
// against the per-address bad-token limit).
const flowCodeAttempts = 5

// Link is what proves a reset or invitation link: its token (the link
// opened from the email), or the flow id of a forgot request and the code
// from the email.
type Link struct {
	Token string
	Flow  string
	Code  string
}

// ByToken is the link of a token.
func ByToken(token string) Link { return Link{Token: token} }

// ByCode is the link a flow id and the code from the email stand for.
func ByCode(flow, code string) Link { return Link{Flow: flow, Code: code} }

var (
	errWrongCode = &airlock.Error{Code: airlock.CodeInvalidToken, Field: "code", Detail: "wrong_code", Key: "error.flow.wrong_code"}
	errFlowEnded = &airlock.Error{Code: airlock.CodeInvalidToken, Field: "flow", Detail: "flow_ended", Key: "error.flow.ended"}
	errCodeForm  = &airlock.Error{Code: airlock.CodeInvalid, Field: "code", Key: "error.flow.code_form"}
	errFlowForm  = &airlock.Error{Code: airlock.CodeInvalid, Field: "flow", Key: "error.flow.flow_form"}
)

// Reasons a flow's code does not work, in airlock.Error.Detail.
const (
	CodeWrong = "wrong_code" // wrong, or its link no longer works
	FlowEnded = "flow_ended" // flowCodeAttempts wrong codes were typed with it
)

// emailCode is the code an email shows beside the link of token: derived
// from the token, so that an email delivered twice carries the same code
// as it carries the same link (SPEC §6.2), and nothing more is kept.
func emailCode(token string) string {
	h := hmac.New(sha256.New, []byte(token))
	h.Write([]byte("airlock email code"))
	n := binary.BigEndian.Uint64(h.Sum(nil)[:8])
	b := make([]byte, CodeLength)
	for i := range b {
		b[i] = codeAlphabet[n%uint64(len(codeAlphabet))]
		n /= uint64(len(codeAlphabet))
	}
	return string(b)
}

// FormatCode shows a code as people read it: two groups of four letters.
func FormatCode(code string) string {
	if len(code) != CodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeCode reads a code as typed: either case, spaces and hyphens
// ignored. False when it cannot be a code.
func NormalizeCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-':
		case r < 128 && strings.IndexByte(codeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != CodeLength {
		return "", false
	}
	return b.String(), true
}

// codeHashes are the hashes a link's code may be stored under, salted with
// the link's token hash; the first is the one to store. They are keyed with
// AIRLOCK_SECRET_KEY's keys, so that a copy of the database alone cannot
// try the 2.6×10^10 codes offline (a key rotated out still matches until
// its links expire); without a key, plain SHA-256 (the README says to set
// the key on PostgreSQL).
func (s *Service) codeHashes(tokenHash []byte, code string) [][]byte {
	msg := append(append([]byte("airlock email code\x00"), tokenHash...), code...)
	if s.cfg.SecretBox == nil {
		h := sha256.Sum256(msg)
		return [][]byte{h[:]}
	}
	return s.cfg.SecretBox.MACs(msg)
}

// flowLimit is the limit on wrong codes typed with one flow: a burst of
// flowCodeAttempts, given back one at a time over flowCodeAttempts times
// the longest a link lives, so that no attempt comes back while any link
// the flow could take is alive: five wrong codes end the flow.
func (s *Service) flowLimit(flowHash []byte) limitKey {
	life := max(s.cfg.ResetTokenTTL, s.cfg.InviteTTL)
	return limitKey{"flow:" + hex.EncodeToString(flowHash[:16]), Rate{N: flowCodeAttempts, Per: flowCodeAttempts * life}}
}

// flowToken finds the link whose code was typed with a flow: one of the
// still-usable links of the account the flow's own still-usable link
// belongs to (emails arrive out of order: the person types whichever code
// they have). Nil when there is none: the flow's email was not sent (no
// account, an inactive one, the per-account limit), its link died, or the
// code is wrong; the caller answers all of these alike.
func (s *Service) flowToken(l Link, codes []airlock.LiveCode) []byte {
	for _, c := range codes {
		for _, h := range s.codeHashes(c.TokenHash, l.Code) {
			if hmac.Equal(h, c.CodeHash) {
				return c.TokenHash
			}
		}
	}
	return nil
}

// FlowLife is how long a browser keeps the flow of its forgot request: as
// long as any link its email may carry.
func (s *Service) FlowLife() time.Duration { return max(s.cfg.ResetTokenTTL, s.cfg.InviteTTL) }
