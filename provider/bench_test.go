package provider_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/provider"
)

// BenchmarkCodeExchange measures the token request that exchanges a code
// (PKCE checked, the code used, a token family stored, an ID token and an
// access token signed with RS256, a refresh token): getting each code is
// left out of the measure.
func BenchmarkCodeExchange(b *testing.B) {
	e := newEnv(b, testutil.OpenStore(b))
	c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
	a := e.app(c, "", redirect)
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = e.authorize(a.authURL("s", "n"), true).Query().Get("code")
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := a.exchange(codes[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
}

// BenchmarkIntrospection measures a resource server's introspection of a
// person's access token (client authenticated, JWT verified, token,
// family and user read).
func BenchmarkIntrospection(b *testing.B) {
	e := newEnv(b, testutil.OpenStore(b))
	c, _ := e.client(account.ClientSpec{Public: true, FirstParty: true, RedirectURIs: []string{redirect}})
	rs, secret := e.client(account.ClientSpec{Name: "API", Grants: []string{"client_credentials"}})
	a := e.app(c, "", redirect)
	tok, err := a.exchange(e.authorize(a.authURL("s", "n"), true).Query().Get("code"))
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"token": {tok.AccessToken}}.Encode()
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest(http.MethodPost, e.issuer+provider.PathIntrospect, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(rs.ID, secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(out), `"active":true`) {
			b.Fatalf("introspection: %s", out)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "introspections/s")
}

// BenchmarkJWKS measures serving the key set (from the node's copy).
func BenchmarkJWKS(b *testing.B) {
	e := newEnv(b, testutil.OpenStore(b))
	b.ResetTimer()
	for range b.N {
		res, err := http.Get(e.issuer + provider.PathKeys)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.Header.Get("Cache-Control") == "" {
			b.Fatal("no caching headers")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fetches/s")
}
