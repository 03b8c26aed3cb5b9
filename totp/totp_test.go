package totp

import (
	"strings"
	"testing"
	"time"
)

// TestRFC6238Vectors: the SHA-1 test vectors of RFC 6238 Appendix B (the
// last six digits of its eight-digit codes).
func TestRFC6238Vectors(t *testing.T) {
	t.Parallel()
	secret := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		if got := Code(secret, StepAt(time.Unix(v.unix, 0))); got != v.code {
			t.Errorf("T=%d: %s, want %s", v.unix, got, v.code)
		}
	}
}

// TestMatchWindow: a code is accepted one step early or late, not two.
func TestMatchWindow(t *testing.T) {
	t.Parallel()
	secret, _ := NewSecret()
	now := time.Unix(1_800_000_000, 0)
	code := Code(secret, StepAt(now))
	for _, d := range []time.Duration{-Step, 0, Step} {
		if step, ok := Match(secret, code, now.Add(d)); !ok || step != StepAt(now) {
			t.Errorf("at %v: %v %v", d, step, ok)
		}
	}
	for _, d := range []time.Duration{-2 * Step, 2 * Step} {
		if _, ok := Match(secret, code, now.Add(d)); ok {
			t.Errorf("accepted %v away", d)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := Match(secret, bad, now); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestURIAndQR(t *testing.T) {
	t.Parallel()
	secret := []byte("12345678901234567890")
	uri := URI("Acme Field", "ada@example.com", secret)
	if !strings.HasPrefix(uri, "otpauth://totp/Acme%20Field:ada@example.com?") || !strings.Contains(uri, "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") {
		t.Fatal(uri)
	}
	svg, err := QRSVG(uri, `QR <code>`)
	if err != nil || !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, `aria-label="QR &lt;code&gt;"`) || strings.Count(svg, "h1v1") < 100 {
		t.Fatalf("%v %.200s", err, svg)
	}
	if Text(secret) != "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ" {
		t.Fatal(Text(secret))
	}
}
