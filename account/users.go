package account

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// NewUser is what creating a user takes.
type NewUser struct {
	Email     string
	FirstName string
	LastName  string
	Language  string
	Groups    []string
	Password  string // empty: none set; the user resets it
	Temporary bool
}

const maxNameLen = 100

func checkName(field, v string) error {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxNameLen || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return &airlock.Error{Code: airlock.CodeInvalid, Field: field, Message: fmt.Sprintf("The %s must be at most %d characters, on one line.", strings.ReplaceAll(field, "_", " "), maxNameLen)}
	}
	return nil
}

func normalizeProfile(u *airlock.User) error {
	u.Email = strings.TrimSpace(u.Email)
	u.FirstName, u.LastName = strings.TrimSpace(u.FirstName), strings.TrimSpace(u.LastName)
	if err := airlock.CheckEmail(u.Email); err != nil {
		return err
	}
	if err := checkName("first_name", u.FirstName); err != nil {
		return err
	}
	if err := checkName("last_name", u.LastName); err != nil {
		return err
	}
	if u.Language == "" {
		u.Language = "en"
	}
	if !airlock.ValidLanguage(u.Language) {
		return &airlock.Error{Code: airlock.CodeInvalid, Field: "language", Message: "The language must be en or fr."}
	}
	groups := []string{}
	for _, g := range u.Groups {
		if !airlock.ValidGroup(g) {
			return &airlock.Error{Code: airlock.CodeInvalid, Field: "groups", Message: fmt.Sprintf("Unknown group %q.", g)}
		}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	u.Groups = groups
	return nil
}

// CreateUser creates an active user, with a password or without one.
func (s *Service) CreateUser(ctx context.Context, n NewUser, m Meta) (*airlock.User, error) {
	now := s.clock.Now()
	u := &airlock.User{Email: n.Email, FirstName: n.FirstName, LastName: n.LastName, Language: n.Language,
		Groups: n.Groups, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := normalizeProfile(u); err != nil {
		return nil, err
	}
	if n.Password != "" {
		hash, err := s.newHash(ctx, n.Password, u)
		if err != nil {
			return nil, err
		}
		u.PasswordHash, u.PasswordChangedAt = hash, now
		if n.Temporary {
			u.MustChangePassword, u.TempPasswordExpiresAt = true, now.Add(s.cfg.TempPasswordTTL)
		}
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	u.ID = id
	err = s.store.Update(ctx, func(tx airlock.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, airlock.AuditUserCreated, m, u.ID, u.Email, "success", "")
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ListUsers returns a page of users.
func (s *Service) ListUsers(ctx context.Context, f airlock.UserFilter) ([]*airlock.User, int, error) {
	return s.store.ListUsers(ctx, f)
}

// UserByEmail finds a user by email.
func (s *Service) UserByEmail(ctx context.Context, email string) (*airlock.User, error) {
	return s.store.UserByEmail(ctx, email)
}
