// Package account holds Airlock's rules: sign-in, sessions, the forgotten
// password flow, password changes and user administration. The web and API
// fronts both call it, so each security rule of SPEC §6 lives here once.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/jobs"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/passkey"
	"github.com/airlockhq/airlock/password"
	"github.com/airlockhq/airlock/secretbox"
)

// Config holds the account rules' settings.
type Config struct {
	PublicURL       *url.URL
	AppURL          string
	ResetTokenTTL   time.Duration
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	TempPasswordTTL time.Duration
	// AuditRetention is how long audit events are kept (AIRLOCK_AUDIT_RETENTION).
	AuditRetention time.Duration
	// InviteTTL is the lifetime of an invitation link (AIRLOCK_INVITE_TTL).
	InviteTTL time.Duration
	// BrandName names the product in emails and pages (AIRLOCK_BRAND_NAME).
	BrandName string
	// SecretBox seals two-step sign-in keys (AIRLOCK_SECRET_KEY); nil: no
	// one can enrol.
	SecretBox *secretbox.Box
	// RequireTwoFactor lists the groups whose members must enrol in
	// two-step sign-in (AIRLOCK_REQUIRE_TWO_FACTOR).
	RequireTwoFactor []string
	// Passkeys speaks WebAuthn (package passkey), as the relying party of
	// PublicURL; nil when passkeys are off (a public URL that is an IP
	// address). New sets it from PublicURL and BrandName when it is nil.
	Passkeys Ceremonies
	// PasskeyApps are the origins of the native apps whose passkey answers
	// count beside PublicURL's pages (passkey.AndroidOrigin of each signing
	// certificate of AIRLOCK_ANDROID_APPS); New gives them to Passkeys.
	PasskeyApps []string

	// ServerName names this server in the emails that name two (a reset
	// asked on the wrong server): its entry in AIRLOCK_SERVERS, or its host.
	ServerName string
	// Peers are the other servers asked about an address with no account
	// here (AIRLOCK_PEERS), through PeerAsker; none when it is nil.
	Peers     []Peer
	PeerAsker PeerAsker

	LimitForgotPerIP     Rate
	LimitResetPerAccount Rate
	LimitBadTokenPerIP   Rate
	LimitLoginPerEmail   Rate
	LimitLoginPerIP      Rate
	// LimitPasskeyOptionsPerIP bounds the passkey ceremonies a client
	// address begins (each is a row until it ends or expires);
	// LimitBadPasskeyPerIP its refused passkey answers.
	LimitPasskeyOptionsPerIP Rate
	LimitBadPasskeyPerIP     Rate
}

// DefaultConfig returns the SPEC's defaults for publicURL.
func DefaultConfig(publicURL *url.URL) Config {
	return Config{
		PublicURL:            publicURL,
		ResetTokenTTL:        30 * time.Minute,
		SessionIdle:          30 * time.Minute,
		SessionAbsolute:      12 * time.Hour,
		TempPasswordTTL:      72 * time.Hour,
		AuditRetention:       400 * 24 * time.Hour,
		InviteTTL:            72 * time.Hour,
		BrandName:            "Airlock",
		LimitForgotPerIP:     Rate{N: 20, Per: 10 * time.Minute},
		LimitResetPerAccount: Rate{N: 3, Per: time.Hour},
		LimitBadTokenPerIP:   Rate{N: 20, Per: 10 * time.Minute},
		LimitLoginPerEmail:   Rate{N: 10, Per: 15 * time.Minute},
		LimitLoginPerIP:      Rate{N: 100, Per: 15 * time.Minute},
		// A sign-in page asks for options as it opens (the autofill) and
		// again at its button: a crew of 120 behind one address at shift
		// start stays well inside.
		LimitPasskeyOptionsPerIP: Rate{N: 600, Per: 10 * time.Minute},
		LimitBadPasskeyPerIP:     Rate{N: 100, Per: 15 * time.Minute},
	}
}

// Service applies the account rules.
type Service struct {
	store     airlock.Store
	hasher    *password.Hasher
	policy    *password.Policy
	templates *mail.Templates
	sender    mail.Sender
	clock     airlock.Clock
	log       *slog.Logger
	cfg       Config
	// jobs runs the queued half of the rules (forgot requests, emails).
	jobs *jobs.Runner
	// busy counts the forgot requests refused because the queue lagged.
	busy atomic.Int64
	// passwordGrants counts sign-ins with the deprecated password grant.
	passwordGrants atomic.Int64
	// referrals and referralsDropped count the questions sent to peers,
	// and those dropped because the peer did not answer.
	referrals, referralsDropped atomic.Int64
	// forgot groups the writes of concurrent forgot requests (forgot.go).
	forgot forgotQueue
}

// New returns a Service.
func New(log *slog.Logger, cfg Config, store airlock.Store, hasher *password.Hasher, policy *password.Policy,
	templates *mail.Templates, sender mail.Sender, clock airlock.Clock) *Service {
	if cfg.Passkeys == nil && cfg.PublicURL != nil {
		// Off (nil) when the public URL's host is an IP address: serve says so.
		if rp, err := passkey.New(cfg.PublicURL, cfg.BrandName, cfg.PasskeyApps...); err == nil {
			cfg.Passkeys = rp
		}
	}
	s := &Service{store: store, hasher: hasher, policy: policy, templates: templates, sender: sender,
		clock: clock, log: log, cfg: cfg, jobs: jobs.New(store, clock, log)}
	s.jobs.Handle(airlock.JobForgot, s.decideForgot)
	s.jobs.Handle(airlock.JobMail, s.deliverMail)
	s.jobs.Handle(JobReferral, s.askPeers)
	s.jobs.Every(10*time.Minute, "cleanup", s.cleanup)
	return s
}

// RunWorkers runs the queued work (forgot requests, the outbox) and the
// upkeep until ctx ends; several nodes may run it on one database.
func (s *Service) RunWorkers(ctx context.Context) { s.jobs.Run(ctx) }

// ProcessDue runs every job due now and says how many it ran.
func (s *Service) ProcessDue(ctx context.Context) (int, error) { return s.jobs.RunDue(ctx) }

// QueueLag says how far behind the workers are (see jobs.Runner.Behind).
func (s *Service) QueueLag() time.Duration { return s.jobs.Behind() }

// BusyRefusals counts the forgot requests refused because the workers
// lagged more than maxForgotLag.
func (s *Service) BusyRefusals() int64 { return s.busy.Load() }

// PasswordGrants says how many sign-ins used the password grant (deprecated).
func (s *Service) PasswordGrants() int64 { return s.passwordGrants.Load() }

// Now is the service's clock: the fronts' own sense of time agrees with
// the limits'.
func (s *Service) Now() time.Time { return s.clock.Now() }

// Stats returns the job runtime's counters.
func (s *Service) Stats() *jobs.Stats { return s.jobs.Stats() }

// cleanup deletes what can no longer be used, keeping a day of expired
// tokens so that an old link says "expired", and prunes the audit log.
func (s *Service) cleanup(ctx context.Context) error {
	if err := s.store.Cleanup(ctx, s.clock.Now().Add(-24*time.Hour)); err != nil {
		return err
	}
	return s.PruneAudit(ctx)
}

// PruneAudit deletes audit events older than the retention
// (AIRLOCK_AUDIT_RETENTION); the workers run it every ten minutes.
func (s *Service) PruneAudit(ctx context.Context) error {
	if s.cfg.AuditRetention <= 0 {
		return nil
	}
	n, err := s.store.DeleteAuditBefore(ctx, s.clock.Now().Add(-s.cfg.AuditRetention))
	if n > 0 {
		s.log.Info("audit events pruned", "count", n, "retention", s.cfg.AuditRetention.String())
	}
	return err
}

// Config returns the service's settings.
func (s *Service) Config() Config { return s.cfg }

// Policy returns the password policy.
func (s *Service) Policy() *password.Policy { return s.policy }

// Meta describes who is asking: the client's address and browser, and the
// signed-in actor when there is one.
type Meta struct {
	IP        string
	UserAgent string
	ActorID   string
	Language  string
	// App is set when the request comes from the mobile app, so that the
	// reset page can offer "Return to the app".
	App bool
	// ClientID is the OAuth client_id a token request named ("" none).
	ClientID string
}

// newSecret returns 256 random bits, base64url-encoded (SPEC §6.2).
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// secretHash is what is stored for a token or session id: never the secret.
func secretHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// wellFormedSecret reports whether s looks like a newSecret value, so that
// garbage is refused before touching the database.
func wellFormedSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // UUID version 4
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// hashKey keeps limiter keys short and free of the raw email typed.
func hashKey(prefix, s string) string {
	h := sha256.Sum256([]byte(s))
	return prefix + hex.EncodeToString(h[:12])
}

// audit writes a security event in the caller's transaction. Whatever a
// client sent (the address typed, its user agent) is cleaned first, so that
// no input can make the write fail: a failing audit write fails the whole
// request, closed.
func (s *Service) audit(ctx context.Context, tx airlock.Tx, kind string, m Meta, subjectID, subject, outcome, detail string, args ...any) error {
	e := s.auditEvent(kind, m, subjectID, subject, outcome, detail, args...)
	if err := tx.InsertAudits(ctx, []*airlock.AuditEvent{e}); err != nil {
		return err
	}
	s.logAudit(e)
	return nil
}

// auditEvent is the event audit writes, its text made safe to store.
// detail is a code (the message files say it in words:
// admin.audit.detail.<code>), args its arguments.
func (s *Service) auditEvent(kind string, m Meta, subjectID, subject, outcome, detail string, args ...any) *airlock.AuditEvent {
	e := &airlock.AuditEvent{At: s.clock.Now(), Kind: kind, ActorID: m.ActorID, SubjectID: subjectID,
		Subject: airlock.CleanText(subject, 300), IP: airlock.CleanText(m.IP, 64), UserAgent: airlock.CleanText(m.UserAgent, 300),
		Outcome: outcome, Detail: detail}
	for _, a := range args {
		e.Args = append(e.Args, airlock.CleanText(fmt.Sprint(a), 300))
	}
	return e
}

// logAudit logs a written audit event.
func (s *Service) logAudit(e *airlock.AuditEvent) {
	if !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return // its arguments cost allocations even when not logged: a flood's every request
	}
	s.log.Info("audit", "kind", e.Kind, "actor", e.ActorID, "subject_id", e.SubjectID, "outcome", e.Outcome, "ip", e.IP)
}

// poke wakes the job runtime: work was queued.
func (s *Service) poke() { s.jobs.Poke() }

var errBadCredentials = &airlock.Error{Code: airlock.CodeUnauthorized, Key: "error.bad_credentials"}
