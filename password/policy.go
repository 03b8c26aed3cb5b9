package password

import (
	_ "embed"
	"strings"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// blocklistText holds 17,950 common and breached passwords: the entries of
// 8 characters or more of the passwords.json list of the npm package
// @zxcvbn-ts/language-common 4.1.3 (MIT, maintained by the zxcvbn-ts
// project, drawn from public breach corpora).
//
//go:embed blocklist.txt
var blocklistText string

// Length bounds (SPEC §6.7, NIST SP 800-63B).
const (
	MinLengthFloor   = 8
	DefaultMinLength = 12
	MaxLength        = 128
)

// maxDecomposition is the most code points one code point becomes in
// Unicode's canonical decomposition (U+1F82 becomes four); a test checks it
// over every code point.
const maxDecomposition = 4

// MaxInputBytes bounds a password as received, before it is normalised:
// MaxLength code points, each of which a keyboard may send decomposed into
// up to maxDecomposition code points of up to 4 bytes. Longer input cannot
// be a password of at most MaxLength code points, so it is refused before
// anything costly (normalising, hashing) is done with it.
const MaxInputBytes = MaxLength * maxDecomposition * utf8.UTFMax

// blocklist is blocklistText's entries, one a line, each already folded
// (fold) and all sorted byte by byte (a test checks the file): a password
// is found by a binary search of the embedded text itself. Held as a map,
// the list took 2 MB of every process's heap.
var blocklist = func() string {
	s := blocklistText
	for strings.HasPrefix(s, "# ") {
		_, s, _ = strings.Cut(s, "\n")
	}
	return s
}()

// isBlocked reports whether the folded password s is on the blocklist.
func isBlocked(s string) bool {
	lo, hi := 0, len(blocklist) // each a line's start (or the end)
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo + strings.LastIndexByte(blocklist[lo:mid], '\n') + 1
		end := start + strings.IndexByte(blocklist[start:hi], '\n')
		switch c := strings.Compare(s, blocklist[start:end]); {
		case c == 0:
			return true
		case c < 0:
			hi = start
		default:
			lo = end + 1
		}
	}
	return false
}

// Policy decides whether a new password is acceptable.
type Policy struct {
	MinLength int
}

// NewPolicy returns the policy with the embedded blocklist. A minLength below
// the floor of 8 is raised to 8.
func NewPolicy(minLength int) *Policy {
	return &Policy{MinLength: max(minLength, MinLengthFloor)}
}

// BlocklistSize returns how many passwords the blocklist holds.
func (p *Policy) BlocklistSize() int { return strings.Count(blocklist, "\n") }

// Reason codes, translated by the edges.
const (
	ReasonTooShort    = "too_short"
	ReasonTooLong     = "too_long"
	ReasonCommon      = "common"
	ReasonHasEmail    = "contains_email"
	ReasonHasName     = "contains_name"
	ReasonInvalidText = "invalid_text"
	ReasonUnchanged   = "unchanged"
)

// Check returns nil, or a CodePasswordPolicy error whose Reasons say why.
// The password is checked in its normalised form (Normalize), the one that
// is hashed. The length is checked first so that an over-long password is
// refused before anything costly is done with it.
func (p *Policy) Check(password string, u *airlock.User) error {
	if !utf8.ValidString(password) {
		return policyError(ReasonInvalidText)
	}
	if len(password) > MaxInputBytes {
		return policyError(ReasonTooLong)
	}
	password = Normalize(password)
	n := utf8.RuneCountInString(password)
	if n > MaxLength {
		return policyError(ReasonTooLong)
	}
	var reasons []string
	if n < p.MinLength {
		reasons = append(reasons, ReasonTooShort)
	}
	lower := fold(password)
	if isBlocked(lower) {
		reasons = append(reasons, ReasonCommon)
	}
	if u != nil {
		local, _, _ := strings.Cut(fold(u.Email), "@")
		if len([]rune(local)) >= 3 && strings.Contains(lower, local) {
			reasons = append(reasons, ReasonHasEmail)
		}
		for _, name := range []string{u.FirstName, u.LastName} {
			name = fold(strings.TrimSpace(name))
			if len([]rune(name)) >= 3 && strings.Contains(lower, name) {
				reasons = append(reasons, ReasonHasName)
				break
			}
		}
	}
	if len(reasons) > 0 {
		return policyError(reasons...)
	}
	return nil
}

// fold is the form in which a password is compared with the blocklist and
// with the user's name and email: normalised and lower case. It normalises
// again after lowering, which can undo a composition, so that a name stored
// decomposed is still found in a password typed composed.
func fold(s string) string {
	return Normalize(strings.ToLower(Normalize(s)))
}

func policyError(reasons ...string) error {
	return &airlock.Error{Code: airlock.CodePasswordPolicy, Field: "password", Key: "error.policy", Reasons: reasons}
}
