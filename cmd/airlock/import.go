package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/i18n"
)

// importCommand creates users from a CSV file, all or nothing, printing
// every bad line and a progress bar for large files.
func importCommand(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	c := newCommand("user import", "FILE.csv [--invite]", `
Create the users of a CSV file (UTF-8) with a header row naming its columns:
email (required), first_name, last_name, language, groups (separated by spaces).
All or nothing: a file with any bad line (an invalid field, an address twice in
the file, an address that already has an account) creates nobody, and every bad
line is printed with its number and reason. A large file shows a progress bar.`)
	invite := c.flags.Bool("invite", false, "send each new user an invitation to choose a first password")
	// Flags may come before or after the file, as people type them.
	var files []string
	for {
		if err := c.parse(args, stdout, stderr); err != nil {
			return err
		}
		if c.flags.NArg() == 0 {
			break
		}
		files, args = append(files, c.flags.Arg(0)), c.flags.Args()[1:]
	}
	if len(files) != 1 {
		c.usage(stderr)
		return &usageError{"user import: want one FILE.csv"}
	}
	f, err := os.Open(files[0])
	if err != nil {
		return fmt.Errorf("user import: %w", err)
	}
	defer f.Close()
	// Read row by row: only the users and a short report are kept, however
	// large or bad the file.
	file, err := account.ParseUsersCSV(f)
	if err != nil {
		return fmt.Errorf("user import: %w", err)
	}
	f.Close()
	_, a, err := openCLI(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	m := account.Meta{IP: "cli", UserAgent: "airlock user import"}
	var progress func(done, total int)
	if file.Len() >= 1000 {
		// A bar on the terminal for large files, redrawn in place.
		progress = func(done, total int) {
			const width = 30
			filled := width * done / max(total, 1)
			bar := make([]byte, width)
			for i := range bar {
				bar[i] = '.'
				if i < filled {
					bar[i] = '#'
				}
			}
			fmt.Fprintf(stderr, "\rimporting [%s] %d/%d", bar, done, total)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	n, err := a.accounts.AdminImportUsers(ctx, account.Operator, file, *invite, m, progress)
	if err != nil {
		if progress != nil {
			fmt.Fprintln(stderr)
		}
		return a.importFailure(stderr, err)
	}
	fmt.Fprintf(stdout, "%s imported", plural(n, "user", "users"))
	if *invite {
		fmt.Fprint(stdout, "; their invitations are queued: a running server sends them")
	}
	fmt.Fprintln(stdout)
	return nil
}

// importFailure prints every bad line of a refused file.
func (a *app) importFailure(stderr io.Writer, err error) error {
	var ie *account.ImportError
	if !errors.As(err, &ie) {
		return a.cliError(err)
	}
	for _, p := range ie.Problems {
		fmt.Fprintf(stderr, "line %d: %s\n", p.Line, terminalText(i18n.Messages().T("en", p.Key, p.Args...)))
	}
	if ie.More > 0 {
		fmt.Fprintf(stderr, "… and %s more\n", plural(ie.More, "line", "lines"))
	}
	return fmt.Errorf("nothing was imported: %s to fix", plural(len(ie.Problems)+ie.More, "line", "lines"))
}
