package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one command or subcommand of the command line: what its
// usage says, and its flags, so that --help and a mistake print the same
// text.
type command struct {
	// name is the command as typed after "airlock": "user add".
	name string
	// synopsis is what follows the name on the usage line.
	synopsis string
	// about says what the command does, in a few sentences.
	about string
	// more follows the flags in the usage.
	more  string
	flags *flag.FlagSet
}

// newCommand returns a command whose flags are defined on c.flags by the
// caller. A flag's usage may start with its value's name in backquotes
// ("`EMAIL` the user's email address"); otherwise a string is TEXT and a
// number N.
func newCommand(name, synopsis, about string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package's own messages and usage would go to stderr with a
	// single dash and "help requested": parse prints ours instead.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{name: name, synopsis: synopsis, about: about, flags: fs}
}

// errHelp says that the usage was asked for and printed: the command stops
// there and the program exits 0.
var errHelp = errors.New("help printed")

// parse reads the flags in args. On -h or --help it prints the usage on
// stdout and returns errHelp; on a mistake it prints the usage on stderr
// and returns a usageError.
func (c *command) parse(args []string, stdout, stderr io.Writer) error {
	err := c.flags.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.usage(stdout)
		return errHelp
	case err != nil:
		c.usage(stderr)
		return &usageError{fmt.Sprintf("%s: %v", c.name, err)}
	}
	return nil
}

// noArgs refuses arguments left after the flags.
func (c *command) noArgs(stderr io.Writer) error {
	if c.flags.NArg() > 0 {
		c.usage(stderr)
		return &usageError{fmt.Sprintf("%s: unexpected argument %q", c.name, terminalText(c.flags.Arg(0)))}
	}
	return nil
}

// usage writes the command's usage line, what it does and its flags.
func (c *command) usage(w io.Writer) {
	line := "usage: airlock " + c.name
	if c.synopsis != "" {
		line += " " + c.synopsis
	}
	fmt.Fprintf(w, "%s\n\n%s\n", line, strings.TrimSpace(c.about))
	var names []*flag.Flag
	c.flags.VisitAll(func(f *flag.Flag) { names = append(names, f) })
	if len(names) > 0 {
		c.printFlags(w, names)
	}
	if c.more != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.more))
	}
}

// printFlags writes each flag with its value's name and what it means.
func (c *command) printFlags(w io.Writer, names []*flag.Flag) {
	fmt.Fprint(w, "\nFlags:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, f := range names {
		value, meaning := flagValue(f)
		if def := f.DefValue; def != "" && def != "false" && def != "0" {
			meaning += " (default " + def + ")"
		}
		fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, value, meaning)
	}
	tw.Flush()
}

// flagValue returns how a flag's value is named in the usage, and what the
// flag means.
func flagValue(f *flag.Flag) (value, meaning string) {
	if rest, ok := strings.CutPrefix(f.Usage, "`"); ok {
		if name, meaning, ok := strings.Cut(rest, "` "); ok {
			return " " + name, meaning
		}
	}
	switch kind, _ := flag.UnquoteUsage(f); kind {
	case "":
		return "", f.Usage
	case "string":
		return " TEXT", f.Usage
	case "int":
		return " N", f.Usage
	default:
		return " VALUE", f.Usage
	}
}

// group is a command made of subcommands: "user", "mail".
type group struct {
	name  string
	usage string
}

// choose returns the subcommand named in args. With none it prints the
// usage on stderr (a usageError); with help, -h or --help it prints it on
// stdout and returns errHelp.
func (g group) choose(args []string, stdout, stderr io.Writer, subcommands ...string) (string, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, g.usage)
		return "", &usageError{fmt.Sprintf("%s: want %s", g.name, orList(subcommands))}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, g.usage)
		return "", errHelp
	}
	for _, s := range subcommands {
		if args[0] == s {
			return s, nil
		}
	}
	fmt.Fprint(stderr, g.usage)
	return "", &usageError{fmt.Sprintf("%s: unknown command %q", g.name, terminalText(args[0]))}
}

// orList writes "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
