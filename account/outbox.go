package account

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/mail"
)

// EmailGiveUp is how long an email is retried before it is marked failed.
const EmailGiveUp = 24 * time.Hour

const (
	mailReset           = mail.KindReset
	mailPasswordChanged = mail.KindPasswordChanged
	mailInvitation      = mail.KindInvitation
)

// mailPayload is an outbox entry. It holds no secret: a reset email's token
// is minted when the email is first sent, and kept only hashed and sealed
// (airlock.EmailPrep), never in clear.
type mailPayload struct {
	Kind      string    `json:"kind"`
	UserID    string    `json:"user_id"`
	To        string    `json:"to"`
	Language  string    `json:"language"`
	CreatedAt time.Time `json:"created_at"`
	App       bool      `json:"app,omitempty"`
	// By names the administrator who sent an invitation.
	By string `json:"by,omitempty"`
	// IP is the address a failed second step came from (two_factor_failed).
	IP string `json:"ip,omitempty"`
	// Epoch is the user's AuthEpoch when a link email was asked for: a
	// change of rights since (a deactivation, even undone) drops the email.
	Epoch int64 `json:"epoch,omitempty"`
	// AskedOn names the server where a reset was asked, when it was not
	// this one (a peer's question): the email names both.
	AskedOn string `json:"asked_on,omitempty"`
	// Flow is the SHA-256 of the flow id of the forgot request the email
	// answers (nil: none): its link's code is typed with that flow.
	Flow []byte `json:"flow,omitempty"`
	// Passkey names the passkey added or removed.
	Passkey string `json:"passkey,omitempty"`
	// SignedOut says the change ended the user's other sessions and apps
	// (a first passkey).
	SignedOut bool `json:"signed_out,omitempty"`
}

// enqueueMail puts an email in the outbox, in the caller's transaction.
// at is when the event behind the email happened.
// app marks a reset asked for from the mobile app.
func (s *Service) enqueueMail(ctx context.Context, tx airlock.Tx, kind string, u *airlock.User, at time.Time, app bool) error {
	return s.enqueue(ctx, tx, mailPayload{Kind: kind, UserID: u.ID, To: u.Email, Language: u.Language, CreatedAt: at, App: app, Epoch: u.AuthEpoch})
}

// enqueue puts p in the outbox, in the caller's transaction.
func (s *Service) enqueue(ctx context.Context, tx airlock.Tx, p mailPayload) error {
	job, err := s.mailJob(p)
	if err != nil {
		return err
	}
	if err := tx.EnqueueJobs(ctx, []*airlock.Job{job}); err != nil {
		return err
	}
	s.poke()
	return nil
}

// mailJob is the outbox entry of p, due now.
func (s *Service) mailJob(p mailPayload) (*airlock.Job, error) {
	now := s.clock.Now()
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	// Due from when it was asked for: jobs are claimed in run_at order, so a
	// person's email goes before the requests that came after theirs
	// instead of queueing a second time behind a flood's later requests.
	runAt := now
	if !p.CreatedAt.IsZero() && p.CreatedAt.Before(now) {
		runAt = p.CreatedAt
	}
	return &airlock.Job{Kind: airlock.JobMail, Payload: payload, RunAt: runAt, CreatedAt: now, UserID: p.UserID, EmailKind: p.Kind}, nil
}

// hasLink says whether the email p carries a link (a token).
func hasLink(p mailPayload) bool { return p.Kind == mailReset || p.Kind == mailInvitation }

// mailWanted says whether the email p is still wanted for u, as it is now.
func mailWanted(u *airlock.User, p mailPayload) bool {
	if !hasLink(p) {
		return true
	}
	switch {
	case !u.Active:
		return false // an inactive user gets no email
	case airlock.NormalizeEmail(u.Email) != airlock.NormalizeEmail(p.To):
		return false // the address changed: the request died with it
	case u.PasswordChangedAt.After(p.CreatedAt):
		return false // a password change kills older reset requests
	case u.AuthEpoch != p.Epoch:
		return false // access was taken away since (a deactivation, even undone): the request died with it
	case p.Kind == mailInvitation && u.PasswordHash != "":
		return false // the user chose a password meanwhile
	}
	return true
}

// newToken mints the token of the email p for u: the row to store, and
// the token itself for the link.
func (s *Service) newToken(u *airlock.User, p mailPayload, now time.Time) (*airlock.ResetToken, string, error) {
	token, err := newSecret()
	if err != nil {
		return nil, "", err
	}
	purpose, ttl := airlock.TokenPurposeReset, s.cfg.ResetTokenTTL
	if p.Kind == mailInvitation {
		purpose, ttl = airlock.TokenPurposeInvite, s.cfg.InviteTTL
	}
	hash := secretHash(token)
	return &airlock.ResetToken{Hash: hash, UserID: u.ID, Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(ttl),
		FlowHash: p.Flow, CodeHash: s.codeHashes(hash, emailCode(token))[0]}, token, nil
}

// linkFor is the link of the email p for u, carrying token.
func (s *Service) linkFor(u *airlock.User, p mailPayload, token string) string {
	if p.App || p.Kind == mailInvitation && u.HasGroup(airlock.GroupMobile) {
		// Asked for from the app, or a field worker's invitation: the page
		// offers the way back to the app afterwards.
		return s.link("/password/reset", "token", token, "app", "1")
	}
	return s.link("/password/reset", "token", token)
}

// renderMail renders the email p for u, with its link and the link's code
// if it has one.
func (s *Service) renderMail(p mailPayload, u *airlock.User, link, code string) (*mail.Message, error) {
	lang := p.Language
	if !airlock.ValidLanguage(lang) {
		lang = "en"
	}
	validFor := s.cfg.ResetTokenTTL
	if p.Kind == mailInvitation {
		validFor = s.cfg.InviteTTL
	}
	data := map[string]any{
		"Lang":       lang,
		"Brand":      s.cfg.BrandName,
		"Name":       u.Name(),
		"Email":      p.To,
		"By":         p.By,
		"IP":         p.IP,
		"Link":       link,
		"Code":       FormatCode(code),
		"LoginLink":  s.link("/login"),
		"ValidFor":   mail.Duration(validFor, lang),
		"When":       p.CreatedAt.UTC().Format("2006-01-02 15:04"),
		"ForgotLink": s.link("/password/forgot"),
		"AskedOn":    p.AskedOn,
		"Server":     s.serverName(),
		"Passkey":    p.Passkey,
		"SignedOut":  p.SignedOut,
	}
	subject, text, html, err := s.templates.Render(p.Kind, lang, data)
	if err != nil {
		return nil, err
	}
	return &mail.Message{
		To:      p.To, // exactly one recipient: the address stored on the account
		Subject: subject, Text: text, HTML: html,
	}, nil
}

// link builds an absolute URL from AIRLOCK_PUBLIC_URL only, never from a
// request's Host header (SPEC §6.4).
func (s *Service) link(path string, kv ...string) string {
	u := *s.cfg.PublicURL
	u.Path = u.Path + path
	u.RawQuery = ""
	var q []string // in the order given: the token first, as people read it
	for i := 0; i+1 < len(kv); i += 2 {
		q = append(q, url.QueryEscape(kv[i])+"="+url.QueryEscape(kv[i+1]))
	}
	u.RawQuery = strings.Join(q, "&")
	return u.String()
}

// deliveryFailed records a failed delivery. An email the recipient's server
// refused for good, or still failing after EmailGiveUp, is marked failed:
// no more attempts, its reset link dies, and administrators see it on the
// user's page. Anything else is deferred (the error returned makes the
// worker schedule the next attempt with backoff).
func (s *Service) deliveryFailed(ctx context.Context, job *airlock.Job, p mailPayload, err error) error {
	text := err.Error()
	var de *mail.DeliveryError
	permanent := errors.As(err, &de) && de.Permanent
	if de != nil && de.Reply != "" {
		text = de.Reply // the server's own words, starting with its code
	}
	now := s.clock.Now()
	if !permanent && now.Sub(job.CreatedAt) < EmailGiveUp {
		return errors.New(text)
	}
	s.log.Warn("mail failed for good", "job", job.ID, "kind", p.Kind, "attempt", job.Attempts, "err", text)
	return s.store.Update(ctx, func(tx airlock.Tx) error {
		if held, err := tx.MarkEmailFailed(ctx, job.ID, s.jobs.Owner(), text, now); err != nil || !held {
			return err // not held: the node that has it now decides it
		}
		j := &airlock.Job{State: airlock.EmailFailed, LastError: text}
		return s.audit(ctx, tx, airlock.AuditEmailFailed, Meta{}, p.UserID, p.To, "failed", "email_failed", p.Kind, DeliveryProblem(j))
	})
}

// serverName names this server in an email: AIRLOCK_SERVERS' name for it,
// or its host.
func (s *Service) serverName() string {
	if s.cfg.ServerName != "" {
		return s.cfg.ServerName
	}
	return s.cfg.PublicURL.Host
}
