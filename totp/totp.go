// Package totp implements time-based one-time passwords (RFC 6238: HMAC-SHA1,
// 30-second steps, 6 digits), the otpauth:// URI that authenticator apps
// read, and its QR code as inline SVG.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
)

// Step is the length of one code's window (RFC 6238's default, which every
// authenticator app uses).
const Step = 30 * time.Second

// Digits is the length of a code.
const Digits = 6

// Skew is how many steps before and after now a code is accepted: a phone's
// clock a little off, or a code typed as it changed.
const Skew = 1

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns 160 random bits (RFC 4226 recommends at least 128).
func NewSecret() ([]byte, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("read random: %w", err)
	}
	return b, nil
}

// Text is the secret as people type it into an authenticator app: base32,
// in groups of four.
func Text(secret []byte) string {
	s := b32.EncodeToString(secret)
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// StepAt returns the step number of t.
func StepAt(t time.Time) int64 { return t.Unix() / int64(Step/time.Second) }

// Code returns the code of secret for step (RFC 4226 dynamic truncation).
func Code(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", n%1_000_000)
}

// Match reports the step of the window (now ± Skew) in which code is
// valid for secret, comparing in constant time. The caller refuses steps
// already used (no replay within the window).
func Match(secret []byte, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != Digits {
		return 0, false
	}
	base := StepAt(now)
	found, ok := int64(0), false
	for d := int64(-Skew); d <= Skew; d++ {
		if subtle.ConstantTimeCompare([]byte(Code(secret, base+d)), []byte(code)) == 1 && !ok {
			found, ok = base+d, true
		}
	}
	return found, ok
}

// URI is the otpauth:// URI an authenticator app reads from the QR code.
func URI(issuer, account string, secret []byte) string {
	v := url.Values{}
	v.Set("secret", b32.EncodeToString(secret))
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	return "otpauth://totp/" + url.PathEscape(issuer+":"+account) + "?" + v.Encode()
}

// QRSVG draws uri as a QR code in an SVG element, with a quiet zone, black
// on white whatever the page's colours, drawn from the QR library's module
// matrix (no image request, nothing to a third party).
func QRSVG(uri, title string) (string, error) {
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	size := code.Bounds().Dx()
	const quiet = 4
	var path strings.Builder
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	full := size + 2*quiet
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" shape-rendering="crispEdges"><rect width="100%%" height="100%%" fill="#ffffff"/><path fill="#000000" d="%s"/></svg>`,
		full, full, full*5, full*5, htmlEscape(title), path.String()), nil
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
