package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
)

// TestRedirectSource: the page on the way to an application lets its form
// end at the app's redirect: an origin (a loopback port included) or a
// private-use scheme; never anything that could end the directive.
func TestRedirectSource(t *testing.T) {
	for uri, want := range map[string]string{
		"http://127.0.0.1:49152/cb":                  "http://127.0.0.1:49152",
		"http://localhost/cb":                        "http://localhost",
		"https://notes.example.com/oidc/callback?x=": "https://notes.example.com",
		"com.example.fieldapp:/oauth2redirect":       "com.example.fieldapp:",
		// CSP has no way to write an IPv6 host: the scheme, http only on
		// loopback (the provider's rule), stands for it.
		"http://[::1]:8080/cb":       "http:",
		"https://a.example.com;x/cb": "",
		"":                           "",
		"not a uri":                  "",
	} {
		req, _ := json.Marshal(map[string]string{"redirect_uri": uri})
		if got := redirectSource(&airlock.Authorization{Request: req}); got != want {
			t.Errorf("%q: %q, want %q", uri, got, want)
		}
	}
	if got := cspFormTo("com.example.fieldapp:"); !strings.Contains(got, "form-action 'self' com.example.fieldapp:;") || strings.Count(got, "form-action") != 1 {
		t.Errorf("cspFormTo: %q", got)
	}
}
