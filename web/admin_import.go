package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

func (s *Server) importPage(r *http.Request) *page {
	p := s.newPage(r, "", "admin.import.title")
	p.form("file", "invite")
	p.focusFirst = true
	p.Data["Invite"] = true
	return p
}

func (s *Server) handleAdminImportForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "admin_import", s.importPage(r))
}

// handleAdminImport creates the users of an uploaded CSV file, all or
// nothing; a refused file is answered with every bad line and its reason.
func (s *Server) handleAdminImport(w http.ResponseWriter, r *http.Request) {
	p := s.importPage(r)
	// A large file may take longer to upload and import than a request's
	// usual time limits (30 s): an administrator's import gets 10 minutes.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(10 * time.Minute))
	rc.SetWriteDeadline(time.Now().Add(10 * time.Minute))
	// The file is read as it arrives, row by row: never held whole, and
	// however bad, it keeps only its users and a short report.
	var file *account.ImportFile
	f, err := edge.ReadUpload(w, r, "file", func(body io.Reader) (err error) {
		file, err = account.ParseUsersCSV(body)
		return err
	}, "invite")
	if err != nil {
		s.render(w, s.applyError(w, p, err), "admin_import", p)
		return
	}
	if v := f.Get("invite"); f.Has("invite") && v != "on" {
		// A checkbox is "on" or absent: anything else is not a choice we know.
		s.render(w, s.applyError(w, p, &airlock.Error{Code: airlock.CodeInvalid, Field: "invite", Key: "error.import.invite_field"}), "admin_import", p)
		return
	}
	invite := f.Has("invite")
	p.Data["Invite"] = invite
	n, err := s.accounts.AdminImportUsers(r.Context(), userFrom(r), file, invite, s.meta(r), nil)
	if err == nil {
		http.Redirect(w, r, "/admin/users?m=imported&n="+strconv.Itoa(n), http.StatusSeeOther)
		return
	}
	var ie *account.ImportError
	if errors.As(err, &ie) {
		p.Data["Problems"], p.Data["More"], p.Data["Bad"] = ie.Problems, ie.More, len(ie.Problems)+ie.More
		s.render(w, http.StatusUnprocessableEntity, "admin_import", p)
		return
	}
	s.render(w, s.applyError(w, p, err), "admin_import", p)
}
