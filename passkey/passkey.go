// Package passkey speaks WebAuthn for Airlock, through
// github.com/go-webauthn/webauthn: the options a browser is given to make
// or use a passkey, and the checks of its answer (challenge, origin, RP ID,
// signature, user verification, the backup flags). It decides nothing about
// who may do what: package account does, and keeps the ceremonies'
// state, single-use, in the database.
package passkey

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/airlockhq/airlock"
)

// ErrNoDomain: WebAuthn needs the public URL's host to be a domain name
// (localhost included), never an IP address.
var ErrNoDomain = errors.New("passkeys need AIRLOCK_PUBLIC_URL to name a host, not an IP address")

// Timeout is how long a browser is told a ceremony may take; the server
// keeps a ceremony a little longer (account.PasskeyCeremonyTTL).
const Timeout = 4 * time.Minute

// RP is the relying party: this server, by the host and origin of its
// public URL.
type RP struct {
	w *webauthn.WebAuthn
}

// New returns the relying party of a server at publicURL, named name to
// the person (the brand). apps are the origins of the native apps that may
// use its passkeys too (AndroidOrigin); none by default.
func New(publicURL *url.URL, name string, apps ...string) (*RP, error) {
	host := publicURL.Hostname()
	if net.ParseIP(host) != nil {
		return nil, ErrNoDomain
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: name,
		// The only origin: the public URL's (scheme, host, port). An
		// ancestor domain's page or another port cannot use the passkeys.
		RPOrigins: []string{publicURL.Scheme + "://" + publicURL.Host},
		// The apps named in the settings, each by its signing certificate:
		// matched exactly, so only an app signed with that key can answer.
		RPOpaqueOrigins: apps,
		// Passkeys: discoverable, and the person verified (PIN, biometrics)
		// at every use, so that one signs in completely.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		},
		// Airlock trusts no authenticator model over another: no attestation
		// asked, none kept.
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return &RP{w: w}, nil
}

// AndroidOrigin is the origin an Android app signed with the certificate
// of fingerprint (its SHA-256 as keytool prints it, hexadecimal bytes
// separated by colons) gives its passkey answers, through Credential
// Manager: android:apk-key-hash: and the digest in unpadded base64url.
func AndroidOrigin(fingerprint string) (string, error) {
	digest, err := hex.DecodeString(strings.ReplaceAll(fingerprint, ":", ""))
	if err != nil || len(digest) != 32 {
		return "", fmt.Errorf("%q is not a SHA-256 fingerprint", fingerprint)
	}
	return "android:apk-key-hash:" + base64.RawURLEncoding.EncodeToString(digest), nil
}

// User is a person as WebAuthn sees them: a handle (the user's id, which
// says nothing about them), names shown by the authenticator, and their
// passkeys.
type User struct {
	ID          string
	Name        string // the email
	DisplayName string
	Passkeys    []*airlock.Passkey
}

func (u *User) WebAuthnID() []byte          { return []byte(u.ID) }
func (u *User) WebAuthnName() string        { return u.Name }
func (u *User) WebAuthnDisplayName() string { return u.DisplayName }
func (u *User) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(u.Passkeys))
	for _, p := range u.Passkeys {
		out = append(out, credential(p))
	}
	return out
}

// credential is the library's record of a stored passkey.
func credential(p *airlock.Passkey) webauthn.Credential {
	flags := protocol.FlagUserPresent | protocol.FlagUserVerified
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		flags |= protocol.FlagBackupState
	}
	var transports []protocol.AuthenticatorTransport
	for _, t := range p.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{ID: p.ID, PublicKey: p.PublicKey, AttestationFormat: p.AttestationFormat,
		Transport: transports, Flags: webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount}}
}

// BeginRegistration returns the options for navigator.credentials.create
// (JSON) and the ceremony's state to keep until the answer. The user's
// passkeys are excluded: one authenticator holds one of them.
func (rp *RP) BeginRegistration(u *User) (options, state []byte, err error) {
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.WebAuthnCredentials() {
		exclude = append(exclude, c.Descriptor())
	}
	creation, session, err := rp.w.BeginRegistration(u, webauthn.WithExclusions(exclude),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	return encode(creation, session)
}

// FinishRegistration checks the browser's answer (PublicKeyCredential
// as JSON) against the ceremony's state and returns the new passkey, its
// name and owner left for the caller to set.
func (rp *RP) FinishRegistration(u *User, state, response []byte) (*airlock.Passkey, error) {
	var session webauthn.SessionData
	if err := json.Unmarshal(state, &session); err != nil {
		return nil, fmt.Errorf("passkey ceremony state: %w", err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, refused(err, session.Challenge)
	}
	c, err := rp.w.CreateCredential(u, session, parsed)
	if err != nil {
		return nil, refused(err, session.Challenge)
	}
	p := &airlock.Passkey{ID: c.ID, PublicKey: c.PublicKey, AttestationFormat: c.AttestationFormat,
		SignCount: c.Authenticator.SignCount, BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState,
		AAGUID: c.Authenticator.AAGUID}
	for _, t := range c.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	return p, nil
}

// BeginLogin returns the options for navigator.credentials.get (JSON) and
// the ceremony's state. For u nil any passkey of this server may answer
// (a sign-in: the passkey says whose it is); else only u's.
func (rp *RP) BeginLogin(u *User) (options, state []byte, err error) {
	var assertion *protocol.CredentialAssertion
	var session *webauthn.SessionData
	if u == nil {
		assertion, session, err = rp.w.BeginDiscoverableLogin()
	} else {
		assertion, session, err = rp.w.BeginLogin(u)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("begin passkey login: %w", err)
	}
	return encode(assertion, session)
}

// Assertion is a passkey's answer that checked out.
type Assertion struct {
	// Passkey is the stored passkey that answered.
	Passkey *airlock.Passkey
	// SignCount and BackupState are the authenticator's now, to write back.
	SignCount   uint32
	BackupState bool
	// CounterWentBack: the counter is not above the stored one (both zero
	// aside): a copy of the passkey answered (a cloned authenticator).
	CounterWentBack bool
}

// FinishLogin checks the browser's answer against the ceremony's state.
// find returns the stored passkey of a credential id (airlock.ErrNotFound
// when there is none). For u nil the passkey must be discoverable and its
// user handle its owner's id; else it must be one of u's.
func (rp *RP) FinishLogin(u *User, state, response []byte, find func(id []byte) (*airlock.Passkey, error)) (*Assertion, error) {
	var session webauthn.SessionData
	if err := json.Unmarshal(state, &session); err != nil {
		return nil, fmt.Errorf("passkey ceremony state: %w", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, refused(err, session.Challenge)
	}
	var stored *airlock.Passkey
	if u == nil {
		stored, err = find(parsed.RawID)
		if err != nil {
			return nil, err
		}
		// The handle the authenticator keeps must name the passkey's owner.
		if !bytes.Equal(parsed.Response.UserHandle, []byte(stored.UserID)) {
			return nil, refused(errors.New("user handle is not the passkey's owner"), "")
		}
		owner := &User{ID: stored.UserID, Passkeys: []*airlock.Passkey{stored}}
		_, _, err = rp.w.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return owner, nil }, session, parsed)
	} else {
		for _, p := range u.Passkeys {
			if bytes.Equal(p.ID, parsed.RawID) {
				stored = p
			}
		}
		if stored == nil {
			return nil, airlock.ErrNotFound
		}
		_, err = rp.w.ValidateLogin(u, session, parsed)
	}
	if err != nil {
		return nil, refused(err, session.Challenge)
	}
	a := parsed.Response.AuthenticatorData
	count := a.Counter
	return &Assertion{Passkey: stored, SignCount: count, BackupState: a.Flags.HasBackupState(),
		CounterWentBack: count <= stored.SignCount && (count != 0 || stored.SignCount != 0)}, nil
}

// ErrRefused wraps every answer that did not check out: a wrong
// signature, origin or challenge, no user verification, a malformed body.
var ErrRefused = errors.New("passkey answer refused")

// refused wraps err in ErrRefused. The library's details (for the log)
// are kept unless they hold the ceremony's challenge: a refused answer
// does not end the ceremony, and no challenge is ever logged. They are cut
// to maxDetail bytes: they may echo what the answer says (its origin), and
// one unauthenticated request must not write 40 KB to the log.
func refused(err error, challenge string) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" && (challenge == "" || !strings.Contains(pe.DevInfo, challenge)) {
		return fmt.Errorf("%w: %v (%s)", ErrRefused, err, cut(pe.DevInfo, maxDetail))
	}
	return fmt.Errorf("%w: %v", ErrRefused, cut(err.Error(), maxDetail))
}

// maxDetail bounds the details a refusal carries to the log.
const maxDetail = 300

// cut returns s cut to at most n bytes, on a character's boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// encode returns a ceremony's options and state as JSON.
func encode(options any, session *webauthn.SessionData) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, err
	}
	s, err := json.Marshal(session)
	if err != nil {
		return nil, nil, err
	}
	return o, s, nil
}
