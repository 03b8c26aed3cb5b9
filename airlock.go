// Package airlock holds Airlock's domain types, error codes and the interfaces
// that the other packages implement. It depends on the standard library only.
package airlock

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable error code. The web and API edges map codes to statuses.
type Code string

// Error codes shared by every layer.
const (
	CodeInvalid        Code = "invalid"
	CodeNotFound       Code = "not_found"
	CodeConflict       Code = "conflict"
	CodeUnauthorized   Code = "unauthorized"
	CodeForbidden      Code = "forbidden"
	CodeRateLimited    Code = "rate_limited"
	CodePasswordPolicy Code = "password_policy"
	CodeUnavailable    Code = "unavailable"
	CodeInvalidToken   Code = "invalid_token"
	CodeTooLarge       Code = "too_large"
	// CodeTwoFactorRequired: the password was right, and the account needs
	// its second factor too (a code from the authenticator app).
	CodeTwoFactorRequired Code = "two_factor_required"
	CodeInternal          Code = "internal"
)

// Error is a domain error with a stable code. What it says to people is
// the message of Key, formatted with Args, in the message files of package
// i18n: in the reader's language on the pages, in English from the API and
// the command line. No error carries words of its own.
type Error struct {
	Code Code
	// Key names the message in the message files; Args are formatted into it.
	Key  string
	Args []any
	// Field names the input field the error is about, when there is one.
	Field string
	// Reasons lists why a password was refused (CodePasswordPolicy).
	Reasons []string
	// RetryAfter tells a rate-limited or busy caller when to come back.
	RetryAfter time.Duration
	// Detail distinguishes variants of one code (for example "expired").
	Detail string
	// Err is the cause, for the logs only (never shown).
	Err error
}

// Error names the code and the message's key, for the logs.
func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Key
	if len(e.Args) > 0 {
		s += fmt.Sprint(e.Args)
	}
	if e.Err != nil {
		s += fmt.Sprintf(" (%v)", e.Err)
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of err, CodeInternal when it carries none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError returns err's *Error, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ErrNotFound is returned by stores when a row does not exist.
var ErrNotFound = &Error{Code: CodeNotFound, Key: "error.not_found.short"}

// Clock tells the time. Tests inject a clock they move by hand.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }
