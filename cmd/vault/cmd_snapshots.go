package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "snapshots", summary: "what the vault holds for a job: every snapshot with its holds and expiry", run: runSnapshots})
}

const snapshotsUsage = "usage: vault snapshots [-c FILE] [--json] JOB [DATASET]"

type snapshotRow struct {
	Snapshot string    `json:"snapshot"`
	Created  time.Time `json:"created"`
	Holds    uint64    `json:"holds"`
	Expires  string    `json:"expires"` // RFC 3339, "never", or "" (not a zfsnap2 name)
}

func runSnapshots(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "snapshots", snapshotsUsage,
		"\nEvery snapshot the vault holds for JOB (or one DATASET of it, by the source's or the vault's\nname), oldest first, with its creation, its holds and when its zfsnap2 TTL (stretched by the\njob's ttl_factor) runs out. Expiry is when the TTL rule lets it go, not a promise that prune\nwill: the grid and the rails may keep it longer. One zfs list.")
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	asJSON := fs.Bool("json", false, "print JSON")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return usageErrorf("%s", snapshotsUsage)
	}
	c, j, err := configJob(*path, fs.Arg(0))
	if err != nil {
		return err
	}
	root := j.Target
	if fs.NArg() == 2 {
		if t, ok := j.TargetFor(fs.Arg(1)); ok {
			root = t
		} else if fs.Arg(1) == j.Target || strings.HasPrefix(fs.Arg(1), j.Target+"/") {
			root = fs.Arg(1)
		} else {
			return usageErrorf("%q is neither a source dataset of job %q nor under its target %q", fs.Arg(1), j.Name, j.Target)
		}
	}
	rd, err := zfs.ParseDataset(root)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ex := &prune.Executor{ZFS: &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{}}}
	inputs, err := ex.List(ctx, rd, nil)
	if err != nil {
		return err
	}
	out := snapshotRows(j, inputs)
	if *asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printSnapshots(s.out, c, inputs, out)
	return nil
}

// snapshotRows gives each dataset's snapshots with their creation, holds and expiry: when their
// zfsnap2 TTL, stretched by the job's ttl_factor, runs out ("never", or "" without a TTL).
func snapshotRows(j *conf.Job, inputs []prune.DatasetInput) map[string][]snapshotRow {
	factor := j.Prune.TTLFactor
	if factor < 1 {
		factor = 1
	}
	out := map[string][]snapshotRow{}
	for _, in := range inputs {
		rows := make([]snapshotRow, 0, len(in.Snapshots))
		for _, sn := range in.Snapshots {
			r := snapshotRow{Snapshot: sn.Name.Short(), Created: sn.Creation, Holds: sn.UserRefs}
			if n, ok := policy.ParseName(sn.Name.Short(), j.Location); ok {
				if n.TTL.Forever {
					r.Expires = "never"
				} else {
					r.Expires = n.ExpiresAt(factor).Format(time.RFC3339)
				}
			}
			rows = append(rows, r)
		}
		out[in.Dataset.String()] = rows
	}
	return out
}

// printSnapshots prints the rows of each dataset, in the listing's order.
func printSnapshots(w io.Writer, c *conf.Config, inputs []prune.DatasetInput, out map[string][]snapshotRow) {
	for _, in := range inputs {
		rows := out[in.Dataset.String()]
		fmt.Fprintf(w, "%s (%d snapshots)\n", in.Dataset, len(rows))
		width := 0
		for _, r := range rows {
			width = max(width, len(r.Snapshot))
		}
		for _, r := range rows {
			holds, exp := "", r.Expires
			if r.Holds > 0 {
				holds = fmt.Sprintf("%d hold(s)", r.Holds)
			}
			if exp == "" {
				exp = "no zfsnap2 TTL"
			} else if exp != "never" {
				exp = "expires " + exp
			}
			fmt.Fprintf(w, "  @%-*s  created %s  %-10s %s\n", width, r.Snapshot, r.Created.In(c.Location).Format("2006-01-02 15:04"), holds, exp)
		}
	}
}
