package account

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
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

// ImportProblem is why one line of an import file was refused: the key of
// its message and the message's arguments (package i18n has their words).
type ImportProblem struct {
	Line int
	Key  string
	Args []any
}

// problem returns the ImportProblem of line: the message key, with args.
func problem(line int, key string, args ...any) ImportProblem {
	return ImportProblem{Line: line, Key: key, Args: args}
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

// problemList keeps the first MaxImportProblems problems of a file, by
// line, and only counts the others: however bad a file is (a 16 MiB one
// holds 8 million bad lines), its report stays the same small size.
type problemList struct {
	kept []ImportProblem // sorted by line
	more int
}

// add records p. Problems mostly come in the order of their lines, but not
// always (an address found to have an account after the whole file was
// read), so p may take the place of a later line's problem, which is then
// only counted.
func (l *problemList) add(p ImportProblem) {
	i := sort.Search(len(l.kept), func(i int) bool { return l.kept[i].Line > p.Line })
	if len(l.kept) == MaxImportProblems {
		l.more++
		if i == len(l.kept) {
			return
		}
		l.kept = l.kept[:len(l.kept)-1]
	}
	l.kept = slices.Insert(l.kept, i, p)
}

// clone returns a copy of l that can be added to without changing l.
func (l problemList) clone() problemList {
	return problemList{kept: slices.Clone(l.kept), more: l.more}
}

// err returns the *ImportError of the problems, or nil if there are none.
func (l problemList) err() error {
	if len(l.kept) == 0 {
		return nil
	}
	return &ImportError{Problems: slices.Clone(l.kept), More: l.more}
}

// ImportFile is a users CSV file read by ParseUsersCSV: the users it would
// create, checked and normalised, and what is wrong with its other lines.
// It holds no more than the users themselves and a bounded report.
type ImportFile struct {
	users    []importUser // in the order of the file
	problems problemList
}

// importUser is one user of an import file, checked and normalised.
type importUser struct {
	line                                 int
	key                                  string // the address, normalised
	email, firstName, lastName, language string
	groups                               []string
}

// Len returns how many users the file would create.
func (f *ImportFile) Len() int { return len(f.users) }

// ParseUsersCSV reads a users CSV file row by row: a header row naming the
// columns (email required; first_name, last_name, language, groups
// optional, in any order; groups separated by spaces or semicolons), then
// one user per row. Each row is checked as it is read (its fields, an
// address twice in the file); the file is never held whole, nor the words
// of every bad line: only the users to create, the first MaxImportProblems
// bad lines and a count of the others. A file with bad lines is not an
// error here (AdminImportUsers refuses it, naming them); the error is for
// reading r (an upload cut short or too large).
func ParseUsersCSV(r io.Reader) (*ImportFile, error) {
	f := &ImportFile{}
	lim := &recordLimit{r: r, max: maxImportLine, line: 1}
	cr := csv.NewReader(lim)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true // each row's fields are copied out of it
	header, err := cr.Read()
	if err == io.EOF {
		f.problems.add(problem(1, "import.empty", strings.Join(ImportColumns, ",")))
		return f, nil
	}
	if err != nil {
		return f.unreadable(lim, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) // a BOM, as spreadsheets write
		if _, dup := col[h]; dup || !slices.Contains(ImportColumns, h) {
			f.problems.add(problem(1, "import.column", airlock.CleanText(h, 60), strings.Join(ImportColumns, ",")))
			continue
		}
		col[h] = i
	}
	if _, ok := col["email"]; !ok && len(f.problems.kept) == 0 {
		f.problems.add(problem(1, "import.no_email_column"))
	}
	if len(f.problems.kept) > 0 {
		return f, nil // the rows cannot be read without their columns
	}
	fields := len(header)
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			return rec[i]
		}
		return ""
	}
	firstLine := map[string]int{} // of each address, to name a second one
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			// The rest of the file cannot be read reliably.
			return f.unreadable(lim, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) != fields {
			f.problems.add(problem(line, "import.field_count", len(rec), fields))
			continue
		}
		if rows++; rows > MaxImportRows {
			f.problems.add(problem(line, "import.too_many", MaxImportRows))
			return f, nil
		}
		u := airlock.User{Email: get(rec, "email"), FirstName: get(rec, "first_name"), LastName: get(rec, "last_name"),
			Language: strings.ToLower(strings.TrimSpace(get(rec, "language"))),
			Groups:   strings.FieldsFunc(get(rec, "groups"), func(r rune) bool { return r == ';' || r == ' ' || r == ',' })}
		if !validUTF8(rec) {
			f.problems.add(problem(line, "import.not_utf8"))
			continue
		}
		if err := normalizeProfile(&u); err != nil {
			f.problems.add(importProblem(line, err))
			continue
		}
		key := airlock.NormalizeEmail(u.Email)
		if first, dup := firstLine[key]; dup {
			f.problems.add(problem(line, "import.duplicate", u.Email, first))
			continue
		}
		firstLine[key] = line
		f.users = append(f.users, importUser{line: line, key: key, email: u.Email, firstName: u.FirstName,
			lastName: u.LastName, language: u.Language, groups: u.Groups})
	}
}

// unreadable records why the rest of the file cannot be read, or returns
// err when it is not the file's fault (the upload failed).
func (f *ImportFile) unreadable(lim *recordLimit, err error) (*ImportFile, error) {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, errLongLine):
		f.problems.add(problem(lim.start, "import.long_line", maxImportLine>>10))
	case errors.As(err, &pe):
		f.problems.add(problem(pe.StartLine, "import.csv", pe.Err.Error()))
	default:
		return nil, fmt.Errorf("read the file: %w", err)
	}
	return f, nil
}

func validUTF8(fields []string) bool {
	for _, v := range fields {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// maxImportLine bounds one row of an import file: a real row is a few
// hundred bytes, and a row of millions of fields would cost gigabytes.
const maxImportLine = 8 << 10

var errLongLine = fmt.Errorf("a line is longer than %d KiB", maxImportLine>>10)

// recordLimit fails the read of a CSV row longer than max bytes. A row
// ends at a line break outside quotes: a quoted field may hold line breaks,
// and a single quote opening one must not let the row run on for the rest
// of the file. (Quotes are counted: "" inside a quoted field counts twice,
// and a quote out of place is a CSV error the reader reports first.)
type recordLimit struct {
	r        io.Reader
	max      int
	run      int  // bytes of the row so far
	quoted   bool // inside a quoted field
	line     int  // the line being read
	start    int  // the line the row being read started on
	startSet bool
}

func (l *recordLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if !l.startSet {
			l.start, l.startSet = l.line, true
		}
		switch p[i] {
		case '"':
			l.quoted = !l.quoted
		case '\n':
			l.line++
			if !l.quoted {
				l.run, l.startSet = 0, false
				continue
			}
		}
		if l.run++; l.run > l.max {
			return i, errLongLine
		}
	}
	return n, err
}

// AdminImportUsers creates every user of f, all or nothing: a file with
// any bad line (invalid field, an address twice in the file, an address
// that already has an account) creates nobody, and its bad lines are
// reported with their reasons. With invite, each new user is sent an
// invitation. progress, when not nil, is told how far the import is.
func (s *Service) AdminImportUsers(ctx context.Context, actor *airlock.User, f *ImportFile, invite bool, m Meta,
	progress func(done, total int)) (int, error) {
	if err := requireAdmin(actor); err != nil {
		return 0, err
	}
	m = actorMeta(actor, m)
	problems := f.problems.clone()
	if err := s.existingAccounts(ctx, f, &problems); err != nil {
		return 0, err
	}
	if err := problems.err(); err != nil {
		return 0, err
	}
	// The rows go in in the order of their addresses: two imports of
	// overlapping files then wait for each other's addresses in the same
	// order and never deadlock (on PostgreSQL the second one waits for the
	// first to commit, then finds the addresses taken).
	order := make([]int, len(f.users))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(f.users[a].key, f.users[b].key) })
	now := s.clock.Now()
	var taken *importUser
	// All or nothing: one transaction, allowed longer than a request's
	// (10,000 users take about 3 s on SQLite here; see bench/RESULTS.md).
	err := s.store.UpdateWithin(ctx, importTimeLimit, func(tx airlock.Tx) error {
		if err := s.adminInTx(ctx, tx, actor); err != nil {
			return err
		}
		for done, i := range order {
			iu := &f.users[i]
			u := &airlock.User{Email: iu.email, FirstName: iu.firstName, LastName: iu.lastName, Language: iu.language,
				Groups: iu.groups, Active: true, CreatedAt: now, UpdatedAt: now}
			var err error
			if u.ID, err = newID(); err != nil {
				return err
			}
			if err := tx.CreateUser(ctx, u); err != nil {
				if e := airlock.AsError(err); e != nil && e.Code == airlock.CodeConflict {
					taken = iu
					return errImportRace
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
			if progress != nil && (done+1)%500 == 0 {
				progress(done+1, len(order))
			}
		}
		return s.audit(ctx, tx, airlock.AuditUsersImported, m, "", "", "success", "users", len(order))
	})
	if errors.Is(err, errImportRace) {
		// Created by someone else since the check (another import running
		// at once): still all or nothing. The conflict means their
		// transaction has committed, so every address it took is visible
		// now: name them all, not only the first one met.
		problems := problemList{}
		if err := s.existingAccounts(ctx, f, &problems); err != nil {
			return 0, err
		}
		if len(problems.kept) == 0 {
			problems.add(problem(taken.line, "import.exists", taken.email))
		}
		return 0, problems.err()
	}
	if err != nil {
		return 0, err
	}
	if progress != nil {
		progress(len(order), len(order))
	}
	return len(order), nil
}

// errImportRace says an address of the import was taken since it was
// checked; the transaction is rolled back before anything is reported.
var errImportRace = errors.New("an address was taken during the import")

// existingAccounts adds to problems each user of f whose address already
// has an account, asking a few hundred addresses at a time.
func (s *Service) existingAccounts(ctx context.Context, f *ImportFile, problems *problemList) error {
	const chunk = 500
	keys := make([]string, 0, chunk)
	for start := 0; start < len(f.users); start += chunk {
		users := f.users[start:min(start+chunk, len(f.users))]
		keys = keys[:0]
		for _, u := range users {
			keys = append(keys, u.key)
		}
		found, err := s.store.ExistingEmails(ctx, keys)
		if err != nil {
			return err
		}
		for _, u := range users {
			if found[u.key] {
				problems.add(problem(u.line, "import.exists", u.email))
			}
		}
	}
	return nil
}

// importProblem says in words why a row was refused.
func importProblem(line int, err error) ImportProblem {
	e := airlock.AsError(err)
	if e == nil {
		return problem(line, "import.refused")
	}
	return ImportProblem{Line: line, Key: e.Key, Args: e.Args}
}
