package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/airlockhq/airlock"
)

const userColumns = `id, email, first_name, last_name, language, active, must_change_password,
	password_hash, password_changed_at, temp_password_expires_at, created_at, updated_at, auth_epoch, version, invited_at,
	totp_secret, totp_enabled_at, totp_last_step`

// userSelect is what a query reads of a user: its columns and how many
// passkeys it has.
const userSelect = userColumns + `, (SELECT COUNT(*) FROM passkeys k WHERE k.user_id = users.id)`

func scanUser(sc interface{ Scan(...any) error }) (*airlock.User, error) {
	var u airlock.User
	var active, must int
	var changed, tempExp, invited, totpOn sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Language, &active, &must,
		&u.PasswordHash, &changed, &tempExp, &created, &updated, &u.AuthEpoch, &u.Version, &invited,
		&u.TOTPSecret, &totpOn, &u.TOTPLastStep, &u.Passkeys); err != nil {
		return nil, err
	}
	u.Active, u.MustChangePassword = active == 1, must == 1
	u.PasswordChangedAt, u.TempPasswordExpiresAt, u.InvitedAt = fromMS(changed), fromMS(tempExp), fromMS(invited)
	u.TOTPEnabledAt = fromMS(totpOn)
	u.CreatedAt = fromMS(sql.NullInt64{Int64: created, Valid: true})
	u.UpdatedAt = fromMS(sql.NullInt64{Int64: updated, Valid: true})
	return &u, nil
}

// searchFold is how the users list's search compares text: lowercase,
// compatibility forms unfolded, accents dropped ("Émile" and "ÉMILE" are
// "emile"), the letters that carry a stroke rather than an accent as
// people type them without ("Łódź" is "lodz", "Ørsted" "orsted"), spaces
// kept as one.
func searchFold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if plain, ok := strokeFree[r]; ok {
			b.WriteString(plain)
			continue
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// strokeFree spells the lowercase letters NFKD does not take apart.
var strokeFree = map[rune]string{
	'ł': "l", 'ø': "o", 'đ': "d", 'ħ': "h", 'ŧ': "t", 'ı': "i", 'ß': "ss",
	'æ': "ae", 'œ': "oe", 'ð': "d", 'þ': "th", 'ƒ': "f",
}

// searchOf is the users.search column of a user: what the search looks in.
func searchOf(email, first, last string) string {
	return searchFold(email + " " + first + " " + last)
}

// CreateUser inserts u with its groups. A taken email is CodeConflict.
func (q *queries) CreateUser(ctx context.Context, u *airlock.User) error {
	_, err := q.exec(ctx, `INSERT INTO users (`+userColumns+`, email_normalized, search)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.FirstName, u.LastName, u.Language, b2i(u.Active), b2i(u.MustChangePassword),
		u.PasswordHash, ms(u.PasswordChangedAt), ms(u.TempPasswordExpiresAt), u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli(),
		u.AuthEpoch, u.Version, ms(u.InvitedAt), u.TOTPSecret, ms(u.TOTPEnabledAt), u.TOTPLastStep, airlock.NormalizeEmail(u.Email),
		searchOf(u.Email, u.FirstName, u.LastName))
	if isUniqueViolation(err) {
		return &airlock.Error{Code: airlock.CodeConflict, Field: "email", Key: "error.email.taken"}
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return q.setGroups(ctx, u.ID, u.Groups)
}

// UpdateUser writes u's profile fields and groups (not its password) and
// moves its version on (u.Version is updated).
func (q *queries) UpdateUser(ctx context.Context, u *airlock.User) error {
	res, err := q.exec(ctx, `UPDATE users SET email = ?, email_normalized = ?, first_name = ?, last_name = ?, search = ?,
		language = ?, active = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
		u.Email, airlock.NormalizeEmail(u.Email), u.FirstName, u.LastName, searchOf(u.Email, u.FirstName, u.LastName),
		u.Language, b2i(u.Active), u.UpdatedAt.UnixMilli(), u.ID)
	if isUniqueViolation(err) {
		return &airlock.Error{Code: airlock.CodeConflict, Field: "email", Key: "error.email.taken"}
	}
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return airlock.ErrNotFound
	}
	u.Version++
	if _, err := q.exec(ctx, `DELETE FROM user_groups WHERE user_id = ?`, u.ID); err != nil {
		return fmt.Errorf("clear groups: %w", err)
	}
	return q.setGroups(ctx, u.ID, u.Groups)
}

func (q *queries) setGroups(ctx context.Context, userID string, groups []string) error {
	for _, g := range groups {
		if _, err := q.exec(ctx, `INSERT INTO user_groups (user_id, group_name) VALUES (?, ?)`, userID, g); err != nil {
			return fmt.Errorf("insert group: %w", err)
		}
	}
	return nil
}

func (q *queries) loadGroups(ctx context.Context, users ...*airlock.User) error {
	if len(users) == 0 {
		return nil
	}
	byID := make(map[string]*airlock.User, len(users))
	args := make([]any, 0, len(users))
	for _, u := range users {
		byID[u.ID] = u
		u.Groups = []string{}
		args = append(args, u.ID)
	}
	rows, err := q.query(ctx, `SELECT user_id, group_name FROM user_groups WHERE user_id IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")+`) ORDER BY group_name`, args...)
	if err != nil {
		return fmt.Errorf("load groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, g string
		if err := rows.Scan(&id, &g); err != nil {
			return err
		}
		byID[id].Groups = append(byID[id].Groups, g)
	}
	return rows.Err()
}

// userGroups is the user's groups in one column, sorted, comma-separated
// (group names are the system's, without commas): the user and its groups
// in one statement, one round trip. string_agg with ORDER BY is the same in
// PostgreSQL and SQLite (3.44 and later).
const userGroups = `(SELECT string_agg(group_name, ',' ORDER BY group_name) FROM user_groups g WHERE g.user_id = users.id)`

func (q *queries) oneUser(ctx context.Context, where string, arg any) (*airlock.User, error) {
	var groups sql.NullString
	u, err := scanUser(withGroups{q.row(ctx, `SELECT `+userSelect+`, `+userGroups+` FROM users WHERE `+where, arg), &groups})
	if err != nil {
		return nil, notFound(err)
	}
	u.Groups = splitGroups(groups)
	return u, nil
}

// splitGroups reads the userGroups column.
func splitGroups(groups sql.NullString) []string {
	if groups.String == "" {
		return []string{}
	}
	return strings.Split(groups.String, ",")
}

// withGroups scans the userGroups column after the user's.
type withGroups struct {
	sc     interface{ Scan(...any) error }
	groups *sql.NullString
}

func (w withGroups) Scan(dst ...any) error { return w.sc.Scan(append(dst, w.groups)...) }

// UserByID returns the user with that id.
func (q *queries) UserByID(ctx context.Context, id string) (*airlock.User, error) {
	return q.oneUser(ctx, `id = ?`, id)
}

// UserByIDForUpdate returns the user with that id and, on PostgreSQL, holds
// its row lock until the transaction ends. SQLite's write transaction
// already holds the whole database.
func (q *queries) UserByIDForUpdate(ctx context.Context, id string) (*airlock.User, error) {
	return q.oneUser(ctx, `id = ?`+q.lockRow(), id)
}

// UserByEmail returns the user whose normalized email equals email's.
func (q *queries) UserByEmail(ctx context.Context, email string) (*airlock.User, error) {
	return q.oneUser(ctx, `email_normalized = ?`, airlock.NormalizeEmail(email))
}

// UsersByEmails returns the users with these addresses, by normalised
// address (see inChunks).
func (q *queries) UsersByEmails(ctx context.Context, emails []string) (map[string]*airlock.User, error) {
	norm := make([]string, 0, len(emails))
	for _, e := range emails {
		norm = append(norm, airlock.NormalizeEmail(e))
	}
	found, err := q.usersIn(ctx, "email_normalized", norm, "", func(u *airlock.User) string { return airlock.NormalizeEmail(u.Email) })
	if err != nil {
		return nil, fmt.Errorf("users by emails: %w", err)
	}
	return found, nil
}

// UsersByIDsForUpdate returns the users with these ids, by id, each locked
// as by UserByIDForUpdate; they are locked in the order of their ids, so
// that two transactions locking overlapping sets never wait for each other
// in a cycle.
func (q *queries) UsersByIDsForUpdate(ctx context.Context, ids []string) (map[string]*airlock.User, error) {
	found, err := q.usersIn(ctx, "id", ids, " ORDER BY id"+q.lockRow(), func(u *airlock.User) string { return u.ID })
	if err != nil {
		return nil, fmt.Errorf("users by ids: %w", err)
	}
	return found, nil
}

// usersIn reads the users whose column is one of keys (sorted and without
// repeats first, see inChunks), with suffix after the condition, by keyOf.
func (q *queries) usersIn(ctx context.Context, column string, keys []string, suffix string, keyOf func(*airlock.User) string) (map[string]*airlock.User, error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	found := make(map[string]*airlock.User, len(keys))
	err := inChunks(len(keys), func(from, size int) (string, []any) {
		args := make([]any, size)
		for i, k := range keys[from : from+size] {
			args[i] = k
		}
		return `SELECT ` + userSelect + `, ` + userGroups + ` FROM users WHERE ` + column + ` IN (` + rowsOf(size, "?") + `)` + suffix, args
	}, q.queryIn(ctx, func(r *rows) error {
		var groups sql.NullString
		u, err := scanUser(withGroups{r, &groups})
		if err != nil {
			return err
		}
		u.Groups = splitGroups(groups)
		found[keyOf(u)] = u
		return nil
	}))
	return found, err
}

// ListUsers returns a page of users sorted by email, and the total matching.
func (q *queries) ListUsers(ctx context.Context, f airlock.UserFilter) ([]*airlock.User, int, error) {
	var where []string
	var args []any
	if s := strings.TrimSpace(f.Query); s != "" {
		// Case and accents aside, as people type names (see searchFold).
		// A query of accents alone folds to nothing: it matches nobody,
		// rather than everybody.
		folded := searchFold(s)
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(folded) + "%"
		if folded == "" {
			where = append(where, `1 = 0`)
		} else {
			where = append(where, `search LIKE ? ESCAPE '\'`)
			args = append(args, like)
		}
	}
	if f.Group != "" {
		where = append(where, `EXISTS (SELECT 1 FROM user_groups g WHERE g.user_id = users.id AND g.group_name = ?)`)
		args = append(args, f.Group)
	}
	if f.Active != nil {
		where = append(where, `active = ?`)
		args = append(args, b2i(*f.Active))
	}
	switch f.Invitation {
	case airlock.InvitationPending:
		where = append(where, `password_hash = '' AND invited_at >= ?`)
		args = append(args, f.InvitedSince.UnixMilli())
	case airlock.InvitationExpired:
		where = append(where, `password_hash = '' AND invited_at < ?`)
		args = append(args, f.InvitedSince.UnixMilli())
	}
	if f.EmailProblems {
		where = append(where, `EXISTS (SELECT 1 FROM jobs j WHERE j.user_id = users.id AND j.kind = ? AND j.state IN ('failed', 'deferred'))`)
		args = append(args, airlock.JobMail)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := q.row(ctx, `SELECT COUNT(*) FROM users`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := q.query(ctx, `SELECT `+userSelect+` FROM users`+cond+` ORDER BY email_normalized LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var users []*airlock.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	rows.Close()
	if err := q.loadGroups(ctx, users...); err != nil {
		return nil, 0, err
	}
	for _, u := range users {
		sort.Strings(u.Groups)
	}
	return users, total, nil
}

// CountActiveAdmins counts active users in the admin group.
func (q *queries) CountActiveAdmins(ctx context.Context) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM users u JOIN user_groups g ON g.user_id = u.id
		WHERE g.group_name = ? AND u.active = 1`, airlock.GroupAdmin).Scan(&n)
	return n, err
}

// SetProfile changes a user's own name and language.
func (q *queries) SetProfile(ctx context.Context, userID, first, last, language string, at time.Time) error {
	var email string
	if err := q.row(ctx, `SELECT email FROM users WHERE id = ?`, userID).Scan(&email); err != nil {
		return fmt.Errorf("set profile: %w", err)
	}
	_, err := q.exec(ctx, `UPDATE users SET first_name = ?, last_name = ?, search = ?, language = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
		first, last, searchOf(email, first, last), language, at.UnixMilli(), userID)
	if err != nil {
		return fmt.Errorf("set profile: %w", err)
	}
	return nil
}

// SetInvitedAt records when an invitation was sent to the user.
func (q *queries) SetInvitedAt(ctx context.Context, userID string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE users SET invited_at = ? WHERE id = ?`, at.UnixMilli(), userID)
	return err
}

// ExistingEmails returns which of the normalized addresses have a user.
func (q *queries) ExistingEmails(ctx context.Context, normalized []string) (map[string]bool, error) {
	found := map[string]bool{}
	for start := 0; start < len(normalized); start += 500 {
		chunk := normalized[start:min(start+500, len(normalized))]
		args := make([]any, len(chunk))
		for i, e := range chunk {
			args[i] = e
		}
		rows, err := q.query(ctx, `SELECT email_normalized FROM users WHERE email_normalized IN (`+
			strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("existing emails: %w", err)
		}
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				rows.Close()
				return nil, err
			}
			found[e] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// adminLockKey is the PostgreSQL advisory lock taken by every transaction
// that may remove an administrator.
const adminLockKey = 0x61697261646d // "airadm"

// LockAdmins serialises the transactions that may remove an administrator,
// on every node: two administrators demoting each other at once would each
// count two administrators under READ COMMITTED and leave none.
func (q *queries) LockAdmins(ctx context.Context) error {
	return q.lockUntilCommit(ctx, adminLockKey, "administrators")
}

// lockUntilCommit takes PostgreSQL's advisory lock key until the
// transaction ends, named what in an error. SQLite needs none: it runs one
// write transaction at a time.
func (q *queries) lockUntilCommit(ctx context.Context, key int64, what string) error {
	if q.d != postgresDialect {
		return nil
	}
	if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, key); err != nil {
		return fmt.Errorf("lock %s: %w", what, err)
	}
	return nil
}

// BumpAuthEpoch moves the user's epoch on, which ends at once every session
// and token family made in an earlier one.
func (q *queries) BumpAuthEpoch(ctx context.Context, userID string) (int64, error) {
	var epoch int64
	err := q.row(ctx, `UPDATE users SET auth_epoch = auth_epoch + 1 WHERE id = ? RETURNING auth_epoch`, userID).Scan(&epoch)
	if err != nil {
		return 0, fmt.Errorf("bump auth epoch: %w", notFound(err))
	}
	return epoch, nil
}

// SetPassword writes a new password hash and its flags.
func (q *queries) SetPassword(ctx context.Context, userID string, p airlock.PasswordChange) error {
	res, err := q.exec(ctx, `UPDATE users SET password_hash = ?, must_change_password = ?, temp_password_expires_at = ?,
		password_changed_at = ?, updated_at = ? WHERE id = ?`,
		p.Hash, b2i(p.MustChange), ms(p.TempExpiresAt), p.ChangedAt.UnixMilli(), p.ChangedAt.UnixMilli(), userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return airlock.ErrNotFound
	}
	return nil
}

// UpdatePasswordHash replaces the hash only (a rehash at sign-in), and only
// if it is still the one that was verified: a password change committed
// meanwhile wins.
func (q *queries) UpdatePasswordHash(ctx context.Context, userID, oldHash, newHash string) (bool, error) {
	res, err := q.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, newHash, userID, oldHash)
	if err != nil {
		return false, fmt.Errorf("rehash: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
