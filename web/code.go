package web

// The code from the email: a reset asked for in this browser finishes here
// with the code its email carries beside the link, without the link.

import (
	"net/http"
	"strings"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// codePage is the "enter the code from the email" page.
func (s *Server) codePage(r *http.Request) *page {
	p := s.newPage(r, "", "code.title")
	p.form("code")
	p.focusFirst = true
	return p
}

// handleCodeForm shows the code form, when this browser asked for a link
// (it holds the flow of its forgot request); else it says to ask first.
func (s *Server) handleCodeForm(w http.ResponseWriter, r *http.Request) {
	p := s.codePage(r)
	if s.cookie(r, flowCookie) == "" {
		p.Data["NoFlow"] = true
		p.Error = p.T("error.flow.flow_form")
	}
	s.render(w, http.StatusOK, "reset_code", p)
}

// handleCodeSubmit checks the code typed with this browser's flow, under
// the link's rules (counted per address and per flow; five wrong codes end
// the flow). A right one stands for the link: it is kept in the reset
// cookie, and the reset page goes on as from the link (the two-step
// sign-in code first when the account has one, then the new password).
func (s *Server) handleCodeSubmit(w http.ResponseWriter, r *http.Request) {
	p := s.codePage(r)
	f, err := edge.ReadForm(w, r, "code")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "reset_code", p)
		return
	}
	flow := s.cookie(r, flowCookie)
	if flow == "" {
		// The flow is bound to the browser that asked: none here.
		p.Data["NoFlow"] = true
		p.Error = p.T("error.flow.flow_form")
		s.render(w, http.StatusBadRequest, "reset_code", p)
		return
	}
	p.Values["code"] = f.Get("code")
	link := account.ByCode(flow, f.Get("code"))
	if _, _, err := s.accounts.CheckLink(r.Context(), link, s.meta(r)); err != nil {
		status := s.applyError(w, p, err)
		if e := airlock.AsError(err); e != nil && e.Field == "flow" {
			// Ended (five wrong codes), or not a flow: ask again.
			s.clearCookie(w, flowCookie)
			p.Data["NoFlow"] = true
			p.Error, p.FieldErrors = p.T(e.Key), map[string]string{}
			status = http.StatusGone
		}
		s.render(w, status, "reset_code", p)
		return
	}
	code, _ := account.NormalizeCode(link.Code) // checked: it is one
	s.setCookie(w, resetCookie, flow+"."+code, s.accounts.FlowLife())
	http.Redirect(w, r, "/password/reset", http.StatusSeeOther)
}

// resetLink is the link this browser holds in its reset cookie: a token
// moved there from a link, or a flow and its right code (see
// handleCodeSubmit).
func (s *Server) resetLink(r *http.Request) account.Link {
	v := s.cookie(r, resetCookie)
	if flow, code, ok := strings.Cut(v, "."); ok {
		return account.ByCode(flow, code)
	}
	return account.ByToken(v)
}
