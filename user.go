package airlock

import (
	"strings"
	"time"
)

// System groups (SPEC §2).
const (
	GroupAdmin          = "admin"
	GroupWebReader      = "web_reader"
	GroupWebContributor = "web_contributor"
	GroupMobile         = "mobile"
)

// Groups lists the system groups in display order.
var Groups = []string{GroupAdmin, GroupWebReader, GroupWebContributor, GroupMobile}

// Languages lists the supported languages; the first is the default.
var Languages = []string{"en", "fr"}

// User is an account. The password is held only as a PHC hash string.
type User struct {
	ID                 string
	Email              string
	FirstName          string
	LastName           string
	Language           string
	Active             bool
	Groups             []string
	MustChangePassword bool
	PasswordHash       string
	PasswordChangedAt  time.Time
	// TempPasswordExpiresAt is set when an administrator set a temporary password.
	TempPasswordExpiresAt time.Time
	// AuthEpoch grows at every change that takes access away (password,
	// email, deactivation, a lost group); sessions and token families
	// remember the epoch they were made in and die when it moves.
	AuthEpoch int64
	// Version grows at every profile edit (optimistic concurrency).
	Version int64
	// InvitedAt is when the last invitation was sent (zero: never).
	InvitedAt time.Time
	// TOTPSecret is the sealed two-step sign-in key (nil: none);
	// TOTPEnabledAt is zero until enrolment is confirmed.
	TOTPSecret    []byte
	TOTPEnabledAt time.Time
	TOTPLastStep  int64
	// Passkeys is how many passkeys the user has (read with the user).
	Passkeys  int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// HasGroup reports whether the user is in group g.
func (u *User) HasGroup(g string) bool {
	for _, x := range u.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// TempPasswordExpired reports whether the user holds a temporary password
// that can no longer be used at now.
func (u *User) TempPasswordExpired(now time.Time) bool {
	return u.MustChangePassword && !u.TempPasswordExpiresAt.IsZero() && !now.Before(u.TempPasswordExpiresAt)
}

// TwoFactor reports whether the user has confirmed two-step sign-in with
// an authenticator app's codes.
func (u *User) TwoFactor() bool { return !u.TOTPEnabledAt.IsZero() }

// SecondStep reports whether the user's password is never enough alone:
// they have an authenticator app's codes, or a passkey, to give after it.
func (u *User) SecondStep() bool { return u.TwoFactor() || u.Passkeys > 0 }

// Invitation states of a user who has never set a password.
const (
	InvitationPending = "invited"
	InvitationExpired = "invitation_expired"
)

// InvitationState says whether u was invited and has not set a password
// yet ("invited"), was and the link has expired ("invitation_expired"), or
// neither (""). ttl is the invitation links' lifetime.
func (u *User) InvitationState(now time.Time, ttl time.Duration) string {
	if u.PasswordHash != "" || u.InvitedAt.IsZero() {
		return ""
	}
	if now.Before(u.InvitedAt.Add(ttl)) {
		return InvitationPending
	}
	return InvitationExpired
}

// Name returns the user's display name, or the email when no name is set.
func (u *User) Name() string {
	n := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if n == "" {
		return u.Email
	}
	return n
}

// ValidGroup reports whether g is a system group.
func ValidGroup(g string) bool {
	for _, x := range Groups {
		if x == g {
			return true
		}
	}
	return false
}

// ValidLanguage reports whether l is a supported language.
func ValidLanguage(l string) bool { return l == "en" || l == "fr" }

// NormalizeEmail returns the form of an address used to find its account.
// Only ASCII letters are folded: full Unicode case folding maps look-alikes
// (the Kelvin sign, dotless i) onto ASCII and would join distinct addresses.
func NormalizeEmail(s string) string {
	b := []byte(strings.TrimSpace(s))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Server is an entry of the server directory (SPEC §5): an independent
// Airlock deployment the mobile app can choose.
type Server struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
	// Issuer is the server's OpenID issuer: its discovery document is at
	// Issuer + "/.well-known/openid-configuration", and the iss of its
	// tokens and authorization responses is exactly this. By default the
	// URL without a trailing slash (a server's URL is its public URL).
	Issuer string `json:"issuer"`
}

// DefaultIssuer is the issuer of a server at url: Airlock's issuer is its
// public URL, which never ends with a slash.
func DefaultIssuer(url string) string { return strings.TrimSuffix(url, "/") }
