// Command vault is a hardened pull-backup appliance for ZFS: it pulls snapshots from source hosts
// over SSH as a delegated user, prunes conservatively, and imports signed, encrypted streams from
// removable media. This package holds flags, configuration loading and the one place that maps
// errors to exit codes; the logic lives in the packages it calls.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
)

// Exit codes. Monitoring commands (vault check) use their own 0..3 scale.
const (
	exitOK      = 0
	exitFailure = 1 // the work ran and something failed
	exitUsage   = 2 // bad flags, bad config, bad input: nothing was done
)

// command is one `vault VERB`.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, io *stdio, args []string) error
}

// stdio is what a command may touch of the outside world besides the system.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	getenv   func(string) string
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// exitError carries an explicit exit code; any other error exits 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports a problem with how vault was called: exit 2, nothing done.
func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		// The forced command of the vault's key on a source host: see
		// mainServe. Nothing below applies to it.
		os.Exit(mainServe(os.Args[1:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("VAULT_CPUPROFILE"))
	code := run(ctx, os.Args[1:], &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv})
	stop()
	stopProfile()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the whole command to path (for go tool pprof) when
// path is set, and returns the function that finishes it. A profile that cannot be started
// is reported and the command runs anyway.
func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vault: VAULT_CPUPROFILE: %v; running without a profile\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "vault: VAULT_CPUPROFILE: %v\n", err)
		}
	}
}

// run executes one command line and returns the process exit code. Every error is printed
// once, here, as one line prefixed with "vault: ".
func run(ctx context.Context, args []string, s *stdio) int {
	if len(args) == 2 && args[0] == "help" {
		// vault help CMD is vault CMD -h: one text, one place that writes it.
		args = []string{args[1], "-h"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 2 {
			fmt.Fprintf(s.err, "vault help: takes one command, got %s\n", joinQuoted(args[1:]))
			return exitUsage
		}
		usage(s.out)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(s.err, "vault: unknown command %q; run \"vault help\" for the list\n", args[0])
		return exitUsage
	}
	err := c.run(ctx, s, args[1:])
	if err == nil {
		return exitOK
	}
	var ee *exitError
	code := exitFailure
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	fmt.Fprintf(s.err, "vault %s: %v\n", c.name, err)
	return code
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vault COMMAND [ARGS]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run \"vault help COMMAND\" or \"vault COMMAND -h\" for a command's flags.")
}

// parseFlags parses a command's flags. done is true when the command should end now: after
// -h (err nil, exit 0) or on a bad flag, which the flag package has already printed (exit 2).
//
// Flags may come after the operands too, as the README writes some commands (vault restore send
// JOB DATASET --to ... --identity FILE): each operand is set aside and the flags after it parsed,
// until "--", after which everything is an operand. fs.Args() are the operands, in order.
func parseFlags(fs *flag.FlagSet, args []string) (done bool, err error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return true, nil
			}
			return true, &exitError{code: exitUsage}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// flag stops at the first operand, or after a "--" it consumed: rest then is all
		// operands.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			operands = append(operands, rest...)
			break
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
	// Leave the operands as fs.Args().
	if err := fs.Parse(append([]string{"--"}, operands...)); err != nil {
		return true, &exitError{code: exitUsage}
	}
	return false, nil
}

// joinQuoted formats names for messages: "a", "b".
func joinQuoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// newFlags is the flag set a command opens with: errors and usage go to stderr, and its usage
// is the usage line, then each line of help (a paragraph starts with its own blank line), then
// the flags.
func newFlags(s *stdio, name, usage string, help ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		for _, h := range help {
			fmt.Fprintln(fs.Output(), h)
		}
		fs.PrintDefaults()
	}
	return fs
}
