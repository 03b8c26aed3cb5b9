-- +goose Up
-- Two-step sign-in (TOTP). The key is sealed (AES-GCM, AIRLOCK_SECRET_KEY):
-- never stored in clear. totp_enabled_at is NULL while enrolment is not
-- confirmed; totp_last_step is the last code step accepted, so that no code
-- is accepted twice.
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

-- Recovery codes, stored hashed (SHA-256 of a 100-bit random code), each
-- usable once.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- The half-signed-in state between the password and the code: short-lived,
-- bound to the browser that holds its id (stored hashed).
CREATE TABLE two_factor_challenges (
    id_hash    BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_epoch BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    next_path  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX two_factor_challenges_user ON two_factor_challenges(user_id);

-- +goose Down
DROP TABLE two_factor_challenges;
DROP TABLE recovery_codes;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_enabled_at;
ALTER TABLE users DROP COLUMN totp_secret;
