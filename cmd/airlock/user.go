package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/i18n"
	"github.com/airlockhq/airlock/password"
)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// readPassword reads one line from stdin, without its line ending.
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", &usageError{"--password-stdin: no password on standard input"}
	}
	return line, nil
}

const userUsage = `usage: airlock user COMMAND [FLAGS]

Commands:
  add            create a user
  import         create users from a CSV file, all or nothing
  set-password   set a user's password, read from standard input
  list           list users

Run "airlock user COMMAND --help" for a command's flags.
`

func userCommand(ctx context.Context, args []string, e env, stdin io.Reader, stdout, stderr io.Writer) error {
	sub, err := group{"user", userUsage}.choose(args, stdout, stderr, "add", "import", "set-password", "list")
	if err != nil {
		return err
	}
	if sub == "import" {
		return importCommand(ctx, args[1:], e, stdout, stderr)
	}
	var (
		c                           *command
		email                       *string
		first, last, lang, q, group *string
		groups                      stringList
		pwStdin, temporary, invite  *bool
	)
	switch sub {
	case "add":
		c = newCommand("user add", `--email EMAIL [--first-name TEXT] [--last-name TEXT] [--language en|fr]
                        [--group GROUP ...] [--password-stdin [--temporary] | --invite]`, `
Create a user. With --invite the user is emailed an invitation to choose a
first password (sent by a running server); without --password-stdin or
--invite no password is set. A password is never taken
as an argument, where the shell history and other users would see it:
  echo 'a long passphrase' | airlock user add --email … --password-stdin`)
		email = c.flags.String("email", "", "`EMAIL` the user's email address (required)")
		first = c.flags.String("first-name", "", "first name")
		last = c.flags.String("last-name", "", "last name")
		lang = c.flags.String("language", "en", "`en|fr` the language of the user's pages and emails")
		c.flags.Var(&groups, "group", "`GROUP` a group of the user, repeatable: "+strings.Join(airlock.Groups, ", "))
		pwStdin = c.flags.Bool("password-stdin", false, "read the password from the first line of standard input")
		temporary = c.flags.Bool("temporary", false, "the user must choose a new password at first sign-in")
		invite = c.flags.Bool("invite", false, "email an invitation to choose a first password (instead of --password-stdin)")
	case "set-password":
		c = newCommand("user set-password", "--email EMAIL --password-stdin [--temporary]", `
Set a user's password, read from the first line of standard input. Every session,
API token and reset link of the user is revoked, and the user is told by email.
  echo 'a long passphrase' | airlock user set-password --email … --password-stdin`)
		email = c.flags.String("email", "", "`EMAIL` the user's email address (required)")
		pwStdin = c.flags.Bool("password-stdin", false, "read the password from standard input (required)")
		temporary = c.flags.Bool("temporary", false, "the user must choose a new password at next sign-in (it expires after 72 hours)")
	case "list":
		c = newCommand("user list", "[--q TEXT] [--group GROUP]", `
List users (at most 500) with their groups and whether a password is set.`)
		q = c.flags.String("q", "", "`TEXT` only users whose name or email contains it")
		group = c.flags.String("group", "", "`GROUP` only users of this group: "+strings.Join(airlock.Groups, ", "))
	}
	if err := c.parse(args[1:], stdout, stderr); err != nil {
		return err
	}
	if err := c.noArgs(stderr); err != nil {
		return err
	}
	if sub != "list" && *email == "" {
		return &usageError{fmt.Sprintf("user %s: --email is required", sub)}
	}
	cfg, a, err := openCLI(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	m := account.Meta{IP: "cli", UserAgent: "airlock user " + sub}

	switch sub {
	case "add":
		n := account.NewUser{Email: *email, FirstName: *first, LastName: *last, Language: *lang, Groups: groups, Temporary: *temporary, Invite: *invite}
		if *invite && *pwStdin {
			return &usageError{"user add: --invite and --password-stdin exclude each other"}
		}
		if *pwStdin {
			if n.Password, err = readPassword(stdin); err != nil {
				return err
			}
		}
		u, err := a.accounts.AdminCreateUser(ctx, account.Operator, n, m)
		if err != nil {
			return a.cliError(err)
		}
		fmt.Fprintf(stdout, "created user %s <%s>\n", terminalText(u.ID), terminalText(u.Email))
		switch {
		case *invite:
			fmt.Fprintln(stdout, "invitation queued: a running server sends it")
		case u.PasswordHash == "":
			fmt.Fprintf(stdout, "no password set: send an invitation (airlock user add --invite, or the back office), or the user can choose one at %s/password/forgot\n", cfg.PublicURL)
		}
		// The command line never runs queued jobs: they may be the server's,
		// and an email sent from here would land in this process's own dev
		// mailbox and be lost. The server's workers send them.
		return nil
	case "set-password":
		if !*pwStdin {
			return &usageError{"user set-password: --password-stdin is required (a password on the command line leaks into the shell history)"}
		}
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		u, err := a.accounts.AdminFindUser(ctx, account.Operator, *email)
		if err != nil {
			return a.cliError(err)
		}
		if err := a.accounts.AdminSetPassword(ctx, account.Operator, u.ID, pw, "", *temporary, m); err != nil {
			return a.cliError(err)
		}
		fmt.Fprintf(stdout, "password set for %s; all sessions and reset links of the user were revoked\n", terminalText(u.Email))
		return nil
	case "list":
		users, total, err := a.accounts.AdminListUsers(ctx, account.Operator, airlock.UserFilter{Query: *q, Group: *group, Limit: 500})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		printRow(tw, "ID", "EMAIL", "NAME", "LANGUAGE", "ACTIVE", "GROUPS", "PASSWORD")
		for _, u := range users {
			pw := "set"
			switch {
			case u.PasswordHash == "":
				pw = "none"
			case u.MustChangePassword:
				pw = "temporary"
			}
			printRow(tw, u.ID, u.Email, strings.TrimSpace(u.FirstName+" "+u.LastName),
				u.Language, strconv.FormatBool(u.Active), strings.Join(u.Groups, ","), pw)
		}
		tw.Flush()
		fmt.Fprintln(stdout, plural(total, "user", "users"))
		return nil
	}
	return nil
}

// openCLI loads the settings and opens the app for a command-line command.
// The CLI logs only warnings: its audit rows go to the database anyway.
func openCLI(ctx context.Context, e env, stderr io.Writer) (*config, *app, error) {
	cfg, err := e.load(nil)
	if err != nil {
		return nil, nil, err
	}
	cfg.LogLevel = slog.LevelWarn
	a, err := newApp(ctx, cfg, newLogger(cfg, stderr), airlock.SystemClock{})
	if err != nil {
		return nil, nil, err
	}
	return cfg, a, nil
}

// cliError turns a domain error into a message for the terminal. A refused
// password says why in words, as the pages do: "too short: at least 12
// characters", not "too_short".
func (a *app) cliError(err error) error {
	e := airlock.AsError(err)
	if e == nil {
		return err
	}
	if e.Code == airlock.CodeNotFound && e.Key != "error.no_such_email" {
		return fmt.Errorf("no such user")
	}
	if e.Code == airlock.CodePasswordPolicy && len(e.Reasons) > 0 {
		// The words of the pages' message files: one source for every front.
		words := make([]string, len(e.Reasons))
		for i, r := range e.Reasons {
			if r == password.ReasonTooShort {
				words[i] = i18n.Messages().T("en", "reason."+r, a.accounts.Policy().MinLength)
			} else {
				words[i] = i18n.Messages().T("en", "reason."+r)
			}
		}
		return fmt.Errorf("password refused: %s", strings.Join(words, "; "))
	}
	return fmt.Errorf("%s", i18n.ErrorText("en", e))
}
