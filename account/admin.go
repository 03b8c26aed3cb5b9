package account

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/airlockhq/airlock"
)

// Administrator actions take the acting user. The command line acts as
// Operator, the only actor that is not a user; nil, or anyone else who is
// not an active administrator, is refused.

// Operator is the actor of the command line: the local operator, who
// already holds the database and its settings. Only cmd/airlock uses it.
var Operator = &airlock.User{ID: "operator", Email: "operator", Active: true}

var errForbidden = &airlock.Error{Code: airlock.CodeForbidden, Key: "error.admin_only"}

// requireAdmin refuses anyone but an active administrator or the Operator
// (SPEC §6.10). It fails closed: a missing actor is refused.
func requireAdmin(actor *airlock.User) error {
	if actor == Operator {
		return nil
	}
	if actor == nil || !actor.Active || !actor.HasGroup(airlock.GroupAdmin) {
		return errForbidden
	}
	return nil
}

// adminTarget is the start of an administrator's action on user id, in
// the transaction that acts: the administrator re-read (adminInTx), then
// the user read and locked, so that the action works on its current state.
func (s *Service) adminTarget(ctx context.Context, tx airlock.Tx, actor *airlock.User, id string) (*airlock.User, error) {
	if err := s.adminInTx(ctx, tx, actor); err != nil {
		return nil, err
	}
	u, err := tx.UserByIDForUpdate(ctx, id)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errNoUser
	}
	return u, err
}

// adminInTx re-reads the acting administrator in the transaction that
// acts: a demotion, deactivation or revocation committed since the request
// was authenticated wins over the action.
func (s *Service) adminInTx(ctx context.Context, tx airlock.Tx, actor *airlock.User) error {
	if err := requireAdmin(actor); err != nil || actor == Operator {
		return err
	}
	cur, err := tx.UserByID(ctx, actor.ID)
	if errors.Is(err, airlock.ErrNotFound) {
		return errForbidden
	}
	if err != nil {
		return err
	}
	if !stillValid(cur, actor.AuthEpoch, s.clock.Now()) || requireAdmin(cur) != nil {
		return errForbidden
	}
	return nil
}

func actorMeta(actor *airlock.User, m Meta) Meta {
	if actor != nil {
		m.ActorID = actor.ID
	}
	return m
}

var errNoUser = &airlock.Error{Code: airlock.CodeNotFound, Key: "error.no_such_user"}

// AdminListUsers lists users for an administrator.
func (s *Service) AdminListUsers(ctx context.Context, actor *airlock.User, f airlock.UserFilter) ([]*airlock.User, int, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, 0, err
	}
	switch f.Invitation {
	case "":
	case airlock.InvitationPending, airlock.InvitationExpired:
		f.InvitedSince = s.clock.Now().Add(-s.cfg.InviteTTL) // links sent before have expired
	default:
		return nil, 0, &airlock.Error{Code: airlock.CodeInvalid, Field: "invitation", Key: "error.invitation_filter.invalid"}
	}
	return s.store.ListUsers(ctx, f)
}

// AdminGetUser returns one user for an administrator.
func (s *Service) AdminGetUser(ctx context.Context, actor *airlock.User, id string) (*airlock.User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errNoUser
	}
	return u, err
}

// AdminFindUser returns the user with that email address for an
// administrator.
func (s *Service) AdminFindUser(ctx context.Context, actor *airlock.User, email string) (*airlock.User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, airlock.ErrNotFound) {
		return nil, errNoUser
	}
	return u, err
}

// AdminCreateUser creates a user on an administrator's behalf.
func (s *Service) AdminCreateUser(ctx context.Context, actor *airlock.User, n NewUser, m Meta) (*airlock.User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	return s.createUser(ctx, actor, n, actorMeta(actor, m))
}

var (
	errStaleUser      = &airlock.Error{Code: airlock.CodeConflict, Detail: "stale", Key: "error.user.stale"}
	errDeactivateSelf = &airlock.Error{Code: airlock.CodeConflict, Field: "active", Key: "error.user.deactivate_self"}
	errDemoteSelf     = &airlock.Error{Code: airlock.CodeConflict, Field: "groups", Key: "error.user.demote_self"}
	errOwnPassword    = &airlock.Error{Code: airlock.CodeForbidden, Detail: "own_account", Key: "error.own_account.password"}
)

// UserChanges names the profile fields to change; nil fields stay as they are.
type UserChanges struct {
	Email     *string
	FirstName *string
	LastName  *string
	Language  *string
	Active    *bool
	Groups    *[]string
	// Version, when set, is the version of the user the change was made
	// on: if the user changed since, the change is refused (conflict)
	// instead of silently undoing the newer change.
	Version *int64
	// CurrentPassword, and a second step the administrator's account has
	// (OTP: a code or a recovery code; Passkey: a passkey's answer
	// confirming ActionEditUser of this user in the browser of session
	// Session), prove it is them when administrators change their own
	// email address or groups, or make someone an administrator.
	CurrentPassword string
	OTP             string
	Passkey         PasskeyAnswer
	Session         string
}

// AdminUpdateUser changes a user's profile. An email change or a
// deactivation kills the user's reset links, sessions and API tokens, and
// losing the admin or mobile group ends the sessions and API tokens (SPEC
// §6.9). An administrator cannot remove their own admin group or deactivate
// themselves, changes their own email only with their current password, and
// the last active administrator stays one, even when two administrators
// demote each other at the same moment on two nodes.
func (s *Service) AdminUpdateUser(ctx context.Context, actor *airlock.User, id string, c UserChanges, m Meta) (*airlock.User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	m = actorMeta(actor, m)
	self := actor != Operator && actor.ID == id
	var code *proof
	actorProof := Proof{Password: c.CurrentPassword, Code: c.OTP, Passkey: c.Passkey}
	proved := false // the actor proved it is them to make someone an administrator
	if self {
		// What is never allowed is said before any proof is asked for (and
		// checked again in the transaction, against the current state).
		if c.Active != nil && !*c.Active {
			return nil, errDeactivateSelf
		}
		if c.Groups != nil && actor.HasGroup(airlock.GroupAdmin) && !slices.Contains(*c.Groups, airlock.GroupAdmin) {
			return nil, errDemoteSelf
		}
	}
	if self && ownRightsChange(actor, c) {
		if c.Email != nil {
			if err := airlock.CheckEmail(*c.Email); err != nil {
				return nil, err // bad input is refused before any password check
			}
		}
		// With a session or a token alone, nobody changes where their reset
		// links go or what their account may do: the account page's proof.
		var err error
		if code, err = s.proveSelfFully(ctx, actor, c.Session, ActionEditUser(id), actorProof, m); err != nil {
			return nil, err
		}
	} else if !self && c.Groups != nil && slices.Contains(*c.Groups, airlock.GroupAdmin) {
		target, err := s.AdminGetUser(ctx, actor, id)
		if err != nil {
			return nil, err
		}
		if !target.HasGroup(airlock.GroupAdmin) {
			if code, err = s.proveGrant(ctx, actor, c.Session, ActionEditUser(id), actorProof, m); err != nil {
				return nil, err
			}
			proved = true
		}
	}
	if self {
		// An administrator's edits of their own account are self-service
		// writes like the account page's, and limited alike.
		if err := s.reserveSelf(ctx, actor, s.clock.Now(), m); err != nil {
			return nil, err
		}
	}
	var updated *airlock.User
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		// One administrator change at a time across nodes, so that the
		// count of administrators below is still true when this commits.
		if err := tx.LockAdmins(ctx); err != nil {
			return err
		}
		// Locked: an edit racing a deactivation reads it, never undoes it.
		u, err := s.adminTarget(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if c.Version != nil && *c.Version != u.Version {
			return errStaleUser
		}
		before := *u
		before.Groups = slices.Clone(u.Groups)
		if c.Email != nil {
			u.Email = *c.Email
		}
		if c.FirstName != nil {
			u.FirstName = *c.FirstName
		}
		if c.LastName != nil {
			u.LastName = *c.LastName
		}
		if c.Language != nil {
			u.Language = *c.Language
		}
		if c.Active != nil {
			u.Active = *c.Active
		}
		if c.Groups != nil {
			u.Groups = *c.Groups
		}
		if err := normalizeProfile(u); err != nil {
			return err
		}
		wasAdmin := before.Active && before.HasGroup(airlock.GroupAdmin)
		isAdmin := u.Active && u.HasGroup(airlock.GroupAdmin)
		if !self && !before.HasGroup(airlock.GroupAdmin) && u.HasGroup(airlock.GroupAdmin) && !proved && actor != Operator {
			// Lost the group since the check above: the grant needs the proof.
			return errStaleUser
		}
		if self {
			if !u.Active {
				return errDeactivateSelf
			}
			if wasAdmin && !isAdmin {
				return errDemoteSelf
			}
		}
		if wasAdmin && !isAdmin {
			n, err := tx.CountActiveAdmins(ctx)
			if err != nil {
				return err
			}
			if n <= 1 {
				return &airlock.Error{Code: airlock.CodeConflict, Field: "groups", Key: "error.user.last_admin"}
			}
		}
		u.UpdatedAt = s.clock.Now()
		emailChanged := airlock.NormalizeEmail(before.Email) != airlock.NormalizeEmail(u.Email)
		lostGroup := before.HasGroup(airlock.GroupAdmin) && !u.HasGroup(airlock.GroupAdmin) ||
			before.HasGroup(airlock.GroupMobile) && !u.HasGroup(airlock.GroupMobile)
		// What the change takes away is revoked before the row is updated:
		// changing the (unique) email takes PostgreSQL's strongest row lock,
		// which waits for sign-ins and refreshes that reference the user; they
		// must not in turn wait for token rows this transaction already holds.
		switch {
		case emailChanged:
			// The old address must not keep a way in.
			err = s.revokeAccess(ctx, tx, u, revokeAll, "email_changed", u.UpdatedAt, m)
		case before.Active && !u.Active:
			err = s.revokeAccess(ctx, tx, u, revokeAll, "deactivated", u.UpdatedAt, m)
		case lostGroup:
			err = s.revokeAccess(ctx, tx, u, revokeSessionsAndTokens, "group_removed", u.UpdatedAt, m)
		}
		if err != nil {
			return err
		}
		if err := s.useProof(ctx, tx, code, u.UpdatedAt, m); err != nil {
			return err
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		updated = u
		return s.audit(ctx, tx, airlock.AuditUserUpdated, m, u.ID, u.Email, "success", "changed", changedFields(&before, u))
	})
	if err = s.proofOutcome(ctx, code, m, err); err != nil {
		return nil, err
	}
	return updated, nil
}

// ownRightsChange says whether c changes what gets into actor's own
// account: its email address (where reset links go) or its groups.
func ownRightsChange(actor *airlock.User, c UserChanges) bool {
	if c.Email != nil && airlock.NormalizeEmail(*c.Email) != airlock.NormalizeEmail(actor.Email) {
		return true
	}
	if c.Groups == nil {
		return false
	}
	want := slices.Clone(*c.Groups)
	slices.Sort(want)
	have := slices.Clone(actor.Groups)
	slices.Sort(have)
	return !slices.Equal(slices.Compact(want), slices.Compact(have))
}

// changedFields names the fields of a user that b changes from a, space
// separated (an audit event's argument).
func changedFields(a, b *airlock.User) string {
	var f []string
	if a.Email != b.Email {
		f = append(f, "email")
	}
	if a.FirstName != b.FirstName {
		f = append(f, "first_name")
	}
	if a.LastName != b.LastName {
		f = append(f, "last_name")
	}
	if a.Language != b.Language {
		f = append(f, "language")
	}
	if a.Active != b.Active {
		f = append(f, "active")
	}
	if !slices.Equal(a.Groups, b.Groups) {
		f = append(f, "groups")
	}
	return strings.Join(f, " ")
}

// AdminSetPassword sets a user's password without the email flow;
// temporary is what the back office ticks by default. Administrators
// setting their own password prove it is them with their current password,
// like anyone changing their own (the change is then never temporary).
func (s *Service) AdminSetPassword(ctx context.Context, actor *airlock.User, id, newPassword, currentPassword string, temporary bool, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	if _, err := s.AdminGetUser(ctx, actor, id); err != nil {
		return err
	}
	if actor != Operator && actor.ID == id {
		if actor.SecondStep() {
			// The back office asks no second step: the account page does,
			// and a session with a password alone must not change it.
			return errOwnPassword
		}
		_, err := s.ChangePassword(ctx, actor, "", newPassword, Proof{Password: currentPassword}, m)
		return err
	}
	// The administrator's rights are checked again when the password is
	// written (adminInTx, inside setPassword's transaction).
	return s.setPassword(ctx, actor, id, newPassword, temporary, actorMeta(actor, m))
}

// AdminSendReset emails a user a reset link, with the same email, token and
// per-account limit as the self-service flow.
func (s *Service) AdminSendReset(ctx context.Context, actor *airlock.User, id string, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	m = actorMeta(actor, m)
	now := s.clock.Now()
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, id)
		if errors.Is(err, airlock.ErrNotFound) {
			return errNoUser
		}
		if err != nil {
			return err
		}
		if !u.Active {
			return &airlock.Error{Code: airlock.CodeConflict, Key: "error.user.inactive_reset"}
		}
		if err := s.countAccountEmail(ctx, tx, u, now, "error.user.reset_limit", "This user was already sent the maximum number of reset emails for now. Try again later."); err != nil {
			return err
		}
		if err := s.enqueueMail(ctx, tx, mailReset, u, now, false); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditResetEmailSent, m, u.ID, u.Email, "queued", "")
	})
	return err
}

// AdminListAudit lists security events for an administrator.
func (s *Service) AdminListAudit(ctx context.Context, actor *airlock.User, f airlock.AuditFilter) ([]*airlock.AuditEvent, int, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, 0, err
	}
	return s.store.ListAudit(ctx, f)
}
