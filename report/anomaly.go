package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/zfs"
)

// Trip applies the alarms to a run's report, on the state Apply made of it, and returns the
// datasets whose alarm tripped now. Each alarm freezes the dataset's pruning until vault ack:
//
//   - size: an incremental larger than a.Factor times the median of the dataset's last
//     a.Window incrementals (at least three of them) and larger than a.Floor;
//   - rewrite: an incremental larger than a.RewriteShare of the target's referenced data and
//     larger than a.RewriteFloor, in a dataset whose usual incremental is below that share;
//   - snapshots: more new snapshots than a.Factor times the median of the last pulls' counts
//     (at least three) and more than a.SnapshotFloor;
//   - flood: the pull refused the dataset for bringing more than max_new_snapshots;
//   - source-lost: the source has no snapshot left of those both sides held after the last
//     pull, or lost more than half of them (at least 4) since, or the dataset is gone from the
//     source (an orphan of the run).
//
// The data of the first three was received all the same; the alarm says look before pruning.
func Trip(s *JobState, r *puller.Report, a conf.Anomaly) []string {
	var tripped []string
	trip := func(src string, ds *DatasetState, al Anomaly) {
		al.At = r.Started
		ds.raise(al)
		if !slices.Contains(tripped, src) {
			tripped = append(tripped, src)
		}
	}
	for _, d := range r.Datasets {
		src := d.Source.String()
		ds := s.Datasets[src]
		if ds == nil {
			continue
		}
		prevCommon := ds.Common
		switch {
		case d.Outcome == puller.SourceEmpty && d.Vanished > 0 && prevCommon > 0:
			trip(src, ds, Anomaly{Kind: AlarmSourceLost, Detail: fmt.Sprintf(
				"the source has no snapshots left: the %d the vault holds are the last copies; pruning frozen", d.Vanished)})
		case (d.Outcome == puller.OK || d.Outcome == puller.UpToDate || d.Outcome == puller.Refused || d.Outcome == puller.Failed) &&
			prevCommon >= 4 && d.Common*2 < prevCommon:
			trip(src, ds, Anomaly{Kind: AlarmSourceLost, Detail: fmt.Sprintf(
				"the source lost %d of the %d snapshots both sides held after the last pull", prevCommon-d.Common, prevCommon)})
		}
		switch d.Outcome {
		case puller.OK:
			ds.Common = d.Common + d.Received
		case puller.UpToDate, puller.SourceEmpty, puller.Refused, puller.Failed, puller.Conflicted:
			ds.Common = d.Common
		}
		if d.Outcome == puller.Refused {
			trip(src, ds, Anomaly{Kind: AlarmFlood, Offered: d.NewSnapshots, Detail: d.Err})
			continue
		}
		if d.Outcome != puller.OK {
			continue
		}
		ds.AllowNew = 0 // a one-off allowance is used by the pull that brought them
		for _, st := range d.Steps {
			if st.Kind != puller.Incremental {
				continue
			}
			var med int64
			if len(ds.History) > 0 {
				med = median(ds.History)
			}
			if len(ds.History) >= 3 && float64(st.Bytes) > a.Factor*float64(med) && st.Bytes > int64(a.Floor) {
				trip(src, ds, Anomaly{Kind: AlarmSize, Bytes: st.Bytes, Median: med,
					Detail: fmt.Sprintf("an incremental of %d bytes, %.0fx the median %d of the last %d", st.Bytes, float64(st.Bytes)/float64(max(med, 1)), med, len(ds.History))})
			} else if share := a.RewriteShare * float64(d.TargetReferenced); d.TargetReferenced > 0 && a.RewriteShare > 0 &&
				float64(st.Bytes) > share && st.Bytes > int64(a.RewriteFloor) && (len(ds.History) == 0 || float64(med) <= share) {
				trip(src, ds, Anomaly{Kind: AlarmRewrite, Bytes: st.Bytes, Median: med,
					Detail: fmt.Sprintf("an incremental of %d bytes rewrote %.0f%% of the %d bytes the dataset referenced", st.Bytes, 100*float64(st.Bytes)/float64(d.TargetReferenced), d.TargetReferenced)})
			}
			ds.History = append(ds.History, st.Bytes)
			if w := max(a.Window, 3); len(ds.History) > w {
				ds.History = ds.History[len(ds.History)-w:]
			}
		}
		if d.NewSnapshots > 0 && len(d.Steps) > 0 && d.Steps[0].Kind != puller.Full {
			n := d.NewSnapshots
			if len(ds.Counts) >= 3 {
				med := medianInt(ds.Counts)
				if float64(n) > a.Factor*float64(med) && n > a.SnapshotFloor {
					trip(src, ds, Anomaly{Kind: AlarmSnapshots, Detail: fmt.Sprintf(
						"a pull brought %d new snapshots, %.0fx the median %d of the last %d pulls", n, float64(n)/float64(max(med, 1)), med, len(ds.Counts))})
				}
			}
			ds.Counts = append(ds.Counts, n)
			if w := max(a.Window, 3); len(ds.Counts) > w {
				ds.Counts = ds.Counts[len(ds.Counts)-w:]
			}
		}
	}
	// A dataset gone from the source: its copy on the vault is the last one.
	for _, o := range r.Orphans {
		for _, src := range s.Names() {
			ds := s.Datasets[src]
			if ds.Target != o.String() || ds.Gone {
				continue
			}
			ds.Gone = true
			trip(src, ds, Anomaly{Kind: AlarmSourceLost, Detail: "the dataset is gone from the source: the vault's copy is the last one; pruning frozen"})
		}
	}
	return tripped
}

func medianInt(v []int) int {
	w := make([]int64, len(v))
	for i, x := range v {
		w[i] = int64(x)
	}
	return int(median(w))
}

func median(v []int64) int64 {
	c := slices.Clone(v)
	slices.Sort(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// Freezes says which of a job's target datasets must not be pruned, and why: the last pull
// failed, diverged or was skipped, or the anomaly alarm is up (until vault ack).
func Freezes(s *JobState, job string) map[zfs.Dataset]*prune.Freeze {
	out := map[zfs.Dataset]*prune.Freeze{}
	if s == nil {
		return out
	}
	for _, src := range s.Names() {
		d := s.Datasets[src]
		t, err := zfs.ParseDataset(d.Target)
		if err != nil {
			continue
		}
		switch {
		case s.Error != "" && d.Anomaly == nil:
			out[t] = &prune.Freeze{Reason: "the last pull could not run: " + s.Error}
		case d.Anomaly != nil:
			out[t] = &prune.Freeze{Reason: fmt.Sprintf("%s since %s (%s); after checking the data: vault ack %s %s",
				AlarmName(d.Anomaly.Kind), d.Anomaly.At.Format("2006-01-02 15:04"), d.Anomaly.Detail, job, src)}
		case d.Outcome == string(puller.Conflicted):
			out[t] = &prune.Freeze{Reason: "the last pull found it diverged: " + d.Error}
		case d.Outcome == string(puller.Failed) || d.Outcome == string(puller.Skipped):
			out[t] = &prune.Freeze{Reason: "the last pull failed: " + d.Error}
		}
	}
	return out
}

// Ack lifts the anomaly alarm of one dataset (by source name), or of every dataset of the job
// when source is empty. It returns the datasets acknowledged.
func Ack(s *JobState, source string) []string {
	var acked []string
	for _, src := range s.Names() {
		d := s.Datasets[src]
		if (source == "" || source == src || source == d.Target) && d.Anomaly != nil {
			for _, g := range d.Anomaly.Lies {
				if !slices.Contains(d.AckedLies, g) {
					d.AckedLies = append(d.AckedLies, g)
				}
			}
			if d.Anomaly.Offered > 0 {
				d.AllowNew = d.Anomaly.Offered
			}
			d.Anomaly = nil
			acked = append(acked, src)
		}
	}
	return acked
}

// AlarmName names an alarm kind for an operator.
func AlarmName(kind string) string {
	switch kind {
	case AlarmRewrite:
		return "anomaly alarm (rewrite)"
	case AlarmSnapshots:
		return "anomaly alarm (snapshot count)"
	case AlarmFlood:
		return "flood alarm"
	case AlarmLies:
		return "lying-names alarm"
	case AlarmSourceLost:
		return "source-lost alarm"
	case AlarmErased:
		return "erased-snapshots alarm"
	}
	return "anomaly alarm"
}

// AckedLies gives, by target dataset, the GUIDs of the snapshots whose names lie that the
// operator acknowledged with vault ack: the pruner keeps them out of the grid without freezing.
func AckedLies(s *JobState) map[zfs.Dataset]map[uint64]bool {
	out := map[zfs.Dataset]map[uint64]bool{}
	if s == nil {
		return out
	}
	for _, d := range s.Datasets {
		t, err := zfs.ParseDataset(d.Target)
		if err != nil || len(d.AckedLies) == 0 {
			continue
		}
		m := map[uint64]bool{}
		for _, g := range d.AckedLies {
			m[g] = true
		}
		out[t] = m
	}
	return out
}

// RaiseLies raises the lying-names alarm on the dataset of s whose target is target, for the
// snapshots guids (prune found their names lie about their dates; why says how, one line). It
// returns the dataset's source name and whether the alarm is new: false when every one of
// guids is in the alarm already up, or no dataset of s lands on target.
func RaiseLies(s *JobState, target string, at time.Time, guids []uint64, why string) (string, bool) {
	if s == nil {
		return "", false
	}
	for _, src := range s.Names() {
		d := s.Datasets[src]
		if d.Target != target {
			continue
		}
		if d.Anomaly != nil && !slices.ContainsFunc(guids, func(g uint64) bool { return !slices.Contains(d.Anomaly.Lies, g) }) {
			return src, false
		}
		d.raise(Anomaly{At: at, Kind: AlarmLies, Lies: slices.Clone(guids), Detail: why})
		return src, true
	}
	return "", false
}
