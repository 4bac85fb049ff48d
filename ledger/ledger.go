// Package ledger keeps the vault's own account of what it holds: for each job, the snapshots it
// last saw on the job's target tree, by GUID and name. Comparing that account with a new
// listing, less what vault prune's journal says it destroyed, finds the snapshots that vanished
// from the vault by some other hand: a `zfs receive -F` by whoever runs code as the pulling user
// (before OpenZFS 2.4 the delegated receive permission implies -F, openzfs/zfs#16943), a
// rollback, a destroy by root or by mistake.
//
// [Compare] is pure. [Observe], [Load], [Save] and [Forget] are its I/O: a zfs listing and the
// state directory (state/ledger/JOB.json, written atomically).
package ledger

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// Snapshot is one snapshot of a job's target tree as the vault saw it.
type Snapshot struct {
	Name zfs.Snapshot `json:"name"`
	GUID uint64       `json:"guid,string"` // a string in JSON: GUIDs exceed what JSON doubles hold
}

// Ledger is what the vault saw on one job's target tree at one moment.
type Ledger struct {
	Job string `json:"job"`
	// Root is the job's target the listing was of; a ledger of another root (the job's target
	// was moved in the configuration) is not compared with.
	Root zfs.Dataset `json:"root"`
	// Taken is when the listing began, and JournalEnd the journal's size then: the prune
	// records that may account for a snapshot gone since were appended after both.
	Taken      time.Time `json:"taken"`
	JournalEnd int64     `json:"journal_end"`
	// Snapshots are every snapshot of the tree, in name order.
	Snapshots []Snapshot `json:"snapshots"`
}

// Erasure is a snapshot of a ledger that is gone from its name with no prune record of the
// job to account for it.
type Erasure struct {
	Name zfs.Snapshot `json:"name"`
	GUID uint64       `json:"guid,string"`
	// RenamedTo is the snapshot's name now, when it is still in the tree under another name
	// (the same GUID): renamed, itself or with its dataset. Vault never renames a snapshot,
	// and a name is what its rules read, so a rename is reported as an erasure of the old name.
	RenamedTo zfs.Snapshot `json:"renamed_to,omitzero"`
}

// The details of a prune journal record (state.KindPrune) that Compare reads.
const (
	// DetailDestroyed lists the short names a prune destroyed in the record's dataset,
	// comma-separated.
	DetailDestroyed = "destroyed"
	// DetailDestroyedGUIDs lists their GUIDs, in decimal, comma-separated: a name may have
	// been taken again by another snapshot since, a GUID never is.
	DetailDestroyedGUIDs = "destroyed_guids"
)

// PruneDetails gives the details of the journal record of a prune that destroyed snaps, all of
// one dataset: their short names and their GUIDs.
func PruneDetails(snaps []Snapshot) map[string]string {
	shorts := make([]string, len(snaps))
	guids := make([]string, len(snaps))
	for i, s := range snaps {
		shorts[i] = s.Name.Short()
		guids[i] = strconv.FormatUint(s.GUID, 10)
	}
	return map[string]string{DetailDestroyed: strings.Join(shorts, ","), DetailDestroyedGUIDs: strings.Join(guids, ",")}
}

// FromEntries gives the snapshots of a zfs listing (its other entries are left out), in name
// order.
func FromEntries(entries []zfs.Entry) []Snapshot {
	var out []Snapshot
	for _, e := range entries {
		if s, ok := e.Snapshot(); ok {
			out = append(out, Snapshot{Name: s, GUID: e.GUID})
		}
	}
	sortSnapshots(out)
	return out
}

func sortSnapshots(s []Snapshot) {
	slices.SortFunc(s, func(a, b Snapshot) int { return strings.Compare(a.Name.String(), b.Name.String()) })
}

// Compare returns the snapshots of prev that are gone from now, the current listing of the same
// tree, and that no prune record of the job accounts for, in name order. It is pure.
//
//   - A snapshot still listed with the same name and GUID is there.
//   - A prune record (state.KindPrune) of prev's job, written at prev.Taken or later, accounts
//     for what it destroyed in its dataset: by GUID when the record has them, otherwise (a
//     record of an older vault) by name. Records of other jobs, other kinds and older ones
//     account for nothing.
//   - A snapshot whose GUID is listed under another name, one the ledger does not have, was
//     renamed: it is an erasure all the same, with RenamedTo set (unless a prune destroyed it by
//     that GUID).
//   - Everything else is an erasure: destroyed one by one, by a rollback or a receive -F, or
//     with its whole dataset.
//
// Snapshots new in now are not erasures, whatever their names.
func Compare(prev Ledger, now []Snapshot, journal []state.Record) []Erasure {
	present := make(map[Snapshot]bool, len(now))
	for _, s := range now {
		present[s] = true
	}
	known := make(map[Snapshot]bool, len(prev.Snapshots))
	for _, s := range prev.Snapshots {
		known[s] = true
	}
	// Where a renamed snapshot may be now: the listing's snapshots the ledger does not have.
	fresh := map[uint64][]zfs.Snapshot{}
	sorted := slices.Clone(now)
	sortSnapshots(sorted)
	for _, s := range sorted {
		if !known[s] {
			fresh[s.GUID] = append(fresh[s.GUID], s.Name)
		}
	}
	type dsGUID struct {
		ds   zfs.Dataset
		guid uint64
	}
	byGUID := map[dsGUID]bool{}
	byName := map[zfs.Snapshot]bool{}
	for _, r := range journal {
		if r.Kind != state.KindPrune || r.Job != prev.Job || r.Time.Before(prev.Taken) {
			continue
		}
		ds, err := zfs.ParseDataset(r.Dataset)
		if err != nil {
			continue
		}
		if guids := r.Details[DetailDestroyedGUIDs]; guids != "" {
			for _, g := range strings.Split(guids, ",") {
				if n, err := strconv.ParseUint(g, 10, 64); err == nil {
					byGUID[dsGUID{ds, n}] = true
				}
			}
			continue
		}
		for _, short := range strings.Split(r.Details[DetailDestroyed], ",") {
			if s, err := ds.Snapshot(short); err == nil {
				byName[s] = true
			}
		}
	}
	var out []Erasure
	old := slices.Clone(prev.Snapshots)
	sortSnapshots(old)
	for _, s := range old {
		switch {
		case present[s], byGUID[dsGUID{s.Name.Dataset(), s.GUID}]:
			continue
		case len(fresh[s.GUID]) > 0:
			out = append(out, Erasure{Name: s.Name, GUID: s.GUID, RenamedTo: fresh[s.GUID][0]})
			fresh[s.GUID] = fresh[s.GUID][1:]
		case byName[s.Name]:
			continue
		default:
			out = append(out, Erasure{Name: s.Name, GUID: s.GUID})
		}
	}
	return out
}

// Without returns the ledger without the snapshots of ds and of its descendants, and how many
// it dropped.
func (l Ledger) Without(ds zfs.Dataset) (Ledger, int) {
	out := l
	out.Snapshots = nil
	for _, s := range l.Snapshots {
		if s.Name.Dataset().HasPrefix(ds) {
			continue
		}
		out.Snapshots = append(out.Snapshots, s)
	}
	return out, len(l.Snapshots) - len(out.Snapshots)
}

// Describe names erasures for an operator, the first max of them then how many more:
// "@a, @b (renamed to @c), rust10/Backups/x/y@d and 3 more". Snapshots of the dataset in are
// named by their short names, others in full.
func Describe(es []Erasure, in zfs.Dataset, max int) string {
	name := func(s zfs.Snapshot) string {
		if s.Dataset() == in {
			return "@" + s.Short()
		}
		return s.String()
	}
	var parts []string
	for i, e := range es {
		if i == max {
			break
		}
		p := name(e.Name)
		if !e.RenamedTo.IsZero() {
			p += " (renamed to " + name(e.RenamedTo) + ")"
		}
		parts = append(parts, p)
	}
	s := strings.Join(parts, ", ")
	if more := len(es) - len(parts); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}
