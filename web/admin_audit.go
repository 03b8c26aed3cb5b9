package web

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

const auditPerPage = 50

// auditRow is one event as the audit page shows it: in words, with the
// client as browser, system and address.
type auditRow struct {
	*airlock.AuditEvent
	Event, Result, Detail string
	Client                client
}

// auditQuery is the audit page's filter, read from the query string (the
// page, and its CSV export, take the same).
type auditQuery struct {
	filter airlock.AuditFilter
	// values are the fields as typed, to show them again and to build links.
	values url.Values
	// noSuchUser: the user field holds an address nobody has, so nothing
	// can match and nothing is asked of the database.
	noSuchUser bool
}

// readAuditQuery reads the filter: a user by address or id, an event
// kind, and days in UTC, both included. A day that is not one, or an end
// before the start, is put on the page under its field and reported
// (valid false): the caller answers 400 with the form shown again.
func (s *Server) readAuditQuery(r *http.Request, p *page) (a auditQuery, valid bool, err error) {
	q := r.URL.Query()
	a.values = url.Values{}
	set := func(k, v string) {
		p.Values[k] = v
		if v != "" {
			a.values.Set(k, v)
		}
	}
	set("user", strings.TrimSpace(q.Get("user")))
	set("kind", q.Get("kind"))
	set("from", strings.TrimSpace(q.Get("from")))
	set("to", strings.TrimSpace(q.Get("to")))
	a.filter.Kind = p.Values["kind"]
	ok := true
	day := func(field string) time.Time {
		v := p.Values[field]
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil || t.Year() < 2000 || t.Year() > 9998 {
			p.FieldErrors[field] = p.T("admin.audit.bad_date")
			ok = false
		}
		return t
	}
	from, to := day("from"), day("to")
	if ok && !from.IsZero() && !to.IsZero() && to.Before(from) {
		p.FieldErrors["to"] = p.T("admin.audit.dates_reversed")
		ok = false
	}
	if !ok {
		return a, false, nil
	}
	a.filter.From = from
	if !to.IsZero() {
		a.filter.To = to.AddDate(0, 0, 1) // the store's end is exclusive: the whole last day
	}
	if who := p.Values["user"]; who != "" {
		// Filter by an email address or an id.
		if !strings.Contains(who, "@") {
			a.filter.UserID = who
			return a, true, nil
		}
		u, err := s.accounts.AdminFindUser(r.Context(), userFrom(r), who)
		switch {
		case err == nil:
			a.filter.UserID = u.ID
		case airlock.ErrorCode(err) == airlock.CodeNotFound:
			a.noSuchUser = true
		default:
			return a, false, err
		}
	}
	return a, true, nil
}

// link is the audit page (or its export, path) with the same filter.
func (a auditQuery) link(path string, page int) string {
	v := url.Values{}
	for k, x := range a.values {
		v[k] = x
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

func (s *Server) auditPage(r *http.Request) *page {
	p := s.newPage(r, "", "admin.audit.title")
	p.Data["Wide"] = true
	p.Data["Kinds"] = AuditKinds
	p.Data["DateFields"] = []string{"from", "to"}
	p.form("user", "kind", "from", "to")
	return p
}

// auditRequest reads the audit filter of the page and the export; false
// when it has answered (the page with the filter's errors, or an error).
func (s *Server) auditRequest(w http.ResponseWriter, r *http.Request) (*page, auditQuery, bool) {
	p := s.auditPage(r)
	a, valid, err := s.readAuditQuery(r, p)
	switch {
	case err != nil:
		s.renderError(w, r, err)
		return nil, a, false
	case !valid:
		s.render(w, http.StatusBadRequest, "admin_audit", p)
		return nil, a, false
	}
	return p, a, true
}

func (s *Server) handleAdminAudit(w http.ResponseWriter, r *http.Request) {
	p, a, ok := s.auditRequest(w, r)
	if !ok {
		return
	}
	page := pageNumber(r.URL.Query())
	f := a.filter
	f.Limit, f.Offset = auditPerPage, (page-1)*auditPerPage
	var events []*airlock.AuditEvent
	var total int
	var err error
	if !a.noSuchUser {
		if events, total, err = s.accounts.AdminListAudit(r.Context(), userFrom(r), f); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	rows := make([]auditRow, len(events))
	for i, e := range events {
		rows[i] = auditRow{AuditEvent: e, Event: auditEvent(p.Lang, e.Kind), Result: auditResult(p.Lang, e.Outcome),
			Detail: AuditDetail(p.Lang, e), Client: parseUserAgent(e.UserAgent)}
	}
	p.Data["Events"] = rows
	p.Data["Total"] = total
	p.Data["Listed"] = true
	switch {
	case total > int(maxAuditExport.Load()):
		p.Data["TooManyToExport"] = int(maxAuditExport.Load())
	case total > 0:
		p.Data["CSV"] = a.link("/admin/audit.csv", 1)
	}
	p.Data["NoSuchUser"] = a.noSuchUser
	if page > 1 {
		p.Data["Prev"] = a.link("/admin/audit", page-1)
	}
	if page*auditPerPage < total {
		p.Data["Next"] = a.link("/admin/audit", page+1)
	}
	s.render(w, http.StatusOK, "admin_audit", p)
}

// auditFileName names an export by the days it covers (UTC, as its
// times): audit-2026-03-01-to-2026-03-07.csv, with "start" or "now" for
// an open end.
func auditFileName(f airlock.AuditFilter) string {
	from, to := "start", "now"
	if !f.From.IsZero() {
		from = f.From.UTC().Format(time.DateOnly)
	}
	if !f.To.IsZero() {
		to = f.To.UTC().AddDate(0, 0, -1).Format(time.DateOnly) // the filter's end is the day after, exclusive
	}
	return "audit-" + from + "-to-" + to + ".csv"
}

// maxAuditExport is the most events one CSV export holds: more would keep
// the database busy for long (the store pages by offset); the page asks to
// narrow the filter instead. Atomic: a test lowers it while others run.
var maxAuditExport = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(100000)
	return &n
}()

// auditExportBatch is how many events each query of an export reads (the
// store's largest page).
const auditExportBatch = 1000

// handleAdminAuditCSV exports the events the audit page's filter selects,
// all of them, as CSV for a spreadsheet: in the administrator's language,
// each event's ids next to its words, the full user agent. No cell can run
// as a formula (csvCell).
func (s *Server) handleAdminAuditCSV(w http.ResponseWriter, r *http.Request) {
	p, a, ok := s.auditRequest(w, r)
	if !ok {
		return
	}
	f := a.filter
	f.Limit = auditExportBatch
	var first []*airlock.AuditEvent
	total := 0
	var err error
	if !a.noSuchUser {
		if first, total, err = s.accounts.AdminListAudit(r.Context(), userFrom(r), f); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	if limit := int(maxAuditExport.Load()); total > limit {
		p.Error = p.T("admin.audit.csv.too_many", limit)
		s.render(w, http.StatusBadRequest, "admin_audit", p)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+auditFileName(f)+`"`)
	h.Set("Content-Language", p.Lang)
	// A byte order mark, so that spreadsheets read the file as UTF-8.
	io.WriteString(w, "\ufeff")
	out := newQuotingCSV(w)
	header := []string{"admin.audit.csv.time", "admin.audit.kind", "admin.audit.csv.event_id", "admin.audit.outcome", "admin.audit.csv.outcome_id",
		"admin.audit.csv.detail", "admin.audit.actor", "admin.audit.subject", "admin.audit.csv.subject_id", "admin.audit.csv.ip",
		"admin.audit.csv.browser", "admin.audit.csv.os", "admin.audit.csv.user_agent"}
	for i, k := range header {
		header[i] = csvCell(p.T(k))
	}
	out.Write(header)
	// Events are listed newest first; one written later than the export
	// began pushes the others down a page, so an event is written only if
	// older (smaller id) than the last one written: none twice.
	var last int64
	for batch, offset := first, 0; len(batch) > 0; {
		for _, e := range batch {
			if last != 0 && e.ID >= last {
				continue
			}
			last = e.ID
			c := parseUserAgent(e.UserAgent)
			actor := e.ActorEmail
			switch {
			case actor != "":
			case e.ActorID == account.Operator.ID:
				actor = p.T("admin.audit.operator")
			default:
				actor = e.ActorID
			}
			subject := e.SubjectEmail
			if subject == "" {
				subject = e.Subject
			}
			row := []string{e.At.UTC().Format(time.RFC3339), auditEvent(p.Lang, e.Kind), e.Kind, auditResult(p.Lang, e.Outcome), e.Outcome,
				AuditDetail(p.Lang, e), actor, subject, e.SubjectID, e.IP, c.Browser, c.OS, e.UserAgent}
			for i, v := range row {
				row[i] = csvCell(v)
			}
			out.Write(row)
		}
		if offset += len(batch); offset >= total || offset >= int(maxAuditExport.Load()) {
			break
		}
		f.Offset = offset
		var err error
		if batch, _, err = s.accounts.AdminListAudit(r.Context(), userFrom(r), f); err != nil {
			// The status is sent: the file ends here, and the log says why.
			s.log.Error("audit export", "err", err)
			break
		}
	}
	out.Flush()
}

// quotingCSV writes CSV (RFC 4180) with every cell quoted. encoding/csv
// quotes only cells holding a comma, but a spreadsheet set to a language
// whose list separator is ";" (French, German…) splits unquoted text at
// ";", and a piece such as "=1+2" after one would run as a formula.
type quotingCSV struct{ w *bufio.Writer }

func newQuotingCSV(w io.Writer) *quotingCSV { return &quotingCSV{w: bufio.NewWriter(w)} }

// Write writes one row, each cell between quotes (a quote doubled).
func (q *quotingCSV) Write(row []string) {
	for i, cell := range row {
		if i > 0 {
			q.w.WriteByte(',')
		}
		q.w.WriteByte('"')
		q.w.WriteString(strings.ReplaceAll(cell, `"`, `""`))
		q.w.WriteByte('"')
	}
	q.w.WriteString("\r\n")
}

// Flush sends what is buffered.
func (q *quotingCSV) Flush() { q.w.Flush() }

// csvCell makes text safe for a spreadsheet cell: control characters and
// the like (whatever a client sent) replaced, and a cell that a
// spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
// carriage return) prefixed with ' so that it stays text.
func csvCell(s string) string {
	s = airlock.CleanText(s, 3*len(s)) // each byte becomes at most U+FFFD
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
