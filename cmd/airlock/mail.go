package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
)

const mailUsage = `usage: airlock mail COMMAND

  list [--state queued|sending|sent|deferred|failed] [--user EMAIL] [--limit N]
                 the outbox and its history (30 days), newest first
  retry ID       send a failed or deferred email again now
  clear-dev      empty the dev mailbox
`

// mailCommand shows and acts on the outbox from the command line.
func mailCommand(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, mailUsage)
		return &usageError{"mail: want list, retry or clear-dev"}
	}
	fs := flag.NewFlagSet("mail "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var state, user *string
	var limit *int
	switch args[0] {
	case "list":
		state = fs.String("state", "", "only emails in this state")
		user = fs.String("user", "", "only emails to this user (email address)")
		limit = fs.Int("limit", 50, "how many emails (at most 1000)")
	case "retry", "clear-dev":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, mailUsage)
		return nil
	default:
		fmt.Fprint(stderr, mailUsage)
		return &usageError{fmt.Sprintf("mail: unknown command %q", args[0])}
	}
	if err := fs.Parse(args[1:]); err != nil {
		return &usageError{err.Error()}
	}
	var id int64
	switch {
	case args[0] == "retry":
		if fs.NArg() != 1 {
			return &usageError{"mail retry: want the email's ID (see airlock mail list)"}
		}
		n, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || n <= 0 {
			return &usageError{fmt.Sprintf("mail retry: %q is not an email ID", fs.Arg(0))}
		}
		id = n
	case fs.NArg() > 0:
		return &usageError{fmt.Sprintf("mail %s: unexpected argument %q", args[0], fs.Arg(0))}
	}
	if limit != nil && (*limit < 1 || *limit > 1000) {
		return &usageError{"mail list: --limit must be 1..1000"}
	}
	_, a, err := openCLI(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	m := account.Meta{IP: "cli", UserAgent: "airlock mail " + args[0]}
	switch args[0] {
	case "retry":
		if err := a.accounts.AdminRetryEmail(ctx, account.Operator, id, m); err != nil {
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
			dash(j.UserID), j.State, strconv.Itoa(j.Attempts), dash(detail))
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
