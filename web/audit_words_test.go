package web

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/airlockhq/airlock"
)

// TestEveryAuditKindOffered: the filter offers every kind of event the
// domain declares.
func TestEveryAuditKindOffered(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../store.go")
	if err != nil {
		t.Fatal(err)
	}
	kinds := regexp.MustCompile(`(?m)^\s+Audit[A-Za-z]+\s+= "([a-z_]+)"$`).FindAllStringSubmatch(string(src), -1)
	if len(kinds) < 15 {
		t.Fatalf("only %d kinds found in store.go", len(kinds))
	}
	for _, k := range kinds {
		if !slices.Contains(AuditKinds, k[1]) {
			t.Errorf("the audit filter does not offer %q", k[1])
		}
	}
}

// TestAuditDetailInWords: each detail the account package writes, in
// English and French; anything else as it was recorded.
func TestAuditDetailInWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind, detail string
		args         []string
		en, fr       string
	}{
		{airlock.AuditSignIn, "bad_password", nil, "wrong password", "mauvais mot de passe"},
		{airlock.AuditSignIn, "api", nil, "mobile app", "application mobile"},
		{airlock.AuditSignOut, "api_signed_out", nil, "mobile app: signed out", "application mobile : déconnexion"},
		{airlock.AuditUserUpdated, "changed", []string{"last_name"}, "changed: last name", "modifié : nom"},
		{airlock.AuditUserUpdated, "changed", []string{"email first_name groups"}, "changed: email address, first name, groups", "modifié : adresse e-mail, prénom, groupes"},
		{airlock.AuditUserUpdated, "changed", []string{""}, "changed: nothing", "modifié : rien"},
		{airlock.AuditUserUpdated, "own_profile", []string{"language"}, "changed by the user: language", "modifié par l’utilisateur : langue"},
		{airlock.AuditSessionsRevoked, "revoked", []string{"deactivated", "3", "0"}, "account deactivated — sessions ended: 3, app sign-ins ended: 0",
			"compte désactivé — sessions fermées : 3, connexions des applications fermées : 0"},
		{airlock.AuditSessionsRevoked, "revoked", []string{"two_factor_enabled", "1", "2"}, "two-step sign-in turned on — sessions ended: 1, app sign-ins ended: 2",
			"connexion en deux étapes activée — sessions fermées : 1, connexions des applications fermées : 2"},
		{airlock.AuditSessionsRevoked, "tokens", []string{"4"}, "app sign-ins ended: 4", "connexions des applications fermées : 4"},
		{airlock.AuditUsersImported, "users", []string{"1"}, "1 user", "1 utilisateur"},
		{airlock.AuditUsersImported, "users", []string{"12"}, "12 users", "12 utilisateurs"},
		{airlock.AuditResetLinkOpened, "link_expired", nil, "link expired", "lien expiré"},
		{airlock.AuditEmailRetried, "email_kind", []string{"invitation"}, "Invitation", "Invitation"},
		{airlock.AuditEmailFailed, "email_failed", []string{"reset", "mailbox_full"}, "Password reset: The recipient's mailbox is full.", "Réinitialisation du mot de passe : La boîte aux lettres du destinataire est pleine."},
		{airlock.AuditTwoFactor, "recovery_used", []string{"1"}, "recovery code used, 1 left", "code de secours utilisé, 1 restant"},
		{airlock.AuditTwoFactor, "code_refused", nil, "wrong code", "code erroné"},
		{airlock.AuditTwoFactor, "owner_told", nil, "the user was told by email that their password is known", "l’utilisateur a été prévenu par e-mail que son mot de passe est connu"},
		{airlock.AuditRateLimited, "limit_self", nil, "too many changes to their own account", "trop de modifications de son propre compte"},
		// Recorded before details were codes: shown as recorded.
		{airlock.AuditSessionsRevoked, "deactivated: 3 sessions, 0 api tokens", nil, "deactivated: 3 sessions, 0 api tokens", "deactivated: 3 sessions, 0 api tokens"},
		{airlock.AuditSignIn, "something new", nil, "something new", "something new"},
		{airlock.AuditSignIn, "", nil, "", ""},
	} {
		e := &airlock.AuditEvent{Kind: tc.kind, Detail: tc.detail, Args: tc.args}
		if got := AuditDetail("en", e); got != tc.en {
			t.Errorf("%q %q in English: %q, want %q", tc.detail, tc.args, got, tc.en)
		}
		if got := AuditDetail("fr", e); got != tc.fr {
			t.Errorf("%q %q in French: %q, want %q", tc.detail, tc.args, got, tc.fr)
		}
	}
	if got := auditEvent("fr", "something_new"); got != "something_new" {
		t.Errorf("an unknown kind: %q", got)
	}
}
