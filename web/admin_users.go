package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/password"
)

const usersPerPage = 25

// requireAdmin lets only active administrators through (SPEC §6.10); others
// get a 403 page, anonymous visitors the sign-in page.
func (s *Server) requireAdmin(next http.HandlerFunc) http.Handler {
	return s.requireUser(func(w http.ResponseWriter, r *http.Request) {
		if u := userFrom(r); !u.HasGroup(airlock.GroupAdmin) {
			p := s.newPage(r, "", "error.forbidden.title")
			p.Error = p.T("error.forbidden")
			s.render(w, http.StatusForbidden, "error", p)
			return
		}
		next(w, r)
	})
}

func pageNumber(q url.Values) int {
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, 100000)
}

func (s *Server) handleAdminUsers(w http.ResponseWriter, r *http.Request) {
	// A filter given twice, or misspelt, would be used half or not at all
	// while the page looked as if it applied it: refused (SPEC §6.13).
	if err := edge.CheckQuery(r, "q", "group", "active", "email", "invitation", "page", "m", "n"); err != nil {
		s.renderError(w, r, err)
		return
	}
	q := r.URL.Query()
	p := s.newPage(r, "", "admin.users.title")
	p.Data["Wide"] = true
	if q.Get("m") == "imported" {
		if n, err := strconv.Atoi(q.Get("n")); err == nil && n >= 0 {
			p.Notice = p.T("admin.notice.imported", n)
		}
	}
	f := airlock.UserFilter{Query: strings.TrimSpace(q.Get("q")), Limit: usersPerPage}
	if g := q.Get("group"); airlock.ValidGroup(g) {
		f.Group = g
	}
	switch q.Get("active") {
	case "yes":
		f.Active = ptr(true)
	case "no":
		f.Active = ptr(false)
	}
	f.EmailProblems = q.Get("email") == "problems"
	if v := q.Get("invitation"); v == airlock.InvitationPending || v == airlock.InvitationExpired {
		f.Invitation = v
	}
	page := pageNumber(q)
	f.Offset = (page - 1) * usersPerPage
	users, total, err := s.accounts.AdminListUsers(r.Context(), userFrom(r), f)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p.Values["q"], p.Values["group"], p.Values["active"] = f.Query, f.Group, q.Get("active")
	if f.EmailProblems {
		p.Values["email"] = "problems"
	}
	p.Values["invitation"] = f.Invitation
	p.Data["Users"] = users
	// For invited users: the state of their last invitation email, so that
	// "invited" also says whether the email went out.
	invitations, delivery := map[string]string{}, map[string]string{}
	for _, u := range users {
		if invitations[u.ID] = s.accounts.InvitationState(u); invitations[u.ID] == "" {
			continue
		}
		last, err := s.accounts.AdminListEmails(r.Context(), userFrom(r), airlock.EmailFilter{UserID: u.ID, Kind: "invitation", Limit: 1})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if len(last) == 1 {
			delivery[u.ID] = shownState(last[0])
		}
	}
	p.Data["Invitations"], p.Data["InvitationDelivery"] = invitations, delivery
	p.Data["Total"] = total
	p.Data["Groups"] = airlock.Groups
	p.Data["Page"] = page
	pages := (total + usersPerPage - 1) / usersPerPage
	link := func(n int) string {
		v := url.Values{}
		for _, k := range []string{"q", "group", "active", "email", "invitation"} {
			if x := p.Values[k]; x != "" {
				v.Set(k, x)
			}
		}
		v.Set("page", strconv.Itoa(n))
		return "/admin/users?" + v.Encode()
	}
	if page > 1 {
		p.Data["Prev"] = link(page - 1)
	}
	if page < pages {
		p.Data["Next"] = link(page + 1)
	}
	p.Data["Pages"] = max(pages, 1)
	s.render(w, http.StatusOK, "admin_users", p)
}

func ptr[T any](v T) *T { return &v }

// userForm fills the form fields from a user.
func userForm(p *page, u *airlock.User) {
	p.Values["email"], p.Values["first_name"], p.Values["last_name"], p.Values["language"] = u.Email, u.FirstName, u.LastName, u.Language
	p.Data["Active"] = u.Active
	p.Data["UserGroups"] = u.Groups
}

func (s *Server) newUserPage(r *http.Request) *page {
	p := s.newPage(r, "", "admin.new.title")
	p.Data["Groups"] = airlock.Groups
	p.Data["UserGroups"] = []string{}
	p.Data["Temporary"] = true
	p.Data["Invite"] = true // invited by default: the user chooses their own password
	s.confirm(r, p, p.User, "new-user", "/admin/users/new/options", "admin.new.submit_with_passkey",
		"email", "first_name", "last_name", "language", "groups", "invite", "password", "password_confirm", "current_password").Optional = true
	p.focusFirst = true
	p.forOther = true
	s.passwordRules(p, nil)
	p.Values["language"] = "en"
	return p
}

func (s *Server) handleAdminUserNewForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "admin_user_new", s.newUserPage(r))
}

func (s *Server) handleAdminUserCreate(w http.ResponseWriter, r *http.Request) {
	p := s.newUserPage(r)
	f, err := edge.ReadForm(w, r, "email", "first_name", "last_name", "language", "groups*", "password", "password_confirm", "temporary", "invite", "current_password", "otp", "credential")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "admin_user_new", p)
		return
	}
	n := account.NewUser{Email: f.Get("email"), FirstName: f.Get("first_name"), LastName: f.Get("last_name"),
		Language: f.Get("language"), Groups: f["groups"], Password: f.Get("password"), Temporary: f.Has("temporary"), Invite: f.Has("invite"),
		ActorSession: s.cookie(r, sessionCookie)}
	proof := s.proofFrom(w, r, f)
	n.ActorPassword, n.ActorOTP, n.ActorPasskey = proof.Password, proof.Code, proof.Passkey
	p.Values["email"], p.Values["first_name"], p.Values["last_name"], p.Values["language"] = n.Email, n.FirstName, n.LastName, n.Language
	p.Data["UserGroups"], p.Data["Temporary"], p.Data["Invite"] = n.Groups, n.Temporary, n.Invite
	if n.Invite && n.Password != "" {
		p.FieldErrors["invite"] = p.T("admin.new.invite_or_password")
		s.render(w, http.StatusBadRequest, "admin_user_new", p)
		return
	}
	if !password.Same(n.Password, f.Get("password_confirm")) {
		p.FieldErrors["password_confirm"] = p.T("password.mismatch")
		p.focus = "password" // both fields are typed again
		s.render(w, http.StatusUnprocessableEntity, "admin_user_new", p)
		return
	}
	u, err := s.accounts.AdminCreateUser(r.Context(), userFrom(r), n, s.meta(r))
	if err != nil {
		s.render(w, s.applyError(w, p, err), "admin_user_new", p)
		return
	}
	notice := "created"
	switch {
	case n.Invite:
		notice = "invited"
	case n.Password == "":
		notice = "created_no_password"
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.ID)+"?m="+notice, http.StatusSeeOther)
}

// adminUserPage loads the user of the path for the edit page.
func (s *Server) adminUserPage(ctx context.Context, r *http.Request) (*page, *airlock.User, error) {
	u, err := s.accounts.AdminGetUser(ctx, userFrom(r), r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	p := s.newPage(r, "", "admin.user.title")
	p.Data["Wide"] = true // two columns on a wide screen
	// The page is titled with whom it is about; a user without a name by
	// their address, which may break only at its @ and dots.
	p.Title = u.Name()
	if u.FirstName == "" && u.LastName == "" {
		p.Heading = p.Email(u.Email)
	}
	p.forOther = true
	p.Data["Subject"] = u
	p.Data["Self"] = p.User != nil && p.User.ID == u.ID
	p.Data["Invitation"] = s.accounts.InvitationState(u)
	p.Data["Version"] = u.Version
	p.Data["Groups"] = airlock.Groups
	p.Data["Temporary"] = true
	// The profile's proof, asked for some changes only (own email or
	// groups, making an administrator).
	s.confirm(r, p, p.User, "profile", "/admin/users/"+url.PathEscape(u.ID)+"/confirm/options", "admin.save_with_passkey",
		"email", "first_name", "last_name", "language", "groups", "active", "current_password").Optional = true
	s.passwordRules(p, u)
	userForm(p, u)
	if m := r.URL.Query().Get("m"); m == "invited" {
		// The real duration, in the reader's language: AIRLOCK_INVITE_TTL.
		p.Notice = p.T("admin.notice.invited", mail.Duration(s.accounts.Config().InviteTTL, p.Lang))
	} else if key, ok := adminNotices[m]; ok {
		p.Notice = p.T(key)
	}
	emails, err := s.accounts.AdminListEmails(ctx, userFrom(r), airlock.EmailFilter{UserID: u.ID, Limit: 10})
	if err != nil {
		return nil, nil, err
	}
	rows := make([]emailRow, len(emails))
	for i, j := range emails {
		rows[i] = emailRow{ID: j.ID, Kind: j.EmailKind, State: shownState(j), CreatedAt: j.CreatedAt, RunAt: j.RunAt,
			Problem: account.DeliveryProblem(j), CanRetry: j.State == airlock.EmailFailed || j.State == airlock.EmailDeferred}
		if rows[i].Problem != "" {
			rows[i].ServerSaid = j.LastError
		}
	}
	p.Data["Emails"] = rows
	return p, u, nil
}

// shownState is an email's delivery state as the back office says it:
// "kept" for an email the dev mailbox took (delivered nowhere: it is on
// /dev/mail), else its state.
func shownState(j *airlock.Job) string {
	if j.State == airlock.EmailSent && j.Reply == mail.DevMailboxReply {
		return "kept"
	}
	return j.State
}

// emailRow is one of a user's emails on the back office's user page.
type emailRow struct {
	ID         int64
	Kind       string
	State      string
	CreatedAt  time.Time
	RunAt      time.Time
	Problem    string // a key: why it is deferred or failed
	ServerSaid string
	CanRetry   bool
}

func (s *Server) handleAdminRetryEmail(w http.ResponseWriter, r *http.Request) {
	p, u, err := s.adminUserPage(r.Context(), r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if _, err := edge.ReadForm(w, r); err != nil {
		s.render(w, s.applyError(w, p, err), "admin_user", p)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("email"), 10, 64)
	if err != nil {
		s.renderError(w, r, &airlock.Error{Code: airlock.CodeNotFound, Key: "error.no_such_email"})
		return
	}
	if err := s.accounts.AdminRetryEmail(r.Context(), userFrom(r), u.ID, id, s.meta(r)); err != nil {
		if airlock.ErrorCode(err) == airlock.CodeNotFound {
			s.renderError(w, r, err)
			return
		}
		s.render(w, s.applyError(w, p, err), "admin_user", p)
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.ID)+"?m=email_retried", http.StatusSeeOther)
}

var adminNotices = map[string]string{
	"created":             "admin.notice.created",
	"created_no_password": "admin.notice.created_no_password",
	"saved":               "admin.notice.saved",
	"reset_sent":          "admin.notice.reset_sent",
	"password_set":        "admin.notice.password_set",
	"email_retried":       "admin.notice.email_retried",
	"two_factor_reset":    "admin.notice.two_factor_reset",
}

func (s *Server) handleAdminUser(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.adminUserPage(r.Context(), r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "admin_user", p)
}

func (s *Server) handleAdminUserUpdate(w http.ResponseWriter, r *http.Request) {
	p, u, err := s.adminUserPage(r.Context(), r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := edge.ReadForm(w, r, "email", "first_name", "last_name", "language", "active", "groups*", "version", "current_password", "otp", "credential")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "admin_user", p)
		return
	}
	// The form sends every field; an unticked box is absent.
	c := account.UserChanges{Email: ptr(f.Get("email")), FirstName: ptr(f.Get("first_name")), LastName: ptr(f.Get("last_name")),
		Language: ptr(f.Get("language")), Active: ptr(f.Has("active")), Groups: ptr(append([]string{}, f["groups"]...)),
		Session: s.cookie(r, sessionCookie)}
	proof := s.proofFrom(w, r, f)
	c.CurrentPassword, c.OTP, c.Passkey = proof.Password, proof.Code, proof.Passkey
	if f.Has("version") {
		// The form carries the version it showed: a change made meanwhile
		// (a deactivation by another administrator) is not undone by it.
		v, err := strconv.ParseInt(f.Get("version"), 10, 64)
		if err != nil {
			s.render(w, s.applyError(w, p, &airlock.Error{Code: airlock.CodeInvalid, Field: "version", Key: "error.form.malformed"}), "admin_user", p)
			return
		}
		c.Version = &v
	}
	if _, err := s.accounts.AdminUpdateUser(r.Context(), userFrom(r), u.ID, c, s.meta(r)); err != nil {
		if e := airlock.AsError(err); e == nil || e.Detail != "stale" {
			// Show what was typed; after a conflict, show the current values instead.
			p.Values["email"], p.Values["first_name"], p.Values["last_name"], p.Values["language"] = *c.Email, *c.FirstName, *c.LastName, *c.Language
			p.Data["Active"], p.Data["UserGroups"] = *c.Active, *c.Groups
		}
		s.render(w, s.applyError(w, p, err), "admin_user", p)
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.ID)+"?m=saved", http.StatusSeeOther)
}

// handleAdminSendResetConfirm asks before a reset email is sent: the user
// page links here, and only this page's form sends it, so a stray click
// on the user page emails nobody. It works without JavaScript.
func (s *Server) handleAdminSendResetConfirm(w http.ResponseWriter, r *http.Request) {
	u, err := s.accounts.AdminGetUser(r.Context(), userFrom(r), r.PathValue("id"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := s.newPage(r, "", "admin.reset.title")
	p.Data["Subject"] = u
	p.Data["ValidFor"] = mail.Duration(s.accounts.Config().ResetTokenTTL, p.Lang)
	s.render(w, http.StatusOK, "admin_send_reset", p)
}

func (s *Server) handleAdminSetPassword(w http.ResponseWriter, r *http.Request) {
	p, u, err := s.adminUserPage(r.Context(), r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p.Data["PasswordFormOpen"] = true
	p.form("password", "password_confirm")
	f, err := edge.ReadForm(w, r, "password", "password_confirm", "temporary", "current_password")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "admin_user", p)
		return
	}
	p.Data["Temporary"] = f.Has("temporary")
	if !password.Same(f.Get("password"), f.Get("password_confirm")) {
		p.FieldErrors["password_confirm"] = p.T("password.mismatch")
		p.focus = "password" // both fields are typed again
		s.render(w, http.StatusUnprocessableEntity, "admin_user", p)
		return
	}
	// The password is never shown again, not even on an error page.
	if err := s.accounts.AdminSetPassword(r.Context(), userFrom(r), u.ID, f.Get("password"), f.Get("current_password"), f.Has("temporary"), s.meta(r)); err != nil {
		s.render(w, s.applyError(w, p, err), "admin_user", p)
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.ID)+"?m=password_set", http.StatusSeeOther)
}

// adminUserAction handles a button of the user page that carries no field
// (send a reset email, invite, turn two-step sign-in off): the form is
// read, and refused if it holds anything; the action runs in the
// administrator's name; the user page then shows the notice.
func (s *Server) adminUserAction(action func(context.Context, *airlock.User, string, account.Meta) error, notice string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, u, err := s.adminUserPage(r.Context(), r)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if _, err := edge.ReadForm(w, r); err != nil {
			s.render(w, s.applyError(w, p, err), "admin_user", p)
			return
		}
		if err := action(r.Context(), userFrom(r), u.ID, s.meta(r)); err != nil {
			s.render(w, s.applyError(w, p, err), "admin_user", p)
			return
		}
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.ID)+"?m="+notice, http.StatusSeeOther)
	}
}
