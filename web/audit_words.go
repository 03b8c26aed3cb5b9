package web

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/i18n"
)

// AuditKinds lists the event kinds, in the order the filter offers them.
var AuditKinds = []string{airlock.AuditSignIn, airlock.AuditSignOut, airlock.AuditResetRequested, airlock.AuditResetLinkOpened,
	airlock.AuditResetCompleted, airlock.AuditPasswordChanged, airlock.AuditSessionsRevoked, airlock.AuditUserCreated,
	airlock.AuditUserUpdated, airlock.AuditUsersImported, airlock.AuditResetEmailSent, airlock.AuditInvitationSent,
	airlock.AuditInvitationAccepted, airlock.AuditEmailFailed, airlock.AuditEmailRetried, airlock.AuditTwoFactor,
	airlock.AuditRateLimited}

// AuditOutcomes lists the outcomes the account package records.
var AuditOutcomes = []string{"success", "failure", "refused", "rate_limited", "queued", "no_account", "inactive",
	"invitation_resent", "invalid", "failed", "refresh_token_reuse"}

// auditDetails are the details the account package records as they are,
// by the key that says them in words.
var auditDetails = map[string]string{
	"password_too_long":                 "admin.audit.detail.password_too_long",
	"no_account":                        "admin.audit.detail.no_account",
	"bad_password":                      "admin.audit.detail.bad_password",
	"inactive":                          "admin.audit.detail.inactive",
	"temporary_password_expired":        "admin.audit.detail.temporary_password_expired",
	"api":                               "admin.audit.detail.api",
	"api: not in group mobile or admin": "admin.audit.detail.api_not_allowed",
	"api: refresh token raced":          "admin.audit.detail.api_raced",
	"api: access token revoked":         "admin.audit.detail.api_signed_out",
	"api: refresh token revoked":        "admin.audit.detail.api_signed_out",
	"expired":                           "admin.audit.detail.link_expired",
	"used":                              "admin.audit.detail.link_used",
	"unknown":                           "admin.audit.detail.link_unknown",
	"bad tokens per IP":                 "admin.audit.detail.limit_links",
	"forgot per IP":                     "admin.audit.detail.limit_forgot",
	"codes per account":                 "admin.audit.detail.limit_codes",
	"self-service per account":          "admin.audit.detail.limit_self",
	"recovery codes replaced":           "admin.audit.detail.recovery_codes_replaced",
	"owner told: codes failed after the password": "admin.audit.detail.owner_told",
	"import":                    "admin.audit.detail.import",
	"enrolled":                  "admin.audit.detail.two_factor_on",
	"disabled":                  "admin.audit.detail.two_factor_off",
	"reset by an administrator": "admin.audit.detail.two_factor_reset",
	"code accepted":             "admin.audit.detail.code_accepted",
	"code already used":         "admin.audit.detail.code_reused",
	"recovery code refused":     "admin.audit.detail.recovery_refused",
}

// AuditFields lists the fields a change of profile names.
var AuditFields = []string{"email", "first_name", "last_name", "language", "active", "groups"}

// AuditRevokeReasons lists why the account package ends a user's sessions.
var AuditRevokeReasons = []string{"email_changed", "deactivated", "group_removed", "password_changed", "signed_out_others", "two_factor_enabled"}

var (
	detailOwnProfile = regexp.MustCompile(`^own profile: \[([a-z_ ]*)\]$`)
	detailChanged    = regexp.MustCompile(`^\[([a-z_ ]*)\]$`)
	detailRevoked    = regexp.MustCompile(`^(email_changed|deactivated|group_removed|password_changed|two_factor_enabled|signed out everywhere else): (\d+) sessions, (\d+) api tokens$`)
	detailTokens     = regexp.MustCompile(`^(\d+) tokens$`)
	detailUsers      = regexp.MustCompile(`^(\d+) users$`)
	detailRecovery   = regexp.MustCompile(`^recovery code used, (\d+) left$`)
	detailCode       = regexp.MustCompile(`^code refused: (.+)$`)
	detailEmail      = regexp.MustCompile(`^([a-z_]+): ([a-z_]+)$`)
)

// auditEvent names an event kind in lang; a kind without words (one
// added since) as it is.
func auditEvent(lang, kind string) string { return known(lang, "admin.audit.event."+kind, kind) }

// auditResult names an outcome in lang.
func auditResult(lang, outcome string) string {
	return known(lang, "admin.audit.result."+outcome, outcome)
}

// auditDetail says an event's detail in lang: the shapes the account
// package writes in words, anything else as it was recorded.
func auditDetail(lang string, e *airlock.AuditEvent) string {
	d := e.Detail
	if d == "" {
		return ""
	}
	if key, ok := auditDetails[d]; ok {
		return T(lang, key)
	}
	n := func(s string) int {
		v, _ := strconv.Atoi(s)
		return v
	}
	if e.Kind == airlock.AuditEmailRetried && i18n.Messages().Has(lang, "email.kind."+d) {
		return T(lang, "email.kind."+d)
	}
	if m := detailOwnProfile.FindStringSubmatch(d); m != nil {
		return T(lang, "admin.audit.detail.own_profile", fields(lang, m[1]))
	}
	if m := detailChanged.FindStringSubmatch(d); m != nil {
		return T(lang, "admin.audit.detail.changed", fields(lang, m[1]))
	}
	if m := detailRevoked.FindStringSubmatch(d); m != nil {
		reason := strings.ReplaceAll(m[1], "signed out everywhere else", "signed_out_others")
		return T(lang, "admin.audit.detail.revoked", T(lang, "admin.audit.reason."+reason), n(m[2]), n(m[3]))
	}
	if m := detailTokens.FindStringSubmatch(d); m != nil {
		return T(lang, "admin.audit.detail.tokens", n(m[1]))
	}
	if m := detailUsers.FindStringSubmatch(d); m != nil {
		return T(lang, "admin.count", n(m[1]))
	}
	if m := detailRecovery.FindStringSubmatch(d); m != nil {
		return T(lang, "admin.audit.detail.recovery_used", n(m[1]))
	}
	if m := detailCode.FindStringSubmatch(d); m != nil {
		return T(lang, "admin.audit.detail.code_refused", m[1])
	}
	if m := detailEmail.FindStringSubmatch(d); m != nil && e.Kind == airlock.AuditEmailFailed &&
		i18n.Messages().Has(lang, "email.kind."+m[1]) && i18n.Messages().Has(lang, "email.problem."+m[2]) {
		return T(lang, "admin.audit.detail.email_failed", T(lang, "email.kind."+m[1]), T(lang, "email.problem."+m[2]))
	}
	return d
}

// fields says a list of changed fields ("first_name last_name") in lang.
func fields(lang, list string) string {
	names := strings.Fields(list)
	if len(names) == 0 {
		return T(lang, "admin.audit.field.none")
	}
	for i, f := range names {
		names[i] = known(lang, "admin.audit.field."+f, f)
	}
	return strings.Join(names, ", ")
}

// known is the message key in lang, or fallback when no message has
// that key.
func known(lang, key, fallback string) string {
	if i18n.Messages().Has(lang, key) {
		return T(lang, key)
	}
	return fallback
}
