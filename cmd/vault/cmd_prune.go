package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

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
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), pruneUsage)
		fmt.Fprintln(fs.Output(), "\nPrints every snapshot of every job (or the JOBs named) with its verdict and the reason,\nand, without --dry-run, destroys what the rules and rails let go, in one zfs destroy per\ndataset. Nothing is destroyed in a dataset whose last pull failed or diverged, or whose\nalarm is up (vault ack), nor in a job with no record of its last pull. First the job's\ntarget is checked against what the vault saw there last: snapshots gone since, not by\nvault prune, raise the erased-snapshots alarm and freeze their datasets.")
		fs.PrintDefaults()
	}
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	dryRun := fs.Bool("dry-run", false, "plan and print, destroy nothing")
	asJSON := fs.Bool("json", false, "print the verdicts as JSON")
	verbose := fs.Bool("v", false, "log each step")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	c, err := loadConfig(*path)
	if err != nil {
		return err
	}
	jobs, err := selectJobs(c, fs.Args(), "")
	if err != nil {
		return err
	}
	log := consoleLogger(s, *verbose)
	store, serr := openStateForConsole(c)
	if serr == nil {
		defer store.Close()
	} else {
		store = nil
	}
	var journal *state.Journal
	if store != nil && !*dryRun {
		if journal, err = store.OpenJournal(); err == nil {
			defer journal.Close()
		}
	}
	var rec *operate.Records
	if store != nil {
		rec = operate.NewRecords(store, journal, log)
	}
	ex := &prune.Executor{ZFS: &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{Log: log.Named("zfs")}}, Log: log.Named("prune")}
	runner := operate.LocalPrune(ex)
	if c.PruneUser != "" && os.Geteuid() != 0 && !*dryRun {
		return usageErrorf("prune_user is %s: run vault prune as root, which prunes as %s apart from the network (--dry-run plans as any user who can read the state)", c.PruneUser, c.PruneUser)
	}
	if c.PruneUser != "" && os.Geteuid() == 0 {
		// Root at the console: prune as the prune identity, apart from the network, as the
		// daemon does.
		w, err := startPruneWorker(*path, s.err)
		if err != nil {
			return err
		}
		defer w.Close()
		runner = workerPrune(w)
	}
	now := time.Now()
	var all []verdictJSON
	failed := false
	for _, j := range jobs {
		run, err := operate.PruneJob(ctx, c, rec, runner, j, *dryRun, now)
		alarms := s.out
		if *asJSON {
			alarms = s.err
		}
		printErasedAlarms(alarms, j.Name, run.Erased)
		if err != nil {
			if errors.Is(err, operate.ErrConfig) {
				return &exitError{code: exitUsage, err: err}
			}
			fmt.Fprintf(s.out, "%s %s: %v\n", mark(false, "FAIL"), j.Name, err)
			failed = true
			continue
		}
		results, jobDry := run.Results, run.Dry
		if jobDry && !*dryRun {
			fmt.Fprintf(s.out, "%s %s: no record of its last pull in %s, so nothing is destroyed; pull first (the daemon or vault pull)\n", mark(false, "WARN"), j.Name, c.StateDir)
		}
		for _, r := range results {
			for _, v := range r.Plan.Verdicts {
				all = append(all, verdictJSON{Dataset: r.Plan.Dataset.String(), Snapshot: v.Snapshot.Name.Short(), Destroy: v.Destroy, Rule: v.Rule, Reason: v.Reason})
			}
			if r.Err != nil {
				failed = true
			}
		}
		if !*asJSON {
			printPrune(s.out, j.Name, results, jobDry || *dryRun)
		}
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
