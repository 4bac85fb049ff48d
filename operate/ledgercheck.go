package operate

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/ledger"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// ledgerTimeout bounds the one zfs listing of a job's target tree a ledger check makes (name and
// guid of every snapshot, which OpenZFS answers without loading them).
const ledgerTimeout = 2 * time.Minute

// observe compares the job's target tree with its ledger (package ledger): the snapshots the
// vault saw there last, less what vault prune journalled it destroyed since. It runs at the
// start and the end of every pull of the job (the end of an import too) and at the start of
// every prune. It saves nothing: raise what it found, save the state, then save its Next.
func (rec *Records) observe(c *conf.Config, j *conf.Job) (*ledger.Check, error) {
	root, err := zfs.ParseDataset(j.Target)
	if err != nil {
		return nil, err
	}
	// Not the run's context: a pull cut by SIGTERM is still recorded, and so is what its
	// target lost.
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	z := &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{Log: rec.log.Named("zfs")}}
	chk, err := ledger.Observe(ctx, z, rec.store, j.Name, root, time.Now())
	if err != nil {
		return nil, err
	}
	if chk.JournalErr != nil {
		rec.log.Error("the journal could not be read to its end: snapshots pruned after the fault are reported as erased", "job", j.Name, "error", chk.JournalErr)
	}
	return chk, nil
}

// logErased logs each erased-snapshots alarm, and journals it when there is a journal. check
// says which check found it ("after pull", "before prune").
func (rec *Records) logErased(job, check string, alarms []report.ErasedAlarm) {
	for _, a := range alarms {
		rec.log.Error("ALARM: snapshots vanished from the vault, not by vault prune; pruning of the dataset is frozen until vault ack",
			"job", job, "dataset", a.Source, "target", a.Target, "detail", a.Detail, "ack", "vault ack "+job+" "+a.Source)
		if rec.journal == nil {
			continue
		}
		if err := rec.journal.Append(erasedRecord(job, check, a)); err != nil {
			rec.log.Error("cannot append to the journal", "job", job, "error", err)
		}
	}
}

// erasedRecord is the journal line of an erased-snapshots alarm.
func erasedRecord(job, check string, a report.ErasedAlarm) state.Record {
	var names, guids, renamed []string
	for _, e := range a.Erased {
		names = append(names, e.Name.String())
		guids = append(guids, strconv.FormatUint(e.GUID, 10))
		if !e.RenamedTo.IsZero() {
			renamed = append(renamed, e.Name.String()+">"+e.RenamedTo.String())
		}
	}
	rec := state.Record{Kind: state.KindErased, Job: job, Dataset: a.Target, Outcome: state.OutcomeAlarm, Error: a.Detail,
		Details: map[string]string{"source": a.Source, "check": check, "erased": strings.Join(names, ","), "guids": strings.Join(guids, ",")}}
	if len(renamed) > 0 {
		rec.Details["renamed"] = strings.Join(renamed, ",")
	}
	return rec
}

// unraised is what a check found that no alarm carries: erasures in a job whose state has no
// dataset to raise them on (its state was lost). Its ledger is not saved then, so that the next
// check finds them again.
func unraised(chk *ledger.Check, alarms []report.ErasedAlarm) bool {
	return len(chk.Erased) > 0 && len(alarms) == 0
}

// checkTargets is the ledger check on its own, before a pull or a prune of job j: what it
// finds is raised on the job's saved state (and on st, when given: a prune's freezes come from
// it), journalled and logged, then the new ledger is saved. A dry run raises on st only and saves
// nothing. check names the moment in the journal ("before pull", "before prune"). It returns
// the alarms raised.
func (rec *Records) checkTargets(c *conf.Config, j *conf.Job, st *report.JobState, dryRun bool, check string) ([]report.ErasedAlarm, error) {
	chk, err := rec.observe(c, j)
	if err != nil {
		return nil, err
	}
	alarms := report.RaiseErased(st, chk.Next.Taken, chk.Erased)
	if dryRun {
		return alarms, nil
	}
	if len(chk.Erased) > 0 {
		saved, err := rec.saveErased(j.Name, chk)
		if err != nil {
			return alarms, fmt.Errorf("cannot save the erased-snapshots alarm: %w", err)
		}
		alarms = saved
		rec.logErased(j.Name, check, alarms)
		rec.Metrics(c)
	}
	if unraised(chk, alarms) {
		return alarms, nil
	}
	if err := ledger.Save(rec.store, chk.Next); err != nil {
		rec.log.Error("cannot save the ledger of the job's snapshots", "job", j.Name, "error", err)
	}
	return alarms, nil
}

// pruneErased is the ledger check at the start of a prune of job j, whose state is st (loaded
// by the caller; not nil): what it finds is raised on st, so that the prune that follows
// freezes those datasets. A check that cannot run stops the prune.
func (rec *Records) pruneErased(c *conf.Config, j *conf.Job, st *report.JobState, dryRun bool) ([]report.ErasedAlarm, error) {
	alarms, err := rec.checkTargets(c, j, st, dryRun, "before prune")
	if err != nil {
		return alarms, fmt.Errorf("cannot check what the vault holds against its ledger, so nothing is pruned: %w", err)
	}
	return alarms, nil
}

// CheckBeforePull is the ledger check at the start of a pull: what vanished from the job's
// targets since the last check is found before the pull can bring any of it back under the same
// GUIDs (after a rollback, it fetches again what the source still has of the snapshots rolled
// away, and the check at the pull's end, in Record, would find nothing missing). A check that
// cannot run is logged; the pull goes on. Without records it does nothing.
func (rec *Records) CheckBeforePull(c *conf.Config, j *conf.Job) {
	if rec == nil {
		return
	}
	if _, err := rec.checkTargets(c, j, nil, false, "before pull"); err != nil {
		rec.log.Error("cannot check what the vault holds against its ledger before the pull", "job", j.Name, "error", err)
	}
}

// saveErased raises what chk found on the job's saved state, read afresh under the lock (an
// ack may have come since the caller read it), saves it and returns the alarms.
func (rec *Records) saveErased(job string, chk *ledger.Check) ([]report.ErasedAlarm, error) {
	var alarms []report.ErasedAlarm
	err := rec.Update(job, func(st *report.JobState) (bool, error) {
		if st == nil {
			return false, fmt.Errorf("job %q has no state to raise it in", job)
		}
		alarms = report.RaiseErased(st, chk.Next.Taken, chk.Erased)
		return true, nil
	})
	return alarms, err
}
