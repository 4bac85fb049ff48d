package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"

	"github.com/belltech/vault/serve"
	"github.com/belltech/vault/zfs"
	"github.com/hashicorp/go-hclog"
)

func init() {
	register(command{name: "serve", summary: "on a source host: the forced command that lets the vault's key run only what a pull needs", run: runServe})
}

const serveUsage = "usage: vault serve --allow ROOT[,ROOT...] [--allow ROOT...] [--hold-prefix vault:VAULT:] [--max-skew DUR] [--zfs PATH] [--log syslog|stderr|none]"

// allowFlag collects --allow values: datasets, comma-separated, repeatable.
type allowFlag []zfs.Dataset

func (a *allowFlag) String() string {
	s := make([]string, len(*a))
	for i, d := range *a {
		s[i] = d.String()
	}
	return strings.Join(s, ",")
}

func (a *allowFlag) Set(v string) error {
	for r := range strings.SplitSeq(v, ",") {
		ds, err := zfs.ParseDataset(r)
		if err != nil {
			return err
		}
		*a = append(*a, ds)
	}
	return nil
}

// runServe is `vault serve`, run by sshd as the forced command of the
// vault's key: it checks SSH_ORIGINAL_COMMAND against the gate and runs it.
// A refusal is already reported by the gate (one line on stderr, one in the
// log), so it returns only the exit status.
func runServe(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "serve", serveUsage,
		"\nPut it in the source host's authorized_keys as the vault key's forced command:",
		`  command="/usr/local/sbin/vault serve --allow pool/data --hold-prefix vault:rust10:",restrict ssh-ed25519 AAAA... vault@rust10`,
		"")
	var allow allowFlag
	fs.Var(&allow, "allow", "a `ROOT` dataset the vault may read, snapshot and hold at and below (comma-separated, repeatable)")
	holdPrefix := fs.String("hold-prefix", serve.TagPrefix, "hold and release only tags that start with `PREFIX`: \"vault:\" and the vault's name, \"vault:rust10:\", for one vault's key")
	maxSkew := fs.Duration("max-skew", serve.DefaultMaxSkew, "take only snapshots whose names are dated within `DUR` of this host's clock (at most "+serve.MaxMaxSkew.String()+")")
	zfsBin := fs.String("zfs", serve.DefaultZFS, "the absolute `PATH` of zfs")
	logTo := fs.String("log", "syslog", "where to log each command: syslog (facility auth, falling back to stderr), stderr or none")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageErrorf("takes no arguments, got %s (the command comes in SSH_ORIGINAL_COMMAND)", joinQuoted(fs.Args()))
	case len(allow) == 0:
		return usageErrorf("no --allow: name the datasets the vault may back up; %s", serveUsage)
	case !path.IsAbs(*zfsBin) || path.Clean(*zfsBin) != *zfsBin:
		return usageErrorf("--zfs %q is not a clean absolute path", *zfsBin)
	case *maxSkew <= 0 || *maxSkew > serve.MaxMaxSkew:
		return usageErrorf("--max-skew %s: want more than 0 and at most %s", *maxSkew, serve.MaxMaxSkew)
	}
	if err := serve.CheckHoldPrefix(*holdPrefix); err != nil {
		return usageErrorf("--hold-prefix: %v", err)
	}
	log, err := serveLogger(*logTo, s)
	if err != nil {
		return err
	}
	if client, _, _ := strings.Cut(s.getenv("SSH_CLIENT"), " "); client != "" {
		log = log.With("client", client)
	}
	g := &serve.Gate{
		Allow:      allow,
		ZFS:        *zfsBin,
		HoldPrefix: *holdPrefix,
		MaxSkew:    *maxSkew,
		Exec:       &zfs.Local{},
		Log:        log,
	}
	if code := g.Serve(ctx, s.getenv("SSH_ORIGINAL_COMMAND"), s.in, s.out, s.err); code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// mainServe is main for `vault serve`, which runs for whoever holds the
// vault's key: it heeds nothing of the environment but what it needs of
// sshd's (serve.Environ), and none of what main heeds for the other
// commands (VAULT_CPUPROFILE). It executes itself again if the runtime has
// read a variable the client may have set. args are the arguments after
// the program's name; os.Args is what it executes again.
func mainServe(args []string) int {
	env, reexec, err := serve.Environ(os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "vault serve: refused: %v\n", err)
		return serve.ExitRefused
	}
	if reexec {
		exe, err := os.Executable()
		if err == nil {
			err = syscall.Exec(exe, os.Args, env)
		}
		fmt.Fprintf(os.Stderr, "vault serve: cannot execute itself again with a clean environment: %v\n", err)
		return exitFailure
	}
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv})
}

// serveLogger returns the logger for --log. Never stdout: it carries the
// send stream.
func serveLogger(to string, s *stdio) (hclog.Logger, error) {
	stderr := func() hclog.Logger {
		return hclog.New(&hclog.LoggerOptions{Name: "vault-serve", Output: s.err, Level: hclog.Info})
	}
	switch to {
	case "syslog":
		log, err := serve.NewSyslogLogger(hclog.Info)
		if err != nil {
			log = stderr()
			log.Warn("cannot log to syslog; logging to stderr", "error", err)
		}
		return log, nil
	case "stderr":
		return stderr(), nil
	case "none":
		return hclog.NewNullLogger(), nil
	}
	return nil, usageErrorf("--log %q: want syslog, stderr or none", to)
}
