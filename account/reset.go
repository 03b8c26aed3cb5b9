package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/airlockhq/airlock"
)

// Reasons a reset link does not work, in airlock.Error.Detail.
const (
	TokenExpired = "expired"
	TokenUsed    = "used"
	TokenUnknown = "unknown"
)

func invalidToken(detail string) *airlock.Error {
	return &airlock.Error{Code: airlock.CodeInvalidToken, Detail: detail,
		Key: "error.reset_link.invalid"}
}

// badTokenLimit is the limit on invalid reset links per client address.
func (s *Service) badTokenLimit(ip string) limitKey {
	return limitKey{ipKey("badtoken:ip:", ip), s.cfg.LimitBadTokenPerIP}
}

// CheckLink tells whether a reset or invitation link works, without using
// it up (mail scanners open links), and says the link's purpose
// (airlock.TokenPurposeReset or TokenPurposeInvite), so that the page
// speaks of a forgotten password or of a first one. The link is its token,
// or a flow and the code from the email (see checkLink). A link that
// expired or no longer works still says its purpose with the error (an
// invitation's page then speaks of an invitation); an unknown one says
// none.
func (s *Service) CheckLink(ctx context.Context, l Link, m Meta) (*airlock.User, string, error) {
	u, purpose, _, err := s.checkLink(ctx, l, m)
	return u, purpose, err
}

// checkLink is CheckLink, and also returns the hash of the link's token.
// Every check is counted against the client's address before the token is
// looked up, so that parallel guesses get no more than the limit's worth
// of look-ups; a code is also counted against its flow (five wrong codes
// end it). A link that works gives its counts back.
func (s *Service) checkLink(ctx context.Context, l Link, m Meta) (*airlock.User, string, []byte, error) {
	now := s.clock.Now()
	keys := []limitKey{s.badTokenLimit(m.IP)}
	var flowHash []byte
	if l.Token == "" {
		// A flow and a code: their shape is checked first, so that bad
		// input changes nothing.
		code, ok := NormalizeCode(l.Code)
		if !ok {
			return nil, "", nil, errCodeForm
		}
		if !wellFormedSecret(l.Flow) {
			return nil, "", nil, errFlowForm
		}
		l.Code, flowHash = code, secretHash(l.Flow)
		keys = append(keys, s.flowLimit(flowHash))
	}
	var retry time.Duration
	var refused *limitKey
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		var err error
		if retry, refused, err = reserve(ctx, tx, keys, now); err != nil || refused == nil {
			return err
		}
		detail := "limit_links"
		if refused.key != keys[0].key {
			detail = "limit_flow"
		}
		return s.auditRefusal(ctx, tx, refused, now, airlock.AuditResetLinkOpened, m, "", detail)
	})
	switch {
	case err != nil:
		return nil, "", nil, fmt.Errorf("check reset token: %w", err)
	case refused != nil && refused.key != keys[0].key:
		return nil, "", nil, errFlowEnded
	case refused != nil:
		return nil, "", nil, rateLimited(retry)
	}
	var hash []byte
	if flowHash != nil {
		codes, err := s.store.FlowCodes(ctx, flowHash, now)
		if err != nil {
			return nil, "", nil, fmt.Errorf("check flow code: %w", err)
		}
		hash = s.flowToken(l, codes)
	} else if wellFormedSecret(l.Token) {
		hash = secretHash(l.Token)
	}
	u, purpose, detail, err := s.lookupToken(ctx, hash)
	if err != nil {
		return nil, "", nil, err
	}
	if detail != "" {
		if flowHash != nil {
			// Wrong, or the link it belongs to no longer works: alike,
			// so that a flow says nothing about the address it names.
			return nil, "", nil, s.badToken(ctx, m, "code_wrong", errWrongCode)
		}
		return nil, purpose, nil, s.badToken(ctx, m, "link_"+detail, invalidToken(detail))
	}
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		for _, k := range keys {
			if err := release(ctx, tx, k, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", nil, fmt.Errorf("check reset token: %w", err)
	}
	return u, purpose, hash, nil
}

// lookupToken reads the token of hash (nil: none) and says whether it
// works, and if not, why (detail).
func (s *Service) lookupToken(ctx context.Context, hash []byte) (u *airlock.User, purpose, detail string, err error) {
	if hash == nil {
		return nil, "", TokenUnknown, nil
	}
	t, err := s.store.ResetTokenByHash(ctx, hash)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, "", TokenUnknown, nil
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("look up reset token: %w", err)
	}
	switch {
	case !t.UsedAt.IsZero() || !t.RevokedAt.IsZero():
		return nil, t.Purpose, TokenUsed, nil
	case !s.clock.Now().Before(t.ExpiresAt):
		return nil, t.Purpose, TokenExpired, nil
	}
	u, err = s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, "", "", fmt.Errorf("look up token user: %w", err)
	}
	if !u.Active {
		return nil, t.Purpose, TokenUsed, nil
	}
	return u, t.Purpose, "", nil
}

// badToken records a failed link use (already counted by checkLink), its
// audit detail saying why, and returns refusal.
func (s *Service) badToken(ctx context.Context, m Meta, detail string, refusal error) error {
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		return s.audit(ctx, tx, airlock.AuditResetLinkOpened, m, "", "", "invalid", detail)
	})
	if err != nil {
		return err
	}
	return refusal
}

// CompleteLink sets a new password with a reset or invitation link's
// token. The token is used up atomically in the same transaction that
// changes the password; of many parallel attempts exactly one succeeds. It
// does not sign the user in. For an account with two-step sign-in the link
// alone (a mailbox) is not enough: the code from the app or a recovery code
// (otp) is needed before the new password is accepted. The token's user is
// returned whenever the token was valid, even when the password was
// refused, so that the caller can answer in the user's language; purpose
// says what the link was.
func (s *Service) CompleteLink(ctx context.Context, l Link, newPassword, otp string, m Meta) (*airlock.User, string, error) {
	u, linkPurpose, tokenHash, err := s.checkLink(ctx, l, m)
	if err != nil {
		return nil, linkPurpose, err
	}
	var code *codeCheck
	var verified *airlock.ResetToken // the code was given at the link's own step
	if u.SecondStep() {
		// The policy first, so that a refused password costs no code attempt.
		if err := s.policy.Check(newPassword, u); err != nil {
			return u, linkPurpose, err
		}
		if otp == "" {
			if verified, err = s.linkCodeGiven(ctx, tokenHash); err != nil {
				return u, linkPurpose, err
			}
		}
		if verified == nil && !u.TwoFactor() && !looksLikeRecoveryCode(otp) {
			// Passkeys only: the link's passkey step, or a recovery code,
			// is the one way on.
			return u, linkPurpose, errPasskeyNeeded
		}
		if verified == nil {
			if code, err = s.checkLinkCode(ctx, u, otp, actorMeta(u, m), tokenHash); err != nil {
				return u, linkPurpose, err
			}
		}
	}
	hash, err := s.newHash(ctx, newPassword, u)
	if err != nil {
		return u, linkPurpose, err
	}
	now := s.clock.Now()
	var lost bool
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		// The user as it is now, locked first (every transaction that
		// changes a user's access locks the user's row before its tokens,
		// so that two of them never wait on each other): a deactivation
		// committed since the link was checked wins.
		cur, err := tx.UserByIDForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		// The link is claimed before the code is spent, in this one
		// transaction: a dead link never uses a recovery code up.
		userID, purpose, err := tx.ConsumeResetToken(ctx, tokenHash, now)
		if errors.Is(err, airlock.ErrNotFound) || err == nil && userID != u.ID {
			lost = true // another request used it first, or it was revoked meanwhile
			return nil
		}
		if err != nil {
			return err
		}
		if !cur.Active {
			lost = true
			return nil
		}
		m.ActorID = cur.ID
		if code != nil {
			if err := s.useCode(ctx, tx, code, now, m); err != nil {
				return err
			}
		}
		if verified != nil && verified.CodeRecovery != nil {
			// The recovery code given at the code step is spent now, by
			// the reset that succeeds (SPEC §6.15).
			ok, remaining, err := tx.UseRecoveryCode(ctx, cur.ID, verified.CodeRecovery, now)
			if err != nil {
				return err
			}
			if !ok {
				return errCodeNeeded // used meanwhile (a sign-in): the code step again
			}
			if err := s.audit(ctx, tx, airlock.AuditTwoFactor, m, cur.ID, cur.Email, "success", "recovery_used", remaining); err != nil {
				return err
			}
		}
		invited := purpose == airlock.TokenPurposeInvite && cur.PasswordHash == ""
		if err := s.passwordChanged(ctx, tx, cur, airlock.PasswordChange{Hash: hash, ChangedAt: now}, !invited, m); err != nil {
			return err
		}
		if purpose == airlock.TokenPurposeInvite {
			return s.audit(ctx, tx, airlock.AuditInvitationAccepted, m, cur.ID, cur.Email, "success", "")
		}
		return s.audit(ctx, tx, airlock.AuditResetCompleted, m, cur.ID, cur.Email, "success", "")
	})
	if code != nil {
		err = s.codeOutcome(ctx, code, actorMeta(u, m), err)
	}
	if err != nil {
		return u, linkPurpose, fmt.Errorf("complete reset: %w", err)
	}
	if lost {
		if l.Token == "" {
			return nil, linkPurpose, s.badToken(ctx, m, "code_wrong", errWrongCode)
		}
		return nil, linkPurpose, s.badToken(ctx, m, "link_"+TokenUsed, invalidToken(TokenUsed))
	}
	return u, linkPurpose, nil
}

// linkCodeLife is how long a right code given at a reset link's code step
// lets the new password be set without it.
const linkCodeLife = 10 * time.Minute

// VerifyLinkCode is the first step of a reset (or invitation) link of an
// account with two-step sign-in, on the web: the code alone, before the
// new password is typed, so that a wrong code costs nobody a passphrase
// typed twice. It is checked and counted as with the password (the link's
// limit, the owner told), and a right one recorded on the link for
// linkCodeLife: an app code is spent now (good once); a recovery code is
// only checked, and spent by the reset that succeeds (CompleteLink).
func (s *Service) VerifyLinkCode(ctx context.Context, l Link, otp string, m Meta) (*airlock.User, string, error) {
	u, purpose, hash, err := s.checkLink(ctx, l, m)
	if err != nil || !u.SecondStep() {
		return u, purpose, err
	}
	c, err := s.checkLinkCode(ctx, u, otp, actorMeta(u, m), hash)
	if err != nil {
		return u, purpose, err
	}
	now := s.clock.Now()
	am := actorMeta(u, m)
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		ok, err := tx.MarkResetTokenCode(ctx, hash, now, now.Add(linkCodeLife), c.recovery)
		if err != nil || !ok {
			if err == nil {
				err = invalidToken(TokenUsed) // used or revoked meanwhile
			}
			return err
		}
		if c.recovery == nil {
			return s.useCode(ctx, tx, c, now, am) // an app code: spent now
		}
		// A recovery code: only checked, spent by the reset that succeeds.
		unused, err := tx.RecoveryCodeUnused(ctx, u.ID, c.recovery)
		if err != nil {
			return err
		}
		if !unused {
			return errCodeSpent
		}
		if c.limited == nil {
			if err := release(ctx, tx, c.k, now); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, airlock.AuditTwoFactor, am, u.ID, u.Email, "success", "code_accepted")
	})
	return u, purpose, s.codeOutcome(ctx, c, am, err)
}

// LinkCodeGiven says whether the right code was given at a link's code
// step, within linkCodeLife (see VerifyLinkCode). It counts nothing: the
// caller has checked the link (CheckLink) first.
func (s *Service) LinkCodeGiven(ctx context.Context, l Link) (bool, error) {
	var hash []byte
	if l.Token != "" {
		if !wellFormedSecret(l.Token) {
			return false, nil
		}
		hash = secretHash(l.Token)
	} else {
		code, ok := NormalizeCode(l.Code)
		if !ok || !wellFormedSecret(l.Flow) {
			return false, nil
		}
		codes, err := s.store.FlowCodes(ctx, secretHash(l.Flow), s.clock.Now())
		if err != nil {
			return false, err
		}
		if hash = s.flowToken(Link{Code: code}, codes); hash == nil {
			return false, nil
		}
	}
	t, err := s.linkCodeGiven(ctx, hash)
	return t != nil, err
}

// linkCodeGiven returns the link's token when its code was given in time.
func (s *Service) linkCodeGiven(ctx context.Context, hash []byte) (*airlock.ResetToken, error) {
	t, err := s.store.ResetTokenByHash(ctx, hash)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !s.clock.Now().Before(t.CodeOKUntil) {
		return nil, nil
	}
	if t.CodeRecovery != nil {
		// A recovery code used since (a sign-in): the step is to take again.
		unused, err := s.store.RecoveryCodeUnused(ctx, t.UserID, t.CodeRecovery)
		if err != nil || !unused {
			return nil, err
		}
	}
	return t, nil
}

// passwordChanged writes a new password and applies SPEC §6.9: every
// session, API token and reset token of the user dies, and the user is told
// by email.
// u must have been read in tx (locked); its AuthEpoch and password fields
// are updated in place.
// notify is false only for a first password chosen from an invitation:
// nothing was "changed", and the user is the one who just chose it.
func (s *Service) passwordChanged(ctx context.Context, tx airlock.Tx, u *airlock.User, p airlock.PasswordChange, notify bool, m Meta) error {
	if err := tx.SetPassword(ctx, u.ID, p); err != nil {
		return err
	}
	u.PasswordHash, u.PasswordChangedAt, u.MustChangePassword, u.TempPasswordExpiresAt = p.Hash, p.ChangedAt, p.MustChange, p.TempExpiresAt
	if err := s.revokeAccess(ctx, tx, u, revokeAll, "password_changed", p.ChangedAt, m); err != nil {
		return err
	}
	if notify {
		if err := s.enqueueMail(ctx, tx, mailPasswordChanged, u, p.ChangedAt, false); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, airlock.AuditPasswordChanged, m, u.ID, u.Email, "success", "")
}
