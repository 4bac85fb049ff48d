package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
)

func init() {
	register(command{name: "config", summary: "check a configuration file and print what it means", run: runConfig})
}

const configUsage = "usage: vault config check [-c FILE] [FILE]"

func runConfig(_ context.Context, s *stdio, args []string) error {
	if len(args) == 0 {
		return usageErrorf("missing subcommand; %s", configUsage)
	}
	switch args[0] {
	case "check":
		return runConfigCheck(s, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(s.out, configUsage)
		return nil
	}
	return usageErrorf("unknown subcommand %q; %s", args[0], configUsage)
}

// runConfigCheck prints the resolved configuration, or every problem in it, one per line,
// and exits 2.
func runConfigCheck(s *stdio, args []string) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), configUsage)
		fmt.Fprintf(fs.Output(), "\nFILE defaults to %s.\n", conf.DefaultPath())
	}
	path := fs.String("c", "", "the configuration `FILE` (default "+conf.DefaultPath()+")")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	switch {
	case fs.NArg() > 1:
		return usageErrorf("takes one FILE, got %s", joinQuoted(fs.Args()))
	case fs.NArg() == 1 && *path != "" && fs.Arg(0) != *path:
		return usageErrorf("two files given, %q with -c and %q; give one", *path, fs.Arg(0))
	case fs.NArg() == 1:
		*path = fs.Arg(0)
	case *path == "":
		*path = conf.DefaultPath()
	}

	c, err := conf.Load(*path)
	var ps *conf.Problems
	if errors.As(err, &ps) {
		for _, p := range *ps {
			fmt.Fprintln(s.err, p)
		}
		n := "1 problem"
		if len(*ps) != 1 {
			n = fmt.Sprintf("%d problems", len(*ps))
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("%s in %s", n, *path)}
	}
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	protection := ""
	if p, ok := vaultProtection(context.Background(), c); ok {
		protection = p.Detail
	} else {
		protection = puller.ProtectionOf(nil, c.PruneUser != "").Explain("") + " (no " + c.ZFSBinary + " on this host)"
	}
	c.DescribeWith(s.out, protection)
	return nil
}

// loadConfig loads the configuration at path for a command that needs one. A configuration
// that cannot be read or has problems is a usage error (exit 2, nothing done); the error
// lists every problem, one per line, after a first line that says so.
func loadConfig(path string) (*conf.Config, error) {
	c, err := conf.Load(path)
	var ps *conf.Problems
	if errors.As(err, &ps) {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("cannot use configuration %s, nothing done:\n%w", path, err)}
	}
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return c, nil
}
