package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/control"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "status", summary: "the state of every job and dataset at a glance", run: runStatus})
}

const statusUsage = "usage: vault status [-c FILE] [--json | --watch [--interval 2s]] [JOB...]"

const (
	// daemonTimeout bounds a console's status request to the daemon, which only reads files.
	// A daemon that does not answer in time is passed by and the state read directly, well
	// inside the 10 seconds Nagios gives a plugin.
	daemonTimeout = 5 * time.Second
	// holdingsTimeout bounds the zfs listing of one job's target.
	holdingsTimeout = 30 * time.Second
)

func runStatus(ctx context.Context, s *stdio, args []string) error {
	flags := newFlags(s, "status", statusUsage,
		"\nEvery job, or the JOBs named: one row per dataset with its level (OK, WARN, CRIT,\nUNKNOWN), its last good pull and its age against the job's rpo (for an import from media,\nwhen its data was made and the data's age), the newest snapshot, what the vault holds of\nit, and why it is not OK. From the running daemon, or without one\nfrom the state directory. Then the pools that hold the jobs' targets (zpool_binary): state,\nerrors, how full, the last scrub. For monitors: vault check, and the Prometheus textfile.\n\nWith --watch, a live view redrawn every --interval until Ctrl-C: the streams the daemon is\nrunning (bytes, estimate, rate, ETA), the pools and the datasets, in 80 columns of plain\nASCII. On a terminal it clears the screen for each frame; otherwise it prints one frame per\ninterval, each after a line of dashes.")
	path := flags.String("c", conf.DefaultPath(), "the configuration `FILE`")
	asJSON := flags.Bool("json", false, "print JSON (stable field names) instead of the table")
	watch := flags.Bool("watch", false, "redraw a live view every --interval, with the transfers in progress, until Ctrl-C")
	interval := flags.Duration("interval", defaultWatchInterval, "with --watch, how often to redraw (at least 1s)")
	if done, err := parseFlags(flags, args); done {
		return err
	}
	if err := checkWatchFlags(flags, *watch, *asJSON, *interval); err != nil {
		return err
	}
	c, jobs, err := configJobs(*path, flags.Args(), "")
	if err != nil {
		return err
	}
	if *watch {
		return watchStatus(ctx, s, c, jobs, *interval)
	}
	st, note, err := gatherStatus(ctx, c, jobs, time.Now())
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(s.err, "vault status: %s\n", note)
	}
	for _, msg := range fillHoldings(ctx, c, jobs, &st) {
		fmt.Fprintf(s.err, "vault status: %s\n", msg)
	}
	operate.LookAtPools(ctx, c, &st)
	if p, ok := vaultProtection(ctx, c); ok {
		st.Protection = &p
	}
	if *asJSON {
		b, err := st.JSON()
		if err != nil {
			return err
		}
		_, err = s.out.Write(b)
		return err
	}
	return st.WriteTable(s.out, isTerminal(s, s.out))
}

// gatherStatus gets the saved state of jobs from the running daemon or, when there is none (or
// it does not answer), from the state directory, read only: nothing is created, chowned or
// locked, so any user who can read the directory may look. note says why the daemon was
// passed by, when it was there but did not answer.
func gatherStatus(ctx context.Context, c *conf.Config, jobs []*conf.Job, now time.Time) (st report.Status, note string, err error) {
	sub := *c
	sub.Jobs = make([]conf.Job, len(jobs))
	names := make([]string, len(jobs))
	for i, j := range jobs {
		sub.Jobs[i], names[i] = *j, j.Name
	}

	dctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	var reply operate.States
	err = control.Call(dctx, controlSocket(c), control.Request{Op: "status", Jobs: names}, &reply)
	cancel()
	if err == nil {
		return operate.StatusOf(&sub, reply, now), "", nil
	}
	if !errors.Is(err, control.ErrNoDaemon) {
		note = fmt.Sprintf("the daemon did not answer (%v); read the state directory instead", err)
	}
	reply, err = readStateDir(c, names)
	if err != nil {
		return report.Status{}, note, err
	}
	return operate.StatusOf(&sub, reply, now), note, nil
}

// readStateDir reads the saved state of the jobs named from the state directory. A directory
// that does not exist yet holds no state: every job is "never run".
func readStateDir(c *conf.Config, names []string) (operate.States, error) {
	if _, err := os.Stat(c.StateDir); errors.Is(err, fs.ErrNotExist) {
		return operate.States{}, nil
	} else if err != nil {
		return operate.States{}, stateDirError(c, fmt.Errorf("cannot open the state directory: %w", err))
	}
	// The directory exists, so Open creates nothing; uid -1 changes no owner or mode.
	store, err := state.Open(c.StateDir, -1, -1)
	if err != nil {
		return operate.States{}, stateDirError(c, err)
	}
	defer store.Close()
	return operate.ReadStates(store, c, names), nil
}

// stateDirError adds the hint an operator needs to an error opening the state directory.
func stateDirError(c *conf.Config, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w (run this as root or as %s)", err, c.User)
	}
	return err
}

// fillHoldings adds what the vault holds (snapshots, space, holds) to st, with one zfs listing
// of each job's target, when this host has the configured zfs. It returns what could not be
// listed, for the operator; a host without zfs (a copy of the state elsewhere) lists nothing.
func fillHoldings(ctx context.Context, c *conf.Config, jobs []*conf.Job, st *report.Status) []string {
	if fi, err := os.Stat(c.ZFSBinary); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	z := &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{}}
	var msgs []string
	for _, j := range jobs {
		if !hasDatasets(st, j.Name) {
			continue
		}
		target, err := zfs.ParseDataset(j.Target)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("cannot list what the vault holds for %s: target: %v; correct it in the configuration", j.Name, err))
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, holdingsTimeout)
		entries, err := z.List(lctx, []zfs.Dataset{target}, true,
			[]zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume, zfs.TypeSnapshot},
			[]zfs.Column{zfs.ColName, zfs.ColUsed, zfs.ColUserRefs, zfs.ColQuota})
		cancel()
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("cannot list what the vault holds for %s: %v", j.Name, err))
			continue
		}
		st.SetHoldings(j.Name, entries)
	}
	return msgs
}

func hasDatasets(st *report.Status, job string) bool {
	for _, js := range st.Jobs {
		if js.Job == job {
			return len(js.Datasets) > 0
		}
	}
	return false
}
