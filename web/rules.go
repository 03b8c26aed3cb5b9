package web

import (
	"github.com/airlockhq/airlock"
)

// passwordRules gives the password fields of p what their hint needs: the
// minimum length of the policy (password.Policy checks it all).
func (s *Server) passwordRules(p *page, _ *airlock.User) {
	p.Data["MinLength"] = s.accounts.Policy().MinLength
}
