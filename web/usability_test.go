package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

// TestFrenchErrorsOnFrenchPages: a domain error is shown in the page's
// language, by its key.
func TestFrenchErrorsOnFrenchPages(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.AdminCreateUser(context.Background(), account.Operator, account.NewUser{Email: "chef@example.com", Language: "fr",
		Password: adminPW, Groups: []string{airlock.GroupAdmin}}, account.Meta{IP: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		form       url.Values
		client     *http.Client
		want       string
	}{
		{"forgot", "/password/forgot", url.Values{"email": {"ada"}}, nil, "Saisissez une adresse e-mail valide, comme nom@exemple.fr."},
		{"forgot empty", "/password/forgot", url.Values{"email": {""}}, nil, "Saisissez une adresse e-mail."},
		{"login", "/login", url.Values{"email": {"ada@"}, "password": {"x"}}, nil, "Saisissez une adresse e-mail valide"},
		{"unknown field", "/password/forgot", url.Values{"email": {"ada@example.com"}, "cc": {"x"}}, nil, "Champ inconnu : « cc »."},
		{"new user", "/admin/users/new", url.Values{"email": {"ada@@example.com"}, "language": {"fr"}}, e.signIn("chef@example.com", adminPW), "Saisissez une adresse e-mail valide"},
		{"new user name", "/admin/users/new", url.Values{"email": {"ada@example.com"}, "first_name": {"A\u202eda"}, "language": {"fr"}}, e.signIn("chef@example.com", adminPW), "Le prénom doit comporter au plus 100 caractères"},
		{"new user taken", "/admin/users/new", url.Values{"email": {"chef@example.com"}, "language": {"fr"}}, e.signIn("chef@example.com", adminPW), "Un utilisateur a déjà cette adresse e-mail."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(tc.client, tc.path, tc.form, "Accept-Language", "fr-FR,fr;q=0.9")
			if r.StatusCode < 400 || !strings.Contains(r.body, `lang="fr"`) || !strings.Contains(r.body, tc.want) {
				t.Fatalf("%d, want the French error %q:\n%s", r.StatusCode, tc.want, r.body)
			}
			if strings.Contains(r.body, "Enter") || strings.Contains(r.body, "already exists") || strings.Contains(r.body, "Unknown field") {
				t.Errorf("English error on a French page:\n%s", r.body)
			}
		})
	}
}
