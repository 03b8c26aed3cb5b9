package web

// The sign-in pages inside an application's authorization request (the
// OpenID Provider's "login URL"): a request waits at /oauth2/continue
// until its person has signed in, done what they must first (a temporary
// password's change, two-step enrolment) and, for another party's
// application, consented; then the provider's callback answers the app.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
	"github.com/airlockhq/airlock/i18n"
)

const (
	continuePath = "/oauth2/continue"
	// callbackPath is the provider's page that answers the application
	// (package provider, PathCallback).
	callbackPath = "/oauth2/authorize/callback"
	// continueCookie keeps, in this browser, the request a forgotten
	// password interrupted, so that the new password leads back to it.
	continueCookie = "airlock_continue"
)

func continueURL(id string) string { return continuePath + "?id=" + url.QueryEscape(id) }

func callbackURL(id string) string { return callbackPath + "?id=" + url.QueryEscape(id) }

// SessionID returns what reads a browser's session id ("" for none) on
// a server of publicURL, for the provider's RP-initiated logout.
func SessionID(publicURL *url.URL) func(*http.Request) string {
	s := &Server{secure: publicURL.Scheme == "https"}
	return func(r *http.Request) string { return s.cookie(r, sessionCookie) }
}

func (s *Server) handleContinue(w http.ResponseWriter, r *http.Request) {
	s.continueAuthorization(w, r, r.URL.Query().Get("id"), false)
}

// handleConsent is the consent page's answer.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	f, err := edge.ReadForm(w, r, "id", "decision")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	id := f.Get("id")
	switch f.Get("decision") {
	case "allow":
		s.continueAuthorization(w, r, id, true)
	case "deny":
		// Only the person asked may refuse: a browser with a session (the
		// consent page is shown to no one else).
		if s.currentUser(r) == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(continueURL(id)), http.StatusSeeOther)
			return
		}
		s.refuse(w, r, id, "access_denied")
	default:
		s.renderError(w, r, &airlock.Error{Code: airlock.CodeInvalid, Key: "error.form.malformed"})
	}
}

// continueAuthorization takes the request as far as this browser can.
func (s *Server) continueAuthorization(w http.ResponseWriter, r *http.Request, id string, consent bool) {
	a, c, err := s.accounts.PendingAuthorization(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	step, err := s.accounts.ContinueAuthorization(r.Context(), id, s.cookie(r, sessionCookie), consent, s.meta(r))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	none := false
	for _, p := range a.Prompt {
		none = none || p == "none"
	}
	switch step {
	case account.StepApproved:
		s.clearCookie(w, continueCookie)
		http.Redirect(w, r, callbackURL(id), http.StatusSeeOther)
	case account.StepSignIn:
		if none {
			s.refuse(w, r, id, "login_required")
			return
		}
		// reauth: the sign-in page shows even to a signed-in browser,
		// whose session is older than the request allows.
		http.Redirect(w, r, "/login?reauth=1&next="+url.QueryEscape(continueURL(id)), http.StatusSeeOther)
	case account.StepReach:
		if none {
			s.refuse(w, r, id, "interaction_required")
			return
		}
		u := s.currentUser(r)
		if u != nil && s.accounts.Reach(u) == account.ReachPasswordChange {
			http.Redirect(w, r, passwordURL(continueURL(id)), http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, twoFactorURL(continueURL(id)), http.StatusSeeOther)
	case account.StepConsent:
		if none {
			s.refuse(w, r, id, "consent_required")
			return
		}
		p := s.newPage(r, "", "consent.title")
		p.Data["ID"], p.Data["App"] = id, c.Name
		p.formTo = redirectSource(a) // Allow and Deny both end at the app
		var asks []string
		for _, sc := range scopesOf(a) {
			if k := "consent.scope." + sc; i18n.Messages().Has(p.Lang, k) {
				asks = append(asks, p.T(k))
			}
		}
		p.Data["Asks"] = asks
		s.render(w, http.StatusOK, "consent", p)
	}
}

// refuse ends the request with an OAuth error the application receives.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, id, code string) {
	if err := s.accounts.RefuseAuthorization(r.Context(), id, code); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, callbackURL(id), http.StatusSeeOther)
}

// scopesOf reads the scopes the request asks for.
func scopesOf(a *airlock.Authorization) []string {
	var p struct {
		Scopes []string `json:"scopes"`
	}
	_ = json.Unmarshal(a.Request, &p) // the provider's own JSON; unreadable means no scopes shown
	return p.Scopes
}

// cspSource is what redirectSource may put in the header: a scheme, or a
// scheme and a host with its port; nothing that could end a directive.
var cspSource = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:(//[A-Za-z0-9.-]+(:[0-9]{1,5})?)?$`)

// redirectSource is the CSP source of where the application asked to be
// answered: the origin of an http(s) redirect URI (a loopback app's port
// included), or a private-use scheme. A bracketed IPv6 host cannot be
// written as a source, so [::1] becomes "http:": the provider accepts
// plain http only on loopback redirects, and the page's form still posts
// to this site only. "" when the request holds no usable URI.
func redirectSource(a *airlock.Authorization) string {
	var p struct {
		RedirectURI string `json:"redirect_uri"`
	}
	if json.Unmarshal(a.Request, &p) != nil {
		return ""
	}
	u, err := url.Parse(p.RedirectURI)
	if err != nil || u.Scheme == "" {
		return ""
	}
	src := strings.ToLower(u.Scheme) + ":"
	if (src == "http:" || src == "https:") && !strings.HasPrefix(u.Host, "[") {
		src += "//" + u.Host
	}
	if !cspSource.MatchString(src) {
		return ""
	}
	return src
}

// forApp prepares a page on the way to an application's pending request
// (next is its /oauth2/continue): the page names the app, and its form
// may end at the app (the redirects after a submission are checked
// against form-action). It returns the request, nil for any other next.
func (s *Server) forApp(r *http.Request, p *page, next string) *airlock.Authorization {
	a, c := s.pendingApp(r, returnTo(next))
	if a == nil {
		return nil
	}
	p.Data["App"] = c.Name
	p.formTo = redirectSource(a)
	return a
}

// pendingApp returns the application a sign-in page's next leads back
// to, and its request, when next is a pending authorization.
func (s *Server) pendingApp(r *http.Request, next string) (*airlock.Authorization, *airlock.Client) {
	path, query, ok := strings.Cut(next, "?")
	if !ok || path != continuePath {
		return nil, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, nil
	}
	a, c, err := s.accounts.PendingAuthorization(r.Context(), q.Get("id"))
	if err != nil {
		return nil, nil
	}
	return a, c
}
