package airlock

import (
	"context"
	"slices"
	"time"
)

// Grant types an application may be allowed (OAuth 2.0).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	// GrantPassword is the JSON API's password grant, kept for existing app
	// versions (RFC 9700 §2.4 says it must not be used).
	GrantPassword = "password"
)

// Client is an application that signs people in through Airlock, as an
// OpenID Connect relying party, or a service that gets tokens of its own.
type Client struct {
	ID   string
	Name string
	// SecretHash is the SHA-256 of a confidential client's secret; nil for
	// a public client (a mobile or single-page app), which must use PKCE.
	SecretHash     []byte
	RedirectURIs   []string
	PostLogoutURIs []string
	Grants         []string
	// FirstParty clients belong to the operator: their users are not
	// asked to consent.
	FirstParty bool
	// SigningAlg signs the client's tokens: RS256 (every OpenID client
	// supports it) unless it asked for ES256.
	SigningAlg string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Public reports whether the client has no secret.
func (c *Client) Public() bool { return len(c.SecretHash) == 0 }

// Allows reports whether the client may use grant.
func (c *Client) Allows(grant string) bool { return slices.Contains(c.Grants, grant) }

// Authorization is one authorization request of an application, from
// /oauth2/authorize until its code is exchanged.
type Authorization struct {
	ID       string
	ClientID string
	// Request holds the request's parameters as the provider keeps them;
	// LoginHint, Prompt and MaxAge (-1: none) are those the sign-in rules read.
	Request   []byte
	LoginHint string
	Prompt    []string
	MaxAge    time.Duration
	CreatedAt time.Time
	ExpiresAt time.Time
	// UserID, AuthTime and AMR are set when the person approved it: who,
	// when they signed in, and how ("pwd", "otp").
	UserID   string
	AuthTime time.Time
	AMR      []string
	DoneAt   time.Time
	// Refused is the OAuth error code of a request that will not be
	// approved (login_required, access_denied, ...).
	Refused    string
	CodeHash   []byte
	CodeAt     time.Time
	CodeUsedAt time.Time
	// FamilyID names the tokens its code was exchanged for.
	FamilyID string
	// SessionHash is the hash of the approving browser's session id: the
	// code goes to the application through that browser only.
	SessionHash []byte
}

// SigningKey is one of the provider's token signing keys.
type SigningKey struct {
	ID  string
	Alg string
	// Private is the private key (PKCS #8), sealed with AIRLOCK_SECRET_KEY.
	Private []byte
	// PublicJWK is the public half as a JSON Web Key.
	PublicJWK []byte
	CreatedAt time.Time
	// SignsFrom is when the key starts signing: it is published before.
	SignsFrom time.Time
	RetiredAt time.Time
}

// OpenIDQueries keep the OpenID Provider's applications, authorization
// requests and signing keys.
type OpenIDQueries interface {
	CreateClient(ctx context.Context, c *Client) error
	ClientByID(ctx context.Context, id string) (*Client, error)
	ListClients(ctx context.Context) ([]*Client, error)
	// SetClientSecret replaces a confidential client's secret hash.
	SetClientSecret(ctx context.Context, id string, hash []byte, now time.Time) error
	DeleteClient(ctx context.Context, id string) error
	// SetClientGrants replaces the grant types an application may use.
	SetClientGrants(ctx context.Context, id string, grants []string, now time.Time) error
	// RevokeClientTokens revokes every token family of an application.
	RevokeClientTokens(ctx context.Context, clientID string, now time.Time) (int, error)

	CreateAuthorization(ctx context.Context, a *Authorization) error
	AuthorizationByID(ctx context.Context, id string) (*Authorization, error)
	// ApproveAuthorization records who approved a pending request; false
	// when it is no longer pending (expired, approved or refused).
	ApproveAuthorization(ctx context.Context, id, userID string, authTime time.Time, amr []string, sessionHash []byte, now time.Time) (bool, error)
	// RefuseAuthorization ends a pending request with an OAuth error code.
	RefuseAuthorization(ctx context.Context, id, code string, now time.Time) (bool, error)
	// SetAuthorizationCode stores the hash of an approved request's code,
	// once; false if it has one already or is not approved.
	SetAuthorizationCode(ctx context.Context, id string, hash []byte, now time.Time) (bool, error)
	// AuthorizationByCode returns the request whose code has this hash.
	AuthorizationByCode(ctx context.Context, hash []byte) (*Authorization, error)
	// UseAuthorizationCode marks a request's code used at now: of many
	// concurrent calls, on any node, exactly one gets true.
	UseAuthorizationCode(ctx context.Context, id string, now time.Time) (bool, error)
	// SetAuthorizationFamily records the token family a code was exchanged for.
	SetAuthorizationFamily(ctx context.Context, id, familyID string) error
	DeleteAuthorization(ctx context.Context, id string) error

	InsertSigningKey(ctx context.Context, k *SigningKey) error
	// LockSigningKeys serialises, on every node, the transactions that
	// make the first signing keys (until the commit).
	LockSigningKeys(ctx context.Context) error
	// SigningKeys returns every key not retired before since, oldest first.
	SigningKeys(ctx context.Context, since time.Time) ([]*SigningKey, error)
	// RetireSigningKeys retires, at at, every key that signs from before
	// before (the generations older than a new key).
	RetireSigningKeys(ctx context.Context, before, at time.Time) error
}
