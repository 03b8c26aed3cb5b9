-- +goose Up
-- An audit event's detail is data: a stable code (detail) and its
-- arguments (a JSON array of strings), put into words from the message
-- files when a person reads the log. The fixed English details written
-- before become their codes; details that held numbers or names in
-- English sentences stay as they were written, and are shown so.
ALTER TABLE audit_events ADD COLUMN detail_args TEXT NOT NULL DEFAULT '';
UPDATE audit_events SET detail = 'api_not_allowed' WHERE detail = 'api: not in group mobile or admin';
UPDATE audit_events SET detail = 'api_raced' WHERE detail = 'api: refresh token raced';
UPDATE audit_events SET detail = 'api_signed_out' WHERE detail IN ('api: access token revoked', 'api: refresh token revoked');
UPDATE audit_events SET detail = 'link_expired' WHERE detail = 'expired';
UPDATE audit_events SET detail = 'link_used' WHERE detail = 'used';
UPDATE audit_events SET detail = 'link_unknown' WHERE detail = 'unknown';
UPDATE audit_events SET detail = 'limit_links' WHERE detail = 'bad tokens per IP';
UPDATE audit_events SET detail = 'limit_forgot' WHERE detail = 'forgot per IP';
UPDATE audit_events SET detail = 'limit_codes' WHERE detail = 'codes per account';
UPDATE audit_events SET detail = 'two_factor_on' WHERE detail = 'enrolled';
UPDATE audit_events SET detail = 'two_factor_off' WHERE detail = 'disabled';
UPDATE audit_events SET detail = 'two_factor_reset' WHERE detail = 'reset by an administrator';
UPDATE audit_events SET detail = 'code_accepted' WHERE detail = 'code accepted';
UPDATE audit_events SET detail = 'code_reused' WHERE detail = 'code already used';
UPDATE audit_events SET detail = 'recovery_refused' WHERE detail = 'recovery code refused';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN detail_args;
