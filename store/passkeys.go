package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

const passkeyColumns = `id, user_id, name, public_key, attestation_format, sign_count, backup_eligible, backup_state,
	transports, aaguid, created_at, last_used_at`

func scanPasskey(sc interface{ Scan(...any) error }) (*airlock.Passkey, error) {
	var p airlock.Passkey
	var count, created int64
	var be, bs int
	var transports string
	var used sql.NullInt64
	if err := sc.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &p.AttestationFormat, &count, &be, &bs,
		&transports, &p.AAGUID, &created, &used); err != nil {
		return nil, err
	}
	p.SignCount, p.BackupEligible, p.BackupState = uint32(count), be == 1, bs == 1
	p.Transports, p.CreatedAt, p.LastUsedAt = strings.Fields(transports), time.UnixMilli(created).UTC(), fromMS(used)
	return &p, nil
}

// CreatePasskey stores a new passkey. A credential id already stored (the
// same authenticator registered twice) is CodeConflict.
func (q *queries) CreatePasskey(ctx context.Context, p *airlock.Passkey) error {
	_, err := q.exec(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.Name, p.PublicKey, p.AttestationFormat, int64(p.SignCount), b2i(p.BackupEligible), b2i(p.BackupState),
		strings.Join(p.Transports, " "), p.AAGUID, p.CreatedAt.UnixMilli(), ms(p.LastUsedAt))
	if isUniqueViolation(err) {
		return &airlock.Error{Code: airlock.CodeConflict, Key: "error.passkey.exists"}
	}
	if err != nil {
		return fmt.Errorf("insert passkey: %w", err)
	}
	return nil
}

// ListPasskeys returns a user's passkeys, oldest first.
func (q *queries) ListPasskeys(ctx context.Context, userID string) ([]*airlock.Passkey, error) {
	rows, err := q.query(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	defer rows.Close()
	var out []*airlock.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PasskeyByID returns the passkey with that credential id.
func (q *queries) PasskeyByID(ctx context.Context, id []byte) (*airlock.Passkey, error) {
	p, err := scanPasskey(q.row(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err)
	}
	return p, nil
}

// UsePasskey writes a use back in one conditional UPDATE: the counter only
// goes up (an authenticator that keeps none sends zero every time), so of
// two uses carrying one counter, on any node, one is written.
func (q *queries) UsePasskey(ctx context.Context, id []byte, count uint32, backupState bool, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE passkeys SET sign_count = ?, backup_state = ?, last_used_at = ?
		WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`,
		int64(count), b2i(backupState), now.UnixMilli(), id, int64(count), int64(count))
	if err != nil {
		return false, fmt.Errorf("use passkey: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeletePasskey removes one of a user's passkeys.
func (q *queries) DeletePasskey(ctx context.Context, userID string, id []byte) (bool, error) {
	res, err := q.exec(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return false, fmt.Errorf("delete passkey: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeleteUserPasskeys removes every passkey of a user.
func (q *queries) DeleteUserPasskeys(ctx context.Context, userID string) (int, error) {
	res, err := q.exec(ctx, `DELETE FROM passkeys WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete passkeys: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CreatePasskeyCeremony stores a ceremony under way.
func (q *queries) CreatePasskeyCeremony(ctx context.Context, c *airlock.PasskeyCeremony) error {
	var user any
	if c.UserID != "" {
		user = c.UserID
	}
	_, err := q.exec(ctx, `INSERT INTO passkey_ceremonies (id_hash, purpose, user_id, bound_hash, state, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.IDHash, c.Purpose, user, c.BoundHash, c.State, c.CreatedAt.UnixMilli(), c.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert passkey ceremony: %w", err)
	}
	return nil
}

// PasskeyCeremonyByHash returns a ceremony under way.
func (q *queries) PasskeyCeremonyByHash(ctx context.Context, hash []byte) (*airlock.PasskeyCeremony, error) {
	var c airlock.PasskeyCeremony
	var user sql.NullString
	var created, expires int64
	err := q.row(ctx, `SELECT id_hash, purpose, user_id, bound_hash, state, created_at, expires_at FROM passkey_ceremonies WHERE id_hash = ?`, hash).
		Scan(&c.IDHash, &c.Purpose, &user, &c.BoundHash, &c.State, &created, &expires)
	if err != nil {
		return nil, notFound(err)
	}
	c.UserID, c.CreatedAt, c.ExpiresAt = user.String, time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &c, nil
}

// DeletePasskeyCeremony ends a ceremony and reports whether this call
// ended it: of parallel answers to one ceremony, one gets true.
func (q *queries) DeletePasskeyCeremony(ctx context.Context, hash []byte) (bool, error) {
	res, err := q.exec(ctx, `DELETE FROM passkey_ceremonies WHERE id_hash = ?`, hash)
	if err != nil {
		return false, fmt.Errorf("delete passkey ceremony: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
