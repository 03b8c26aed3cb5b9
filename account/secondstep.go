package account

// The second step of a sign-in: the half-signed-in state between the
// password and the code.

import (
	"context"
	"errors"
	"time"

	"github.com/airlockhq/airlock"
)

// ChallengeTTL is how long the half-signed-in state between the password
// and the code lasts.
const ChallengeTTL = 5 * time.Minute

// startChallenge opens the half-signed-in state after a right password:
// short-lived, bound to the browser that gets its id in a cookie, and to
// the user's state (epoch) when the password was checked.
func (s *Service) startChallenge(ctx context.Context, u *airlock.User, next string) (string, error) {
	id, err := newSecret()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	c := &airlock.Challenge{IDHash: secretHash(id), UserID: u.ID, AuthEpoch: u.AuthEpoch, CreatedAt: now,
		ExpiresAt: now.Add(ChallengeTTL), Next: next}
	if err := s.store.CreateChallenge(ctx, c); err != nil {
		return "", err
	}
	return id, nil
}

// ChallengeUser returns the user a half-signed-in state is for (to show the
// code page in their language) and where the sign-in goes on to, or
// errChallenge.
func (s *Service) ChallengeUser(ctx context.Context, challenge string) (*airlock.User, string, error) {
	c, err := s.challenge(ctx, challenge)
	if err != nil {
		return nil, "", err
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, "", errChallenge
	}
	return u, c.Next, err
}

func (s *Service) challenge(ctx context.Context, challenge string) (*airlock.Challenge, error) {
	if !wellFormedSecret(challenge) {
		return nil, errChallenge
	}
	c, err := s.store.ChallengeByHash(ctx, secretHash(challenge))
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errChallenge
	}
	if err != nil {
		return nil, err
	}
	if !s.clock.Now().Before(c.ExpiresAt) {
		return nil, errChallenge
	}
	return c, nil
}

// CompleteSignIn is the second step of a sign-in with two-step sign-in: the
// code (or a recovery code, also in place of a passkey) for the
// half-signed-in state challenge opens the session. It returns where to go
// next.
func (s *Service) CompleteSignIn(ctx context.Context, challenge, code string, m Meta) (*airlock.User, string, string, error) {
	c, err := s.challenge(ctx, challenge)
	if err != nil {
		return nil, "", "", err
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, "", "", errChallenge
	}
	if err != nil {
		return nil, "", "", err
	}
	if !stillValid(u, c.AuthEpoch, s.clock.Now()) || !u.SecondStep() {
		return nil, "", "", errChallenge // the account changed since the password was checked
	}
	m.ActorID = u.ID
	cc, err := s.checkCode(ctx, u, code, m, true)
	if err != nil {
		return u, "", "", err
	}
	sid, err := newSecret()
	if err != nil {
		return nil, "", "", err
	}
	now := s.clock.Now()
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		cur, err := s.currentUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		// One half-signed-in state opens one session: of parallel second
		// steps, the one that ends the state goes on, and only its code is
		// spent (ended, used and opened in one transaction).
		ended, err := tx.DeleteChallenge(ctx, c.IDHash)
		if err != nil {
			return err
		}
		if !ended {
			return errChallenge
		}
		if err := s.useCode(ctx, tx, cc, now, m); err != nil {
			return err
		}
		return s.openSession(ctx, tx, cur, sid, now, m, "pwd", "otp")
	})
	if err == errNoSession {
		err = errChallenge // the account changed meanwhile
	}
	if err := s.codeOutcome(ctx, cc, m, err); err != nil {
		return u, "", "", err
	}
	return u, sid, c.Next, nil
}
