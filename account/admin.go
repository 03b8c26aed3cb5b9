package account

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/airlockhq/airlock"
)

// Administrator actions take the acting user. A nil actor is the local
// operator at the command line, who already holds the database.

var errForbidden = &airlock.Error{Code: airlock.CodeForbidden, Message: "Only administrators can do this."}

// requireAdmin refuses non-administrators (SPEC §6.10).
func requireAdmin(actor *airlock.User) error {
	if actor != nil && (!actor.Active || !actor.HasGroup(airlock.GroupAdmin)) {
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

// AdminListUsers lists users for an administrator.
func (s *Service) AdminListUsers(ctx context.Context, actor *airlock.User, f airlock.UserFilter) ([]*airlock.User, int, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, 0, err
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
		return nil, &airlock.Error{Code: airlock.CodeNotFound, Message: "No such user."}
	}
	return u, err
}

// AdminCreateUser creates a user on an administrator's behalf.
func (s *Service) AdminCreateUser(ctx context.Context, actor *airlock.User, n NewUser, m Meta) (*airlock.User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	return s.CreateUser(ctx, n, actorMeta(actor, m))
}

// UserChanges names the profile fields to change; nil fields stay as they are.
type UserChanges struct {
	Email     *string
	FirstName *string
	LastName  *string
	Language  *string
	Active    *bool
	Groups    *[]string
}

// AdminUpdateUser changes a user's profile. An email change or a
// deactivation kills the user's reset links and sessions (SPEC §6.2). An
// administrator cannot remove their own admin group or deactivate
// themselves, and the last active administrator stays one.
func (s *Service) AdminUpdateUser(ctx context.Context, actor *airlock.User, id string, c UserChanges, m Meta) (*airlock.User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	m = actorMeta(actor, m)
	var updated *airlock.User
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		u, err := tx.UserByID(ctx, id)
		if errors.Is(err, airlock.ErrNotFound) {
			return &airlock.Error{Code: airlock.CodeNotFound, Message: "No such user."}
		}
		if err != nil {
			return err
		}
		before := *u
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
		if actor != nil && actor.ID == u.ID {
			if !u.Active {
				return &airlock.Error{Code: airlock.CodeConflict, Field: "active", Message: "You cannot deactivate your own account."}
			}
			if wasAdmin && !isAdmin {
				return &airlock.Error{Code: airlock.CodeConflict, Field: "groups", Message: "You cannot remove your own administrator group."}
			}
		}
		if wasAdmin && !isAdmin {
			n, err := tx.CountActiveAdmins(ctx)
			if err != nil {
				return err
			}
			if n <= 1 {
				return &airlock.Error{Code: airlock.CodeConflict, Field: "groups", Message: "This is the last active administrator: make someone else an administrator first."}
			}
		}
		u.UpdatedAt = s.clock.Now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		emailChanged := airlock.NormalizeEmail(before.Email) != airlock.NormalizeEmail(u.Email)
		if emailChanged || before.Active && !u.Active {
			// The old address or a deactivated user must not keep a way in.
			if _, err := tx.RevokeResetTokens(ctx, u.ID, u.UpdatedAt); err != nil {
				return err
			}
			n, err := tx.DeleteUserSessions(ctx, u.ID)
			if err != nil {
				return err
			}
			if _, err := tx.RevokeUserAPITokens(ctx, u.ID, u.UpdatedAt); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, airlock.AuditSessionsRevoked, m, u.ID, u.Email, "success", fmt.Sprintf("%d sessions", n)); err != nil {
				return err
			}
		}
		updated = u
		return s.audit(ctx, tx, airlock.AuditUserUpdated, m, u.ID, u.Email, "success", changedFields(&before, u))
	})
	if err != nil {
		return nil, err
	}
	return updated, nil
}

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
	return fmt.Sprint(f)
}

// AdminSetPassword sets a user's password without the email flow;
// temporary is what the back office ticks by default.
func (s *Service) AdminSetPassword(ctx context.Context, actor *airlock.User, id, newPassword string, temporary bool, m Meta) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	if _, err := s.AdminGetUser(ctx, actor, id); err != nil {
		return err
	}
	return s.SetPassword(ctx, id, newPassword, temporary, actorMeta(actor, m))
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
		u, err := tx.UserByID(ctx, id)
		if errors.Is(err, airlock.ErrNotFound) {
			return &airlock.Error{Code: airlock.CodeNotFound, Message: "No such user."}
		}
		if err != nil {
			return err
		}
		if !u.Active {
			return &airlock.Error{Code: airlock.CodeConflict, Message: "This user is inactive: activate the account before sending a reset email."}
		}
		retry, err := limit(ctx, tx, "reset:account:"+u.ID, s.cfg.LimitResetPerAccount, now, true)
		if err != nil {
			return err
		}
		if retry > 0 {
			return &airlock.Error{Code: airlock.CodeRateLimited, RetryAfter: retry,
				Message: "This user was already sent the maximum number of reset emails for now. Try again later."}
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
