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
	for _, tc := range []struct {
		kind, detail, en, fr string
	}{
		{airlock.AuditSignIn, "bad_password", "wrong password", "mauvais mot de passe"},
		{airlock.AuditSignIn, "api", "mobile app", "application mobile"},
		{airlock.AuditSignOut, "api: refresh token revoked", "mobile app: signed out", "application mobile : déconnexion"},
		{airlock.AuditUserUpdated, "[last_name]", "changed: last name", "modifié : nom"},
		{airlock.AuditUserUpdated, "[email first_name groups]", "changed: email address, first name, groups", "modifié : adresse e-mail, prénom, groupes"},
		{airlock.AuditUserUpdated, "[]", "changed: nothing", "modifié : rien"},
		{airlock.AuditUserUpdated, "own profile: [language]", "changed by the user: language", "modifié par l'utilisateur : langue"},
		{airlock.AuditSessionsRevoked, "deactivated: 3 sessions, 0 api tokens", "account deactivated — sessions ended: 3, app sign-ins ended: 0",
			"compte désactivé — sessions fermées : 3, connexions des applications fermées : 0"},
		{airlock.AuditSessionsRevoked, "4 tokens", "app sign-ins ended: 4", "connexions des applications fermées : 4"},
		{airlock.AuditUsersImported, "1 users", "1 user", "1 utilisateur"},
		{airlock.AuditUsersImported, "12 users", "12 users", "12 utilisateurs"},
		{airlock.AuditResetLinkOpened, "expired", "link expired", "lien expiré"},
		{airlock.AuditEmailRetried, "invitation", "Invitation", "Invitation"},
		{airlock.AuditEmailFailed, "reset: mailbox_full", "Password reset: The recipient's mailbox is full.", "Réinitialisation du mot de passe : La boîte aux lettres du destinataire est pleine."},
		{airlock.AuditTwoFactor, "recovery code used, 1 left", "recovery code used, 1 left", "code de secours utilisé, 1 restant"},
		{airlock.AuditTwoFactor, "code refused: too old", "code refused: too old", "code refusé : too old"},
		{airlock.AuditSignIn, "something new", "something new", "something new"},
		{airlock.AuditSignIn, "", "", ""},
	} {
		e := &airlock.AuditEvent{Kind: tc.kind, Detail: tc.detail}
		if got := auditDetail("en", e); got != tc.en {
			t.Errorf("%q in English: %q, want %q", tc.detail, got, tc.en)
		}
		if got := auditDetail("fr", e); got != tc.fr {
			t.Errorf("%q in French: %q, want %q", tc.detail, got, tc.fr)
		}
	}
	if got := auditEvent("fr", "something_new"); got != "something_new" {
		t.Errorf("an unknown kind: %q", got)
	}
}
