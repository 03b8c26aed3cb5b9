package account

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/airlockhq/airlock"
)

// Why an email could not be delivered, in words an administrator
// understands; the fronts translate these keys.
const (
	ProblemRefusedAddress = "refused_address" // the recipient's server says the address does not exist
	ProblemMailboxFull    = "mailbox_full"
	ProblemRejected       = "rejected"    // refused as spam or by policy
	ProblemTemporary      = "temporary"   // the server asked to try later
	ProblemUnreachable    = "unreachable" // the mail server could not be reached
	ProblemTLS            = "tls"         // the secure connection to the relay failed
	ProblemOther          = "other"
)

// DeliveryProblem says in one key why an email is deferred or failed ("" when
// it is not). It reads the SMTP reply code the last error starts with.
func DeliveryProblem(j *airlock.Job) string {
	if j.State != airlock.EmailDeferred && j.State != airlock.EmailFailed {
		return ""
	}
	msg := strings.ToLower(j.LastError)
	code := 0
	if f := strings.Fields(msg); len(f) > 0 && len(f[0]) == 3 {
		code, _ = strconv.Atoi(f[0])
	}
	switch {
	case code == 550 || code == 551 || code == 553 || strings.Contains(msg, "no such user") || strings.Contains(msg, "user unknown"):
		return ProblemRefusedAddress
	case code == 552 || strings.Contains(msg, "mailbox full") || strings.Contains(msg, "quota"):
		return ProblemMailboxFull
	case code == 554 || code == 541 || code >= 500:
		return ProblemRejected
	case code >= 400:
		return ProblemTemporary
	case strings.Contains(msg, "certificate") || strings.Contains(msg, "tls") || strings.Contains(msg, "starttls"):
		return ProblemTLS
	case strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") || strings.Contains(msg, "timeout") ||
		strings.Contains(msg, "i/o timeout") || strings.Contains(msg, "dial"):
		return ProblemUnreachable
	}
	return ProblemOther
}

// AdminListEmails returns a user's last emails, newest first, for an
// administrator (the back office's user page, the API, the command line
// with a user). The user's own answers never reveal any of it.
func (s *Service) AdminListEmails(ctx context.Context, actor *airlock.User, f airlock.EmailFilter) ([]*airlock.Job, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if f.State != "" && !validEmailState(f.State) {
		return nil, &airlock.Error{Code: airlock.CodeInvalid, Field: "state", Key: "error.email_state.invalid"}
	}
	return s.store.ListEmails(ctx, f)
}

func validEmailState(s string) bool {
	switch s {
	case airlock.EmailQueued, airlock.EmailSending, airlock.EmailSent, airlock.EmailDeferred, airlock.EmailFailed:
		return true
	}
	return false
}

// AdminEmail returns one email of the outbox or its history.
func (s *Service) AdminEmail(ctx context.Context, actor *airlock.User, id int64) (*airlock.Job, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	j, err := s.store.EmailByID(ctx, id)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errNoEmail
	}
	return j, err
}

var errNoEmail = &airlock.Error{Code: airlock.CodeNotFound, Key: "error.no_such_email"}

// AdminRetryEmail sends user userID's failed or deferred email id again
// now, with a new 24-hour window. A reset email mints a fresh link when it
// goes out. An email of another user is "no such email": the caller names
// both, and may not act on one through the other.
func (s *Service) AdminRetryEmail(ctx context.Context, actor *airlock.User, userID string, id int64, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	m = actorMeta(actor, m)
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		j, err := tx.EmailByID(ctx, id)
		if errors.Is(err, airlock.ErrNotFound) || err == nil && j.UserID != userID {
			return errNoEmail
		}
		if err != nil {
			return err
		}
		if err := tx.RequeueEmail(ctx, id, s.clock.Now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditEmailRetried, m, j.UserID, "", "queued", "email_kind", j.EmailKind)
	})
	if err == nil {
		s.poke()
	}
	return err
}
