package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/airlockhq/airlock/account"
)

// importCommand creates users from a CSV file, all or nothing, printing
// every bad line and a progress bar for large files.
func importCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	invite := fs.Bool("invite", false, "send each new user an invitation to choose a first password")
	// Flags may come before or after the file, as people type them.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return &usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 {
		return &usageError{"user import: want one FILE.csv (header email,first_name,last_name,language,groups)"}
	}
	f, err := os.Open(files[0])
	if err != nil {
		return fmt.Errorf("user import: %w", err)
	}
	defer f.Close()
	rows, err := account.ParseUsersCSV(f)
	if err != nil {
		return importFailure(stderr, err)
	}
	_, a, err := openCLI(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	m := account.Meta{IP: "cli", UserAgent: "airlock user import"}
	var progress func(done, total int)
	if len(rows) >= 1000 {
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
	n, err := a.accounts.AdminImportUsers(ctx, account.Operator, rows, *invite, m, progress)
	if err != nil {
		if progress != nil {
			fmt.Fprintln(stderr)
		}
		return importFailure(stderr, err)
	}
	fmt.Fprintf(stdout, "%s imported", plural(n, "user", "users"))
	if *invite {
		fmt.Fprint(stdout, "; their invitations are queued: a running server sends them")
	}
	fmt.Fprintln(stdout)
	return nil
}

// importFailure prints every bad line of a refused file.
func importFailure(stderr io.Writer, err error) error {
	var ie *account.ImportError
	if !errors.As(err, &ie) {
		return cliError(err)
	}
	for _, p := range ie.Problems {
		fmt.Fprintf(stderr, "line %d: %s\n", p.Line, terminalText(p.Reason))
	}
	return fmt.Errorf("nothing was imported: %s to fix", plural(len(ie.Problems), "line", "lines"))
}

// plural says "1 user" or "2 users".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
