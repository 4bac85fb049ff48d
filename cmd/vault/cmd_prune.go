package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "prune", summary: "prune what the vault holds by each job's rules; --dry-run shows every verdict", run: runPrune})
}

const pruneUsage = "usage: vault prune [-c FILE] [--dry-run] [--json] [-v] [JOB...]"

type verdictJSON struct {
	Dataset  string `json:"dataset"`
	Snapshot string `json:"snapshot"`
	Destroy  bool   `json:"destroy"`
	Rule     string `json:"rule"`
	Reason   string `json:"reason"`
}

func runPrune(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "prune", pruneUsage,
		"\nPrints every snapshot of every job (or the JOBs named) with its verdict and the reason,\nand, without --dry-run, destroys what the rules and rails let go, in one zfs destroy per\ndataset. Nothing is destroyed in a dataset whose last pull failed or diverged, or whose\nalarm is up (vault ack), nor in a job with no record of its last pull. First the job's\ntarget is checked against what the vault saw there last: snapshots gone since, not by\nvault prune, raise the erased-snapshots alarm and freeze their datasets.")
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	dryRun := fs.Bool("dry-run", false, "plan and print, destroy nothing")
	asJSON := fs.Bool("json", false, "print the verdicts as JSON")
	verbose := fs.Bool("v", false, "log each step")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	c, jobs, err := configJobs(*path, fs.Args(), "")
	if err != nil {
		return err
	}
	log := consoleLogger(s, *verbose)
	rec, closeRec := pruneRecords(c, *dryRun, log)
	defer closeRec()
	runner, closeRunner, err := pruneRunnerFor(c, *path, *dryRun, s, log)
	if err != nil {
		return err
	}
	defer closeRunner()
	now := time.Now()
	var all []verdictJSON
	failed := false
	for _, j := range jobs {
		run, err := operate.PruneJob(ctx, c, rec, runner, j, *dryRun, now)
		verdicts, ok, err := printJobPrune(s, c, j, run, err, *dryRun, *asJSON)
		if err != nil {
			return err
		}
		all = append(all, verdicts...)
		failed = failed || !ok
	}
	if *asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			return err
		}
	}
	if failed {
		return &exitError{code: exitFailure}
	}
	return nil
}

// workerPrune hands the job to the prune worker, which uses its own rules and clock and takes
// only the freezes (reasons to keep). Acknowledged lying names are not sent: an ack is a reason
// to destroy more, which the worker must not take from this process; it reads them from root's
// ack directory (prunework.AckDir), which vault ack writes as root.
func workerPrune(w *pruneWorker) operate.PruneRunner {
	return func(_ context.Context, j *conf.Job, _ zfs.Dataset, _ prune.Rules, g prune.Guard, _ time.Time, dry bool) ([]prune.Result, error) {
		return w.Prune(j.Name, dry, g.Freezes)
	}
}

// pruneRecords are the records of a console's prune: none without a state directory (the
// prune only plans then), no journal for a dry run. The function returned closes them.
func pruneRecords(c *conf.Config, dryRun bool, log hclog.Logger) (*operate.Records, func()) {
	store, err := openStateForConsole(c)
	if err != nil {
		return nil, func() {}
	}
	var journal *state.Journal
	if !dryRun {
		if journal, err = store.OpenJournal(); err != nil {
			journal = nil
		}
	}
	return operate.NewRecords(store, journal, log), func() {
		if journal != nil {
			journal.Close()
		}
		store.Close()
	}
}

// pruneRunnerFor is what prunes at the console: this process, or, with prune_user and as root,
// the prune worker (apart from the network, as the daemon prunes). The function returned stops
// the worker.
func pruneRunnerFor(c *conf.Config, path string, dryRun bool, s *stdio, log hclog.Logger) (operate.PruneRunner, func(), error) {
	ex := &prune.Executor{ZFS: &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{Log: log.Named("zfs")}}, Log: log.Named("prune")}
	if c.PruneUser != "" && os.Geteuid() != 0 && !dryRun {
		return nil, nil, usageErrorf("prune_user is %s: run vault prune as root, which prunes as %s apart from the network (--dry-run plans as any user who can read the state)", c.PruneUser, c.PruneUser)
	}
	if c.PruneUser == "" {
		return operate.LocalPrune(ex), func() {}, nil
	}
	if os.Geteuid() != 0 {
		return operate.WithRootAcks(c.StateDir, operate.LocalPrune(ex)), func() {}, nil
	}
	w, err := startPruneWorker(path, s.err)
	if err != nil {
		return nil, nil, err
	}
	return workerPrune(w), func() { w.Close() }, nil
}

// printJobPrune prints what the prune of job j did (perr: why it could not run), and gives its
// verdicts for --json and whether it went without a failure. A job whose rules are wrong is a
// configuration error, returned.
func printJobPrune(s *stdio, c *conf.Config, j *conf.Job, run operate.PruneRun, perr error, dryRun, asJSON bool) ([]verdictJSON, bool, error) {
	alarms := s.out
	if asJSON {
		alarms = s.err
	}
	printErasedAlarms(alarms, j.Name, run.Erased)
	if perr != nil {
		if errors.Is(perr, operate.ErrConfig) {
			return nil, false, &exitError{code: exitUsage, err: perr}
		}
		fmt.Fprintf(s.out, "%s %s: %v\n", mark(false, "FAIL"), j.Name, perr)
		return nil, false, nil
	}
	if run.Dry && !dryRun {
		fmt.Fprintf(s.out, "%s %s: no record of its last pull in %s, so nothing is destroyed; pull first (the daemon or vault pull)\n", mark(false, "WARN"), j.Name, c.StateDir)
	}
	var all []verdictJSON
	ok := true
	for _, r := range run.Results {
		for _, v := range r.Plan.Verdicts {
			all = append(all, verdictJSON{Dataset: r.Plan.Dataset.String(), Snapshot: v.Snapshot.Name.Short(), Destroy: v.Destroy, Rule: v.Rule, Reason: v.Reason})
		}
		if r.Err != nil {
			ok = false
		}
	}
	if !asJSON {
		printPrune(s.out, j.Name, run.Results, run.Dry || dryRun)
	}
	return all, ok, nil
}

// printErasedAlarms prints what the ledger check at the start of a prune found.
func printErasedAlarms(w io.Writer, job string, alarms []report.ErasedAlarm) {
	for _, a := range alarms {
		pool := a.Target
		if d, err := zfs.ParseDataset(a.Target); err == nil {
			pool = d.Pool()
		}
		fmt.Fprintf(w, "%s %s %s: %s\n    nothing in it is pruned until, after finding out who erased them (zpool history -il %s), vault ack %s %s\n",
			mark(false, "CRIT"), job, a.Target, a.Detail, pool, job, a.Source)
	}
}

func printPrune(w io.Writer, job string, results []prune.Result, dry bool) {
	for _, r := range results {
		fmt.Fprintf(w, "%s %s", job, r.Plan.Dataset)
		if r.Plan.Frozen != nil {
			fmt.Fprintf(w, " (frozen: %s)", r.Plan.Frozen.Reason)
		}
		fmt.Fprintln(w)
		if len(r.Plan.Lies) > 0 {
			fmt.Fprintf(w, "  ALARM: %d snapshot name(s) lie about their dates: nothing in this dataset is pruned until, after checking the source's clock and the job's timezone, vault ack %s %s\n",
				len(r.Plan.Lies), job, r.Plan.Dataset)
		}
		width := 0
		for _, v := range r.Plan.Verdicts {
			width = max(width, len(v.Snapshot.Name.Short()))
		}
		for _, v := range r.Plan.Verdicts {
			verdict := "keep"
			if v.Destroy {
				verdict = "DESTROY"
				if dry {
					verdict = "destroy"
				}
			}
			fmt.Fprintf(w, "  @%-*s  %-7s  %s\n", width, v.Snapshot.Name.Short(), verdict, v.Reason)
		}
		switch {
		case r.Err != nil:
			fmt.Fprintf(w, "  stopped: %v\n", r.Err)
		case !dry:
			fmt.Fprintf(w, "  destroyed %d snapshot(s)\n", len(r.Destroyed))
		}
	}
}
