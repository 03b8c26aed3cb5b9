package provider_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/provider"
	"github.com/airlockhq/airlock/store"
)

// TestZitadelRelyingParty signs in with a second relying-party library,
// zitadel's rp package, as a confidential web client: discovery, the code
// with PKCE, its exchange with the ID token verified, userinfo, refresh.
func TestZitadelRelyingParty(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c, secret := e.client(account.ClientSpec{Name: "Portal", RedirectURIs: []string{"https://portal.example.com/cb"}, FirstParty: true})
		ctx := context.Background()
		party, err := rp.NewRelyingPartyOIDC(ctx, e.issuer, c.ID, secret, "https://portal.example.com/cb",
			[]string{zoidc.ScopeOpenID, zoidc.ScopeEmail, zoidc.ScopeOfflineAccess})
		if err != nil {
			t.Fatal(err)
		}
		verifier := oauth2.GenerateVerifier()
		back := e.authorize(rp.AuthURL("st", party, rp.WithCodeChallenge(oauth2.S256ChallengeFromVerifier(verifier))), true)
		if back.Query().Get("iss") != e.issuer {
			t.Fatalf("no iss: %s", back)
		}
		tokens, err := rp.CodeExchange[*zoidc.IDTokenClaims](ctx, back.Query().Get("code"), party, rp.WithCodeVerifier(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if tokens.IDTokenClaims.Subject != e.user.ID || tokens.IDTokenClaims.Email != "ada@example.com" {
			t.Fatalf("ID token: %+v", tokens.IDTokenClaims)
		}
		info, err := rp.Userinfo[*zoidc.UserInfo](ctx, tokens.AccessToken, tokens.TokenType, tokens.IDTokenClaims.Subject, party)
		if err != nil || info.Email != "ada@example.com" {
			t.Fatalf("userinfo: %+v %v", info, err)
		}
		again, err := rp.RefreshTokens[*zoidc.IDTokenClaims](ctx, party, tokens.RefreshToken, "", "")
		if err != nil || again.RefreshToken == "" || again.RefreshToken == tokens.RefreshToken {
			t.Fatalf("refresh: %+v %v", again, err)
		}
	})
}

// TestDiscovery: the document names this issuer and every endpoint, and
// says what Airlock serves and nothing it does not (OpenID Connect
// Discovery 1.0 §3, RFC 8414, RFC 9207); the key set is cacheable.
func TestDiscovery(t *testing.T) {
	e := newEnv(t, testutil.OpenStore(t))
	res, err := http.Get(e.issuer + provider.PathDiscovery)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	want := map[string]string{"issuer": e.issuer, "authorization_endpoint": e.issuer + provider.PathAuthorize,
		"token_endpoint": e.issuer + provider.PathToken, "userinfo_endpoint": e.issuer + provider.PathUserinfo,
		"jwks_uri": e.issuer + provider.PathKeys, "revocation_endpoint": e.issuer + provider.PathRevoke,
		"introspection_endpoint": e.issuer + provider.PathIntrospect, "end_session_endpoint": e.issuer + provider.PathLogout}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %s", k, doc[k], v)
		}
	}
	list := func(k string) []string {
		var out []string
		for _, v := range doc[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	for k, v := range map[string][]string{"response_types_supported": {"code"}, "code_challenge_methods_supported": {"S256"},
		"id_token_signing_alg_values_supported": {"RS256", "ES256"}, "subject_types_supported": {"public"}} {
		if got := list(k); !slices.Equal(got, v) {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	for _, scope := range []string{"openid", "email", "profile", "groups", "offline_access"} {
		if !slices.Contains(list("scopes_supported"), scope) {
			t.Errorf("scope %s not listed", scope)
		}
	}
	if doc["authorization_response_iss_parameter_supported"] != true {
		t.Error("the iss parameter is not announced")
	}
	if _, ok := doc["device_authorization_endpoint"]; ok {
		t.Error("a device endpoint is announced that Airlock does not serve")
	}
	res, err = http.Get(e.issuer + provider.PathKeys)
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct {
			Kid, Alg, Use, Kty string
			D                  string `json:"d"`
		} `json:"keys"`
	}
	json.NewDecoder(res.Body).Decode(&jwks)
	res.Body.Close()
	if res.Header.Get("Cache-Control") != "public, max-age=300" || len(jwks.Keys) != 2 {
		t.Fatalf("JWKS: %q %+v", res.Header.Get("Cache-Control"), jwks)
	}
	for _, k := range jwks.Keys {
		if k.D != "" || k.Kid == "" || k.Use != "sig" {
			t.Fatalf("a published key: %+v", k)
		}
	}
}
