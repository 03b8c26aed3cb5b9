package web

import (
	"strings"

	"github.com/airlockhq/airlock"
)

// passwordRules gives the password fields of p what their hint and their
// live checklist (static/app.js) need: the minimum length, and the email
// and names the password must not contain (u's; nil on the new-user form,
// where the script reads them from the form as they are typed). The
// server checks all of it again (password.Policy), with the blocklist.
func (s *Server) passwordRules(p *page, u *airlock.User) {
	p.Data["MinLength"] = s.accounts.Policy().MinLength
	if u == nil {
		return
	}
	local, _, _ := strings.Cut(u.Email, "@")
	p.Data["RulesEmail"] = local
	p.Data["RulesFirstName"] = u.FirstName
	p.Data["RulesLastName"] = u.LastName
}
