package account

import (
	"context"
	"slices"
	"strings"
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
	Password  string // empty: none set; the user resets it, or is invited
	Temporary bool
	// Invite sends a welcome email with a link to choose a first password
	// (instead of setting one).
	Invite bool
	// ActorPassword, and a second step the acting administrator's account
	// has (ActorOTP: a code or a recovery code; ActorPasskey: a passkey's
	// answer confirming ActionNewAdmin in the browser of session
	// ActorSession), prove it is them when the new user is an administrator.
	ActorPassword string
	ActorOTP      string
	ActorPasskey  PasskeyAnswer
	ActorSession  string
}

const maxNameLen = 100

// checkName refuses names that could hurt where they are shown: control
// characters, bidirectional overrides (which reorder the text after them on
// a page, in an email or in a terminal), line separators, and a name with
// no visible character. Every path that sets a name (CLI, back office, API,
// account page, CSV import) goes through normalizeProfile, hence here.
func checkName(field, v string) error {
	if !airlock.CheckText(v) || utf8.RuneCountInString(v) > maxNameLen {
		key := "error.first_name.invalid"
		if field == "last_name" {
			key = "error.last_name.invalid"
		}
		return &airlock.Error{Code: airlock.CodeInvalid, Field: field, Key: key, Args: []any{maxNameLen}}
	}
	if v != "" && !airlock.Visible(v) {
		// A name is optional, but one that shows as nothing would let an
		// account pass for another, or for no one (SPEC §6.13).
		key := "error.first_name.blank"
		if field == "last_name" {
			key = "error.last_name.blank"
		}
		return &airlock.Error{Code: airlock.CodeInvalid, Field: field, Key: key}
	}
	return nil
}

func normalizeProfile(u *airlock.User) error {
	// Checked as typed (a line break at the end is refused, not trimmed).
	if err := airlock.CheckEmail(u.Email); err != nil {
		return err
	}
	u.Email = strings.Trim(u.Email, " ")
	u.FirstName, u.LastName = strings.TrimSpace(u.FirstName), strings.TrimSpace(u.LastName)
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
		return &airlock.Error{Code: airlock.CodeInvalid, Field: "language", Key: "error.language.invalid"}
	}
	groups := []string{}
	for _, g := range u.Groups {
		if !airlock.ValidGroup(g) {
			return &airlock.Error{Code: airlock.CodeInvalid, Field: "groups", Key: "error.groups.unknown", Args: []any{g}}
		}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	u.Groups = groups
	return nil
}

// createUser creates an active user, with a password or without one, on
// behalf of actor (an administrator or the Operator).
func (s *Service) createUser(ctx context.Context, actor *airlock.User, n NewUser, m Meta) (*airlock.User, error) {
	now := s.clock.Now()
	u := &airlock.User{Email: n.Email, FirstName: n.FirstName, LastName: n.LastName, Language: n.Language,
		Groups: n.Groups, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := normalizeProfile(u); err != nil {
		return nil, err
	}
	if n.Invite && n.Password != "" {
		return nil, &airlock.Error{Code: airlock.CodeInvalid, Field: "password", Key: "error.invite_and_password"}
	}
	var code *proof
	if u.HasGroup(airlock.GroupAdmin) {
		var err error
		if code, err = s.proveGrant(ctx, actor, n.ActorSession, ActionNewAdmin, Proof{Password: n.ActorPassword, Code: n.ActorOTP, Passkey: n.ActorPasskey}, m); err != nil {
			return nil, err
		}
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
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		if err := s.useProof(ctx, tx, code, now, m); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, airlock.AuditUserCreated, m, u.ID, u.Email, "success", ""); err != nil {
			return err
		}
		if n.Invite {
			return s.queueInvitation(ctx, tx, actor, u, now, m)
		}
		return nil
	})
	if err = s.proofOutcome(ctx, code, m, err); err != nil {
		return nil, err
	}
	return u, nil
}

// proveGrant asks the acting administrator to prove it is them (their
// password, and a second step their account has: proveSelfFully) before they make someone an
// administrator: a session or a token alone could otherwise make an
// administrator of its holder's choosing, and through it act on the
// account it came from (SPEC §6.10, §6.15). The command line's operator
// already holds the database. The proof returned, if any, is to be used
// up in the transaction that grants.
func (s *Service) proveGrant(ctx context.Context, actor *airlock.User, sid string, action Action, p Proof, m Meta) (*proof, error) {
	if actor == Operator {
		return nil, nil
	}
	return s.proveSelfFully(ctx, actor, sid, action, p, m)
}
