package airlock

import (
	"context"
	"time"
)

// Passkey is a WebAuthn credential of a user: a key pair whose private half
// stays in an authenticator (a phone, a security key, a password manager).
// Nothing of it is secret: the server keeps the public key only.
type Passkey struct {
	// ID is the credential id the authenticator chose.
	ID     []byte
	UserID string
	// Name is what the user called it ("Work phone").
	Name string
	// PublicKey is the COSE key the authenticator gave at registration.
	PublicKey         []byte
	AttestationFormat string
	// SignCount is the authenticator's signature counter at the last use; a
	// use whose counter is not above it (both zero aside) comes from a copy.
	SignCount uint32
	// BackupEligible: the passkey may be synced (a password manager, a
	// platform's keychain); BackupState: it is backed up now.
	BackupEligible bool
	BackupState    bool
	// Transports help the browser find the authenticator (usb, nfc, ble,
	// internal, hybrid).
	Transports []string
	// AAGUID names the authenticator's model (zero for many).
	AAGUID     []byte
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Synced says whether the passkey may be copied to the owner's other
// devices (backup eligible), rather than bound to one device.
func (p *Passkey) Synced() bool { return p.BackupEligible }

// Purposes of a PasskeyCeremony.
const (
	CeremonyRegister = "register" // adding a passkey, from the account page
	CeremonySignIn   = "sign_in"  // signing in with a passkey, no password
	CeremonyStep     = "step"     // the second step after a password
	CeremonyReset    = "reset"    // the second step of a reset link
	// CeremonyConfirm: the second step confirming a change the account
	// page guards (adding or removing a passkey, a new password, an
	// administrator's own rights), bound to the session and the change.
	CeremonyConfirm = "confirm"
)

// PasskeyCeremony is a WebAuthn ceremony between the options given to the
// browser and its answer. Only the SHA-256 of its id is stored; it is used
// once and lives a few minutes.
type PasskeyCeremony struct {
	IDHash  []byte
	Purpose string
	// UserID is the user it was begun for ("" for a sign-in, where the
	// passkey says whose it is).
	UserID string
	// BoundHash is the hash of what it was begun for: the session that
	// registers, the half-signed-in state or the reset link that asks for
	// a passkey (nil for a sign-in).
	BoundHash []byte
	// State is the ceremony's data (its challenge), as the WebAuthn
	// library wants it back.
	State     []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PasskeyQueries keep the users' passkeys and the ceremonies under way.
type PasskeyQueries interface {
	CreatePasskey(ctx context.Context, p *Passkey) error
	// ListPasskeys returns a user's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]*Passkey, error)
	PasskeyByID(ctx context.Context, id []byte) (*Passkey, error)
	// UsePasskey writes a use's counter, backup state and time back, only
	// if the stored counter is still below count (or both are zero): false
	// when it is not (a counter that went back, or a concurrent use).
	UsePasskey(ctx context.Context, id []byte, count uint32, backupState bool, now time.Time) (bool, error)
	// DeletePasskey removes one of the user's passkeys; false when the user
	// has none with that id.
	DeletePasskey(ctx context.Context, userID string, id []byte) (bool, error)
	// DeleteUserPasskeys removes every passkey of the user.
	DeleteUserPasskeys(ctx context.Context, userID string) (int, error)

	CreatePasskeyCeremony(ctx context.Context, c *PasskeyCeremony) error
	PasskeyCeremonyByHash(ctx context.Context, hash []byte) (*PasskeyCeremony, error)
	// DeletePasskeyCeremony ends a ceremony; true for the one call that
	// ended it (of parallel answers to one ceremony, one goes on).
	DeletePasskeyCeremony(ctx context.Context, hash []byte) (bool, error)
}
