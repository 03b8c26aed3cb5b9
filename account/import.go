package account

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// ImportColumns are the columns of a users CSV file, in its header row.
var ImportColumns = []string{"email", "first_name", "last_name", "language", "groups"}

// MaxImportRows bounds one import.
const MaxImportRows = 100_000

// MaxImportProblems bounds the bad lines reported: a thoroughly wrong file
// (an attacker's, or a spreadsheet exported the wrong way) must not make a
// report of gigabytes.
const MaxImportProblems = 100

// importTimeLimit bounds the import's one transaction.
const importTimeLimit = 5 * time.Minute

// ImportRow is one user of an import file, with its line number.
type ImportRow struct {
	Line int
	User NewUser
}

// ImportProblem is why one line of an import file was refused: Reason in
// English, Key and Args for the pages (package i18n has their words).
type ImportProblem struct {
	Line   int
	Reason string
	Key    string
	Args   []any
}

// problem returns the ImportProblem of line: the message key, with args
// formatted into both it and the English reason.
func problem(line int, key, reason string, args ...any) ImportProblem {
	return ImportProblem{Line: line, Reason: fmt.Sprintf(reason, args...), Key: key, Args: args}
}

// ImportError lists the bad lines of an import file (the first
// MaxImportProblems of them; More says how many others); nothing was created.
type ImportError struct {
	Problems []ImportProblem
	More     int
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("%d bad lines: nothing was imported", len(e.Problems)+e.More)
}

// importError keeps the first MaxImportProblems problems, sorted by line.
func importError(problems []ImportProblem) *ImportError {
	sortProblems(problems)
	e := &ImportError{Problems: problems}
	if len(problems) > MaxImportProblems {
		e.Problems, e.More = problems[:MaxImportProblems], len(problems)-MaxImportProblems
	}
	return e
}

// ParseUsersCSV reads a users CSV file: a header row naming the columns
// (email required; first_name, last_name, language, groups optional, in any
// order; groups separated by spaces or semicolons), then one user per row.
// Every bad line is reported, not only the first.
func ParseUsersCSV(r io.Reader) ([]ImportRow, error) {
	cr := csv.NewReader(&lineLimit{r: r, max: maxImportLine})
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ImportError{Problems: []ImportProblem{problem(1, "import.empty", "the file is empty: it needs a header row %s", strings.Join(ImportColumns, ","))}}
	}
	if err != nil {
		return nil, &ImportError{Problems: []ImportProblem{csvProblem(1, err)}}
	}
	col := map[string]int{}
	var problems []ImportProblem
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) // a BOM, as spreadsheets write
		known := false
		for _, c := range ImportColumns {
			known = known || h == c
		}
		if len(problems) > MaxImportProblems {
			break
		}
		if _, dup := col[h]; dup || !known {
			problems = append(problems, problem(1, "import.column", "unexpected column %q: the columns are %s", airlock.CleanText(h, 60), strings.Join(ImportColumns, ",")))
			continue
		}
		col[h] = i
	}
	if _, ok := col["email"]; !ok && len(problems) == 0 {
		problems = append(problems, problem(1, "import.no_email_column", "no email column in the header row"))
	}
	if len(problems) > 0 {
		return nil, importError(problems)
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var rows []ImportRow
	for {
		line, _ := cr.FieldPos(0)
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			problems = append(problems, csvProblem(line, err))
			if !errors.As(err, &pe) || pe.Err != csv.ErrFieldCount {
				break // the rest of the file cannot be read reliably
			}
			continue
		}
		line, _ = cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) != len(header) {
			problems = append(problems, problem(line, "import.field_count", "%d fields, but the header has %d", len(rec), len(header)))
			continue
		}
		if len(rows) >= MaxImportRows {
			problems = append(problems, problem(line, "import.too_many", "more than %d users in one file: split it", MaxImportRows))
			break
		}
		groups := strings.FieldsFunc(get(rec, "groups"), func(r rune) bool { return r == ';' || r == ' ' || r == ',' })
		rows = append(rows, ImportRow{Line: line, User: NewUser{Email: get(rec, "email"), FirstName: get(rec, "first_name"),
			LastName: get(rec, "last_name"), Language: strings.ToLower(strings.TrimSpace(get(rec, "language"))), Groups: groups}})
	}
	if len(problems) > 0 {
		return nil, importError(problems)
	}
	return rows, nil
}

// maxImportLine bounds one line of an import file: a real row is a few
// hundred bytes, and a line of millions of fields would cost gigabytes.
const maxImportLine = 8 << 10

var errLongLine = fmt.Errorf("a line is longer than %d KiB", maxImportLine>>10)

// lineLimit fails the read of a line longer than max bytes.
type lineLimit struct {
	r   io.Reader
	max int
	run int // bytes since the last newline
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.run = 0
		} else if l.run++; l.run > l.max {
			return i, errLongLine
		}
	}
	return n, err
}

func csvProblem(line int, err error) ImportProblem {
	if errors.Is(err, errLongLine) {
		return problem(line, "import.long_line", "a line is longer than %d KiB", maxImportLine>>10)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return problem(line, "import.csv", "not valid CSV: %s", err.Error())
}

// AdminImportUsers creates every user of rows, all or nothing: a file with
// any bad row (invalid field, an address twice in the file, an address that
// already has an account) creates nobody, and every bad row is reported
// with its line and reason. With invite, each new user is sent an
// invitation. progress, when not nil, is told how far the import is.
func (s *Service) AdminImportUsers(ctx context.Context, actor *airlock.User, rows []ImportRow, invite bool, m Meta,
	progress func(done, total int)) (int, error) {
	if err := requireAdmin(actor); err != nil {
		return 0, err
	}
	m = actorMeta(actor, m)
	now := s.clock.Now()
	var problems []ImportProblem
	users := make([]*airlock.User, 0, len(rows))
	firstLine := map[string]int{}
	var normalized []string
	for _, row := range rows {
		n := row.User
		u := &airlock.User{Email: n.Email, FirstName: n.FirstName, LastName: n.LastName, Language: n.Language,
			Groups: n.Groups, Active: true, CreatedAt: now, UpdatedAt: now}
		if !utf8.ValidString(n.Email + n.FirstName + n.LastName + n.Language + strings.Join(n.Groups, "")) {
			problems = append(problems, problem(row.Line, "import.not_utf8", "not valid UTF-8 text"))
			continue
		}
		if err := normalizeProfile(u); err != nil {
			problems = append(problems, importProblem(row.Line, err))
			continue
		}
		key := airlock.NormalizeEmail(u.Email)
		if first, dup := firstLine[key]; dup {
			problems = append(problems, problem(row.Line, "import.duplicate", "%s is also on line %d", u.Email, first))
			continue
		}
		firstLine[key] = row.Line
		normalized = append(normalized, key)
		users = append(users, u)
	}
	existing, err := s.store.ExistingEmails(ctx, normalized)
	if err != nil {
		return 0, err
	}
	for _, u := range users {
		if key := airlock.NormalizeEmail(u.Email); existing[key] {
			problems = append(problems, problem(firstLine[key], "import.exists", "%s already has an account", u.Email))
		}
	}
	if len(problems) > 0 {
		return 0, importError(problems)
	}
	for _, u := range users {
		if u.ID, err = newID(); err != nil {
			return 0, err
		}
	}
	// All or nothing: one transaction, allowed longer than a request's
	// (10,000 users take about 3 s on SQLite here; see bench/RESULTS.md).
	err = s.store.UpdateWithin(ctx, importTimeLimit, func(tx airlock.Tx) error {
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		for i, u := range users {
			if err := tx.CreateUser(ctx, u); err != nil {
				if e := airlock.AsError(err); e != nil && e.Code == airlock.CodeConflict {
					// Created by someone else since the check: still all or nothing.
					return &ImportError{Problems: []ImportProblem{problem(firstLine[airlock.NormalizeEmail(u.Email)], "import.exists", "%s already has an account", u.Email)}}
				}
				return err
			}
			if err := s.audit(ctx, tx, airlock.AuditUserCreated, m, u.ID, u.Email, "success", "import"); err != nil {
				return err
			}
			if invite {
				if err := s.queueInvitation(ctx, tx, actor, u, now, m); err != nil {
					return err
				}
			}
			if progress != nil && (i+1)%500 == 0 {
				progress(i+1, len(users))
			}
		}
		return s.audit(ctx, tx, airlock.AuditUsersImported, m, "", "", "success", "users", len(users))
	})
	if err != nil {
		return 0, err
	}
	if progress != nil {
		progress(len(users), len(users))
	}
	return len(users), nil
}

// importProblem says in words why a row was refused.
func importProblem(line int, err error) ImportProblem {
	e := airlock.AsError(err)
	if e == nil {
		return problem(line, "import.refused", "refused")
	}
	p := ImportProblem{Line: line, Reason: e.Message, Key: e.Key, Args: e.Args}
	if e.Field != "" {
		p.Reason = e.Field + ": " + e.Message
	}
	return p
}

func sortProblems(p []ImportProblem) {
	slices.SortStableFunc(p, func(a, b ImportProblem) int { return a.Line - b.Line })
}
