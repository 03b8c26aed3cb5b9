package account

// Second-step codes: each checked against a limit before anything is
// written, spent only in the transaction of the action it allows, and,
// refused often enough, telling the owner (SPEC §6.15).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/totp"
)

// codeLimit is the limit on second-factor attempts for an account: like
// passwords, counted before the check.
func (s *Service) codeLimit(userID string) limitKey {
	return limitKey{"2fa:account:" + userID, s.cfg.LimitLoginPerEmail}
}

// reserveCode counts one code attempt before it is checked, in the same
// transaction as the limit check, so that N codes sent at once on any
// number of nodes get at most the limit's worth of checks.
func (s *Service) reserveCode(ctx context.Context, k limitKey, now time.Time, m Meta) error {
	return s.reserveAlone(ctx, "second factor", k, now, airlock.AuditTwoFactor, m, "limit_codes")
}

// codeCheck is a second-factor code checked against the account: an app
// code that matches its key, or a recovery code to look up. It is used up
// by useCode in the transaction of the action it allows, so that a code is
// spent only by a request that succeeds (SPEC §6.15).
type codeCheck struct {
	u        *airlock.User
	k        limitKey
	step     int64  // an app code's time step
	recovery []byte // a recovery code's hash (nil: an app code)
	// limited is the refusal of the per-account limit, when it refused:
	// only a recovery code may still go on (100 random bits, which no
	// limit's worth of guesses finds), so that the owner can recover while
	// someone else has used the limit up; anything else gets this error.
	limited error
	// afterPassword: the code follows a right password (sign-in, the
	// account page), so failures tell the owner their password is known.
	afterPassword bool
	// link is the hash of the reset link the code came with, if any: the
	// link dies once its limit's worth of codes failed.
	link []byte
}

// errCodeSpent: the code was right once, and is used up (a replay, or a
// recovery code used already).
var errCodeSpent = errors.New("code already used")

// checkCode counts an attempt against u's limit and checks code (an app
// code, or the form of a recovery code) before anything is written. A
// wrong code is audited and refused here.
func (s *Service) checkCode(ctx context.Context, u *airlock.User, code string, m Meta, afterPassword bool) (*codeCheck, error) {
	return s.check(ctx, &codeCheck{u: u, k: s.codeLimit(u.ID), afterPassword: afterPassword}, code, m)
}

// checkLinkCode is checkCode for a code typed with a reset or invitation
// link (tokenHash): it counts against a limit of the account's links, not
// the account's sign-in one, so whoever holds the mailbox cannot lock the
// owner's authenticator out; after linkCodeAttempts wrong codes in an hour,
// with any of the owner's links, they all die and the owner is told
// (codeRefused). One count for all the links: several are alive at once
// (SPEC §6.2), and a count per link would let wrong codes spread over them
// go on untold.
func (s *Service) checkLinkCode(ctx context.Context, u *airlock.User, code string, m Meta, tokenHash []byte) (*codeCheck, error) {
	k := limitKey{"2fa:links:account:" + u.ID, Rate{N: linkCodeAttempts, Per: time.Hour}}
	return s.check(ctx, &codeCheck{u: u, k: k, link: tokenHash}, code, m)
}

// linkCodeAttempts is how many wrong codes, an hour, the owner's reset
// links survive together.
const linkCodeAttempts = 5

// check is checkCode and checkLinkCode: c says for what and under which
// limit.
func (s *Service) check(ctx context.Context, c *codeCheck, code string, m Meta) (*codeCheck, error) {
	afterPassword, u := c.afterPassword, c.u
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, errCodeNeeded
	}
	now := s.clock.Now()
	digits := strings.ReplaceAll(code, " ", "")
	recovery := len(digits) != totp.Digits && looksLikeRecoveryCode(code)
	if err := s.reserveCode(ctx, c.k, now, m); err != nil {
		if airlock.ErrorCode(err) != airlock.CodeRateLimited {
			return nil, err
		}
		if afterPassword {
			if err := s.store.Update(ctx, func(tx airlock.Tx) error { return s.tellOwner(ctx, tx, c, now, m) }); err != nil {
				return nil, fmt.Errorf("second factor: %w", err)
			}
		}
		if !recovery {
			return nil, err
		}
		c.limited = err
	}
	if recovery {
		c.recovery = recoveryHash(code)
		return c, nil
	}
	// Without the app (passkeys only), a recovery code is the only code.
	if len(digits) != totp.Digits || !u.TwoFactor() {
		return nil, s.codeRefused(ctx, c, m, "code_refused")
	}
	secret, err := s.openTOTP(u)
	if err != nil {
		return nil, err
	}
	step, ok := totp.Match(secret, digits, now)
	if !ok {
		return nil, s.codeRefused(ctx, c, m, "code_refused")
	}
	c.step = step
	return c, nil
}

// useCode uses c up in the caller's transaction, which must also be the
// one that claims what the code allows (a half-signed-in state, a reset
// link): of parallel requests, only the one that commits spends a code.
// It returns errCodeSpent when the code was used already.
func (s *Service) useCode(ctx context.Context, tx airlock.Tx, c *codeCheck, now time.Time, m Meta) error {
	detail, args := "code_accepted", []any(nil)
	if c.recovery != nil {
		ok, remaining, err := tx.UseRecoveryCode(ctx, c.u.ID, c.recovery, now)
		if err != nil {
			return err
		}
		if !ok {
			return errCodeSpent
		}
		detail, args = "recovery_used", []any{remaining}
	} else {
		// One use per code: of parallel uses of one code, one wins.
		fresh, err := tx.UseTOTPStep(ctx, c.u.ID, c.step)
		if err != nil {
			return err
		}
		if !fresh {
			return errCodeSpent
		}
	}
	if c.limited == nil {
		if err := release(ctx, tx, c.k, now); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, airlock.AuditTwoFactor, m, c.u.ID, c.u.Email, "success", detail, args...)
}

// codeOutcome is the answer of a transaction that used c: a code found
// used up is refused and audited (in a transaction of its own, the
// action's having rolled back), like a wrong one.
func (s *Service) codeOutcome(ctx context.Context, c *codeCheck, m Meta, err error) error {
	if !errors.Is(err, errCodeSpent) {
		return err
	}
	if c.limited != nil {
		return c.limited // at the limit, a wrong recovery code is one more refused attempt
	}
	what := "code_reused"
	if c.recovery != nil {
		what = "recovery_refused"
	}
	return s.codeRefused(ctx, c, m, what)
}

// codeRefused audits a refused code (detail says which refusal: a wrong
// code, one used already, a recovery code unknown or used) and, after a
// right password, tells the owner once the limit's worth of codes failed.
func (s *Service) codeRefused(ctx context.Context, c *codeCheck, m Meta, detail string) error {
	now := s.clock.Now()
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.audit(ctx, tx, airlock.AuditTwoFactor, m, c.u.ID, c.u.Email, "failure", detail); err != nil {
			return err
		}
		if !c.afterPassword && c.link == nil {
			return nil
		}
		// No room left under the limit: the limit's worth has failed.
		if retry, err := limit(ctx, tx, c.k.key, c.k.r, now, false); err != nil || retry == 0 {
			return err
		}
		if c.link != nil {
			return s.endLink(ctx, tx, c, now, m)
		}
		return s.tellOwner(ctx, tx, c, now, m)
	})
	if err != nil {
		return fmt.Errorf("second factor: %w", err)
	}
	if !c.u.TwoFactor() {
		return errBadRecoveryCode
	}
	return errBadCode
}

// endLink ends the owner's reset links once wrong codes were typed with
// one linkCodeAttempts times, and tells the owner, in their language, that
// someone who can read their email tried to take their account.
func (s *Service) endLink(ctx context.Context, tx airlock.Tx, c *codeCheck, now time.Time, m Meta) error {
	if _, err := tx.RevokeResetTokens(ctx, c.u.ID, now); err != nil {
		return err
	}
	first, err := tx.MarkLimitRefusalAudited(ctx, "link-told:account:"+c.u.ID, now, now.Add(time.Hour))
	if err != nil || !first {
		return err
	}
	if err := s.enqueue(ctx, tx, mailPayload{Kind: mail.KindResetCodeFailed, UserID: c.u.ID, To: c.u.Email, Language: c.u.Language,
		CreatedAt: now, IP: airlock.CleanText(m.IP, 64)}); err != nil {
		return err
	}
	return s.audit(ctx, tx, airlock.AuditTwoFactor, m, c.u.ID, c.u.Email, "refused", "link_ended")
}

// tellOwner emails the owner, once per limit window, that someone who knew
// their password failed the second step (SPEC §6.15): they should change it.
func (s *Service) tellOwner(ctx context.Context, tx airlock.Tx, c *codeCheck, now time.Time, m Meta) error {
	first, err := tx.MarkLimitRefusalAudited(ctx, "2fa-told:account:"+c.u.ID, now, now.Add(c.k.r.Per))
	if err != nil || !first {
		return err
	}
	if err := s.enqueue(ctx, tx, mailPayload{Kind: mail.KindTwoFactorFailed, UserID: c.u.ID, To: c.u.Email, Language: c.u.Language,
		CreatedAt: now, IP: airlock.CleanText(m.IP, 64)}); err != nil {
		return err
	}
	return s.audit(ctx, tx, airlock.AuditTwoFactor, m, c.u.ID, c.u.Email, "refused", "owner_told")
}
