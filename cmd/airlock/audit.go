package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/web"
)

// auditCommand prints the security event log, newest first, with the same
// filters as the back office's audit page.
func auditCommand(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	c := newCommand("audit", "[--user EMAIL|ID] [--kind KIND] [--limit N] [--offset N]", `
Print the security event log, newest first: sign-ins, resets, password changes
and administrators' actions, with who acted, on whom, from where, and the
outcome. What users typed is escaped before it reaches the terminal.`)
	user := c.flags.String("user", "", "`EMAIL|ID` only events whose actor or subject is this user")
	kind := c.flags.String("kind", "", "`KIND` only events of this kind, such as sign_in or password_changed")
	limit := c.flags.Int("limit", 50, "how many events, 1 to 1000")
	offset := c.flags.Int("offset", 0, "skip this many of the newest events")
	if err := c.parse(args, stdout, stderr); err != nil {
		return err
	}
	if err := c.noArgs(stderr); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 || *offset < 0 {
		return &usageError{"audit: --limit must be 1..1000 and --offset at least 0"}
	}
	_, a, err := openCLI(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	f := airlock.AuditFilter{Kind: *kind, Limit: *limit, Offset: *offset}
	if *user != "" {
		f.UserID = *user
		if strings.Contains(*user, "@") {
			u, err := a.accounts.AdminFindUser(ctx, account.Operator, *user)
			if err != nil {
				return a.cliError(err)
			}
			f.UserID = u.ID
		}
	}
	events, total, err := a.accounts.AdminListAudit(ctx, account.Operator, f)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	printRow(tw, "TIME", "KIND", "OUTCOME", "ACTOR", "SUBJECT", "IP", "DETAIL", "USER AGENT")
	for _, ev := range events {
		actor := ev.ActorEmail
		if actor == "" {
			actor = ev.ActorID
		}
		subject := ev.Subject
		if subject == "" {
			subject = ev.SubjectID
		}
		printRow(tw, ev.At.UTC().Format("2006-01-02T15:04:05Z"), ev.Kind, ev.Outcome,
			dash(actor), dash(subject), dash(ev.IP), dash(web.AuditDetail("en", ev)), dash(ev.UserAgent))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d of %s\n", len(events), plural(total, "event", "events"))
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
