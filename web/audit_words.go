package web

import (
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
	airlock.AuditRateLimited, airlock.AuditApplication, airlock.AuditPasskey}

// AuditOutcomes lists the outcomes the account package records.
var AuditOutcomes = []string{"success", "failure", "refused", "rate_limited", "queued", "no_account", "inactive",
	"invitation_resent", "invalid", "failed", "refresh_token_reuse"}

// AuditFields lists the fields a change of profile names.
var AuditFields = []string{"email", "first_name", "last_name", "language", "active", "groups"}

// AuditRevokeReasons lists why the account package ends a user's sessions.
var AuditRevokeReasons = []string{"email_changed", "deactivated", "group_removed", "password_changed", "signed_out_others", "two_factor_enabled", "first_passkey"}

// auditArgWords says how an event detail's arguments are put into words,
// by the detail's code: an argument that is itself a code (a reason, a
// list of fields, an email kind) is said in words; a number stays a number
// (for the plural forms); others are shown as recorded.
var auditArgWords = map[string][]func(lang, arg string) any{
	"revoked":       {reasonWords, number, number},
	"changed":       {fields},
	"own_profile":   {fields},
	"tokens":        {number},
	"users":         {number},
	"recovery_used": {number},
	"email_kind":    {emailKindWords},
	"email_failed":  {emailKindWords, emailProblemWords},
	"code_reuse":    {number},
}

func reasonWords(lang, r string) any       { return known(lang, "admin.audit.reason."+r, r) }
func emailKindWords(lang, k string) any    { return known(lang, "email.kind."+k, k) }
func emailProblemWords(lang, p string) any { return known(lang, "email.problem."+p, p) }

func number(_, s string) any {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}

// auditEvent names an event kind in lang; a kind without words (one
// added since) as it is.
func auditEvent(lang, kind string) string { return known(lang, "admin.audit.event."+kind, kind) }

// auditResult names an outcome in lang.
func auditResult(lang, outcome string) string {
	return known(lang, "admin.audit.result."+outcome, outcome)
}

// AuditDetail says an event's detail in lang: its code, with its
// arguments, in the words of the message files (admin.audit.detail.<code>);
// a detail without words (recorded before details were codes) as it was
// recorded.
func AuditDetail(lang string, e *airlock.AuditEvent) string {
	if e.Detail == "" {
		return ""
	}
	key := "admin.audit.detail." + e.Detail
	if !i18n.Messages().Has(lang, key) {
		return e.Detail
	}
	words := auditArgWords[e.Detail]
	args := make([]any, len(e.Args))
	for i, a := range e.Args {
		args[i] = a
		if i < len(words) {
			args[i] = words[i](lang, a)
		}
	}
	return T(lang, key, args...)
}

// fields says a list of changed fields ("first_name last_name") in lang.
func fields(lang, list string) any {
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
