package account

import (
	"time"

	"github.com/airlockhq/airlock"
)

// Reach is what a signed-in user may reach right now.
type Reach int

const (
	// ReachAll: every page and call their groups allow.
	ReachAll Reach = iota
	// ReachPasswordChange: only the change of their temporary password.
	ReachPasswordChange
	// ReachEnrolment: only the enrolment of two-step sign-in, which their
	// groups require (AIRLOCK_REQUIRE_TWO_FACTOR).
	ReachEnrolment
)

// Reach says what u may reach right now (SPEC §6.10, §6.15): a temporary
// password's change comes first, then the enrolment their groups require;
// each sending to the other would leave no way in. Both fronts route by
// it: a page or call of another reach is refused or sent to this one.
func (s *Service) Reach(u *airlock.User) Reach {
	switch {
	case u.MustChangePassword:
		return ReachPasswordChange
	case s.TwoFactorRequired(u):
		return ReachEnrolment
	}
	return ReachAll
}

// stillValid says whether a session or token made in epoch (or a user
// read then) still matches u's state at now: the same auth epoch (nothing
// took access away since), active, and no temporary password expired.
// Every use of a session or token, and every issue of one, goes through it.
func stillValid(u *airlock.User, epoch int64, now time.Time) bool {
	return u.AuthEpoch == epoch && u.Active && !u.TempPasswordExpired(now)
}
