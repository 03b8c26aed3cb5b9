-- +goose Up
-- Passkeys (WebAuthn credentials). id is the credential id the
-- authenticator chose; the public key is COSE as the authenticator gave
-- it. sign_count is the authenticator's signature counter, written back at
-- every use (a counter that goes back means a cloned authenticator);
-- backup_eligible and backup_state say whether the passkey is synced
-- (eligible) and backed up now; transports, space-separated, help the
-- browser find it; aaguid names the authenticator's model.
CREATE TABLE passkeys (
    id                 BLOB PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    public_key         BLOB NOT NULL,
    attestation_format TEXT NOT NULL DEFAULT '',
    sign_count         BIGINT NOT NULL DEFAULT 0,
    backup_eligible    INTEGER NOT NULL DEFAULT 0,
    backup_state       INTEGER NOT NULL DEFAULT 0,
    transports         TEXT NOT NULL DEFAULT '',
    aaguid             BLOB,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT
);
CREATE INDEX passkeys_user ON passkeys(user_id);

-- A WebAuthn ceremony between its options and the browser's answer:
-- single-use, 5 minutes, its id (stored hashed) in an HttpOnly cookie of
-- the browser that began it, and bound to what it was begun for (bound_hash:
-- the signed-in session registering, the half-signed-in state or the reset
-- link asking for a passkey; empty for a sign-in). state is the library's
-- ceremony data (the challenge), never a secret of the user's.
CREATE TABLE passkey_ceremonies (
    id_hash    BLOB PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    bound_hash BLOB,
    state      BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- How a web session was signed in (the OpenID amr values, space-separated:
-- "pwd", "pwd otp", "hwk user", …); empty for sessions made before.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sessions DROP COLUMN amr;
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
