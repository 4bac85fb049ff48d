package prune

// The executor: the only part of package prune that runs zfs. It lists the job's target tree
// once, plans, and, for a real run, lists and plans again right before acting and destroys only
// what both plans destroy, in one batched zfs destroy per dataset.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/zfs"
)

// Executor prunes as the delegated user (destroy and mount on the target only).
type Executor struct {
	ZFS *zfs.ZFS
	Log hclog.Logger
}

// Result is what pruning did to one dataset.
type Result struct {
	Plan      DatasetPlan
	Destroyed []zfs.Snapshot
	// Err stops the dataset at its first error; other datasets go on.
	Err error
}

// snapshotCols are what the planner needs: creation for names that are not zfsnap2 names,
// userrefs for the holds rail. These are slow columns; one listing per job.
var snapshotCols = []zfs.Column{zfs.ColName, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColCreation, zfs.ColUserRefs}

// Guard is what the vault's state knows about a job's datasets that a listing cannot say, by
// target dataset: which are frozen, and which lying snapshots (by GUID) the operator
// acknowledged with vault ack.
type Guard struct {
	Freezes   map[zfs.Dataset]*Freeze
	AckedLies map[zfs.Dataset]map[uint64]bool
}

// List reads every snapshot below root in one zfs list and groups them by dataset, with the
// freezes given (by dataset).
func (e *Executor) List(ctx context.Context, root zfs.Dataset, freezes map[zfs.Dataset]*Freeze) ([]DatasetInput, error) {
	return e.list(ctx, root, Guard{Freezes: freezes})
}

func (e *Executor) list(ctx context.Context, root zfs.Dataset, g Guard) ([]DatasetInput, error) {
	entries, err := e.ZFS.List(ctx, []zfs.Dataset{root}, true, []zfs.Type{zfs.TypeSnapshot}, snapshotCols)
	if err != nil {
		return nil, fmt.Errorf("cannot list the snapshots of %q: %w", root, err)
	}
	byDS := map[zfs.Dataset]*DatasetInput{}
	var order []zfs.Dataset
	for _, en := range entries {
		s, ok := SnapshotFromEntry(en)
		if !ok {
			continue
		}
		ds := s.Name.Dataset()
		in := byDS[ds]
		if in == nil {
			in = &DatasetInput{Dataset: ds, Freeze: g.Freezes[ds], AckedLies: g.AckedLies[ds]}
			byDS[ds] = in
			order = append(order, ds)
		}
		in.Snapshots = append(in.Snapshots, s)
	}
	out := make([]DatasetInput, 0, len(order))
	for _, ds := range order {
		out = append(out, *byDS[ds])
	}
	return out, nil
}

// RunGuarded plans the job's target tree and, unless dryRun, destroys. now is the clock reading
// the plan is made for. Each Result's Plan.Lies are the lies to raise the alarm on.
func (e *Executor) RunGuarded(ctx context.Context, root zfs.Dataset, r Rules, g Guard, now time.Time, dryRun bool) ([]Result, error) {
	in, err := e.list(ctx, root, g)
	if err != nil {
		return nil, err
	}
	plans := Plan(in, r, now)
	results := make([]Result, len(plans))
	for i, p := range plans {
		results[i].Plan = p
	}
	if dryRun {
		return results, nil
	}
	// Re-read right before acting: a snapshot held, released or destroyed since the first
	// listing changes the verdicts. Only what both plans destroy goes.
	again, err := e.list(ctx, root, g)
	if err != nil {
		return results, err
	}
	fresh := map[zfs.Dataset]DatasetPlan{}
	for _, p := range Plan(again, r, now) {
		fresh[p.Dataset] = p
	}
	for i := range results {
		p := results[i].Plan
		both := intersect(p.Destroy(), fresh[p.Dataset].Destroy())
		if len(both) == 0 {
			continue
		}
		shorts := make([]string, len(both))
		for j, s := range both {
			shorts[j] = s.Short()
		}
		start := time.Now()
		if err := e.ZFS.DestroySnapshots(ctx, p.Dataset, shorts); err != nil {
			results[i].Err = err
			e.log().Error("prune stopped for this dataset", "dataset", p.Dataset.String(), "error", err)
			continue
		}
		results[i].Destroyed = both
		e.log().Debug("pruned", "dataset", p.Dataset.String(), "destroyed", len(both), "duration", time.Since(start).Round(time.Millisecond))
	}
	return results, nil
}

func (e *Executor) log() hclog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return hclog.NewNullLogger()
}

func intersect(a, b []zfs.Snapshot) []zfs.Snapshot {
	var out []zfs.Snapshot
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
