package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

const mailUsage = `usage: airlock mail COMMAND [FLAGS]

Commands:
  list        list the emails in the outbox and their delivery (30 days)
  retry       send a failed or deferred email again now
  clear-dev   empty the dev mailbox

Run "airlock mail COMMAND --help" for a command's flags.
`

// mailCommand shows and acts on the outbox from the command line.
func mailCommand(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	sub, err := group{"mail", mailUsage}.choose(args, stdout, stderr, "list", "retry", "clear-dev")
	if err != nil {
		return err
	}
	var c *command
	var state, user *string
	var limit *int
	switch sub {
	case "list":
		c = newCommand("mail list", "[--state STATE] [--user EMAIL] [--limit N]", `
List the emails of the last 30 days, newest first, with their delivery: queued,
sending, sent (with the mail server's answer), deferred (the next attempt and the
last error) or failed (refused for good, or still failing after 24 hours).`)
		state = c.flags.String("state", "", "`STATE` only emails in this state: queued, sending, sent, deferred or failed")
		user = c.flags.String("user", "", "`EMAIL` only emails to this user")
		limit = c.flags.Int("limit", 50, "how many emails, 1 to 1000")
	case "retry":
		c = newCommand("mail retry", "ID", `
Queue a failed or deferred email again now, with a new Message-ID (and, for a
reset email, a new link); a running "airlock serve" sends it within seconds.
ID is the first column of "airlock mail list".`)
	case "clear-dev":
		c = newCommand("mail clear-dev", "", `
Empty the dev mailbox: the emails kept in the database while no AIRLOCK_SMTP_URL
is set.`)
	}
	if err := c.parse(args[1:], stdout, stderr); err != nil {
		return err
	}
	var id int64
	switch {
	case sub == "retry":
		if c.flags.NArg() != 1 {
			c.usage(stderr)
			return &usageError{"mail retry: want the email's ID (see airlock mail list)"}
		}
		n, err := strconv.ParseInt(c.flags.Arg(0), 10, 64)
		if err != nil || n <= 0 {
			return &usageError{fmt.Sprintf("mail retry: %q is not an email ID", terminalText(c.flags.Arg(0)))}
		}
		id = n
	default:
		if err := c.noArgs(stderr); err != nil {
			return err
		}
	}
	if limit != nil && (*limit < 1 || *limit > 1000) {
		return &usageError{"mail list: --limit must be 1..1000"}
	}
	_, a, err := openCLI(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	m := account.Meta{IP: "cli", UserAgent: "airlock mail " + sub}
	switch sub {
	case "retry":
		j, err := a.accounts.AdminEmail(ctx, account.Operator, id)
		if err != nil {
			return a.cliError(err)
		}
		if err := a.accounts.AdminRetryEmail(ctx, account.Operator, j.UserID, id, m); err != nil {
			return a.cliError(err)
		}
		fmt.Fprintf(stdout, "email %d queued again; a running server sends it within seconds\n", id)
		return nil
	case "clear-dev":
		n, err := a.db.ClearDevMail(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, plural(n, "email", "emails"), "removed from the dev mailbox")
		return nil
	}
	f := airlock.EmailFilter{State: *state, Limit: *limit}
	if *user != "" {
		u, err := a.accounts.AdminFindUser(ctx, account.Operator, *user)
		if err != nil {
			return a.cliError(err)
		}
		f.UserID = u.ID
	}
	emails, err := a.accounts.AdminListEmails(ctx, account.Operator, f)
	if err != nil {
		return a.cliError(err)
	}
	// People are named by their email address, as everywhere else the
	// operator reads (an id when the user is gone).
	who := map[string]string{}
	for _, j := range emails {
		if _, seen := who[j.UserID]; seen || j.UserID == "" {
			continue
		}
		who[j.UserID] = j.UserID
		if u, err := a.db.UserByID(ctx, j.UserID); err == nil {
			who[j.UserID] = u.Email
		} else if !errors.Is(err, airlock.ErrNotFound) {
			return err
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	printRow(tw, "ID", "QUEUED", "KIND", "USER", "STATE", "ATTEMPTS", "DETAIL")
	for _, j := range emails {
		detail := j.Reply
		switch j.State {
		case airlock.EmailDeferred:
			detail = "next attempt " + j.RunAt.UTC().Format("2006-01-02T15:04:05Z") + ": " + j.LastError
		case airlock.EmailFailed:
			detail = problemWords[account.DeliveryProblem(j)] + ": " + j.LastError
		}
		// The server's words are the outside world's: escaped like any
		// other text before they reach the operator's terminal.
		printRow(tw, strconv.FormatInt(j.ID, 10), j.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), j.EmailKind,
			dash(who[j.UserID]), j.State, strconv.Itoa(j.Attempts), dash(detail))
	}
	tw.Flush()
	fmt.Fprintln(stdout, plural(len(emails), "email", "emails"))
	return nil
}

// problemWords says why an email was not delivered, for the operator.
var problemWords = map[string]string{
	account.ProblemRefusedAddress: "the recipient's server refused the address",
	account.ProblemMailboxFull:    "the recipient's mailbox is full",
	account.ProblemRejected:       "the recipient's server refused the email",
	account.ProblemTemporary:      "the server asked to try later",
	account.ProblemUnreachable:    "the mail server could not be reached",
	account.ProblemTLS:            "the secure connection to the relay failed (AIRLOCK_SMTP_URL, AIRLOCK_SMTP_CA_FILE)",
	account.ProblemOther:          "not delivered",
}
