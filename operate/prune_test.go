package operate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/prunework"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

func TestOnlyPlan(t *testing.T) {
	pulled := &report.JobState{Job: "a"}
	for _, tt := range []struct {
		name   string
		dryRun bool
		st     *report.JobState
		want   bool
	}{
		{"asked, with a record", true, pulled, true},
		{"asked, without a record", true, nil, true},
		{"no record of the last pull", false, nil, true},
		{"a record, not asked", false, pulled, false},
	} {
		if got := OnlyPlan(tt.dryRun, tt.st); got != tt.want {
			t.Errorf("%s: OnlyPlan(%v, %v) = %v, want %v", tt.name, tt.dryRun, tt.st != nil, got, tt.want)
		}
	}
}

// PruneJob hands its runner dry=true unless there is a record of the job's last pull and no
// dry run was asked for, and says so in its result; what it destroyed is journalled.
func TestPruneJobPlansOnlyWithoutARecord(t *testing.T) {
	for _, tt := range []struct {
		name    string
		records bool // a state directory
		pulled  bool // the job's state saved there
		dryRun  bool
		wantDry bool
	}{
		{"no state directory", false, false, false, true},
		{"a job never pulled", true, false, false, true},
		{"asked for a dry run", true, true, true, true},
		{"a pulled job", true, true, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, j := pruneConfig(t)
			var rec *Records
			var store *state.Store
			if tt.records {
				var err error
				store, err = state.Open(t.TempDir(), -1, -1)
				require.NoError(t, err)
				defer store.Close()
				journal, err := store.OpenJournal()
				require.NoError(t, err)
				defer journal.Close()
				rec = NewRecords(store, journal, hclog.NewNullLogger())
			}
			if tt.pulled {
				require.NoError(t, store.Save("jobs/a", &report.JobState{Job: "a"}))
			}
			snap, err := zfs.ParseSnapshot("rust10/Backups/a@old")
			require.NoError(t, err)
			var gotDry []bool
			runner := func(_ context.Context, _ *conf.Job, root zfs.Dataset, _ prune.Rules, _ prune.Guard, _ time.Time, dry bool) ([]prune.Result, error) {
				gotDry = append(gotDry, dry)
				r := prune.Result{Plan: prune.DatasetPlan{Dataset: root}}
				if !dry {
					r.Destroyed = []zfs.Snapshot{snap}
				}
				return []prune.Result{r}, nil
			}
			run, err := PruneJob(context.Background(), c, rec, runner, j, tt.dryRun, time.Now())
			require.NoError(t, err)
			if len(gotDry) != 1 || gotDry[0] != tt.wantDry || run.Dry != tt.wantDry {
				t.Errorf("runner called with dry %v, run.Dry %v; want %v", gotDry, run.Dry, tt.wantDry)
			}
			if store == nil {
				return
			}
			var lines []state.Record
			_, err = state.ReadJournal(filepath.Join(store.Dir, state.JournalFile), func(r state.Record) error { lines = append(lines, r); return nil })
			require.NoError(t, err)
			var destroyed []string
			for _, r := range lines {
				if r.Kind == state.KindPrune {
					destroyed = append(destroyed, r.Details["destroyed"])
				}
			}
			if want := !tt.wantDry; (len(destroyed) == 1 && destroyed[0] == "old") != want {
				t.Errorf("prune journal lines %q; want one destroying old: %v", destroyed, want)
			}
		})
	}
}

// A runner's failure and a job's bad rules stop the prune; the rules' with ErrConfig.
func TestPruneJobErrors(t *testing.T) {
	c, j := pruneConfig(t)
	boom := errors.New("boom")
	failing := func(context.Context, *conf.Job, zfs.Dataset, prune.Rules, prune.Guard, time.Time, bool) ([]prune.Result, error) {
		return nil, boom
	}
	if _, err := PruneJob(context.Background(), c, nil, failing, j, false, time.Now()); !errors.Is(err, boom) {
		t.Errorf("runner failing: err %v, want boom", err)
	}
	j.Prune.Grid = []conf.GridRule{{Count: 1, Unit: "fortnight"}}
	if _, err := PruneJob(context.Background(), c, nil, failing, j, false, time.Now()); !errors.Is(err, ErrConfig) {
		t.Errorf("bad rules: err %v, want ErrConfig", err)
	}
}

// pruneConfig is a configuration of one job, a, whose target rust10/Backups/a a fake zfs lists
// as holding no snapshot (the ledger check's listing).
func pruneConfig(t *testing.T) (*conf.Config, *conf.Job) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zfs")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	c, err := conf.Parse([]byte(`zfs_binary = "` + bin + `"
[[job]]
name = "a"
source = "backup@host05"
source_datasets = ["host05data/a"]
target = "rust10/Backups/a"
schedule = "* * * * *"
rpo = "1h"
`))
	require.NoError(t, err)
	j, _ := c.Job("a")
	return c, j
}

// With prune_user, the worker takes acknowledged liars only from root's ack directory; a plan
// made in this process (a dry run as any user) takes them from there too, not from the state
// the pulling user writes, so it shows what the worker would do.
func TestPruneJobTakesAcksFromRootsDirWithPruneUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the ack directory must be root's: run as root (make check does)")
	}
	for _, pruneUser := range []string{"", "vprune"} {
		t.Run("prune_user="+pruneUser, func(t *testing.T) {
			c, j := pruneConfig(t)
			c.PruneUser = pruneUser
			c.StateDir = filepath.Join(t.TempDir(), "state")
			store, err := state.Open(c.StateDir, -1, -1)
			require.NoError(t, err)
			defer store.Close()
			target, err := zfs.ParseDataset(j.Target)
			require.NoError(t, err)
			// The state (the pulling user's) acknowledges GUID 1; root's ack directory GUID 7.
			require.NoError(t, store.Save("jobs/a", &report.JobState{Job: "a", Datasets: map[string]*report.DatasetState{
				"host05data/a": {Target: j.Target, AckedLies: []uint64{1}}}}))
			_, err = prunework.AddAcks(prunework.AckDir(c.StateDir), "a", map[zfs.Dataset][]uint64{target: {7}})
			require.NoError(t, err)
			var got map[zfs.Dataset]map[uint64]bool
			runner := func(_ context.Context, _ *conf.Job, _ zfs.Dataset, _ prune.Rules, g prune.Guard, _ time.Time, _ bool) ([]prune.Result, error) {
				got = g.AckedLies
				return nil, nil
			}
			ex := PruneRunner(runner)
			if pruneUser != "" {
				ex = WithRootAcks(c.StateDir, ex) // as vault prune --dry-run runs it with prune_user
			}
			_, err = PruneJob(context.Background(), c, NewRecords(store, nil, hclog.NewNullLogger()), ex, j, true, time.Now())
			require.NoError(t, err)
			want := uint64(1)
			if pruneUser != "" {
				want = 7
			}
			if len(got[target]) != 1 || !got[target][want] {
				t.Errorf("acknowledged liars %v, want only %d on %s", got, want, target)
			}
		})
	}
}
