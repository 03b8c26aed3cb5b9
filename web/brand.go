package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
)

// DefaultAccent is the colour of buttons, links and the focus ring when
// the operator names none (AIRLOCK_BRAND_COLOR).
const DefaultAccent = "#1f5fd1"

// MinAccentContrast is the least contrast an accent colour must have with
// white: the text of buttons is white on it, and links are it on white
// (WCAG 2.2 AA, 1.4.3, normal text).
const MinAccentContrast = 4.5

// darkCard is the background of the card in dark mode (style.css): links
// and the focus ring use a lighter shade of the accent there, with a
// contrast of darkAccentContrast (more than the minimum: thin light text on
// a dark ground reads worse than the reverse).
const (
	darkCard           = "#181c24"
	darkAccentContrast = 6.0
)

// Logo is the operator's logo (AIRLOCK_BRAND_LOGO), shown in the header.
type Logo struct {
	Data        []byte
	ContentType string // image/png or image/svg+xml
}

// MaxLogoBytes bounds the logo file.
const MaxLogoBytes = 512 << 10

// ReadLogo reads and checks a logo file: a PNG, or an SVG image of
// drawing elements only (checkSVG), of at most MaxLogoBytes.
func ReadLogo(path string) (*Logo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", errors.Unwrap(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxLogoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	switch {
	case len(data) > MaxLogoBytes:
		return nil, fmt.Errorf("the file is larger than %d KiB", MaxLogoBytes>>10)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return &Logo{Data: data, ContentType: "image/png"}, nil
	}
	if err := checkSVG(data); err != nil {
		return nil, err
	}
	return &Logo{Data: data, ContentType: "image/svg+xml"}, nil
}

// ParseAccent checks an accent colour: #rrggbb, with a contrast of at
// least MinAccentContrast with white. A lighter colour is refused, not
// darkened behind the operator's back: the message proposes the nearest
// darker shade that passes.
func ParseAccent(s string) (string, error) {
	c, ok := parseHex(s)
	if !ok {
		return "", errors.New("want a colour as #rrggbb, like #1f5fd1")
	}
	if r := contrast(c, white); r < MinAccentContrast {
		return "", fmt.Errorf("%s has a contrast of %.1f:1 with white, the colour of button text on it; at least %.1f:1 is needed: %s, a darker shade of it, would do",
			s, r, MinAccentContrast, darkenUntil(c, white, MinAccentContrast).hex())
	}
	return c.hex(), nil
}

type rgb struct{ r, g, b float64 } // 0–255

var white = rgb{255, 255, 255}

func parseHex(s string) (rgb, bool) {
	if len(s) != 7 || s[0] != '#' {
		return rgb{}, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return rgb{}, false
	}
	return rgb{float64(v >> 16), float64(v >> 8 & 0xff), float64(v & 0xff)}, true
}

func (c rgb) hex() string {
	return fmt.Sprintf("#%02x%02x%02x", int(math.Round(c.r)), int(math.Round(c.g)), int(math.Round(c.b)))
}

// luminance is WCAG 2's relative luminance.
func (c rgb) luminance() float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is WCAG 2's contrast ratio of two colours, from 1 to 21.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Contrast returns the contrast ratio of two #rrggbb colours (0 when one
// does not parse).
func Contrast(a, b string) float64 {
	ca, ok1 := parseHex(a)
	cb, ok2 := parseHex(b)
	if !ok1 || !ok2 {
		return 0
	}
	return contrast(ca, cb)
}

// mix returns c moved a fraction t (0–1) of the way to d.
func mix(c, d rgb, t float64) rgb {
	return rgb{c.r + (d.r-c.r)*t, c.g + (d.g-c.g)*t, c.b + (d.b-c.b)*t}
}

// darkenUntil returns c, darkened in steps of 1% toward black until its
// contrast with bg reaches min (checking the rounded colour).
func darkenUntil(c, bg rgb, min float64) rgb {
	return shadeUntil(c, rgb{}, bg, min)
}

// lightenUntil returns c, lightened toward white until its contrast with
// bg reaches min: the accent's shade for dark backgrounds.
func lightenUntil(c, bg rgb, min float64) rgb {
	return shadeUntil(c, white, bg, min)
}

func shadeUntil(c, toward, bg rgb, min float64) rgb {
	for i := 0; i <= 100; i++ {
		s, _ := parseHex(mix(c, toward, float64(i)/100).hex())
		if contrast(s, bg) >= min {
			return s
		}
	}
	return toward
}

// accentOnDark returns the shade of the accent for links and the focus
// ring on the dark-mode card.
func accentOnDark(accent string) string {
	c, ok := parseHex(accent)
	if !ok {
		c, _ = parseHex(DefaultAccent)
	}
	bg, _ := parseHex(darkCard)
	return lightenUntil(c, bg, darkAccentContrast).hex()
}

// brandCSS is the stylesheet of the accent colour (served at
// /static/brand.css; the CSP allows no inline style).
func brandCSS(accent string) []byte {
	return []byte(fmt.Sprintf(":root { --accent: %s; --accent-on-dark: %s; }\n", accent, accentOnDark(accent)))
}

func (s *Server) handleBrandCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(s.brandCSS)
}

// handleBrandLogo serves the operator's logo, sandboxed: an SVG opened on
// its own can run nothing on our origin.
func (s *Server) handleBrandLogo(w http.ResponseWriter, r *http.Request) {
	if s.brand.Logo == nil {
		s.handleNotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", s.brand.Logo.ContentType)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	w.Write(s.brand.Logo.Data)
}
