package puller

// Indexing the listings for the planner: group snapshots by dataset, sort
// them by createtxg once, index the source's by GUID, and decide the scope.

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/belltech/vault/zfs"
)

// snap is one snapshot of a listing.
type snap struct {
	name     zfs.Snapshot
	guid     uint64
	txg      uint64
	userrefs uint64 // holds; 0 when the listing has no userrefs column
}

func (s snap) ref() SnapRef { return SnapRef{Name: s.name, GUID: s.guid, CreateTXG: s.txg} }

// listed is one filesystem or volume of a listing, with its snapshots.
type listed struct {
	name       zfs.Dataset
	typ        zfs.Type
	guid       uint64
	encryption string
	token      string
	referenced uint64 // 0 when the listing has no referenced column
	snaps      []snap // by createtxg once prepared

	prepared bool
	byGUID   map[uint64]int // index in snaps; source side only
}

// indexListing groups a listing's snapshots under their datasets. Bookmarks
// are skipped. Sorting waits for prepare, so datasets out of scope cost
// nothing more.
func indexListing(side string, entries []zfs.Entry) (map[zfs.Dataset]*listed, error) {
	sets := make(map[zfs.Dataset]*listed)
	var all []snap // every snapshot, in listing order
	for i := range entries {
		e := &entries[i]
		ds, sn, err := entryName(e)
		if err != nil {
			return nil, fmt.Errorf("cannot plan pull: %s listing: %w", side, err)
		}
		switch {
		case !sn.IsZero():
			switch {
			case e.GUID == 0:
				return nil, fmt.Errorf("cannot plan pull: %s listing: snapshot %q has no guid", side, sn)
			case e.CreateTXG == 0:
				return nil, fmt.Errorf("cannot plan pull: %s listing: snapshot %q has no createtxg", side, sn)
			}
			if all == nil {
				all = make([]snap, 0, len(entries)-i)
			}
			all = append(all, snap{name: sn, guid: e.GUID, txg: e.CreateTXG, userrefs: e.UserRefs})
		case !ds.IsZero():
			l := &listed{name: ds, typ: e.Type, guid: e.GUID, encryption: e.Encryption, token: e.ResumeToken, referenced: e.Referenced}
			if old, dup := sets[ds]; dup {
				// zfs list -r with nested roots lists a dataset twice.
				if old.typ != l.typ || old.guid != l.guid || old.encryption != l.encryption || old.token != l.token {
					return nil, fmt.Errorf("cannot plan pull: %s listing: dataset %q is listed twice, differently", side, ds)
				}
				continue
			}
			sets[ds] = l
		}
	}

	// Count each dataset's snapshots, then hand out parts of one array.
	// Listings group a dataset's snapshots together: remember the last one.
	var last *listed
	owner := func(sn zfs.Snapshot) (*listed, error) {
		if ds := sn.Dataset(); last == nil || last.name != ds {
			if last = sets[ds]; last == nil {
				return nil, fmt.Errorf("cannot plan pull: %s listing: snapshot %q, but not its dataset", side, sn)
			}
		}
		return last, nil
	}
	counts := make(map[*listed]int, len(sets))
	for _, s := range all {
		l, err := owner(s.name)
		if err != nil {
			return nil, err
		}
		counts[l]++
	}
	backing := make([]snap, len(all))
	off := 0
	for l, n := range counts {
		l.snaps = backing[off : off : off+n]
		off += n
	}
	for _, s := range all {
		l, _ := owner(s.name)
		l.snaps = append(l.snaps, s)
	}
	return sets, nil
}

// entryName returns the entry's dataset (a filesystem or volume) or
// snapshot; both are zero for a bookmark. An entry made by zfs.ParseList
// carries its validated name; one made otherwise is validated here by its
// type.
func entryName(e *zfs.Entry) (zfs.Dataset, zfs.Snapshot, error) {
	if sn, ok := e.Snapshot(); ok {
		return zfs.Dataset{}, sn, nil
	}
	if _, ok := e.Bookmark(); ok {
		return zfs.Dataset{}, zfs.Snapshot{}, nil
	}
	switch e.Type {
	case zfs.TypeFilesystem, zfs.TypeVolume:
		if ds, ok := e.Dataset(); ok {
			return ds, zfs.Snapshot{}, nil
		}
		ds, err := zfs.ParseDataset(e.Name)
		return ds, zfs.Snapshot{}, err
	case zfs.TypeSnapshot:
		sn, err := zfs.ParseSnapshot(e.Name)
		return zfs.Dataset{}, sn, err
	case zfs.TypeBookmark:
		return zfs.Dataset{}, zfs.Snapshot{}, nil
	case "":
		return zfs.Dataset{}, zfs.Snapshot{}, fmt.Errorf("entry %q has no type (list the type column)", e.Name)
	}
	return zfs.Dataset{}, zfs.Snapshot{}, fmt.Errorf("entry %q has unknown type %q", e.Name, e.Type)
}

// prepare sorts l's snapshots by createtxg, drops lines listed twice, and on
// the source side indexes them by GUID. Two snapshots of one dataset never
// share a createtxg (zfs refuses a second snapshot in the same txg) or a GUID.
func (l *listed) prepare(side string, source bool) error {
	if l.prepared {
		return nil
	}
	l.prepared = true
	slices.SortFunc(l.snaps, func(a, b snap) int { return cmp.Compare(a.txg, b.txg) })
	out := l.snaps[:0]
	for i, s := range l.snaps {
		if i > 0 && s.txg == out[len(out)-1].txg {
			if p := out[len(out)-1]; p.guid == s.guid && p.name == s.name {
				continue
			}
			return fmt.Errorf("cannot plan pull: %s listing: snapshots %q and %q have the same createtxg %d",
				side, out[len(out)-1].name, s.name, s.txg)
		}
		out = append(out, s)
	}
	l.snaps = out
	if !source {
		return nil
	}
	l.byGUID = make(map[uint64]int, len(l.snaps))
	for i, s := range l.snaps {
		if j, dup := l.byGUID[s.guid]; dup {
			return fmt.Errorf("cannot plan pull: %s listing: snapshots %q and %q have the same guid %d",
				side, l.snaps[j].name, s.name, s.guid)
		}
		l.byGUID[s.guid] = i
	}
	return nil
}

// scope decides which source datasets a job covers.
type scope struct {
	roots     []zfs.Dataset // not excluded, sorted, no duplicates
	exclude   []zfs.Dataset
	recursive bool
}

func newScope(in Input) (scope, error) {
	sc := scope{recursive: in.Recursive}
	for _, x := range in.Exclude {
		if x.IsZero() {
			return sc, fmt.Errorf("cannot plan pull: an empty dataset name to exclude")
		}
		sc.exclude = append(sc.exclude, x)
	}
	for _, r := range in.Sources {
		if r.IsZero() {
			return sc, fmt.Errorf("cannot plan pull: an empty source dataset name")
		}
		if !sc.excluded(r) {
			sc.roots = append(sc.roots, r)
		}
	}
	slices.SortFunc(sc.roots, compareDatasets)
	sc.roots = slices.Compact(sc.roots)
	return sc, nil
}

func (sc scope) excluded(d zfs.Dataset) bool {
	for _, x := range sc.exclude {
		if d.HasPrefix(x) {
			return true
		}
	}
	return false
}

func (sc scope) includes(d zfs.Dataset) bool {
	if sc.excluded(d) {
		return false
	}
	for _, r := range sc.roots {
		if d == r || sc.recursive && r.IsAncestorOf(d) {
			return true
		}
	}
	return false
}

// orphans returns the target datasets whose source is gone: below the
// target of a recursive root, not landed on by a source in scope, and the
// target TargetFor gives the source name that would land there, which is
// neither listed nor excluded.
func orphans(in Input, sc scope, src, dst map[zfs.Dataset]*listed, landed map[zfs.Dataset]zfs.Dataset) []zfs.Dataset {
	if !sc.recursive || len(dst) == 0 {
		return nil
	}
	type root struct{ src, dst zfs.Dataset }
	var roots []root
	for _, r := range sc.roots {
		if t, ok := in.TargetFor(r); ok {
			roots = append(roots, root{r, t})
		}
	}
	var out []zfs.Dataset
	for t := range dst {
		if _, ok := landed[t]; ok {
			continue
		}
		for _, r := range roots {
			rel, ok := t.RelativeTo(r.dst)
			if !ok || rel == "" {
				continue
			}
			s, err := zfs.ParseDataset(r.src.String() + "/" + rel)
			if err != nil || sc.excluded(s) {
				continue
			}
			if _, listed := src[s]; listed {
				continue
			}
			if back, ok := in.TargetFor(s); ok && back == t {
				out = append(out, t)
				break
			}
		}
	}
	slices.SortFunc(out, compareDatasets)
	return out
}

// compareDatasets orders names as a tree: a dataset, then its descendants,
// then the next sibling ("a", "a/b", "a-x"), so a parent always comes first.
func compareDatasets(a, b zfs.Dataset) int {
	x, y := a.String(), b.String()
	for i := 0; i < len(x) && i < len(y); i++ {
		cx, cy := x[i], y[i]
		if cx == cy {
			continue
		}
		switch {
		case cx == '/':
			return -1
		case cy == '/':
			return 1
		}
		return cmp.Compare(cx, cy)
	}
	return cmp.Compare(len(x), len(y))
}
