package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// openSQLite opens a fresh, migrated SQLite store in a temporary directory.
func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "airlock.db"))
}

func openPath(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// stores lists the stores the contract runs on: SQLite always, PostgreSQL
// when AIRLOCK_TEST_DATABASE_URL is set (CI sets it).
func stores(t *testing.T) map[string]func(t *testing.T) *store.DB {
	m := map[string]func(t *testing.T) *store.DB{"sqlite": openSQLite}
	if os.Getenv(testutil.PostgresEnv) != "" {
		m["postgres"] = func(t *testing.T) *store.DB { return testutil.OpenPostgres(t) }
	} else {
		t.Logf("%s not set: the contract runs on SQLite only", testutil.PostgresEnv)
	}
	return m
}

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func newUser(id, email string, groups ...string) *airlock.User {
	return &airlock.User{ID: id, Email: email, FirstName: "Ada", LastName: "Lovelace", Language: "en", Active: true,
		Groups: groups, CreatedAt: t0, UpdatedAt: t0}
}

func TestContract(t *testing.T) {
	t.Parallel()
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("users", func(t *testing.T) { testUsers(t, open(t)) })
			t.Run("reset tokens", func(t *testing.T) { testResetTokens(t, open(t)) })
			t.Run("jobs", func(t *testing.T) { testJobs(t, open(t)) })
			t.Run("job batches", func(t *testing.T) { testJobBatches(t, open(t)) })
			t.Run("leases on the database clock", func(t *testing.T) { testLeaseFencing(t, open(t)) })
			t.Run("batch statements", func(t *testing.T) { testBatchStatements(t, open(t)) })
			t.Run("email batch statements", func(t *testing.T) { testEmailBatchStatements(t, open(t)) })
			t.Run("limits", func(t *testing.T) { testLimits(t, open(t)) })
			t.Run("sessions", func(t *testing.T) { testSessions(t, open(t)) })
			t.Run("api tokens", func(t *testing.T) { testAPITokens(t, open(t)) })
			t.Run("passkeys", func(t *testing.T) { testPasskeys(t, open(t)) })
		})
	}
}

func testUsers(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if err := db.CreateUser(ctx, newUser("u1", "Ada@Example.com", airlock.GroupAdmin, airlock.GroupMobile)); err != nil {
		t.Fatal(err)
	}
	// The same address in another case is the same account.
	err := db.CreateUser(ctx, newUser("u2", "ada@EXAMPLE.com"))
	if airlock.ErrorCode(err) != airlock.CodeConflict {
		t.Fatalf("duplicate email in other case: got %v, want conflict", err)
	}
	u, err := db.UserByEmail(ctx, "ADA@example.COM")
	if err != nil || u.ID != "u1" || u.Email != "Ada@Example.com" {
		t.Fatalf("UserByEmail mixed case = %+v, %v", u, err)
	}
	if len(u.Groups) != 2 || !u.HasGroup(airlock.GroupAdmin) {
		t.Fatalf("groups = %v", u.Groups)
	}
	// Unicode look-alikes never match an ASCII address: the Kelvin sign
	// (U+212A) lower-cases to "k" under full Unicode folding.
	if err := db.CreateUser(ctx, newUser("u3", "kim@example.com")); err != nil {
		t.Fatal(err)
	}
	for _, lookalike := range []string{"\u212aim@example.com", "kım@example.com", "kim@exаmple.com"} {
		if _, err := db.UserByEmail(ctx, lookalike); !errors.Is(err, airlock.ErrNotFound) {
			t.Errorf("UserByEmail(%q) = %v, want not found", lookalike, err)
		}
	}
	for i := range 5 {
		if err := db.CreateUser(ctx, newUser(fmt.Sprintf("p%d", i), fmt.Sprintf("page%d@example.com", i))); err != nil {
			t.Fatal(err)
		}
	}
	users, total, err := db.ListUsers(ctx, airlock.UserFilter{Query: "page", Limit: 2, Offset: 2})
	if err != nil || total != 5 || len(users) != 2 || users[0].Email != "page2@example.com" {
		t.Fatalf("ListUsers page = %d users, total %d, %v", len(users), total, err)
	}
	users, total, _ = db.ListUsers(ctx, airlock.UserFilter{Group: airlock.GroupAdmin})
	if total != 1 || users[0].ID != "u1" {
		t.Fatalf("ListUsers by group: total %d", total)
	}
	// LIKE wildcards typed by a person are literal.
	if _, total, _ := db.ListUsers(ctx, airlock.UserFilter{Query: "%"}); total != 0 {
		t.Fatalf("query %% matched %d users, want 0", total)
	}
	if n, _ := db.CountActiveAdmins(ctx); n != 1 {
		t.Fatalf("CountActiveAdmins = %d", n)
	}
	changed := t0.Add(time.Hour)
	if err := db.SetPassword(ctx, "u1", airlock.PasswordChange{Hash: "h", MustChange: true, TempExpiresAt: changed.Add(72 * time.Hour), ChangedAt: changed}); err != nil {
		t.Fatal(err)
	}
	u, _ = db.UserByID(ctx, "u1")
	if u.PasswordHash != "h" || !u.MustChangePassword || !u.PasswordChangedAt.Equal(changed) || !u.TempPasswordExpiresAt.Equal(changed.Add(72*time.Hour)) {
		t.Fatalf("after SetPassword: %+v", u)
	}
}

func testResetTokens(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if err := db.CreateUser(ctx, newUser("u1", "ada@example.com")); err != nil {
		t.Fatal(err)
	}
	hash := []byte("0123456789abcdef0123456789abcdef")
	if err := db.InsertResetTokens(ctx, []*airlock.ResetToken{{Hash: hash, UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	// Of many parallel consumers, exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			err := db.Update(ctx, func(tx airlock.Tx) error {
				id, purpose, err := tx.ConsumeResetToken(ctx, hash, t0.Add(time.Minute))
				if err == nil && id == "u1" && purpose == airlock.TokenPurposeReset {
					wins.Add(1)
				}
				return err
			})
			if err != nil && !errors.Is(err, airlock.ErrNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d parallel consumers succeeded, want exactly 1", wins.Load())
	}
	// An expired token cannot be consumed.
	h2 := []byte("expired-token-hash-0123456789abc")
	db.InsertResetTokens(ctx, []*airlock.ResetToken{{Hash: h2, UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}})
	if _, _, err := db.ConsumeResetToken(ctx, h2, t0.Add(30*time.Minute)); !errors.Is(err, airlock.ErrNotFound) {
		t.Fatalf("consume at expiry: %v, want not found", err)
	}
	// A revoked token cannot be consumed.
	h3 := []byte("revoked-token-hash-0123456789abc")
	db.InsertResetTokens(ctx, []*airlock.ResetToken{{Hash: h3, UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}})
	if n, err := db.RevokeResetTokens(ctx, "u1", t0); err != nil || n != 2 {
		t.Fatalf("RevokeResetTokens = %d, %v; want 2 (the expired and the fresh one)", n, err)
	}
	if _, _, err := db.ConsumeResetToken(ctx, h3, t0.Add(time.Minute)); !errors.Is(err, airlock.ErrNotFound) {
		t.Fatalf("consume revoked: %v", err)
	}
	rt, err := db.ResetTokenByHash(ctx, h3)
	if err != nil || rt.RevokedAt.IsZero() {
		t.Fatalf("revoked token = %+v, %v", rt, err)
	}
}

// testJobBatches: EnqueueJobs writes every job of a batch (of any size,
// in several statements), and parallel ClaimJobs, oldest first, never
// hand one job to two claimers, nor a leased job to anyone.
func testJobBatches(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var jobs []*airlock.Job
	items := 0 // a forgot job holds one request or more (0 is taken as 1)
	for i := range 203 {
		jobs = append(jobs, &airlock.Job{Kind: airlock.JobForgot, Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)), Items: i % 3,
			RunAt: t0.Add(time.Duration(i%7) * time.Millisecond), CreatedAt: t0})
		items += max(i%3, 1)
	}
	err := db.Update(ctx, func(tx airlock.Tx) error { return tx.EnqueueJobs(ctx, jobs) })
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := testutil.CountJobs(db, airlock.JobForgot); n != items {
		t.Fatalf("%d requests queued, want %d (in 203 jobs)", n, items)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for {
				got, err := db.ClaimJobs(ctx, fmt.Sprintf("node-%d", w), t0.Add(time.Second), time.Minute, 16)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				if len(got) > 16 {
					t.Errorf("claimed %d jobs, limit 16", len(got))
				}
				for i, j := range got {
					if i > 0 && (j.RunAt.Before(got[i-1].RunAt) || j.RunAt.Equal(got[i-1].RunAt) && j.ID < got[i-1].ID) {
						t.Errorf("claimed jobs out of order: %v after %v", j.ID, got[i-1].ID)
					}
					var n int
					fmt.Sscanf(string(j.Payload), `{"n":%d}`, &n)
					if j.State != airlock.EmailSending || j.Attempts != 1 || j.LeaseOwner != fmt.Sprintf("node-%d", w) || j.Items != max(n%3, 1) {
						t.Errorf("claimed job %+v", j)
					}
				}
				mu.Lock()
				for _, j := range got {
					seen[j.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 203 {
		t.Fatalf("claimed %d distinct jobs, want 203", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("job %d claimed %d times", id, n)
		}
	}
	if got, _ := db.ClaimJobs(ctx, "late", t0.Add(30*time.Second), time.Minute, 16); len(got) != 0 {
		t.Fatalf("claimed %d leased jobs", len(got))
	}
}

// testBatchStatements: the statements that do many rows at once, with
// more rows than one statement takes (128), do exactly what one at a time
// would.
func testBatchStatements(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const n = 203
	var emails []string
	for i := range n {
		if i%2 == 0 {
			g := []string{}
			if i%4 == 0 {
				g = []string{airlock.GroupMobile, airlock.GroupAdmin}
			}
			if err := db.CreateUser(ctx, newUser(fmt.Sprintf("u%d", i), fmt.Sprintf("User.%d@Example.com", i), g...)); err != nil {
				t.Fatal(err)
			}
		}
		// Written as people type them: the match is on the normalised address.
		emails = append(emails, fmt.Sprintf(" user.%d@EXAMPLE.com", i))
	}
	emails = append(emails, emails[0]) // twice: found once
	users, err := db.UsersByEmails(ctx, emails)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != (n+1)/2 {
		t.Fatalf("%d users found, want %d", len(users), (n+1)/2)
	}
	for i := 0; i < n; i += 2 {
		u := users[airlock.NormalizeEmail(emails[i])]
		want, _ := db.UserByID(ctx, fmt.Sprintf("u%d", i))
		if u == nil || want == nil || u.ID != want.ID || u.Email != want.Email || strings.Join(u.Groups, ",") != strings.Join(want.Groups, ",") {
			t.Fatalf("user %d: got %+v, want %+v", i, u, want)
		}
	}
	if _, ok := users[airlock.NormalizeEmail(emails[1])]; ok {
		t.Fatal("an address without an account was found")
	}

	var jobs []*airlock.Job
	for range n {
		jobs = append(jobs, &airlock.Job{Kind: airlock.JobForgot, Payload: []byte("{}"), RunAt: t0, CreatedAt: t0})
	}
	if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.EnqueueJobs(ctx, jobs) }); err != nil {
		t.Fatal(err)
	}
	if jobs, err = db.ClaimJobs(ctx, "check", t0, time.Minute, 1000); err != nil || len(jobs) != n {
		t.Fatalf("claimed %d jobs, %v", len(jobs), err)
	}
	var gone []int64
	for i, j := range jobs {
		if i%3 != 0 {
			gone = append(gone, j.ID)
		}
	}
	if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.DeleteJobs(ctx, "check", gone) }); err != nil {
		t.Fatal(err)
	}
	if c, _ := testutil.CountJobs(db, airlock.JobForgot); c != n-len(gone) {
		t.Fatalf("%d jobs left, want %d", c, n-len(gone))
	}
	if err := db.PassTime(ctx, 2*time.Minute); err != nil { // the leases run out
		t.Fatal(err)
	}
	left, err := db.ClaimJobs(ctx, "check", t0.Add(2*time.Minute), time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for k, j := range left {
		if want := jobs[3*k].ID; j.ID != want {
			t.Fatalf("job %d left, want %d", j.ID, want)
		}
	}

	var events []*airlock.AuditEvent
	for i := range n {
		events = append(events, &airlock.AuditEvent{At: t0.Add(time.Duration(i) * time.Second), Kind: airlock.AuditResetRequested,
			SubjectID: fmt.Sprintf("u%d", i), Subject: fmt.Sprintf("user.%d@example.com", i), IP: "192.0.2.1", UserAgent: "ua",
			Outcome: "queued", Detail: fmt.Sprint(i)})
	}
	if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.InsertAudits(ctx, events) }); err != nil {
		t.Fatal(err)
	}
	got, total, err := db.ListAudit(ctx, airlock.AuditFilter{Limit: 1000})
	if err != nil || total != n || len(got) != n {
		t.Fatalf("%d events (%d in all), %v; want %d", len(got), total, err, n)
	}
	for _, e := range got { // newest first
		i, _ := strconv.Atoi(e.Detail)
		w := events[i]
		if !e.At.Equal(w.At) || e.Kind != w.Kind || e.SubjectID != w.SubjectID || e.Subject != w.Subject || e.IP != w.IP ||
			e.UserAgent != w.UserAgent || e.Outcome != w.Outcome {
			t.Fatalf("event %d: got %+v, want %+v", i, e, w)
		}
	}
}

// testEmailBatchStatements: the multi-row statements of a batch of emails
// (users locked by id, links revoked, inserted and remembered, emails
// recorded sent, the dev mailbox) do for each row what the one-row ones
// do, over more rows than one statement takes.
func testEmailBatchStatements(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const n = 150
	var ids []string
	for i := range n {
		id := fmt.Sprintf("m%03d", i)
		if err := db.CreateUser(ctx, newUser(id, fmt.Sprintf("m%d@example.com", i))); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var users map[string]*airlock.User
	err := db.Update(ctx, func(tx airlock.Tx) error {
		var err error
		users, err = tx.UsersByIDsForUpdate(ctx, append([]string{"nobody", ids[7]}, ids...))
		return err
	})
	if err != nil || len(users) != n || users[ids[7]].Email != "m7@example.com" || users["nobody"] != nil {
		t.Fatalf("users by ids: %d found, %v", len(users), err)
	}

	// One link per user, the last one stored revoked; then the links of all
	// but the last ten users revoked.
	var tokens []*airlock.ResetToken
	for i, id := range ids {
		h := sha256.Sum256([]byte(id))
		tk := &airlock.ResetToken{Hash: h[:], UserID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if i == n-1 {
			tk.RevokedAt = t0
		}
		tokens = append(tokens, tk)
	}
	err = db.Update(ctx, func(tx airlock.Tx) error {
		if err := tx.InsertResetTokens(ctx, tokens); err != nil {
			return err
		}
		return tx.RevokeUsersResetTokens(ctx, ids[:n-10], t0.Add(time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, tk := range tokens {
		got, err := db.ResetTokenByHash(ctx, tk.Hash)
		if err != nil {
			t.Fatal(err)
		}
		want := time.Time{}
		switch {
		case i < n-10:
			want = t0.Add(time.Minute)
		case i == n-1:
			want = t0
		}
		if !got.RevokedAt.Equal(want) || got.UserID != tk.UserID || got.Purpose != airlock.TokenPurposeReset {
			t.Fatalf("link %d: %+v, want revoked at %v", i, got, want)
		}
	}

	// An email per user, each remembering its user's link.
	var jobs []*airlock.Job
	for _, id := range ids {
		jobs = append(jobs, &airlock.Job{Kind: airlock.JobMail, Payload: []byte("{}"), RunAt: t0, CreatedAt: t0, UserID: id, EmailKind: "reset"})
	}
	if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.EnqueueJobs(ctx, jobs) }); err != nil {
		t.Fatal(err)
	}
	if jobs, err = db.ClaimJobs(ctx, "w", t0, time.Minute, 1000); err != nil || len(jobs) != n {
		t.Fatalf("claimed %d emails, %v", len(jobs), err)
	}
	slices.SortFunc(jobs, func(a, b *airlock.Job) int { return strings.Compare(a.UserID, b.UserID) })
	preps := make([]airlock.EmailPrep, n)
	for i, j := range jobs {
		preps[i] = airlock.EmailPrep{ID: j.ID, MessageID: fmt.Sprintf("<p%d@example.com>", i), PreparedAt: t0.Add(time.Duration(i) * time.Second),
			TokenHash: tokens[i].Hash, LinkSealed: []byte(fmt.Sprint("sealed ", i))}
	}
	preps[1].TokenHash, preps[1].LinkSealed = nil, nil // an email without a link
	var held map[int64]bool
	if err := db.Update(ctx, func(tx airlock.Tx) (err error) { held, err = tx.PrepareEmails(ctx, "w", preps); return err }); err != nil || len(held) != n {
		t.Fatalf("prepared %d of %d emails: %v", len(held), n, err)
	}
	for i, j := range jobs {
		got, err := db.EmailByID(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		p := preps[i]
		if got.MessageID != p.MessageID || !got.PreparedAt.Equal(p.PreparedAt) || !bytes.Equal(got.TokenHash, p.TokenHash) || !bytes.Equal(got.LinkSealed, p.LinkSealed) {
			t.Fatalf("email %d prepared as %+v, want %+v", i, got, p)
		}
	}
	// Nothing is prepared for a worker that does not hold the email.
	if err := db.Update(ctx, func(tx airlock.Tx) (err error) { held, err = tx.PrepareEmails(ctx, "stranger", preps[:3]); return err }); err != nil || len(held) != 0 {
		t.Fatalf("a stranger prepared %v: %v", held, err)
	}
	// An email failing for good kills its own link, and only it; a worker
	// that does not hold it changes nothing.
	if ok, err := db.MarkEmailFailed(ctx, jobs[n-5].ID, "stranger", "550 no", t0.Add(2*time.Minute)); ok || err != nil {
		t.Fatalf("a stranger marked an email failed: %v %v", ok, err)
	}
	if got, _ := db.ResetTokenByHash(ctx, tokens[n-5].Hash); !got.RevokedAt.IsZero() {
		t.Fatal("a stranger's failure revoked the link")
	}
	if ok, err := db.MarkEmailFailed(ctx, jobs[n-5].ID, "w", "550 no", t0.Add(2*time.Minute)); !ok || err != nil {
		t.Fatalf("MarkEmailFailed = %v, %v", ok, err)
	}
	for _, i := range []int{n - 6, n - 5, n - 4} {
		got, _ := db.ResetTokenByHash(ctx, tokens[i].Hash)
		if revoked := !got.RevokedAt.IsZero(); revoked != (i == n-5) {
			t.Fatalf("link %d revoked: %v", i, revoked)
		}
	}

	// Recorded sent, but for two taken over by another worker meanwhile.
	for _, j := range jobs[:2] {
		if err := db.RetryJob(ctx, j.ID, "w", t0, t0, "lease ran out"); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.ClaimJobs(ctx, "other", t0.Add(time.Second), time.Minute, 2); err != nil || len(got) != 2 {
		t.Fatalf("taken over: %d, %v", len(got), err)
	}
	var lost []int64
	for i, j := range jobs {
		if i == n-5 {
			continue
		}
		held, err := db.MarkEmailSent(ctx, j.ID, "w", fmt.Sprintf("250 ok %d", i), fmt.Sprintf("<%d@example.com>", i), t0.Add(3*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !held {
			lost = append(lost, j.ID)
		}
	}
	if len(lost) != 2 || !slices.Contains(lost, jobs[0].ID) || !slices.Contains(lost, jobs[1].ID) {
		t.Fatalf("lost leases %v; want jobs %d and %d", lost, jobs[0].ID, jobs[1].ID)
	}
	for i, j := range jobs {
		got, err := db.EmailByID(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if i == n-5 {
			if got.State != airlock.EmailFailed || got.LinkSealed != nil {
				t.Fatalf("the failed email: %+v", got)
			}
			continue
		}
		if i < 2 {
			// Fenced: the worker that lost them recorded nothing; they are
			// the other's, which sends them (the same message) and records it.
			if got.State != airlock.EmailSending || got.LeaseOwner != "other" || got.Reply != "" {
				t.Fatalf("email %d, taken over: %+v", i, got)
			}
			continue
		}
		if got.State != airlock.EmailSent || got.Reply != fmt.Sprintf("250 ok %d", i) || got.MessageID != fmt.Sprintf("<%d@example.com>", i) ||
			!got.SentAt.Equal(t0.Add(3*time.Minute)) || got.LeaseOwner != "" {
			t.Fatalf("email %d: %+v", i, got)
		}
		// Sent: the sealed link, kept for a second delivery, is gone.
		if got.LinkSealed != nil {
			t.Fatalf("email %d sent still holds its sealed link", i)
		}
	}

	var kept []*airlock.DevMail
	for i := range n {
		kept = append(kept, &airlock.DevMail{At: t0, To: fmt.Sprintf("m%d@example.com", i), Subject: fmt.Sprint(i), Text: "text", HTML: "<p>html</p>", MessageID: fmt.Sprintf("<d%d@x>", i)})
	}
	for _, m := range kept {
		if err := db.InsertDevMail(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	box, err := db.ListDevMail(ctx, 1000)
	if err != nil || len(box) != n {
		t.Fatalf("dev mailbox: %d, %v", len(box), err)
	}
	for k, m := range box { // newest first
		i := n - 1 - k
		if m.Subject != fmt.Sprint(i) || m.To != kept[i].To || m.MessageID != kept[i].MessageID || m.HTML != "<p>html</p>" || m.Text != "text" {
			t.Fatalf("dev mail %d: %+v", i, m)
		}
	}
}

// claimOne claims the oldest due job for owner, or nil.
func claimOne(t *testing.T, db *store.DB, owner string, now time.Time, lease time.Duration) *airlock.Job {
	t.Helper()
	jobs, err := db.ClaimJobs(context.Background(), owner, now, lease, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) == 0 {
		return nil
	}
	return jobs[0]
}

func testJobs(t *testing.T, db *store.DB) {
	ctx := context.Background()
	for i := range 3 {
		if err := db.EnqueueJobs(ctx, []*airlock.Job{{Kind: airlock.JobMail, Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)), RunAt: t0, CreatedAt: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	// Parallel claimers never get the same job.
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			jobs, err := db.ClaimJobs(ctx, "node-a", t0, time.Minute, 1)
			if err != nil {
				t.Error(err)
				return
			}
			for _, j := range jobs {
				mu.Lock()
				seen[j.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 3 {
		t.Fatalf("claimed %d distinct jobs, want 3: %v", len(seen), seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("job %d claimed %d times", id, n)
		}
	}
	// Leased jobs are not claimed again until the lease ends.
	if j := claimOne(t, db, "node-b", t0.Add(30*time.Second), time.Minute); j != nil {
		t.Fatalf("claimed leased job %d", j.ID)
	}
	// A renewed lease holds; only its owner can renew it.
	for id := range seen {
		if ok, err := db.RenewLease(ctx, id, "node-b", 5*time.Minute); ok || err != nil {
			t.Fatalf("renewal by a stranger: %v %v", ok, err)
		}
	}
	var renewed int64
	for id := range seen {
		renewed = id
		if ok, err := db.RenewLease(ctx, id, "node-a", 3*time.Minute); !ok || err != nil {
			t.Fatalf("renewal by the owner: %v %v", ok, err)
		}
		break
	}
	if err := db.PassTime(ctx, 2*time.Minute); err != nil { // the leases not renewed run out
		t.Fatal(err)
	}
	j := claimOne(t, db, "node-b", t0.Add(2*time.Minute), time.Minute)
	if j == nil || j.Attempts != 2 || !j.TakenOver || j.ID == renewed || j.State != airlock.EmailSending {
		t.Fatalf("after lease expiry: %+v", j)
	}
	// Handing back: node-a's other jobs are due again at once, not taken over.
	if n, err := db.ReleaseLeases(ctx, "node-a"); n != 2 || err != nil {
		t.Fatalf("ReleaseLeases = %d, %v", n, err)
	}
	back := claimOne(t, db, "node-c", t0.Add(2*time.Minute), time.Minute)
	if back == nil || back.TakenOver {
		t.Fatalf("handed-back job: %+v", back)
	}
	// Only the owner of a lease records a failed attempt or deletes the job.
	if err := db.RetryJob(ctx, j.ID, "node-a", t0, t0.Add(time.Hour), "a node that lost it"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.EmailByID(ctx, j.ID); got.State != airlock.EmailSending || got.LeaseOwner != "node-b" {
		t.Fatalf("a stranger's retry changed the job: %+v", got)
	}
	if err := db.RetryJob(ctx, j.ID, "node-b", t0, t0.Add(time.Hour), "smtp: 451"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.EmailByID(ctx, j.ID); got.State != airlock.EmailDeferred || got.LastError != "smtp: 451" {
		t.Fatalf("after a failed attempt: %+v", got)
	}
	if n, _ := testutil.CountJobs(db, airlock.JobMail); n != 3 {
		t.Fatalf("CountJobs = %d", n)
	}
	if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.DeleteJobs(ctx, "node-a", []int64{back.ID}) }); err == nil {
		t.Fatal("a stranger deleted a job")
	}
	if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.DeleteJobs(ctx, "node-c", []int64{back.ID}) }); err != nil {
		t.Fatal(err)
	}
	if n, _ := testutil.CountJobs(db, ""); n != 2 {
		t.Fatalf("CountJobs after delete = %d", n)
	}
}

// testLeaseFencing: leases are held on the database's clock, whatever the
// nodes' clocks say, and a node whose lease ran out writes nothing more for
// the job, even if nobody has taken it yet (SPEC §8).
func testLeaseFencing(t *testing.T, db *store.DB) {
	ctx := context.Background()
	job := &airlock.Job{Kind: airlock.JobMail, Payload: []byte("{}"), RunAt: t0, CreatedAt: t0, UserID: "u1", EmailKind: "reset"}
	other := &airlock.Job{Kind: airlock.JobMail, Payload: []byte("{}"), RunAt: t0.Add(time.Second), CreatedAt: t0, UserID: "u1", EmailKind: "reset"}
	if err := db.EnqueueJobs(ctx, []*airlock.Job{job, other}); err != nil {
		t.Fatal(err)
	}
	a := claimOne(t, db, "node-a", t0, time.Minute)
	if a == nil {
		t.Fatal("nothing claimed")
	}
	// A node whose clock runs a day ahead does not see the lease run out.
	if j := claimOne(t, db, "node-fast", t0.Add(24*time.Hour), time.Minute); j == nil || j.ID == a.ID {
		t.Fatalf("a node a day ahead took %+v", j)
	}
	// The lease runs out on the database's clock; nobody has taken the job
	// yet, and still node-a writes nothing more for it.
	if err := db.PassTime(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.RenewLease(ctx, a.ID, "node-a", time.Minute); ok || err != nil {
		t.Fatalf("a lease that ran out was renewed: %v %v", ok, err)
	}
	var held map[int64]bool
	if err := db.Update(ctx, func(tx airlock.Tx) (err error) {
		held, err = tx.PrepareEmails(ctx, "node-a", []airlock.EmailPrep{{ID: a.ID, MessageID: "<late@example.com>", PreparedAt: t0}})
		return err
	}); err != nil || held[a.ID] {
		t.Fatalf("prepared after the lease ran out: %v %v", held, err)
	}
	if ok, err := db.MarkEmailSent(ctx, a.ID, "node-a", "250 ok", "<late@example.com>", t0); ok || err != nil {
		t.Fatalf("recorded sent after the lease ran out: %v %v", ok, err)
	}
	if ok, err := db.MarkEmailFailed(ctx, a.ID, "node-a", "550 no", t0); ok || err != nil {
		t.Fatalf("recorded failed after the lease ran out: %v %v", ok, err)
	}
	if err := db.RetryJob(ctx, a.ID, "node-a", t0, t0.Add(time.Hour), "451 later"); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx airlock.Tx) error { return tx.DeleteJobs(ctx, "node-a", []int64{a.ID}) }); err == nil {
		t.Fatal("deleted after the lease ran out")
	}
	got, err := db.EmailByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != airlock.EmailSending || got.MessageID != "" || got.Reply != "" || got.LastError != "" || !got.RunAt.Equal(t0) {
		t.Fatalf("written after the lease ran out: %+v", got)
	}
	// Any node takes it over now, whatever its clock.
	if j := claimOne(t, db, "node-b", t0, time.Minute); j == nil || j.ID != a.ID || !j.TakenOver {
		t.Fatalf("take-over: %+v", j)
	}
}

func testLimits(t *testing.T, db *store.DB) {
	ctx := context.Background()
	tat, err := db.LockLimit(ctx, "k")
	if err != nil || !tat.IsZero() {
		t.Fatalf("fresh limit = %v, %v", tat, err)
	}
	err = db.Update(ctx, func(tx airlock.Tx) error {
		if _, err := tx.LockLimit(ctx, "k"); err != nil {
			return err
		}
		return tx.SetLimit(ctx, "k", t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if tat, _ := db.LockLimit(ctx, "k"); !tat.Equal(t0) {
		t.Fatalf("limit = %v, want %v", tat, t0)
	}
}

func testSessions(t *testing.T, db *store.DB) {
	ctx := context.Background()
	db.CreateUser(ctx, newUser("u1", "ada@example.com"))
	for i := range 3 {
		if err := db.CreateSession(ctx, &airlock.Session{IDHash: []byte{byte(i)}, UserID: "u1", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.DeleteUserSessions(ctx, "u1"); err != nil || n != 3 {
		t.Fatalf("DeleteUserSessions = %d, %v", n, err)
	}
	if _, err := db.SessionByHash(ctx, []byte{0}); !errors.Is(err, airlock.ErrNotFound) {
		t.Fatalf("session after revoke: %v", err)
	}
}

// TestSQLiteTwoProcesses writes from two pools on one file at once, as the
// CLI does while serve runs: WAL and the busy timeout mean neither side
// ever sees "database is locked".
func TestSQLiteTwoProcesses(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "airlock.db")
	a, b := openPath(t, path), openPath(t, path)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 40 {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Go(func() {
			err := db.Update(ctx, func(tx airlock.Tx) error {
				if err := tx.CreateUser(ctx, newUser(fmt.Sprintf("id%d", i), fmt.Sprintf("u%d@example.com", i))); err != nil {
					return err
				}
				return tx.EnqueueJobs(ctx, []*airlock.Job{{Kind: airlock.JobMail, Payload: []byte("{}"), RunAt: t0, CreatedAt: t0}})
			})
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if _, total, _ := a.ListUsers(ctx, airlock.UserFilter{}); total != 40 {
		t.Fatalf("users = %d, want 40", total)
	}
}

func testAPITokens(t *testing.T, db *store.DB) {
	ctx := context.Background()
	db.CreateUser(ctx, newUser("u1", "ada@example.com"))
	if err := db.CreateTokenFamily(ctx, &airlock.TokenFamily{ID: "f1", UserID: "u1", AuthEpoch: 0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	refresh := []byte("refresh-hash-0123456789abcdef0123")
	access := []byte("access-hash-0123456789abcdef01234")
	for _, tk := range []*airlock.APIToken{
		{Hash: refresh, Kind: airlock.TokenRefresh, UserID: "u1", FamilyID: "f1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{Hash: access, Kind: airlock.TokenAccess, UserID: "u1", FamilyID: "f1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
	} {
		if err := db.InsertAPIToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	// A refresh token rotates once, whatever the concurrency.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			err := db.Update(ctx, func(tx airlock.Tx) error {
				tk, err := tx.UseRefreshToken(ctx, refresh, t0.Add(time.Minute))
				if err == nil && tk.FamilyID == "f1" {
					wins.Add(1)
				}
				return err
			})
			if err != nil && !errors.Is(err, airlock.ErrNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d rotations succeeded, want 1", wins.Load())
	}
	// An access token is never a refresh token.
	if _, err := db.UseRefreshToken(ctx, access, t0); !errors.Is(err, airlock.ErrNotFound) {
		t.Fatalf("access token used as refresh: %v", err)
	}
	// A token added after the family was revoked is dead with it: the
	// family row, read with every token, is what counts.
	if n, err := db.RevokeTokenFamily(ctx, "f1", t0); err != nil || n != 2 {
		t.Fatalf("RevokeTokenFamily = %d, %v", n, err)
	}
	late := []byte("late-hash-0123456789abcdef01234567")
	if err := db.InsertAPIToken(ctx, &airlock.APIToken{Hash: late, Kind: airlock.TokenAccess, UserID: "u1", FamilyID: "f1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, h := range [][]byte{access, late} {
		if tk, err := db.APITokenByHash(ctx, h); err != nil || tk.FamilyRevokedAt.IsZero() {
			t.Fatalf("token of a revoked family: %+v, %v", tk, err)
		}
	}
	if tk, _ := db.APITokenByHash(ctx, access); tk.RevokedAt.IsZero() {
		t.Fatal("access token not revoked with its family")
	}
}

// TestClientGoneIsNotAFault: when the request's client went away, whatever
// the driver answers (a rolled-back transaction, a closed connection) is
// reported as context.Canceled, which the fronts neither log as an error
// nor count as a 5xx.
func TestClientGoneIsNotAFault(t *testing.T) {
	t.Parallel()
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx, cancel := context.WithCancel(context.Background())
			err := db.Update(ctx, func(tx airlock.Tx) error {
				if _, err := tx.CountActiveAdmins(ctx); err != nil {
					return err
				}
				cancel() // the client hangs up before the commit
				time.Sleep(20 * time.Millisecond)
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("after the client left: %v", err)
			}
			if airlock.ErrorCode(err) == airlock.CodeUnavailable {
				t.Fatal("a client leaving is not the database being away")
			}
		})
	}
}

// TestAuditFilters: events filtered by time range, with the subject's email.
func TestAuditFilters(t *testing.T) {
	t.Parallel()
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			db.CreateUser(ctx, newUser("u1", "ada@example.com"))
			for i, kind := range []string{airlock.AuditSignIn, airlock.AuditSignOut, airlock.AuditSignIn} {
				if err := db.InsertAudits(ctx, []*airlock.AuditEvent{{At: t0.Add(time.Duration(i) * time.Hour), Kind: kind, SubjectID: "u1"}}); err != nil {
					t.Fatal(err)
				}
			}
			events, total, err := db.ListAudit(ctx, airlock.AuditFilter{From: t0.Add(30 * time.Minute), To: t0.Add(90 * time.Minute)})
			if err != nil || total != 1 || events[0].Kind != airlock.AuditSignOut || events[0].SubjectEmail != "ada@example.com" {
				t.Fatalf("time range: %d %+v %v", total, events, err)
			}
		})
	}
}
