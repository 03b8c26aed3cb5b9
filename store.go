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
	// UpdateWithin is Update with a time limit of its own, for the rare
	// large transaction (an import) that may take longer than a request's.
	UpdateWithin(ctx context.Context, limit time.Duration, fn func(Tx) error) error
	Ping(ctx context.Context) error
	Close() error
}

// Tx is every query Airlock makes, inside or outside a transaction, by
// role: the users, what they sign in with, the outbox, the limits, the
// audit log.
type Tx interface {
	UserQueries
	CredentialQueries
	OutboxQueries
	LimitQueries
	AuditQueries
	OpenIDQueries
	PasskeyQueries
}

// UserQueries keep the users: their profile, password, rights, two-step
// sign-in and invitations.
type UserQueries interface {
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByIDForUpdate reads a user and, on PostgreSQL, locks its row until
	// the transaction ends, so that a read-then-write rule sees no lost update.
	UserByIDForUpdate(ctx context.Context, id string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UsersByEmails is UserByEmail for many addresses in a few statements:
	// the users found, by normalised address.
	UsersByEmails(ctx context.Context, emails []string) (map[string]*User, error)
	// UsersByIDsForUpdate is UserByIDForUpdate for many users in a few
	// statements, by id; they are locked in the order of their ids.
	UsersByIDsForUpdate(ctx context.Context, ids []string) (map[string]*User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	CountActiveAdmins(ctx context.Context) (int, error)
	// ClearTOTP turns the authenticator app off: the key, the confirmation,
	// the last step and the half-signed-in states go; the recovery codes
	// stay (ReplaceRecoveryCodes with none deletes them).
	ClearTOTP(ctx context.Context, userID string) error
	// EnableTOTP stores the confirmed sealed key at now and the recovery
	// codes' hashes (replacing any older ones).
	EnableTOTP(ctx context.Context, userID string, sealed []byte, now time.Time, step int64, codeHashes [][]byte) error
	// ReplaceRecoveryCodes replaces a user's recovery codes (the old set dies).
	ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes [][]byte) error
	// CountRecoveryCodes says how many of a user's recovery codes are unused.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// SetEnrolment keeps a sealed enrolment key on one session of the user
	// until expires (nil clears it); false when that session is gone.
	SetEnrolment(ctx context.Context, sessionHash []byte, userID string, sealed []byte, expires time.Time) (bool, error)
	// UseTOTPStep records step as used if it is later than the last one
	// used; false means the code was already used (a replay).
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// UseRecoveryCode marks a recovery code used; false if it is unknown or
	// used. remaining is how many stay usable.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (ok bool, remaining int, err error)
	// RecoveryCodeUnused says whether the user has this recovery code, not
	// used yet; it uses nothing up.
	RecoveryCodeUnused(ctx context.Context, userID string, hash []byte) (bool, error)
	CreateChallenge(ctx context.Context, c *Challenge) error
	ChallengeByHash(ctx context.Context, hash []byte) (*Challenge, error)
	DeleteChallenge(ctx context.Context, hash []byte) (bool, error) // true for the one call that ended it
	// SetInvitedAt records when an invitation was sent to the user.
	SetInvitedAt(ctx context.Context, userID string, at time.Time) error
	// ExistingEmails returns which of the given addresses (normalized)
	// already belong to a user.
	ExistingEmails(ctx context.Context, normalized []string) (map[string]bool, error)
	// LockAdmins serialises, across nodes, the transactions that may take
	// the admin group away from someone (the last-administrator rule).
	LockAdmins(ctx context.Context) error
	SetPassword(ctx context.Context, userID string, p PasswordChange) error
	// UpdatePasswordHash replaces the hash only if it is still oldHash (a
	// rehash at sign-in never overwrites a concurrent password change).
	UpdatePasswordHash(ctx context.Context, userID, oldHash, newHash string) (bool, error)
	// BumpAuthEpoch ends every session and token family of the user at once
	// and returns the new epoch.
	BumpAuthEpoch(ctx context.Context, userID string) (int64, error)
	// SetProfile changes a user's own name and language.
	SetProfile(ctx context.Context, userID, first, last, language string, at time.Time) error
}

// CredentialQueries keep what a person signs in with: browser sessions,
// the half-signed-in state of two-step sign-in, reset and invitation
// links, and the API's token families.
type CredentialQueries interface {
	CreateSession(ctx context.Context, s *Session) error
	SessionByHash(ctx context.Context, hash []byte) (*Session, error)
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// ListUserSessions returns a user's sessions, most recently used first.
	ListUserSessions(ctx context.Context, userID string) ([]*Session, error)
	// DeleteOtherSessions ends every session of the user but keep's.
	DeleteOtherSessions(ctx context.Context, userID string, keep []byte) (int, error)

	// InsertResetTokens stores tokens in a few statements; one with
	// RevokedAt set is stored revoked.
	InsertResetTokens(ctx context.Context, ts []*ResetToken) error
	ResetTokenByHash(ctx context.Context, hash []byte) (*ResetToken, error)
	// MarkResetTokenCode records on a still-usable token that its user's
	// code was right, until until; recovery is the hash of the recovery
	// code given, to be used up when the password is set (nil: an app
	// code, spent already). False when the token is no longer usable.
	MarkResetTokenCode(ctx context.Context, hash []byte, now, until time.Time, recovery []byte) (bool, error)
	// ConsumeResetToken marks the token used if it is still usable at now and
	// returns its user and purpose; of many concurrent calls exactly one
	// succeeds.
	ConsumeResetToken(ctx context.Context, hash []byte, now time.Time) (userID, purpose string, err error)
	RevokeResetTokens(ctx context.Context, userID string, now time.Time) (int, error)
	// FlowCodes returns the codes a flow may be answered with at now: those
	// of every still-usable link of the user whose own still-usable link
	// answers the flow (flowHash); none when no such link exists.
	FlowCodes(ctx context.Context, flowHash []byte, now time.Time) ([]LiveCode, error)
	// RevokeUsersResetTokens is RevokeResetTokens for many users.
	RevokeUsersResetTokens(ctx context.Context, userIDs []string, now time.Time) error

	CreateTokenFamily(ctx context.Context, f *TokenFamily) error
	InsertAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash returns a token with its family's epoch and revocation.
	APITokenByHash(ctx context.Context, hash []byte) (*APIToken, error)
	// UseRefreshToken marks a usable refresh token used (rotated); of many
	// concurrent calls exactly one succeeds.
	UseRefreshToken(ctx context.Context, hash []byte, now time.Time) (*APIToken, error)
	RevokeAPIToken(ctx context.Context, hash []byte, now time.Time) error
	// RevokeTokenFamily revokes one sign-in: its family row, and so every
	// token in it, even one a concurrent refresh is adding.
	RevokeTokenFamily(ctx context.Context, familyID string, now time.Time) (int, error)
	RevokeUserAPITokens(ctx context.Context, userID string, now time.Time) (int, error)
}

// OutboxQueries keep the durable work queue: forgot requests waiting to
// be decided, and emails waiting or sent (the outbox and its history),
// and the dev mailbox.
type OutboxQueries interface {
	// EnqueueJobs adds jobs in as few statements as it can; their IDs are
	// not read back.
	EnqueueJobs(ctx context.Context, jobs []*Job) error
	// ClaimJobs leases up to limit of the oldest jobs due at now (the
	// application's clock) to owner, for lease on the database's clock. A
	// job whose worker's lease ran out (a node died while sending) is due
	// again: Job.TakenOver says so.
	ClaimJobs(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*Job, error)
	// RenewLease extends owner's lease on a job it is still working on, to
	// lease from now; false means the lease ran out or was lost to another
	// worker.
	RenewLease(ctx context.Context, id int64, owner string, lease time.Duration) (bool, error)
	// ReleaseLeases hands back at once every job owner holds (shutdown).
	ReleaseLeases(ctx context.Context, owner string) (int, error)

	// Every write below for a claimed job checks, in its own statement,
	// that owner still holds the job's lease: a node that lost it writes
	// nothing more for that job.

	// DeleteJobs deletes jobs owner holds, done with; it fails if owner
	// no longer holds them all (taken over by another node).
	DeleteJobs(ctx context.Context, owner string, ids []int64) error
	// RetryJob records a failed attempt of a job owner holds: it is
	// deferred to runAt.
	RetryJob(ctx context.Context, id int64, owner string, now, runAt time.Time, lastError string) error
	// PrepareEmails records what the attempt of each email fixed, so that
	// a later attempt sends the same message, for the emails owner still
	// holds; it says which those are.
	PrepareEmails(ctx context.Context, owner string, preps []EmailPrep) (map[int64]bool, error)
	// MarkEmailSent records a delivery and the server's answer; false when
	// owner no longer held the lease (nothing recorded).
	MarkEmailSent(ctx context.Context, id int64, owner, reply, messageID string, now time.Time) (bool, error)
	// MarkEmailFailed stops an email's retries for good and kills the
	// reset token it carried; false when owner no longer held the lease.
	MarkEmailFailed(ctx context.Context, id int64, owner, lastError string, now time.Time) (bool, error)
	// RequeueEmail sends a failed or deferred email again now, with a new
	// 24-hour window (an operator's retry).
	RequeueEmail(ctx context.Context, id int64, now time.Time) error
	EmailByID(ctx context.Context, id int64) (*Job, error)
	ListEmails(ctx context.Context, f EmailFilter) ([]*Job, error)
	// OutboxStats counts emails by kind and state, and tells when the oldest
	// email still waiting was queued (zero when none waits).
	OutboxStats(ctx context.Context) (map[[2]string]int, time.Time, error)

	InsertDevMail(ctx context.Context, m *DevMail) error
	ListDevMail(ctx context.Context, limit int) ([]*DevMail, error)
	DevMailByID(ctx context.Context, id int64) (*DevMail, error)
	ClearDevMail(ctx context.Context) (int, error)
}

// LimitQueries keep the rate limits' state (SPEC §6.6).
type LimitQueries interface {
	// LockLimit returns a limiter key's theoretical arrival time (zero when
	// unknown), its row created if missing and locked for the transaction
	// (PostgreSQL; SQLite's writer holds the whole database).
	LockLimit(ctx context.Context, key string) (time.Time, error)
	// SetLimit writes a limiter key's theoretical arrival time.
	SetLimit(ctx context.Context, key string, tat time.Time) error
	// LockLimits is LockLimit for many keys in a few statements, locked in
	// the order of the keys (two transactions sharing keys queue, never
	// deadlock); keys must be sorted and distinct. A key missing from the
	// answer is unknown (zero).
	LockLimits(ctx context.Context, keys []string) (map[string]time.Time, error)
	// SetLimits is SetLimit for many keys in a few statements.
	SetLimits(ctx context.Context, tats map[string]time.Time) error
	// MarkLimitRefusalAudited reports whether a refusal under key at now is
	// the first of its window, and if so marks the window until then; of
	// concurrent callers exactly one gets true.
	MarkLimitRefusalAudited(ctx context.Context, key string, now, until time.Time) (bool, error)
	// UsePeerNonce records a peer question's nonce (its hash) until
	// expires; false if it was recorded already (a replay).
	UsePeerNonce(ctx context.Context, hash []byte, expires time.Time) (bool, error)
}

// AuditQueries keep the security event log, and clean up what expired.
type AuditQueries interface {
	// InsertAudits appends security events, in a few statements.
	InsertAudits(ctx context.Context, events []*AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, int, error)

	// Cleanup deletes expired sessions, tokens and limiter rows.
	Cleanup(ctx context.Context, now time.Time) error
	// DeleteAuditBefore prunes audit events older than t.
	DeleteAuditBefore(ctx context.Context, t time.Time) (int, error)
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
	// EmailProblems keeps users with a failed or deferred email.
	EmailProblems bool
	// Invitation keeps users in that InvitationState ("invited",
	// "invitation_expired"); InvitedSince is when links sent earlier expired.
	Invitation   string
	InvitedSince time.Time
	Offset       int
	Limit        int
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
	// AuthEpoch is the user's AuthEpoch when the session began; the session
	// works only while the two are equal.
	AuthEpoch int64
	// EnrolSecret is the sealed two-step key offered to this session for
	// enrolment (nil: none), until EnrolExpiresAt.
	EnrolSecret    []byte
	EnrolExpiresAt time.Time
	// AMR says how the session was signed in, as OpenID amr values ("pwd",
	// "otp", "hwk", "swk", "user"); nil for sessions made before it was kept.
	AMR []string
}

// Challenge is the half-signed-in state between the password and the
// second factor. Only the SHA-256 of its id is stored.
type Challenge struct {
	IDHash    []byte
	UserID    string
	AuthEpoch int64
	CreatedAt time.Time
	ExpiresAt time.Time
	// Next is where to go after signing in (a same-origin path).
	Next string
}

// Purposes of a ResetToken.
const (
	TokenPurposeReset  = "reset"  // a forgotten password
	TokenPurposeInvite = "invite" // a first password, from an invitation
)

// ResetToken is a password reset or invitation link. Only the SHA-256 of
// the token is stored.
type ResetToken struct {
	Hash      []byte
	UserID    string
	Purpose   string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
	RevokedAt time.Time
	// CodeOKUntil is when the right code given with this link stops
	// counting (zero: none given); CodeRecovery the recovery code's hash,
	// when it was one.
	CodeOKUntil  time.Time
	CodeRecovery []byte
	// FlowHash is the SHA-256 of the flow id of the forgot request this
	// link's email answers (nil: none, such as an administrator's email).
	FlowHash []byte
	// CodeHash is the keyed hash of the short code its email carries
	// beside the link (nil: a link minted before codes).
	CodeHash []byte
}

// LiveCode is a still-usable link's code, as a flow may check it.
type LiveCode struct {
	TokenHash []byte
	CodeHash  []byte
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
	// FamilyEpoch and FamilyRevokedAt come from the token's family; Family
	// is that family, with what an application's sign-in carries.
	FamilyEpoch     int64
	FamilyRevokedAt time.Time
	Family          *TokenFamily
}

// TokenFamily is one sign-in of the JSON API: its tokens live and die
// together. It works only while AuthEpoch equals the user's.
type TokenFamily struct {
	ID        string
	UserID    string
	AuthEpoch int64
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
	// ClientID, Scopes, AMR and AuthTime belong to an application's
	// sign-in through the OpenID Provider; empty for the JSON API's own.
	ClientID string
	Scopes   []string
	AMR      []string
	AuthTime time.Time
}

// Job kinds.
const (
	JobForgot = "forgot" // forgotten-password requests, accounts not yet looked up
	JobMail   = "mail"   // an email in the outbox
)

// Email delivery states (SPEC §7).
const (
	EmailQueued   = "queued"   // waiting for its first attempt
	EmailSending  = "sending"  // a worker holds it
	EmailSent     = "sent"     // the server accepted it (Reply says how)
	EmailDeferred = "deferred" // an attempt failed; the next is at RunAt
	EmailFailed   = "failed"   // refused for good, or failing for 24 hours
)

// Job is an entry of the durable work queue; mail jobs form the outbox, and
// also its history: sent and failed emails stay a while.
type Job struct {
	ID      int64
	Kind    string
	Payload []byte // JSON, never a secret
	// Items is how many requests the job holds: a forgot job holds the
	// requests one transaction accepted together (0 is taken as 1).
	Items     int
	RunAt     time.Time
	Attempts  int
	LastError string
	CreatedAt time.Time

	State      string
	LeaseOwner string
	TakenOver  bool
	// The email's user and kind (mail jobs), for the back office.
	UserID    string
	EmailKind string
	Reply     string // the server's answer to the last delivery
	// MessageID is the Message-ID's unique part, chosen at the email's
	// first attempt and kept (see EmailPrep).
	MessageID string
	UpdatedAt time.Time
	SentAt    time.Time
	// What the email's first attempt fixed: its date, and the hash of its
	// link's token with the token sealed (nil: no link).
	PreparedAt time.Time
	TokenHash  []byte
	LinkSealed []byte
}

// EmailPrep is what an email's attempt fixes so that any later attempt (a
// retry, or another node taking the work over) sends the same message: the
// Message-ID's unique part, the date, and the link's token, hashed (it
// dies if the email fails for good) and sealed with the secret key, never
// stored in clear (SPEC §7).
type EmailPrep struct {
	ID         int64
	MessageID  string
	PreparedAt time.Time
	TokenHash  []byte // nil: the email carries no link
	LinkSealed []byte
}

// EmailFilter selects emails of the outbox and its history.
type EmailFilter struct {
	UserID string
	State  string
	Kind   string // an email kind (reset, invitation, …)
	Limit  int
}

// DevMail is an email kept by the dev mailbox.
type DevMail struct {
	ID        int64
	At        time.Time
	To        string
	Subject   string
	Text      string
	HTML      string
	MessageID string
}

// AuditEvent is one security event. It never holds a secret.
type AuditEvent struct {
	ID      int64
	At      time.Time
	Kind    string
	ActorID string
	// ActorEmail is filled in when listing, from the actor's account.
	ActorEmail string
	// SubjectEmail is filled in when listing, from the subject's account.
	SubjectEmail string
	SubjectID    string
	// Subject is a human-readable subject, such as the email typed.
	Subject   string
	IP        string
	UserAgent string
	Outcome   string
	// Detail is a stable code saying more of what happened, and Args its
	// arguments: data, not words. The words are the message files'
	// (admin.audit.detail.<code>) when a person reads the log.
	Detail string
	Args   []string
}

// AuditFilter selects audit events.
type AuditFilter struct {
	UserID string // actor or subject
	Kind   string
	// From and To bound the events' time (zero: open).
	From, To time.Time
	Offset   int
	Limit    int
}

// Audit event kinds.
const (
	AuditSignIn             = "sign_in"
	AuditSignOut            = "sign_out"
	AuditResetRequested     = "reset_requested"
	AuditResetLinkOpened    = "reset_link_opened"
	AuditResetCompleted     = "reset_completed"
	AuditPasswordChanged    = "password_changed"
	AuditSessionsRevoked    = "sessions_revoked"
	AuditUserCreated        = "user_created"
	AuditUserUpdated        = "user_updated"
	AuditResetEmailSent     = "reset_email_sent"
	AuditRateLimited        = "rate_limited"
	AuditEmailFailed        = "email_failed"
	AuditEmailRetried       = "email_retried"
	AuditInvitationSent     = "invitation_sent"
	AuditInvitationAccepted = "invitation_accepted"
	AuditUsersImported      = "users_imported"
	AuditTwoFactor          = "two_factor"
	// AuditApplication: an application of the OpenID Provider was added,
	// removed, or given a new secret.
	AuditApplication = "application"
	// AuditPasskey: a passkey was added, removed, used, or refused.
	AuditPasskey = "passkey"
)
