package operate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/ledger"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/prunework"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// ErrConfig marks a prune that cannot run for its job's configuration (its rules).
var ErrConfig = errors.New("configuration")

// PruneRun is what pruning one job did.
type PruneRun struct {
	Results []prune.Result
	// Dry: it only planned (asked to, or with no record of the job's last pull).
	Dry bool
	// Erased are the erased-snapshots alarms the ledger check at its start raised: those
	// datasets were frozen before anything was destroyed.
	Erased []report.ErasedAlarm
}

// OnlyPlan is the rule of a prune: it destroys nothing when asked to (a dry run) or when there
// is no record of the job's last pull (st is nil: no state directory, or a job never pulled),
// since it cannot know that pull succeeded.
func OnlyPlan(dryRun bool, st *report.JobState) bool {
	return dryRun || st == nil
}

// PruneRunner plans and (unless dry) destroys one job's target tree: in this process (legacy,
// no prune_user) or in the prune worker.
type PruneRunner func(ctx context.Context, j *conf.Job, root zfs.Dataset, r prune.Rules, g prune.Guard, now time.Time, dry bool) ([]prune.Result, error)

// LocalPrune runs the executor in this process.
func LocalPrune(ex *prune.Executor) PruneRunner {
	return func(ctx context.Context, _ *conf.Job, root zfs.Dataset, r prune.Rules, g prune.Guard, now time.Time, dry bool) ([]prune.Result, error) {
		return ex.RunGuarded(ctx, root, r, g, now, dry)
	}
}

// WithRootAcks is next with the acknowledged liars taken from root's ack directory for
// stateDir (world-readable, root's alone to write) instead of the state: the prune worker's
// source, for a plan made in this process under prune_user (vault prune --dry-run as any user),
// so that it shows what the worker would do.
func WithRootAcks(stateDir string, next PruneRunner) PruneRunner {
	return func(ctx context.Context, j *conf.Job, root zfs.Dataset, r prune.Rules, g prune.Guard, now time.Time, dry bool) ([]prune.Result, error) {
		acked, err := prunework.LoadAcks(prunework.AckDir(stateDir), j.Name, root)
		if err != nil {
			return nil, err
		}
		g.AckedLies = acked
		return next(ctx, j, root, r, g, now, dry)
	}
}

// PruneJob prunes one job's target tree with ex (or plans it, dry; see OnlyPlan: without
// records, or without a record of the job's last pull, it only plans). First it checks the
// target tree against the job's ledger: snapshots that vanished since, not by vault prune,
// raise the erased-snapshots alarm, which freezes their datasets (a dry run raises it for its
// plan only, and saves nothing). It journals what it destroyed, with the GUIDs, which the next
// ledger check subtracts. c is the configuration in force.
func PruneJob(ctx context.Context, c *conf.Config, rec *Records, ex PruneRunner, j *conf.Job, dryRun bool, now time.Time) (PruneRun, error) {
	run := PruneRun{Dry: dryRun}
	rules, err := prune.RulesFromConf(j.Prune, j.Location)
	if err != nil {
		return run, fmt.Errorf("%w: job %q: %w", ErrConfig, j.Name, err)
	}
	target, err := zfs.ParseDataset(j.Target)
	if err != nil {
		return run, err
	}
	st, err := rec.Load(j.Name)
	if err != nil {
		return run, err
	}
	run.Dry = OnlyPlan(dryRun, st)
	if st != nil {
		if run.Erased, err = rec.pruneErased(c, j, st, run.Dry); err != nil {
			return run, err
		}
	}
	results, err := ex(ctx, j, target, rules, prune.Guard{Freezes: report.Freezes(st, j.Name), AckedLies: report.AckedLies(st)}, now, run.Dry)
	if err != nil {
		return run, err
	}
	run.Results = results
	if !run.Dry {
		if err := rec.raiseLies(j.Name, results, now); err != nil {
			return run, err
		}
	}
	rec.journalPrune(j.Name, results)
	return run, nil
}

// journalPrune journals what each dataset's prune destroyed, or how it failed.
func (rec *Records) journalPrune(job string, results []prune.Result) {
	journal := rec.Journal()
	if journal == nil {
		return
	}
	for _, r := range results {
		if len(r.Destroyed) == 0 && r.Err == nil {
			continue
		}
		// Stamped when appended, after the destroy: the next ledger check counts the records
		// of its ledger's time and later.
		line := state.Record{Kind: state.KindPrune, Job: job, Dataset: r.Plan.Dataset.String(), Outcome: state.OutcomeOK,
			Details: ledger.PruneDetails(destroyedSnapshots(r))}
		if r.Err != nil {
			line.Outcome, line.Error = state.OutcomeFailed, r.Err.Error()
		}
		_ = journal.Append(line)
	}
}

// destroyedSnapshots gives what a prune destroyed with the GUIDs its plan listed them with.
func destroyedSnapshots(r prune.Result) []ledger.Snapshot {
	guid := map[zfs.Snapshot]uint64{}
	for _, v := range r.Plan.Verdicts {
		guid[v.Snapshot.Name] = v.Snapshot.GUID
	}
	out := make([]ledger.Snapshot, len(r.Destroyed))
	for i, s := range r.Destroyed {
		out[i] = ledger.Snapshot{Name: s, GUID: guid[s]}
	}
	return out
}

// raiseLies saves the lying-names alarm of every dataset whose plan found names that lie about
// their dates (nothing in it was destroyed): it stays, and freezes the dataset's pruning, until
// vault ack. A dry run raises nothing: it changes nothing.
func (rec *Records) raiseLies(job string, results []prune.Result, now time.Time) error {
	var lying []prune.Result
	for _, r := range results {
		if len(r.Plan.Lies) > 0 {
			lying = append(lying, r)
		}
	}
	if len(lying) == 0 || rec == nil {
		return nil
	}
	return rec.Update(job, func(st *report.JobState) (bool, error) {
		if st == nil {
			return false, nil
		}
		changed := false
		for _, r := range lying {
			guids := make([]uint64, len(r.Plan.Lies))
			whys := make([]string, len(r.Plan.Lies))
			for i, l := range r.Plan.Lies {
				guids[i], whys[i] = l.GUID, "@"+l.Snapshot.Short()+" "+l.Why
			}
			why := fmt.Sprintf("%d snapshot name(s) lie about their dates: %s", len(whys), strings.Join(whys, "; "))
			if _, isNew := report.RaiseLies(st, r.Plan.Dataset.String(), now, guids, why); isNew {
				changed = true
			}
		}
		return changed, nil
	})
}
