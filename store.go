package airlock

import (
	"context"
	"time"
)

// Store is the persistence the rest of Airlock uses. Queries outside Update
// run directly on the pool; Update runs fn in one write transaction.
type Store interface {
	Tx
	Update(ctx context.Context, fn func(Tx) error) error
	Ping(ctx context.Context) error
	Close() error
}

// Tx is every query Airlock makes, inside or outside a transaction.
type Tx interface {
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	CountActiveAdmins(ctx context.Context) (int, error)
	SetPassword(ctx context.Context, userID string, p PasswordChange) error
	UpdatePasswordHash(ctx context.Context, userID, hash string) error

	CreateSession(ctx context.Context, s *Session) error
	SessionByHash(ctx context.Context, hash []byte) (*Session, error)
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteUserSessions(ctx context.Context, userID string) (int, error)

	InsertResetToken(ctx context.Context, t *ResetToken) error
	ResetTokenByHash(ctx context.Context, hash []byte) (*ResetToken, error)
	// ConsumeResetToken marks the token used if it is still usable at now and
	// returns its user; of many concurrent calls exactly one succeeds.
	ConsumeResetToken(ctx context.Context, hash []byte, now time.Time) (string, error)
	RevokeResetTokens(ctx context.Context, userID string, now time.Time) (int, error)

	InsertAPIToken(ctx context.Context, t *APIToken) error
	APITokenByHash(ctx context.Context, hash []byte) (*APIToken, error)
	// UseRefreshToken marks a usable refresh token used (rotated); of many
	// concurrent calls exactly one succeeds.
	UseRefreshToken(ctx context.Context, hash []byte, now time.Time) (*APIToken, error)
	RevokeAPIToken(ctx context.Context, hash []byte, now time.Time) error
	RevokeAPITokenFamily(ctx context.Context, familyID string, now time.Time) (int, error)
	RevokeUserAPITokens(ctx context.Context, userID string, now time.Time) (int, error)

	EnqueueJob(ctx context.Context, j *Job) error
	// ClaimJob leases the oldest due job until leaseUntil, or returns nil.
	ClaimJob(ctx context.Context, now, leaseUntil time.Time) (*Job, error)
	DeleteJob(ctx context.Context, id int64) error
	RetryJob(ctx context.Context, id int64, runAt time.Time, lastError string) error
	CountJobs(ctx context.Context, kind string) (int, error)

	// LimitState returns a limiter key's theoretical arrival time (zero when
	// unknown), locking the row for the transaction where the database can.
	LimitState(ctx context.Context, key string) (time.Time, error)
	SetLimitState(ctx context.Context, key string, tat time.Time) error

	InsertAudit(ctx context.Context, e *AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, int, error)

	// Cleanup deletes expired sessions, tokens and limiter rows.
	Cleanup(ctx context.Context, now time.Time) error
}

// PasswordChange is what a password change writes on the user.
type PasswordChange struct {
	Hash          string
	MustChange    bool
	TempExpiresAt time.Time
	ChangedAt     time.Time
}

// UserFilter selects users for a list.
type UserFilter struct {
	Query  string // matched against names and email
	Group  string
	Active *bool
	Offset int
	Limit  int
}

// Session is a signed-in browser. Only the SHA-256 of its id is stored.
type Session struct {
	IDHash     []byte
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
	IP         string
	UserAgent  string
}

// ResetToken is a password reset link. Only the SHA-256 of the token is stored.
type ResetToken struct {
	Hash      []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
	RevokedAt time.Time
}

// API token kinds.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// APIToken is a bearer token of the JSON API. Only its SHA-256 is stored.
type APIToken struct {
	Hash      []byte
	Kind      string
	UserID    string
	FamilyID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
	RevokedAt time.Time
}

// Job kinds.
const (
	JobForgot = "forgot" // a forgotten-password request, account not yet looked up
	JobMail   = "mail"   // an email in the outbox
)

// Job is an entry of the durable work queue; mail jobs form the outbox.
type Job struct {
	ID        int64
	Kind      string
	Payload   []byte // JSON, never a secret
	RunAt     time.Time
	Attempts  int
	LastError string
	CreatedAt time.Time
}

// AuditEvent is one security event. It never holds a secret.
type AuditEvent struct {
	ID      int64
	At      time.Time
	Kind    string
	ActorID string
	// ActorEmail is filled in when listing, from the actor's account.
	ActorEmail string
	SubjectID  string
	// Subject is a human-readable subject, such as the email typed.
	Subject   string
	IP        string
	UserAgent string
	Outcome   string
	Detail    string
}

// AuditFilter selects audit events.
type AuditFilter struct {
	UserID string // actor or subject
	Kind   string
	Offset int
	Limit  int
}

// Audit event kinds.
const (
	AuditSignIn          = "sign_in"
	AuditSignOut         = "sign_out"
	AuditResetRequested  = "reset_requested"
	AuditResetLinkOpened = "reset_link_opened"
	AuditResetCompleted  = "reset_completed"
	AuditPasswordChanged = "password_changed"
	AuditSessionsRevoked = "sessions_revoked"
	AuditUserCreated     = "user_created"
	AuditUserUpdated     = "user_updated"
	AuditResetEmailSent  = "reset_email_sent"
	AuditRateLimited     = "rate_limited"
)
