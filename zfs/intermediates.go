package zfs

import (
	"cmp"
	"fmt"
	"slices"
)

// Intermediates returns the snapshots that `zfs send -I from to` carries before to: those of
// to's dataset in entries whose createtxg is strictly between from's and to's, oldest first.
// from is a snapshot or a bookmark of to's dataset (a bookmark's createtxg is its snapshot's).
// entries is a listing with the name, guid and createtxg columns that holds from and to.
//
// Order is createtxg, never name or creation time. Two snapshots of the dataset with one
// createtxg (made by one `zfs snapshot` command) are an error: which zfs sends first is not
// something vault can promise.
func Intermediates(entries []Entry, from Name, to Snapshot) ([]Entry, error) {
	ds := to.Dataset()
	var fromDS Dataset
	switch f := from.(type) {
	case Snapshot:
		fromDS = f.Dataset()
	case Bookmark:
		fromDS = f.Dataset()
	}
	if fromDS != ds {
		return nil, fmt.Errorf("incremental source %q is not of %q", from, ds)
	}
	var fromTXG, toTXG uint64
	var between []Entry
	for _, e := range entries {
		if e.ParentDataset() != ds {
			continue
		}
		if e.Name == from.String() {
			fromTXG = e.CreateTXG
		}
		if e.Name == to.String() {
			toTXG = e.CreateTXG
		}
		if _, ok := e.Snapshot(); ok {
			if e.GUID == 0 || e.CreateTXG == 0 {
				return nil, fmt.Errorf("snapshot %q is listed without its guid or createtxg", e.Name)
			}
			between = append(between, e)
		}
	}
	switch {
	case fromTXG == 0:
		return nil, fmt.Errorf("incremental source %q is not in the listing", from)
	case toTXG == 0:
		return nil, fmt.Errorf("snapshot %q is not in the listing", to)
	case fromTXG >= toTXG:
		return nil, fmt.Errorf("incremental source %q is not older than %q (createtxg %d, %d)", from, to, fromTXG, toTXG)
	}
	between = slices.DeleteFunc(between, func(e Entry) bool { return e.CreateTXG <= fromTXG || e.CreateTXG >= toTXG })
	slices.SortStableFunc(between, func(a, b Entry) int { return cmp.Compare(a.CreateTXG, b.CreateTXG) })
	for i := 1; i < len(between); i++ {
		if between[i-1].CreateTXG == between[i].CreateTXG {
			return nil, fmt.Errorf("snapshots %q and %q have the same createtxg %d: the order zfs send -I sends them in is unknown", between[i-1].Name, between[i].Name, between[i].CreateTXG)
		}
	}
	return between, nil
}
