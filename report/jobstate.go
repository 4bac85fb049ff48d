// Package report keeps what the vault knows about each job between runs (the last attempt and
// the last success of every dataset) and turns pull reports into that state and into journal
// lines. It is pure: the daemon writes what it returns (atomically, through package state).
package report

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/state"
)

// JobState is the saved state of one job, state/jobs/JOB.json.
type JobState struct {
	Job     string    `json:"job"`
	LastRun time.Time `json:"last_run"`
	// LastExit is the last run's exit code (puller.ExitOK, ExitFailed, ExitConflict).
	LastExit int `json:"last_exit"`
	// Error is set when the last run could not run at all (the source unreachable, say).
	Error string `json:"error,omitempty"`
	// FirstRun is when the job first ran (for state saved before it was recorded: the first
	// run since). Status measures "no good copy yet" from it.
	FirstRun time.Time                `json:"first_run,omitzero"`
	Datasets map[string]*DatasetState `json:"datasets"`
}

// DatasetState is what the vault knows of one source dataset of a job.
type DatasetState struct {
	Target      string    `json:"target"`
	Outcome     string    `json:"outcome"`
	LastAttempt time.Time `json:"last_attempt"`
	// LastSuccess is when the dataset last pulled or was found up to date: the age of the
	// newest good copy is measured from it against the job's RPO.
	LastSuccess time.Time `json:"last_success,omitzero"`
	Newest      string    `json:"newest,omitempty"`
	LastBytes   int64     `json:"last_bytes"`
	Vanished    int       `json:"vanished,omitempty"`
	Error       string    `json:"error,omitempty"`
	// NoSpace: the last pull failed for want of space on the vault (puller's DatasetReport.NoSpace).
	NoSpace  bool     `json:"no_space,omitempty"`
	Hint     string   `json:"hint,omitempty"`
	Warnings []string `json:"warnings,omitempty"`

	// DataTime is when the data of the newest good copy was made, when it is older than
	// LastSuccess: an import from media brings data as old as its export, and its age counts
	// from here. Zero (a pull, or state saved before imports recorded it): the data is as new
	// as LastSuccess.
	DataTime time.Time `json:"data_time,omitzero"`

	// FirstAttempt is when the vault first tried the dataset (for state saved before it was
	// recorded: the first attempt since). Status measures "no good copy yet" from it.
	FirstAttempt time.Time `json:"first_attempt,omitzero"`
	// History holds the sizes of the last incrementals received (the newest last), for the
	// anomaly tripwire.
	History []int64 `json:"history,omitempty"`
	// Anomaly is set when an alarm tripped (an incremental far larger than the dataset's
	// history, a flood of snapshots, names that lie about their dates, a source that lost what
	// the vault holds, snapshots erased from the vault's copy): its pruning is frozen until
	// vault ack.
	Anomaly *Anomaly `json:"anomaly,omitempty"`

	// Counts holds how many new snapshots the last pulls brought (the newest last), for the
	// tripwire on an unusual number.
	Counts []int `json:"counts,omitempty"`
	// Common counts the snapshots the vault and the source both held after the last pull; a
	// source that then loses most of them raises the source-lost alarm.
	Common int `json:"common,omitempty"`
	// Gone is set while the dataset is missing from its source (its source-lost alarm was
	// raised once for that).
	Gone bool `json:"gone,omitempty"`
	// AckedLies are the GUIDs of snapshots whose names lie about their dates, acknowledged
	// with vault ack: kept and left out of the grid, they no longer freeze pruning.
	AckedLies []uint64 `json:"acked_lies,omitempty"`
	// AllowNew lets the next pull bring this many new snapshots (once), after vault ack of a
	// refused flood.
	AllowNew int `json:"allow_new,omitempty"`
}

// The kinds of alarm.
const (
	AlarmSize       = ""            // an incremental far above the dataset's history (the original tripwire)
	AlarmRewrite    = "rewrite"     // an incremental that rewrites much of the dataset
	AlarmSnapshots  = "snapshots"   // a pull brought an unusual number of snapshots
	AlarmFlood      = "flood"       // more new snapshots than max_new_snapshots: nothing received
	AlarmLies       = "lying-names" // names that lie about their dates (found by prune)
	AlarmSourceLost = "source-lost" // the source lost what the vault holds
	AlarmErased     = "erased"      // snapshots vanished from the vault's copy, not by vault prune (the ledger check)
)

// Anomaly records a tripped alarm. A second alarm while one is up is added to its Detail.
type Anomaly struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind,omitempty"` // one of the Alarm kinds
	Bytes  int64     `json:"bytes"`
	Median int64     `json:"median"`
	Detail string    `json:"detail"`
	// Lies are the GUIDs of the snapshots whose names lie (AlarmLies); Offered is how many new
	// snapshots a refused pull offered (AlarmFlood). Ack uses them.
	Lies    []uint64 `json:"lies,omitempty"`
	Offered int      `json:"offered,omitempty"`
}

// raise sets the dataset's alarm, or adds a to the one already up.
func (d *DatasetState) raise(a Anomaly) {
	if d.Anomaly == nil {
		d.Anomaly = &a
		return
	}
	up := d.Anomaly
	if !strings.Contains(up.Detail, a.Detail) {
		up.Detail += "; and " + a.Detail
	}
	for _, g := range a.Lies {
		if !slices.Contains(up.Lies, g) {
			up.Lies = append(up.Lies, g)
		}
	}
	up.Offered = max(up.Offered, a.Offered)
	// The graver kind names the finding; the gravest is the vault's own copies erased.
	if up.Kind != a.Kind && a.Kind != AlarmSize && (up.Kind == AlarmSize || up.Kind == AlarmRewrite || up.Kind == AlarmSnapshots || a.Kind == AlarmErased) {
		up.Kind = a.Kind
	}
}

// Apply folds a pull report into the previous state (nil for a job never run) and returns the
// new state. A failed run keeps each dataset's last success and newest snapshot.
func Apply(prev *JobState, r *puller.Report) *JobState {
	s := &JobState{Job: r.Job, LastRun: r.Started, LastExit: puller.ExitCode([]*puller.Report{r}), Datasets: map[string]*DatasetState{}}
	if prev != nil {
		s.FirstRun = prev.FirstRun
		for k, v := range prev.Datasets {
			c := *v
			s.Datasets[k] = &c
		}
	}
	if s.FirstRun.IsZero() {
		s.FirstRun = r.Started
	}
	if r.Err != nil {
		s.Error = r.Err.Error()
		return s
	}
	for _, d := range r.Datasets {
		if d.Outcome == puller.Planned {
			continue
		}
		ds := s.Datasets[d.Source.String()]
		if ds == nil {
			ds = &DatasetState{}
			s.Datasets[d.Source.String()] = ds
		}
		ds.Target = d.Target.String()
		ds.Gone = false
		ds.Outcome = string(d.Outcome)
		ds.LastAttempt = r.Started
		if ds.FirstAttempt.IsZero() {
			ds.FirstAttempt = r.Started
		}
		ds.LastBytes = d.Bytes
		ds.Vanished = d.Vanished
		ds.Error, ds.NoSpace, ds.Hint, ds.Warnings = d.Err, d.NoSpace, d.Hint, d.Warnings
		if d.Newest != "" {
			ds.Newest = d.Newest
		}
		switch d.Outcome {
		case puller.OK, puller.UpToDate:
			ds.LastSuccess, ds.DataTime = r.Started, time.Time{}
			if !d.DataTime.IsZero() && d.DataTime.Before(r.Started) {
				ds.DataTime = d.DataTime
			}
		}
	}
	return s
}

// Lines turns a pull report into journal records: one per dataset per run, in the report's
// (tree) order, or one for a run that could not start.
func Lines(r *puller.Report) []state.Record {
	if r.Err != nil {
		return []state.Record{{Time: r.Started, Kind: state.KindPullStep, Job: r.Job, Outcome: state.OutcomeFailed,
			Error: r.Err.Error(), DurationMS: r.Duration.Milliseconds()}}
	}
	var out []state.Record
	for _, d := range r.Datasets {
		rec := state.Record{Time: r.Started, Kind: state.KindPullStep, Job: r.Job, Dataset: d.Source.String(),
			Outcome: state.Outcome(d.Outcome), Bytes: d.Bytes, DurationMS: d.Duration.Milliseconds(), Error: d.Err,
			Details: map[string]string{"target": d.Target.String()}}
		var steps []string
		for _, st := range d.Steps {
			steps = append(steps, st.Kind.String()+" @"+st.To)
		}
		if len(steps) > 0 {
			rec.Details["steps"] = strings.Join(steps, ", ")
		}
		if d.Newest != "" {
			rec.Details["newest"] = d.Newest
		}
		if !d.DataTime.IsZero() {
			rec.Details["data_time"] = d.DataTime.UTC().Format(time.RFC3339)
		}
		out = append(out, rec)
	}
	return out
}

// Names returns the state's dataset names in order.
func (s *JobState) Names() []string {
	names := make([]string, 0, len(s.Datasets))
	for k := range s.Datasets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
