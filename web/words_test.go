package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/i18n"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/password"
)

// TestEnumeratedKeysExist: the keys that pages build from a value
// ("group.%s", "email.state.%s", "reason.%s", …) exist for every value.
func TestEnumeratedKeysExist(t *testing.T) {
	var keys []string
	for _, g := range airlock.Groups {
		keys = append(keys, "group."+g)
	}
	for _, s := range []string{airlock.EmailQueued, airlock.EmailSending, airlock.EmailSent, airlock.EmailDeferred, airlock.EmailFailed} {
		keys = append(keys, "email.state."+s, "email.state.short."+s)
	}
	for _, k := range mail.Kinds {
		keys = append(keys, "email.kind."+k)
	}
	for _, p := range []string{account.ProblemRefusedAddress, account.ProblemMailboxFull, account.ProblemRejected, account.ProblemTemporary,
		account.ProblemUnreachable, account.ProblemTLS, account.ProblemOther} {
		keys = append(keys, "email.problem."+p)
	}
	for _, r := range []string{password.ReasonTooShort, password.ReasonTooLong, password.ReasonCommon, password.ReasonHasEmail,
		password.ReasonHasName, password.ReasonInvalidText, password.ReasonUnchanged} {
		keys = append(keys, "reason."+r)
	}
	for _, s := range []string{airlock.InvitationPending, airlock.InvitationExpired} {
		keys = append(keys, "admin."+s)
	}
	for _, l := range i18n.Languages {
		keys = append(keys, "lang."+l)
	}
	for _, k := range keys {
		for _, lang := range i18n.Languages {
			if !i18n.Messages().Has(lang, k) {
				t.Errorf("%s has no message %q", lang, k)
			}
		}
	}
}

// TestAcceptLanguage: the browser's languages pick the pages' language,
// and one it refuses (q=0) is never picked.
func TestAcceptLanguage(t *testing.T) {
	e := newEnv(t)
	for header, want := range map[string]string{
		"fr":                          "fr",
		"fr-CA, en;q=0.5":             "fr",
		"fr;q=0":                      "en",
		"fr;q=0, en;q=0.1":            "en",
		"de-DE, fr;q=0.5":             "fr",
		"de-DE":                       "en",
		"en;q=0.2, fr;q=0.8":          "fr",
		"es, fr;q=0, en-US;q=0.1, de": "en",
	} {
		r := e.get(nil, "/login", "Accept-Language", header)
		if !strings.Contains(r.body, `<html lang="`+want+`">`) || r.Header.Get("Content-Language") != want {
			t.Errorf("Accept-Language %q: Content-Language %q, want %s", header, r.Header.Get("Content-Language"), want)
		}
	}
}

// TestPluralsOnPages: "1 user", "2 users"; French uses the singular for 0
// and 1.
func TestPluralsOnPages(t *testing.T) {
	e := newEnv(t)
	e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	e.user("ada@example.com", "violet tractor on the moon")
	_, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: "chef@example.com", Language: "fr",
		Password: adminPW, Groups: []string{airlock.GroupAdmin}}, account.Meta{IP: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	en, fr := e.signIn("admin@example.com", adminPW), e.signIn("chef@example.com", adminPW)
	for _, tc := range []struct {
		c          *http.Client
		path, want string
	}{
		{en, "/admin/users?q=ada%40", ">1 user<"},
		{en, "/admin/users?q=example", ">3 users<"},
		{en, "/admin/users?q=nobody", ">0 users<"},
		{fr, "/admin/users?q=ada%40", ">1 utilisateur<"},
		{fr, "/admin/users?q=nobody", ">0 utilisateur<"},
		{fr, "/admin/users?q=example", ">3 utilisateurs<"},
		{en, "/admin/audit?kind=user_created&user=ada@example.com", ">1 event<"},
		{fr, "/admin/audit?kind=user_created&user=ada@example.com", ">1 événement<"},
		{fr, "/admin/audit?kind=user_created", ">3 événements<"},
		{en, "/admin/users?m=imported&n=1", "1 user imported."},
		{fr, "/admin/users?m=imported&n=1", "1 utilisateur importé."},
		{fr, "/admin/users?m=imported&n=0", "0 utilisateur importé."},
	} {
		if r := e.get(tc.c, tc.path); !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: no %q", tc.path, tc.want)
		}
	}
}
