package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/belltech/vault/ledger"
	"github.com/belltech/vault/zfs"
)

// erasedNamed is how many erased snapshots an alarm names; the others are counted.
const erasedNamed = 10

// ErasedAlarm is the erased-snapshots alarm raised on one dataset of a job.
type ErasedAlarm struct {
	Source, Target string
	// Erased are the snapshots it is about, in name order.
	Erased []ledger.Erasure
	// Detail is the alarm's one line: how many, and the first names.
	Detail string
}

// RaiseErased raises the erased-snapshots alarm for snapshots erased from the job's target
// tree (ledger.Compare: gone, or renamed, with no prune of vault's to account for them) and
// returns the alarms raised, by source dataset. A snapshot counts against the dataset of s whose
// target holds it, or else the nearest whose target is above it (a child the state does not
// know); one below no target of s (on the job's target itself, or a dataset made there by hand)
// counts against every dataset of the job. Each alarm freezes its dataset's pruning until vault
// ack.
func RaiseErased(s *JobState, at time.Time, erased []ledger.Erasure) []ErasedAlarm {
	if s == nil || len(erased) == 0 {
		return nil
	}
	names := s.Names()
	targets := map[string]zfs.Dataset{}
	for _, src := range names {
		if t, err := zfs.ParseDataset(s.Datasets[src].Target); err == nil {
			targets[src] = t
		}
	}
	owners := func(d zfs.Dataset) []string {
		best := ""
		for _, src := range names {
			t, ok := targets[src]
			if ok && d.HasPrefix(t) && (best == "" || len(t.String()) > len(targets[best].String())) {
				best = src
			}
		}
		if best == "" {
			return names
		}
		return []string{best}
	}
	by := map[string][]ledger.Erasure{}
	for _, e := range erased {
		for _, src := range owners(e.Name.Dataset()) {
			by[src] = append(by[src], e)
		}
	}
	var out []ErasedAlarm
	for _, src := range names {
		es := by[src]
		if len(es) == 0 {
			continue
		}
		var gone, renamed []ledger.Erasure
		for _, e := range es {
			if e.RenamedTo.IsZero() {
				gone = append(gone, e)
			} else {
				renamed = append(renamed, e)
			}
		}
		var parts []string
		if len(gone) > 0 {
			parts = append(parts, fmt.Sprintf("%d snapshot(s) erased from the vault, not by vault prune: %s",
				len(gone), ledger.Describe(gone, targets[src], erasedNamed)))
		}
		if len(renamed) > 0 {
			parts = append(parts, fmt.Sprintf("%d snapshot(s) renamed on the vault, which vault never does: %s",
				len(renamed), ledger.Describe(renamed, targets[src], erasedNamed)))
		}
		a := ErasedAlarm{Source: src, Target: s.Datasets[src].Target, Erased: es, Detail: strings.Join(parts, "; ")}
		s.Datasets[src].raise(Anomaly{At: at, Kind: AlarmErased, Detail: a.Detail})
		out = append(out, a)
	}
	return out
}
