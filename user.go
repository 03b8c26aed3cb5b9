package airlock

import (
	"strings"
	"time"
	"unicode/utf8"
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

// MaxEmailBytes is the longest email address accepted (RFC 5321 path limit).
const MaxEmailBytes = 254

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
	CreatedAt             time.Time
	UpdatedAt             time.Time
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

// CheckEmail validates an address typed by a person or a client: one line of
// valid UTF-8, at most 254 bytes, one @ with something on both sides.
func CheckEmail(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return &Error{Code: CodeInvalid, Field: "email", Message: "Enter an email address."}
	case len(s) > MaxEmailBytes:
		return &Error{Code: CodeInvalid, Field: "email", Message: "The email address is too long."}
	case !utf8.ValidString(s):
		return &Error{Code: CodeInvalid, Field: "email", Message: "The email address is not valid text."}
	case strings.ContainsAny(s, "\r\n\x00,;<> \t\"()[]\\:"):
		// Separators and line breaks could smuggle a second recipient or header.
		return &Error{Code: CodeInvalid, Field: "email", Message: "Enter one email address."}
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 || !strings.Contains(s[at:], ".") && s[at+1:] != "localhost" {
		return &Error{Code: CodeInvalid, Field: "email", Message: "Enter a valid email address, like name@example.com."}
	}
	return nil
}

// Server is an entry of the server directory (SPEC §5): an independent
// Airlock deployment the mobile app can choose.
type Server struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}
