package report

import (
	"fmt"
	"slices"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/zfs"
)

// Trip applies the ransomware tripwire to a run's report: an incremental larger than
// a.Factor times the median of the dataset's last a.Window incrementals, and larger than
// a.Floor, sets the dataset's Anomaly (the data was received all the same). The alarm needs at
// least three earlier incrementals to compare with. It returns the datasets that tripped now.
func Trip(s *JobState, r *puller.Report, a conf.Anomaly) []string {
	var tripped []string
	for _, d := range r.Datasets {
		if d.Outcome != puller.OK {
			continue
		}
		ds := s.Datasets[d.Source.String()]
		if ds == nil {
			continue
		}
		for _, st := range d.Steps {
			if st.Kind != puller.Incremental {
				continue
			}
			if len(ds.History) >= 3 {
				med := median(ds.History)
				if float64(st.Bytes) > a.Factor*float64(med) && st.Bytes > int64(a.Floor) {
					ds.Anomaly = &Anomaly{At: r.Started, Bytes: st.Bytes, Median: med,
						Detail: fmt.Sprintf("an incremental of %d bytes, %.0fx the median %d of the last %d", st.Bytes, float64(st.Bytes)/float64(max(med, 1)), med, len(ds.History))}
					tripped = append(tripped, d.Source.String())
				}
			}
			ds.History = append(ds.History, st.Bytes)
			if w := max(a.Window, 3); len(ds.History) > w {
				ds.History = ds.History[len(ds.History)-w:]
			}
		}
	}
	return tripped
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
			out[t] = &prune.Freeze{Reason: fmt.Sprintf("anomaly alarm since %s (%s); after checking the data: vault ack %s %s",
				d.Anomaly.At.Format("2006-01-02 15:04"), d.Anomaly.Detail, job, src)}
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
			d.Anomaly = nil
			acked = append(acked, src)
		}
	}
	return acked
}
