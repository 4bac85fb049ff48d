package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/props"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

// treeMember is one dataset of a tree restore export, as planned from the vault's listing.
type treeMember struct {
	Dataset zfs.Dataset
	Path    string // below the root; "" for the root
	Snap    zfs.Snapshot
	GUID    uint64
	Raw     bool
}

// planTree picks the datasets of a tree export of root from a recursive listing of root's dataset
// (datasets with their encryption, snapshots with their guid): root's dataset and every
// descendant, parents first, each with the snapshot named like root's. A descendant without that
// snapshot is refused, naming each, with the fix. It does no I/O.
func planTree(root zfs.Snapshot, entries []zfs.Entry, noChildren bool) ([]treeMember, error) {
	top := root.Dataset()
	guids := map[zfs.Dataset]uint64{}
	var datasets []zfs.Entry
	for _, e := range entries {
		if s, ok := e.Snapshot(); ok && s.Short() == root.Short() {
			guids[s.Dataset()] = e.GUID
		}
		if d, ok := e.Dataset(); ok && d.HasPrefix(top) && (!noChildren || d == top) {
			datasets = append(datasets, e)
		}
	}
	slices.SortFunc(datasets, func(a, b zfs.Entry) int { return strings.Compare(a.Name, b.Name) })
	var out []treeMember
	var missing []string
	for _, e := range datasets {
		d, _ := e.Dataset()
		path, _ := d.RelativeTo(top)
		g, ok := guids[d]
		if !ok {
			missing = append(missing, d.String())
			continue
		}
		snap, err := d.Snapshot(root.Short())
		if err != nil {
			return nil, err
		}
		out = append(out, treeMember{Dataset: d, Path: path, Snap: snap, GUID: g, Raw: e.Encryption != "" && e.Encryption != "off"})
	}
	switch {
	case len(out) == 0 || out[0].Dataset != top:
		return nil, fmt.Errorf("the vault holds no snapshot %s", root)
	case len(missing) > 0:
		return nil, fmt.Errorf("%s has no snapshot @%s: a tree export needs it on every dataset below %s; export %s alone with --no-children, or choose a snapshot they all have (zfs list -t snapshot -r %s)",
			strings.Join(missing, ", "), root.Short(), top, root, top)
	case len(out) > sneakernet.MaxMembers:
		return nil, fmt.Errorf("%s has %d datasets; an export holds at most %d: export its children one by one", top, len(out), sneakernet.MaxMembers)
	}
	return out, nil
}

// sourceOf returns the source dataset of job j whose copy is the vault's dataset d.
func sourceOf(j *conf.Job, d zfs.Dataset) (zfs.Dataset, bool) {
	for _, root := range j.SourceDatasets {
		t, ok := j.TargetFor(root)
		if !ok {
			continue
		}
		td, err := zfs.ParseDataset(t)
		if err != nil {
			continue
		}
		if rel, ok := d.RelativeTo(td); ok {
			name := root
			if rel != "" {
				name += "/" + rel
			}
			if src, err := zfs.ParseDataset(name); err == nil && j.Includes(name) {
				return src, true
			}
		}
	}
	return zfs.Dataset{}, false
}

// treeMembers lists root's tree on the vault and turns it into the export's members, each with
// the properties the job's pulls kept for its source dataset (none if nothing was recorded:
// those datasets are named on stderr, as their restore gets zfs's defaults).
func treeMembers(ctx context.Context, s *stdio, z *zfs.ZFS, c *conf.Config, j *conf.Job, root zfs.Snapshot, noChildren bool) ([]sneakernet.Member, error) {
	entries, err := z.List(ctx, []zfs.Dataset{root.Dataset()}, true, []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume, zfs.TypeSnapshot},
		[]zfs.Column{zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColEncryption})
	if zfs.IsNotExist(err) {
		return nil, usageErrorf("the vault holds no dataset %s (job %q)", root.Dataset(), j.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list %s: %w", root.Dataset(), err)
	}
	plan, err := planTree(root, entries, noChildren)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	kept := &props.Kept{Datasets: map[string]props.Set{}}
	if store, err := openStateForConsole(c); err == nil {
		kept, err = props.Load(store, j.Name)
		store.Close()
		if err != nil {
			return nil, fmt.Errorf("cannot read the properties kept for job %q: %w", j.Name, err)
		}
	}
	var ms []sneakernet.Member
	var none []string
	for _, p := range plan {
		m := sneakernet.Member{Path: p.Path, Snapshot: p.Snap, GUID: p.GUID, Raw: p.Raw, Properties: props.Set{}}
		src, ok := sourceOf(j, p.Dataset)
		if ok {
			var set props.Set
			if set, ok = kept.Of(src); ok {
				m.Properties = set
			}
		}
		if !ok {
			none = append(none, p.Dataset.String())
		}
		ms = append(ms, m)
	}
	if len(none) > 0 {
		fmt.Fprintf(s.err, "vault restore export: note: no properties recorded for %s: the restored copy gets zfs's defaults there\n", strings.Join(none, ", "))
	}
	return ms, nil
}

// exportTree sends every member's snapshot, one full stream after the other, into one export.
// The export is committed only after every zfs send exited 0.
func exportTree(ctx context.Context, s *stdio, z *zfs.ZFS, st zfs.Starter, members []sneakernet.Member, o sneakernet.ExportOptions) (*sneakernet.Manifest, error) {
	o.Members = members
	o.ToSnapshot, o.ToGUID, o.Raw = members[0].Snapshot, members[0].GUID, members[0].Raw
	o.Created = time.Now()
	estimate := int64(0)
	for _, m := range members {
		est, err := z.SendSize(ctx, zfs.SendOptions{Snapshot: m.Snapshot, Raw: m.Raw})
		if err != nil {
			fmt.Fprintf(s.err, "vault restore export: warning: cannot estimate the stream of %s (%v); a tree over %s will fail\n", m.Snapshot, err, bytefmt.IEC(sneakernet.MaxSegments*sneakernet.DefaultSegmentSize))
			estimate = -1
			break
		}
		estimate += est
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = sneakernet.SegmentSizeFor(estimate)
	}
	x, err := sneakernet.NewExporter(o)
	if err != nil {
		return nil, err
	}
	var counter atomic.Int64
	stop := showBytes(s, "export "+o.ToSnapshot.Short(), estimate, &counter)
	defer stop()
	buf := make([]byte, 1<<20)
	for _, m := range members {
		cmd, err := z.SendCmd(zfs.SendOptions{Snapshot: m.Snapshot, Raw: m.Raw})
		if err != nil {
			_ = x.Abort()
			return nil, err
		}
		p, err := st.Start(ctx, cmd)
		if err != nil {
			_ = x.Abort()
			return nil, err
		}
		if _, err := io.CopyBuffer(&countWriter{w: x, n: &counter}, p.Stdout(), buf); err != nil {
			_ = p.Abort()
			_ = x.Abort()
			return nil, fmt.Errorf("export of %s failed, nothing left on the media: %w", m.Snapshot, err)
		}
		if err := p.Wait(); err != nil {
			_ = x.Abort()
			return nil, fmt.Errorf("zfs send of %s failed, nothing left on the media: %w", m.Snapshot, err)
		}
		if err := x.EndMember(); err != nil {
			_ = x.Abort()
			return nil, err
		}
	}
	return x.Commit()
}
