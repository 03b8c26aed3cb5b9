// Package softkey is a software passkey authenticator for tests: it answers
// the options a server gives navigator.credentials.create and .get as a
// browser with a platform authenticator would (ES256, no attestation, the
// person verified), so that account's rules run without a browser. The
// browser tests use Chromium's own virtual authenticator instead.
package softkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Key is one authenticator holding passkeys.
type Key struct {
	Origin string
	// Synced makes its passkeys backup eligible and backed up.
	Synced bool
	// NotVerified answers without user verification.
	NotVerified bool
	// NoCounter keeps the signature counter at 0, as many synced passkeys
	// do: a replayed answer is then not caught by its counter.
	NoCounter bool
	creds     []*Cred
}

// Cred is a passkey the authenticator holds.
type Cred struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	SignCount  uint32
	key        *ecdsa.PrivateKey
}

// New returns an authenticator for pages of origin.
func New(origin string) *Key { return &Key{Origin: origin} }

// Clone returns a second authenticator holding copies of k's passkeys, with
// counters set back to count: a cloned authenticator.
func (k *Key) Clone(count uint32) *Key {
	c := &Key{Origin: k.Origin, Synced: k.Synced}
	for _, cr := range k.creds {
		cp := *cr
		cp.SignCount = count
		c.creds = append(c.creds, &cp)
	}
	return c
}

// Creds returns the passkeys held.
func (k *Key) Creds() []*Cred { return k.creds }

var b64 = base64.RawURLEncoding

type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Exclude []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		Allow     []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

func (k *Key) flags() byte {
	f := byte(0x01) // UP
	if !k.NotVerified {
		f |= 0x04
	}
	if k.Synced {
		f |= 0x08 | 0x10
	}
	return f
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// Create answers creation options (as the server sent them, JSON) with a
// new passkey, as PublicKeyCredential.toJSON() does.
func (k *Key) Create(options []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	for _, ex := range o.PublicKey.Exclude {
		for _, c := range k.creds {
			if b64.EncodeToString(c.ID) == ex.ID {
				return nil, fmt.Errorf("InvalidStateError: this authenticator holds one already")
			}
		}
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c := &Cred{ID: make([]byte, 16), RPID: o.PublicKey.RP.ID, UserHandle: handle, key: priv}
	rand.Read(c.ID)
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pad32(priv.X.Bytes()), -3: pad32(priv.Y.Bytes())})
	if err != nil {
		return nil, err
	}
	rpHash := sha256.Sum256([]byte(c.RPID))
	auth := append(rpHash[:], k.flags()|0x40) // AT
	auth = binary.BigEndian.AppendUint32(auth, 0)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(c.ID)))
	auth = append(auth, c.ID...)
	auth = append(auth, cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, err
	}
	k.creds = append(k.creds, c)
	id := b64.EncodeToString(c.ID)
	return json.Marshal(map[string]any{"id": id, "rawId": id, "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(clientData("webauthn.create", o.PublicKey.Challenge, k.Origin)),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal"}},
		"clientExtensionResults": map[string]any{"credProps": map[string]any{"rk": true}}})
}

// Get answers request options with the first passkey they allow (any of
// this server's when they list none), its counter moved on.
func (k *Key) Get(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	var c *Cred
	for _, cr := range k.creds {
		if cr.RPID != o.PublicKey.RPID {
			continue
		}
		if len(o.PublicKey.Allow) == 0 {
			c = cr
			break
		}
		for _, a := range o.PublicKey.Allow {
			if a.ID == b64.EncodeToString(cr.ID) {
				c = cr
			}
		}
	}
	if c == nil {
		return nil, fmt.Errorf("NotAllowedError: no passkey for this request")
	}
	if !k.NoCounter {
		c.SignCount++
	}
	return k.sign(c, o.PublicKey.Challenge)
}

func (k *Key) sign(c *Cred, challenge string) ([]byte, error) {
	cd := clientData("webauthn.get", challenge, k.Origin)
	rpHash := sha256.Sum256([]byte(c.RPID))
	auth := append(rpHash[:], k.flags())
	auth = binary.BigEndian.AppendUint32(auth, c.SignCount)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	id := b64.EncodeToString(c.ID)
	return json.Marshal(map[string]any{"id": id, "rawId": id, "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(auth),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(c.UserHandle)},
		"clientExtensionResults": map[string]any{}})
}

func pad32(b []byte) []byte {
	out := make([]byte, 32)
	copy(out[32-len(b):], b)
	return out
}
