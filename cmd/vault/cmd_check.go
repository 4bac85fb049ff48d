package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/report"
)

func init() {
	register(command{name: "check", summary: "one line and an exit code for Nagios-style monitors", run: runCheck})
}

const checkUsage = "usage: vault check [-c FILE] [--warn DURATION] [--crit DURATION] [JOB...]"

// runCheck is a Nagios plugin: one line on stdout and the exit code 0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN. Everything that keeps it from looking (bad flags, a bad configuration,
// an unreadable state directory) is UNKNOWN, never vault's usual exit 2, which a monitor would
// read as CRITICAL.
func runCheck(ctx context.Context, s *stdio, args []string) error {
	unknown := func(err error) error {
		line, code := report.CheckError(err)
		fmt.Fprintln(s.out, line)
		return &exitError{code: code}
	}
	flags := newFlags(s, "check", checkUsage,
		"\nThe state of every job (or the JOBs named) as one line for Nagios, Icinga or NRPE,\nworst problems first, with performance data. Exit status: 0 OK, 1 WARNING, 2 CRITICAL,\n3 UNKNOWN (a job never run, or the state could not be read). A dataset warns when its last\ngood pull is older than its job's rpo, and is critical past rpo_critical; --warn and --crit\nreplace those for every job. The pools that hold the jobs' targets count too (their\nstate, errors, capacity and last scrub). Run it as root or the vault user: the state is theirs.")
	path := flags.String("c", conf.DefaultPath(), "the configuration `FILE`")
	var warn, crit time.Duration
	flags.Func("warn", "warn when a dataset's last good pull is older than `DURATION` (\"26h\", \"2d\"), for every job", checkDuration(&warn))
	flags.Func("crit", "critical when a dataset's last good pull is older than `DURATION`, for every job", checkDuration(&crit))
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return unknown(fmt.Errorf("bad usage: %w", err))
	}
	if warn > 0 && crit > 0 && crit <= warn {
		return unknown(fmt.Errorf("bad usage: --crit (%s) must be longer than --warn (%s)", conf.FormatDuration(crit), conf.FormatDuration(warn)))
	}
	c, err := loadConfig(*path)
	if err != nil {
		return unknown(err)
	}
	jobs, err := selectJobs(c, flags.Args(), "")
	if err != nil {
		return unknown(err)
	}
	st, _, err := gatherStatus(ctx, c, jobs, time.Now())
	if err != nil {
		return unknown(err)
	}
	operate.LookAtPools(ctx, c, &st)
	line, code := report.CheckLine(st, warn, crit)
	fmt.Fprintln(s.out, line)
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// checkDuration sets *d from a flag value in the configuration's duration syntax.
func checkDuration(d *time.Duration) func(string) error {
	return func(v string) error {
		x, err := conf.ParseDuration(v)
		if err != nil {
			return err
		}
		*d = x
		return nil
	}
}
