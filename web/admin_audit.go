package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/airlockhq/airlock"
)

// AuditKinds lists the event kinds offered as a filter.
var AuditKinds = []string{airlock.AuditSignIn, airlock.AuditSignOut, airlock.AuditResetRequested, airlock.AuditResetLinkOpened,
	airlock.AuditResetCompleted, airlock.AuditPasswordChanged, airlock.AuditSessionsRevoked, airlock.AuditUserCreated,
	airlock.AuditUserUpdated, airlock.AuditResetEmailSent, airlock.AuditRateLimited}

const auditPerPage = 50

func (s *Server) handleAdminAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := s.newPage(r, "", "admin.audit.title")
	p.Data["Wide"] = true
	actor := userFrom(r)
	f := airlock.AuditFilter{Kind: q.Get("kind"), Limit: auditPerPage}
	who := strings.TrimSpace(q.Get("user"))
	noSuchUser := false
	if who != "" {
		// Filter by an email address or an id.
		if strings.Contains(who, "@") {
			u, err := s.accounts.AdminFindUser(r.Context(), actor, who)
			switch {
			case err == nil:
				f.UserID = u.ID
			case airlock.ErrorCode(err) == airlock.CodeNotFound:
				noSuchUser = true // nothing to list: no query at all
			default:
				s.renderError(w, r, err)
				return
			}
		} else {
			f.UserID = who
		}
	}
	page := pageNumber(q)
	f.Offset = (page - 1) * auditPerPage
	var events []*airlock.AuditEvent
	var total int
	if !noSuchUser {
		var err error
		if events, total, err = s.accounts.AdminListAudit(r.Context(), actor, f); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	p.Values["user"], p.Values["kind"] = who, f.Kind
	p.Data["Events"] = events
	p.Data["Total"] = total
	p.Data["Kinds"] = AuditKinds
	link := func(n int) string {
		v := url.Values{}
		if who != "" {
			v.Set("user", who)
		}
		if f.Kind != "" {
			v.Set("kind", f.Kind)
		}
		v.Set("page", strconv.Itoa(n))
		return "/admin/audit?" + v.Encode()
	}
	if page > 1 {
		p.Data["Prev"] = link(page - 1)
	}
	if page*auditPerPage < total {
		p.Data["Next"] = link(page + 1)
	}
	s.render(w, http.StatusOK, "admin_audit", p)
}
