package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/control"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/prunework"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "ack", summary: "acknowledge an alarm (anomaly, lying names, flood, source lost, erased snapshots) and lift the prune freeze", run: runAck})
}

const ackUsage = "usage: vault ack [-c FILE] JOB [DATASET]"

// ackReply lists the datasets whose alarm was lifted.
type ackReply struct {
	Acked []string `json:"acked"`
}

func runAck(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "ack", ackUsage,
		"\nAfter checking the data and the source, lift a dataset's alarm and the prune freeze that\ncame with it: anomaly (an incremental far larger than usual, a rewrite, many snapshots),\nlying-names (the acknowledged snapshots stay kept and out of the grid), flood (the next\npull brings the snapshots it refused), source-lost (the vault's copies may be pruned again\nby the rules), erased (snapshots gone from the vault's copy, not by vault prune: find out\nwho erased them with zpool history -il POOL first). DATASET is the source dataset (or its\ntarget); without it every alarm of the job is lifted.")
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return usageErrorf("%s", ackUsage)
	}
	c, err := loadConfig(*path)
	if err != nil {
		return err
	}
	job := fs.Arg(0)
	j, err := namedJob(c, job)
	if err != nil {
		return err
	}
	// With a prune worker, acknowledged liars must reach it through root's ack directory:
	// find what lies now, in ZFS, before anything changes.
	var lies map[zfs.Dataset][]uint64
	if c.PruneUser != "" {
		if lies, err = liesToAck(ctx, c, j, fs.Arg(1)); err != nil {
			return err
		}
		if len(lies) > 0 && os.Geteuid() != 0 {
			return fmt.Errorf("%s has snapshot names that lie; with prune_user set, only root can acknowledge them for the prune worker: run vault ack as root", job)
		}
	}
	var reply ackReply
	err = control.Call(ctx, controlSocket(c), control.Request{Op: "ack", Jobs: []string{job}, Args: map[string]string{"dataset": fs.Arg(1)}}, &reply)
	if errors.Is(err, control.ErrNoDaemon) {
		store, oerr := openStateForConsole(c)
		if oerr != nil {
			return oerr
		}
		defer store.Close()
		var r any
		r, err = ackState(operate.NewRecords(store, nil, hclog.NewNullLogger()), job, fs.Arg(1))
		if err == nil {
			reply = r.(ackReply)
		}
	}
	if err != nil {
		return err
	}
	if len(lies) > 0 {
		n, err := prunework.AddAcks(prunework.AckDir(c.StateDir), job, lies)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "%s: %d snapshot name(s) that lie acknowledged for the prune worker (%s); they stay kept, out of the grid\n", job, n, prunework.AckDir(c.StateDir))
	}
	if len(reply.Acked) == 0 {
		fmt.Fprintf(s.out, "%s: no alarm to acknowledge\n", job)
		return nil
	}
	fmt.Fprintf(s.out, "%s: alarm lifted for %s; pruning resumes at the next prune\n", job, strings.Join(reply.Acked, ", "))
	return nil
}

// ackState lifts alarms in the saved state of a job.
func ackState(rec *operate.Records, job, dataset string) (any, error) {
	var acked []string
	err := rec.Update(job, func(st *report.JobState) (bool, error) {
		if st == nil {
			return false, nil
		}
		if dataset != "" {
			if _, ok := st.Datasets[dataset]; !ok && !targetKnown(st, dataset) {
				return false, fmt.Errorf("job %q has no dataset %q; its datasets are %s", job, dataset, joinQuoted(st.Names()))
			}
		}
		acked = report.Ack(st, dataset)
		return len(acked) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	return ackReply{Acked: acked}, nil
}

func targetKnown(st *report.JobState, target string) bool {
	for _, d := range st.Datasets {
		if d.Target == target {
			return true
		}
	}
	return false
}

// openStateForConsole opens the state directory for a console command run without a daemon:
// as root it keeps the directory the configured user's; as the user it is theirs already.
func openStateForConsole(c *conf.Config) (*state.Store, error) {
	if _, err := os.Stat(c.StateDir); err != nil {
		return nil, fmt.Errorf("no state directory %s: has the daemon or a pull ever run? (%w)", c.StateDir, err)
	}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		fi, err := os.Stat(c.StateDir)
		if err == nil {
			uid, gid = ownerOf(fi)
		}
	}
	return state.Open(c.StateDir, uid, gid)
}

// liesToAck plans the job's target tree as it is in ZFS now (a dry run, with what root already
// acknowledged) and returns the snapshots whose names lie, by target dataset: of the dataset
// named (its source name or its target), or of every dataset of the job.
func liesToAck(ctx context.Context, c *conf.Config, j *conf.Job, dataset string) (map[zfs.Dataset][]uint64, error) {
	root, err := zfs.ParseDataset(j.Target)
	if err != nil {
		return nil, err
	}
	rules, err := prune.RulesFromConf(j.Prune, j.Location)
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", j.Name, err)
	}
	acked, err := prunework.LoadAcks(prunework.AckDir(c.StateDir), j.Name, root)
	if err != nil {
		return nil, err
	}
	only := dataset
	if t, ok := j.TargetFor(dataset); ok {
		only = t
	}
	ex := &prune.Executor{ZFS: &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{}}}
	results, err := ex.RunGuarded(ctx, root, rules, prune.Guard{AckedLies: acked}, time.Now(), true)
	if err != nil {
		return nil, fmt.Errorf("cannot look for names that lie in %s: %w", root, err)
	}
	out := map[zfs.Dataset][]uint64{}
	for _, r := range results {
		if only != "" && r.Plan.Dataset.String() != only {
			continue
		}
		for _, l := range r.Plan.Lies {
			out[r.Plan.Dataset] = append(out[r.Plan.Dataset], l.GUID)
		}
	}
	return out, nil
}
