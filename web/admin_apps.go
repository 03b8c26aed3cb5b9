package web

// The back office's "Applications" page: the OpenID Provider's clients,
// as `airlock client` manages them. account decides and audits every
// change; the pages decode the forms and show a secret once.

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// appGrants are the grants the add form offers, in its order.
var appGrants = []string{airlock.GrantAuthorizationCode, airlock.GrantRefreshToken, airlock.GrantClientCredentials, airlock.GrantPassword}

// appNotices are the list's notices (?m=).
var appNotices = map[string]string{"removed": "admin.apps.notice.removed"}

// appSigningAlgs are the token signing algorithms an application may ask
// for, the default first.
var appSigningAlgs = []string{"RS256", "ES256"}

// AppName is an application's name as the pages show it: the built-in
// application of the password grant (migration 16) in the reader's
// language.
func (p *page) AppName(c *airlock.Client) string {
	if c.ID == account.LegacyClientID {
		return p.T("admin.apps.builtin.name")
	}
	return c.Name
}

// BuiltIn reports whether c is the built-in application of the password
// grant, which the pages name and date apart.
func (p *page) BuiltIn(c *airlock.Client) bool { return c.ID == account.LegacyClientID }

// maxAppURIs bounds the lines of a URI box: more is a pasted mistake.
const maxAppURIs = 50

func (s *Server) newAppsPage(r *http.Request, titleKey string) *page {
	p := s.newPage(r, "", titleKey)
	p.Data["Issuer"] = strings.TrimSuffix(s.cfg.PublicURL.String(), "/")
	// Without AIRLOCK_SECRET_KEY the provider is off and serve refuses to
	// start once an application exists: the pages say so before a click.
	p.Data["NoKey"] = s.accounts.Config().SecretBox == nil
	return p
}

func (s *Server) handleAdminApps(w http.ResponseWriter, r *http.Request) {
	if err := edge.CheckQuery(r, "m"); err != nil {
		s.renderError(w, r, err)
		return
	}
	p := s.newAppsPage(r, "admin.apps.title")
	p.Data["Wide"] = true
	if key, ok := appNotices[r.URL.Query().Get("m")]; ok {
		p.Notice = p.T(key)
	}
	apps, err := s.accounts.Clients(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p.Data["Apps"] = apps
	s.render(w, http.StatusOK, "admin_apps", p)
}

func (s *Server) newAppForm(r *http.Request) *page {
	p := s.newAppsPage(r, "admin.apps.new.title")
	p.form("name", "type", "redirect_uri", "post_logout_redirect_uri", "grant", "signing_alg")
	p.focusFirst = true
	p.Data["Grants"], p.Data["SigningAlgs"] = appGrants, appSigningAlgs
	p.Values["signing_alg"] = appSigningAlgs[0]
	// Someone signing in through a browser, and staying signed in.
	p.Data["Chosen"] = []string{airlock.GrantAuthorizationCode, airlock.GrantRefreshToken}
	return p
}

func (s *Server) handleAdminAppNewForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "admin_app_new", s.newAppForm(r))
}

// uriField is what the uri-field template shows: a box of URIs.
type uriField struct {
	Name, Label, Hint, Value, Error string
	Autofocus                       template.HTMLAttr
}

// URIField describes the box of URIs name, labelled by labelKey.
func (p *page) URIField(name, labelKey, hintKey string) uriField {
	return uriField{Name: name, Label: p.T(labelKey), Hint: p.T(hintKey), Value: p.Values[name], Error: p.FieldErrors[name], Autofocus: p.Autofocus(name)}
}

// uriLines reads a box of URIs, one a line; blank lines are skipped.
func uriLines(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func (s *Server) handleAdminAppCreate(w http.ResponseWriter, r *http.Request) {
	p := s.newAppForm(r)
	f, err := edge.ReadForm(w, r, "name", "type", "redirect_uri", "post_logout_redirect_uri", "grant*", "first_party", "signing_alg")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "admin_app_new", p)
		return
	}
	spec := account.ClientSpec{Name: f.Get("name"), Public: f.Get("type") == "public", RedirectURIs: uriLines(f.Get("redirect_uri")),
		PostLogoutURIs: uriLines(f.Get("post_logout_redirect_uri")), Grants: f["grant"], FirstParty: f.Has("first_party"),
		SigningAlg: f.Get("signing_alg")}
	p.Values["name"], p.Values["type"], p.Values["signing_alg"] = f.Get("name"), f.Get("type"), f.Get("signing_alg")
	p.Values["redirect_uri"], p.Values["post_logout_redirect_uri"] = f.Get("redirect_uri"), f.Get("post_logout_redirect_uri")
	p.Data["Chosen"], p.Data["FirstParty"] = append([]string{}, f["grant"]...), spec.FirstParty
	switch {
	case f.Get("type") != "public" && f.Get("type") != "confidential":
		// Whether the app gets a secret is never guessed.
		p.FieldErrors["type"] = p.T("admin.apps.type.missing")
	case len(f["grant"]) == 0:
		// account would choose the default grants: the form asks instead,
		// so that unticking every box never means "the usual ones".
		p.FieldErrors["grant"] = p.T("admin.apps.grant.missing")
	case len(spec.RedirectURIs) > maxAppURIs:
		p.FieldErrors["redirect_uri"] = p.T("admin.apps.too_many_uris", maxAppURIs)
	case len(spec.PostLogoutURIs) > maxAppURIs:
		p.FieldErrors["post_logout_redirect_uri"] = p.T("admin.apps.too_many_uris", maxAppURIs)
	}
	if len(p.FieldErrors) > 0 {
		s.render(w, http.StatusBadRequest, "admin_app_new", p)
		return
	}
	c, secret, err := s.accounts.AddClient(r.Context(), userFrom(r), spec, s.meta(r))
	if err != nil {
		s.render(w, s.applyError(w, p, err), "admin_app_new", p)
		return
	}
	// The answer itself shows the secret: never a redirect, whose URL
	// would carry it into the history (and the page is no-store).
	s.renderAppSecret(w, r, "admin.apps.added.title", c, secret, false)
}

// renderAppSecret shows an application's client_id and, for a confidential
// one, its secret: this once, it is stored hashed.
func (s *Server) renderAppSecret(w http.ResponseWriter, r *http.Request, titleKey string, c *airlock.Client, secret string, rotated bool) {
	p := s.newAppsPage(r, titleKey)
	p.Data["App"], p.Data["Secret"], p.Data["Rotated"] = c, secret, rotated
	s.render(w, http.StatusOK, "admin_app_secret", p)
}

// adminApp loads the application of the path.
func (s *Server) adminApp(w http.ResponseWriter, r *http.Request) *airlock.Client {
	c, err := s.accounts.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		s.renderError(w, r, err)
		return nil
	}
	return c
}

// handleAdminAppConfirm asks before a removal or a new secret: the list
// links here, and only this page's form acts, so a stray click on the
// list ends nobody's sign-in. It works without JavaScript.
func (s *Server) handleAdminAppConfirm(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := s.adminApp(w, r)
		if c == nil {
			return
		}
		if action == "rotate-secret" && c.Public() {
			s.renderError(w, r, &airlock.Error{Code: airlock.CodeInvalid, Key: "error.client.public_secret"})
			return
		}
		key := "admin.apps.remove.title"
		if action == "rotate-secret" {
			key = "admin.apps.rotate.title"
		}
		p := s.newAppsPage(r, key)
		p.Data["App"], p.Data["Action"] = c, action
		s.render(w, http.StatusOK, "admin_app_confirm", p)
	}
}

func (s *Server) handleAdminAppRemove(w http.ResponseWriter, r *http.Request) {
	if _, err := edge.ReadForm(w, r); err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := s.accounts.RemoveClient(r.Context(), userFrom(r), r.PathValue("id"), s.meta(r)); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/applications?m=removed", http.StatusSeeOther)
}

func (s *Server) handleAdminAppRotate(w http.ResponseWriter, r *http.Request) {
	if _, err := edge.ReadForm(w, r); err != nil {
		s.renderError(w, r, err)
		return
	}
	id := r.PathValue("id")
	secret, err := s.accounts.RotateClientSecret(r.Context(), userFrom(r), id, s.meta(r))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	c, err := s.accounts.Client(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderAppSecret(w, r, "admin.apps.rotated.title", c, secret, true)
}
