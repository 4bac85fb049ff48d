package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/zfs"
)

// Level is how a job or a dataset stands. The values are Nagios's: vault check exits with them
// and the vault_dataset_state metric carries them.
type Level int

// The levels. Their order of gravity is OK, UNKNOWN, WARN, CRIT (see Worse).
const (
	LevelOK      Level = 0
	LevelWarn    Level = 1
	LevelCrit    Level = 2
	LevelUnknown Level = 3
)

// String is the short word the status table prints: OK, WARN, CRIT, UNKNOWN.
func (l Level) String() string {
	switch l {
	case LevelOK:
		return "OK"
	case LevelWarn:
		return "WARN"
	case LevelCrit:
		return "CRIT"
	case LevelUnknown:
		return "UNKNOWN"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// MarshalText gives the level in JSON: "ok", "warn", "crit", "unknown".
func (l Level) MarshalText() ([]byte, error) { return []byte(strings.ToLower(l.String())), nil }

// UnmarshalText reads what MarshalText writes.
func (l *Level) UnmarshalText(b []byte) error {
	for _, c := range []Level{LevelOK, LevelWarn, LevelCrit, LevelUnknown} {
		if string(b) == strings.ToLower(c.String()) {
			*l = c
			return nil
		}
	}
	return fmt.Errorf("unknown level %q", b)
}

// gravity orders levels for "the worst": UNKNOWN is worse than OK (nobody knows) and better than
// WARN (something is known to be wrong), as in the monitoring plugins' max_state_alt.
func (l Level) gravity() int {
	switch l {
	case LevelOK:
		return 0
	case LevelUnknown:
		return 1
	case LevelWarn:
		return 2
	}
	return 3
}

// Worse returns the graver of a and b.
func Worse(a, b Level) Level {
	if b.gravity() > a.gravity() {
		return b
	}
	return a
}

// Finding kinds: stable words for scripts reading `vault status --json`.
const (
	KindConflict       = "conflict"        // CRIT: diverged, no common snapshot, or not ours
	KindAnomaly        = "anomaly"         // CRIT: the tripwire; pruning frozen until vault ack
	KindLag            = "lag"             // WARN past rpo, CRIT past rpo_critical
	KindNoGoodCopy     = "no-good-copy"    // WARN: never pulled successfully
	KindFailed         = "failed"          // WARN: the last pull of the dataset failed
	KindNoSpace        = "no-space"        // WARN: the last pull failed for want of space on the vault (a stream refused before it started, or a receive out of space)
	KindSkipped        = "skipped"         // WARN: its parent did not pull
	KindNeedsBootstrap = "needs-bootstrap" // WARN: new on the source, its first receive needs root
	KindSourceLost     = "source-lost"     // CRIT while its alarm is up (until vault ack), then WARN: the source lost what the vault holds
	KindLyingNames     = "lying-names"     // CRIT: snapshot names that lie about their dates; pruning frozen until vault ack
	KindFlood          = "flood"           // CRIT: more new snapshots than max_new_snapshots; nothing received until vault ack
	KindErased         = "erased"          // CRIT: snapshots vanished from the vault's copy, not by vault prune; pruning frozen until vault ack
	KindWarning        = "warning"         // WARN: a warning of the last pull
	KindRunError       = "run-error"       // WARN: the job's last run could not start
	KindQuota          = "quota"           // WARN: the job's target uses 90% of its quota or more
	KindNotInLastRun   = "not-in-last-run" // WARN: the dataset was not part of the job's last run
	KindNeverRun       = "never-run"       // UNKNOWN: the job has no state yet
	KindNoDatasets     = "no-datasets"     // UNKNOWN: no dataset of the configured job in its state
	KindUnreadable     = "unreadable"      // UNKNOWN: the job's state could not be read
)

// Finding is one reason for a level.
type Finding struct {
	Level Level  `json:"level"`
	Kind  string `json:"kind"`
	Text  string `json:"text"`
}

// Status is the state of every job and dataset at one moment, with a level and its reasons for
// each. Evaluate makes it; it marshals to the stable JSON of `vault status --json`, in which a
// key is left out when its value is not known (a job never run has no last_run, a dataset not
// listed on the vault has no snapshots).
type Status struct {
	Time time.Time   `json:"time"`
	Jobs []JobStatus `json:"jobs"`

	// Protection is how far history is out of the pulling process's reach (nil: not known,
	// as when status runs away from the vault's zfs).
	Protection *Protection `json:"protection,omitempty"`

	// Pools are the pools that hold the jobs' targets (SetPools); PoolsError is why they could
	// not be checked. Both nil when nobody looked.
	Pools      []PoolStatus `json:"pools"`
	PoolsError *Finding     `json:"pools_error,omitempty"`

	// Location is where the table shows times (the configuration's timezone).
	Location *time.Location `json:"-"`
}

// Protection is the vault's protection level (puller.Protection): its name, the OpenZFS kernel
// module's release it was judged from ("" when unknown), and a line for the operator.
type Protection struct {
	Level  string `json:"level"`
	ZFS    string `json:"zfs,omitempty"`
	Detail string `json:"detail"`
}

// JobStatus is one job: its own findings (a job never run, or whose last run could not start),
// and its datasets. Level is the worst of its findings and its datasets' levels.
type JobStatus struct {
	Job      string    `json:"job"`
	Media    bool      `json:"media,omitempty"`
	Level    Level     `json:"level"`
	Findings []Finding `json:"findings"`
	// RPO and RPOCritical are the thresholds the levels were computed with.
	RPO                time.Duration `json:"-"`
	RPOCritical        time.Duration `json:"-"`
	RPOSeconds         int64         `json:"rpo_seconds"`
	RPOCriticalSeconds int64         `json:"rpo_critical_seconds"`
	// NeverRun: the job has no saved state; Unreadable: it has one that cannot be read.
	NeverRun   bool      `json:"never_run,omitempty"`
	Unreadable string    `json:"unreadable,omitempty"`
	FirstRun   time.Time `json:"first_run,omitzero"`
	LastRun    time.Time `json:"last_run,omitzero"`
	LastExit   *int      `json:"last_exit,omitempty"`
	// Error is why the last run could not start at all (JobState.Error).
	Error string `json:"error,omitempty"`
	// Target is the job's target on the vault; Used and Quota its space and quota in bytes,
	// from a listing on the vault (SetHoldings): nil when not listed, Quota nil when none.
	Target   string          `json:"target"`
	Used     *int64          `json:"used,omitempty"`
	Quota    *int64          `json:"quota,omitempty"`
	Datasets []DatasetStatus `json:"datasets"`
}

// DatasetStatus is one source dataset of a job and its copy on the vault.
type DatasetStatus struct {
	Dataset  string    `json:"dataset"`
	Target   string    `json:"target"`
	Level    Level     `json:"level"`
	Findings []Finding `json:"findings"`
	// Outcome is the last pull's (puller.Outcome), as saved.
	Outcome      string    `json:"outcome"`
	FirstAttempt time.Time `json:"first_attempt,omitzero"`
	LastAttempt  time.Time `json:"last_attempt,omitzero"`
	LastSuccess  time.Time `json:"last_success,omitzero"`
	// DataTime is when the data of the newest good copy was made, for one imported from media
	// (the export's: see ImportDataTime); its age counts from it. Zero for a pull, whose copy is
	// as new as LastSuccess.
	DataTime time.Time `json:"data_time,omitzero"`
	// LagSeconds is the age of the newest good copy (Time - DataTime, or Time - LastSuccess
	// without one); nil if there is none.
	LagSeconds *int64 `json:"lag_seconds,omitempty"`
	// Newest is the newest snapshot on the vault after the last pull (its short name).
	Newest    string `json:"newest,omitempty"`
	LastBytes int64  `json:"last_bytes"`
	// Vanished counts the vault's snapshots the source no longer had at the last pull.
	Vanished       int  `json:"vanished,omitempty"`
	Diverged       bool `json:"diverged,omitempty"`
	NeedsBootstrap bool `json:"needs_bootstrap,omitempty"`
	// NotInLastRun: the job's last run started but did not report this dataset (it is gone from
	// the source, or the run was cut short).
	NotInLastRun bool     `json:"not_in_last_run,omitempty"`
	Anomaly      *Anomaly `json:"anomaly,omitempty"`
	// PruneFreeze is why pruning of the target is frozen (see Freezes); "" when it is not.
	PruneFreeze string `json:"prune_freeze,omitempty"`
	Error       string `json:"error,omitempty"`
	// NoSpace: the last pull failed for want of space on the vault.
	NoSpace  bool     `json:"no_space,omitempty"`
	Hint     string   `json:"hint,omitempty"`
	Warnings []string `json:"warnings,omitempty"`

	// What the vault holds for the target, from a zfs listing on the vault (SetHoldings); nil
	// when not listed. HeldBytes is the target's own space (data and snapshots, not its
	// children's); Holds counts user holds on its snapshots (the replication base has one).
	Snapshots *int64 `json:"snapshots,omitempty"`
	HeldBytes *int64 `json:"held_bytes,omitempty"`
	Holds     *int64 `json:"holds,omitempty"`
}

// Evaluate gives the status of every job of cfg, in configuration order, from the saved states
// (keyed by job name; a job missing from states has never run) as of now. It is pure.
//
// A dataset's level is the worst of its findings, OK when there are none:
//
//   - CRIT: the last pull found it in conflict (diverged, no common snapshot, target not ours);
//     an alarm is up (anomaly, lying names, flood, source lost, erased snapshots; until vault
//     ack); its last good pull is older than rpo_critical; it never pulled successfully and was
//     first tried longer than rpo_critical ago.
//   - WARN: its last good pull is older than rpo; it never pulled successfully (no good copy
//     yet); its last pull failed, was skipped (its parent did not pull), or found it new on the
//     source (needs bootstrap); the source has no snapshots left and the vault keeps the ones it
//     lost; the pull had warnings; the job's last run could not start at all (JobState.Error:
//     the age of every dataset keeps counting from its last success); the job's last run
//     started but did not report it (gone from the source, or the run was cut short; not for
//     media jobs, whose imports come one dataset at a time).
//
// A job's own findings: UNKNOWN when it has no state (never run: nothing is known, and its
// first run will tell), when its state cannot be read (MarkUnreadable), or when none of the
// datasets in its state belongs to the job as configured now; WARN when its last run could not
// start and it has no dataset yet, CRIT when that has lasted longer than rpo_critical since its
// first run. Datasets in the state that the configuration no longer
// includes (excluded, or a root removed) are left out: that is how an operator retires a
// dataset gone from the source for good; but one whose copy lost snapshots (its
// erased-snapshots alarm is up) is shown, CRIT, until vault ack.
//
// The age of a good copy counts from its last good pull, or, for one imported from media,
// from when its data was made (DataTime): an old export imported today is as old as its data.
//
// State saved before first attempts were recorded counts them from the first run since.
func Evaluate(cfg *conf.Config, states map[string]*JobState, now time.Time) Status {
	s := Status{Time: now, Location: cfg.Location}
	for i := range cfg.Jobs {
		j := &cfg.Jobs[i]
		js := JobStatus{Job: j.Name, Media: j.IsMedia(), Target: j.Target, RPO: j.RPO, RPOCritical: j.RPOCritical, Datasets: []DatasetStatus{}}
		if st := states[j.Name]; st == nil {
			js.NeverRun = true
		} else {
			js.FirstRun, js.LastRun, js.Error = st.FirstRun, st.LastRun, st.Error
			exit := st.LastExit
			js.LastExit = &exit
			freezes := Freezes(st, j.Name)
			for _, name := range st.Names() {
				d := st.Datasets[name]
				// A dataset the job no longer includes is left out, unless the vault's copy of
				// it, still in the job's target, lost snapshots (it is kept, and not
				// pruned, until vault ack).
				included := d != nil && j.Includes(name)
				if d == nil || !included && (d.Anomaly == nil || d.Anomaly.Kind != AlarmErased) {
					continue
				}
				ds := DatasetStatus{
					Dataset: name, Target: d.Target, Outcome: d.Outcome,
					FirstAttempt: d.FirstAttempt, LastAttempt: d.LastAttempt, LastSuccess: d.LastSuccess, DataTime: d.DataTime, Newest: d.Newest,
					LastBytes: d.LastBytes, Vanished: d.Vanished, Error: d.Error, NoSpace: d.NoSpace, Hint: d.Hint,
					Warnings: slices.Clone(d.Warnings),
					Diverged: d.Outcome == string(puller.Conflicted), NeedsBootstrap: d.Outcome == string(puller.NeedsBootstrap),
					// A media job imports one dataset at a time: its runs need not name them all.
					NotInLastRun: included && !j.IsMedia() && st.Error == "" && d.LastAttempt.Before(st.LastRun),
				}
				if d.Anomaly != nil {
					a := *d.Anomaly
					ds.Anomaly = &a
				}
				if t, err := zfs.ParseDataset(d.Target); err == nil && freezes[t] != nil {
					ds.PruneFreeze = freezes[t].Reason
				}
				js.Datasets = append(js.Datasets, ds)
			}
		}
		js.evaluate(now)
		s.Jobs = append(s.Jobs, js)
	}
	return s
}

// MarkUnreadable records that job's state exists but could not be read: the job is UNKNOWN,
// with err as the reason.
func (s *Status) MarkUnreadable(job string, err error) {
	for i := range s.Jobs {
		if js := &s.Jobs[i]; js.Job == job {
			*js = JobStatus{Job: js.Job, Media: js.Media, Target: js.Target, RPO: js.RPO, RPOCritical: js.RPOCritical,
				Unreadable: oneLine(err.Error()), Datasets: []DatasetStatus{}}
			js.evaluate(s.Time)
		}
	}
}

// WithThresholds returns a copy of s with every job's rpo replaced by warn and its rpo_critical
// by crit (0 keeps the job's own), and the levels computed again (vault check --warn, --crit).
func (s Status) WithThresholds(warn, crit time.Duration) Status {
	out := s
	out.Jobs = make([]JobStatus, len(s.Jobs))
	for i, js := range s.Jobs {
		js.Datasets = slices.Clone(js.Datasets)
		if warn > 0 {
			js.RPO = warn
		}
		if crit > 0 {
			js.RPOCritical = crit
		}
		js.evaluate(s.Time)
		out.Jobs[i] = js
	}
	return out
}

// evaluate computes the findings and levels of the job and its datasets from their facts.
func (js *JobStatus) evaluate(now time.Time) {
	js.RPOSeconds, js.RPOCriticalSeconds = int64(js.RPO/time.Second), int64(js.RPOCritical/time.Second)
	js.Findings = []Finding{}
	switch {
	case js.Unreadable != "":
		js.add(LevelUnknown, KindUnreadable, "cannot read its state: %s", js.Unreadable)
	case js.NeverRun && js.Media:
		js.add(LevelUnknown, KindNeverRun, "no state yet: no stream imported")
	case js.NeverRun:
		js.add(LevelUnknown, KindNeverRun, "no state yet: never run")
	case len(js.Datasets) == 0 && js.Error != "":
		l, since := LevelWarn, "yet"
		if !js.FirstRun.IsZero() {
			since = "since the first run (" + stamp(js.FirstRun) + ")"
			if js.RPOCritical > 0 && now.Sub(js.FirstRun) > js.RPOCritical {
				l = LevelCrit
			}
		}
		js.add(l, KindRunError, "no dataset pulled %s; the last run (%s) could not start: %s", since, stamp(js.LastRun), oneLine(js.Error))
	case len(js.Datasets) == 0:
		js.add(LevelUnknown, KindNoDatasets, "no dataset of the job as configured now in its state; its next run will tell")
	}
	js.Level = LevelOK
	for _, f := range js.Findings {
		js.Level = Worse(js.Level, f.Level)
	}
	for i := range js.Datasets {
		d := &js.Datasets[i]
		d.evaluate(js, now)
		js.Level = Worse(js.Level, d.Level)
	}
}

func (js *JobStatus) add(l Level, kind, format string, a ...any) {
	js.Findings = append(js.Findings, Finding{Level: l, Kind: kind, Text: fmt.Sprintf(format, a...)})
}

func (d *DatasetStatus) evaluate(js *JobStatus, now time.Time) {
	var f []Finding
	add := func(l Level, kind, format string, a ...any) {
		f = append(f, Finding{Level: l, Kind: kind, Text: fmt.Sprintf(format, a...)})
	}
	switch puller.Outcome(d.Outcome) {
	case puller.Conflicted:
		add(LevelCrit, KindConflict, "conflict, needs the operator: %s", orUnknown(d.Error))
	case puller.Failed:
		kind := KindFailed
		if d.NoSpace {
			kind = KindNoSpace
		}
		add(LevelWarn, kind, "last pull failed: %s", orUnknown(d.Error))
	case puller.Skipped:
		add(LevelWarn, KindSkipped, "last pull skipped: %s", orUnknown(d.Error))
	case puller.NeedsBootstrap:
		add(LevelWarn, KindNeedsBootstrap, "needs bootstrap: new on the source, its first full receive runs as root")
	case puller.SourceEmpty:
		if d.Vanished > 0 {
			add(LevelWarn, KindSourceLost, "the source has no snapshots left: %d it lost are kept here", d.Vanished)
		}
	}
	if d.Anomaly != nil {
		kind, check := KindAnomaly, "checking the data"
		switch d.Anomaly.Kind {
		case AlarmSourceLost:
			kind = KindSourceLost
		case AlarmLies:
			kind = KindLyingNames
		case AlarmFlood:
			kind = KindFlood
		case AlarmErased:
			kind = KindErased
			check = "finding out who erased them (zpool history -il " + poolOf(d.Target) + ": a zfs receive -F, rollback, destroy, or promote of a clone)"
		}
		add(LevelCrit, kind, "%s since %s (%s): pruning frozen; after %s: vault ack %s %s",
			AlarmName(d.Anomaly.Kind), stamp(d.Anomaly.At), oneLine(d.Anomaly.Detail), check, js.Job, d.Dataset)
	}
	d.LagSeconds = nil
	switch {
	case d.LastSuccess.IsZero() && !d.FirstAttempt.IsZero() && js.RPOCritical > 0 && now.Sub(d.FirstAttempt) > js.RPOCritical:
		add(LevelCrit, KindNoGoodCopy, "no good copy yet: never pulled successfully since %s, %s ago, over rpo_critical %s",
			stamp(d.FirstAttempt), Age(now.Sub(d.FirstAttempt)), conf.FormatDuration(js.RPOCritical))
	case d.LastSuccess.IsZero():
		add(LevelWarn, KindNoGoodCopy, "no good copy yet: never pulled successfully")
	default:
		good := d.goodAsOf()
		age := max(now.Sub(good), 0)
		secs := int64(age / time.Second)
		d.LagSeconds = &secs
		what := fmt.Sprintf("last good pull %s ago", Age(age))
		if good.Before(d.LastSuccess) {
			what = fmt.Sprintf("last good import holds data from %s, %s old", stamp(good), Age(age))
		}
		switch {
		case js.RPOCritical > 0 && age > js.RPOCritical:
			add(LevelCrit, KindLag, "%s, over rpo_critical %s", what, conf.FormatDuration(js.RPOCritical))
		case js.RPO > 0 && age > js.RPO:
			add(LevelWarn, KindLag, "%s, over rpo %s", what, conf.FormatDuration(js.RPO))
		}
	}
	if js.Error != "" {
		add(LevelWarn, KindRunError, "the last run (%s) could not start: %s", stamp(js.LastRun), oneLine(js.Error))
	}
	if d.NotInLastRun {
		add(LevelWarn, KindNotInLastRun, "not in the last run (%s): gone from the source, or the run was cut short; "+
			"if it is gone for good, exclude it in the job", stamp(js.LastRun))
	}
	for _, w := range d.Warnings {
		add(LevelWarn, KindWarning, "warning: %s", oneLine(w))
	}
	slices.SortStableFunc(f, func(a, b Finding) int { return b.Level.gravity() - a.Level.gravity() })
	d.Findings = f
	if d.Findings == nil {
		d.Findings = []Finding{}
	}
	d.Level = LevelOK
	for _, x := range f {
		d.Level = Worse(d.Level, x.Level)
	}
}

// goodAsOf is the moment the age of the newest good copy counts from: when its data was made
// (DataTime, for an import), or else when it was last pulled.
func (d *DatasetStatus) goodAsOf() time.Time {
	if !d.DataTime.IsZero() && d.DataTime.Before(d.LastSuccess) {
		return d.DataTime
	}
	return d.LastSuccess
}

// SetHoldings fills in what the vault holds for job's datasets from one listing of the job's
// target on the vault: `zfs list -H -p -r -t filesystem,volume,snapshot -o name,used,userrefs
// TARGET`. A target missing from the listing is left unknown.
func (s *Status) SetHoldings(job string, entries []zfs.Entry) {
	type hold struct{ snaps, used, children, holds int64 }
	by := map[string]*hold{}
	get := func(name string) *hold {
		h := by[name]
		if h == nil {
			h = &hold{snaps: -1}
			by[name] = h
		}
		return h
	}
	for _, e := range entries {
		if snap, ok := e.Snapshot(); ok {
			h := get(snap.Dataset().String())
			h.snaps = max(h.snaps, 0) + 1
			h.holds += int64(e.UserRefs)
			continue
		}
		ds, ok := e.Dataset()
		if !ok {
			continue
		}
		h := get(ds.String())
		h.snaps = max(h.snaps, 0)
		h.used = int64(e.Used)
		if p, ok := ds.Parent(); ok {
			get(p.String()).children += int64(e.Used)
		}
	}
	for i := range s.Jobs {
		if s.Jobs[i].Job != job {
			continue
		}
		js := &s.Jobs[i]
		for _, e := range entries {
			if e.Name != js.Target {
				continue
			}
			used := int64(e.Used)
			js.Used = &used
			if e.Quota > 0 {
				q := int64(e.Quota)
				js.Quota = &q
				if used >= q/10*9 {
					f := Finding{Level: LevelWarn, Kind: KindQuota, Text: fmt.Sprintf(
						"the target %s uses %s of its quota %s (%d%%): raise quota in the configuration and run vault bootstrap, or prune",
						js.Target, bytefmt.IEC(used), bytefmt.IEC(q), used*100/q)}
					// On each dataset's row (a job's own findings show only when it has none).
					if len(js.Datasets) == 0 {
						js.Findings = append(js.Findings, f)
					}
					for k := range js.Datasets {
						d := &js.Datasets[k]
						d.Findings = append(d.Findings, f)
						d.Level = Worse(d.Level, LevelWarn)
					}
					js.Level = Worse(js.Level, LevelWarn)
				}
			}
		}
		for k := range s.Jobs[i].Datasets {
			d := &s.Jobs[i].Datasets[k]
			h := by[d.Target]
			if h == nil || h.snaps < 0 {
				continue // children's listing only: the target itself was not listed
			}
			snaps, held, holds := h.snaps, max(h.used-h.children, 0), h.holds
			d.Snapshots, d.HeldBytes, d.Holds = &snaps, &held, &holds
		}
	}
}

// Summary counts the status's rows by level: each dataset, each job that has no dataset
// (never run, unreadable, never reached its source), each pool, and the pools' check when it
// failed, count once.
type Summary struct {
	Level    Level `json:"level"`
	Jobs     int   `json:"jobs"`
	Datasets int   `json:"datasets"`
	Pools    int   `json:"pools"`
	OK       int   `json:"ok"`
	Warn     int   `json:"warn"`
	Crit     int   `json:"crit"`
	Unknown  int   `json:"unknown"`
}

// Summary counts the rows of s by level; Level is the worst.
func (s Status) Summary() Summary {
	var sum Summary
	count := func(l Level) {
		sum.Level = Worse(sum.Level, l)
		switch l {
		case LevelOK:
			sum.OK++
		case LevelWarn:
			sum.Warn++
		case LevelCrit:
			sum.Crit++
		default:
			sum.Unknown++
		}
	}
	for _, r := range s.rows() {
		count(r.level())
	}
	sum.Jobs = len(s.Jobs)
	for _, js := range s.Jobs {
		sum.Datasets += len(js.Datasets)
	}
	sum.Pools = len(s.Pools)
	return sum
}

// row is a dataset, a job that has none, a pool, or the pools' failed check.
type row struct {
	job      *JobStatus
	ds       *DatasetStatus // nil for a job row
	pool     *PoolStatus    // a pool row: job and ds are nil
	poolsErr *Finding       // the pools' check: job, ds and pool are nil
}

func (r row) level() Level {
	switch {
	case r.poolsErr != nil:
		return r.poolsErr.Level
	case r.pool != nil:
		return r.pool.Level
	case r.ds == nil:
		return r.job.Level
	}
	return r.ds.Level
}

func (r row) findings() []Finding {
	switch {
	case r.poolsErr != nil:
		return []Finding{*r.poolsErr}
	case r.pool != nil:
		return r.pool.Findings
	case r.ds == nil:
		return r.job.Findings
	}
	return r.ds.Findings
}

func (r row) name() string {
	switch {
	case r.poolsErr != nil:
		return "pools"
	case r.pool != nil:
		return "pool " + r.pool.Pool
	case r.ds == nil:
		return r.job.Job
	}
	return r.job.Job + " " + r.ds.Dataset
}

// rows lists the rows in order: jobs as configured, datasets by name, then the pools.
func (s Status) rows() []row {
	out := s.jobRows()
	for i := range s.Pools {
		out = append(out, row{pool: &s.Pools[i]})
	}
	if s.PoolsError != nil {
		out = append(out, row{poolsErr: s.PoolsError})
	}
	return out
}

// jobRows lists the rows of jobs and datasets.
func (s Status) jobRows() []row {
	var out []row
	for i := range s.Jobs {
		js := &s.Jobs[i]
		if len(js.Datasets) == 0 {
			out = append(out, row{job: js})
			continue
		}
		for k := range js.Datasets {
			out = append(out, row{job: js, ds: &js.Datasets[k]})
		}
	}
	return out
}

// JSON is the status as `vault status --json` prints it: the time, the summary, the jobs, and
// the pools (an empty list when none was checked) or why they could not be.
func (s Status) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(struct {
		Time       time.Time    `json:"time"`
		Summary    Summary      `json:"summary"`
		Protection *Protection  `json:"protection,omitempty"`
		Jobs       []JobStatus  `json:"jobs"`
		Pools      []PoolStatus `json:"pools"`
		PoolsError *Finding     `json:"pools_error,omitempty"`
	}{s.Time.UTC(), s.Summary(), s.Protection, s.utcJobs(), s.utcPools(), s.PoolsError}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cannot encode the status: %w", err)
	}
	return append(b, '\n'), nil
}

// utcJobs returns the jobs with every time in UTC, for JSON that does not depend on the
// machine's zone.
func (s Status) utcJobs() []JobStatus {
	out := make([]JobStatus, len(s.Jobs))
	for i, js := range s.Jobs {
		js.LastRun = utc(js.LastRun)
		js.Datasets = slices.Clone(js.Datasets)
		for k := range js.Datasets {
			d := &js.Datasets[k]
			d.LastAttempt, d.LastSuccess, d.DataTime = utc(d.LastAttempt), utc(d.LastSuccess), utc(d.DataTime)
			if d.Anomaly != nil {
				a := *d.Anomaly
				a.At = utc(a.At)
				d.Anomaly = &a
			}
		}
		out[i] = js
	}
	return out
}

// utcPools returns the pools with every time in UTC; an empty list when none was checked.
func (s Status) utcPools() []PoolStatus {
	out := make([]PoolStatus, len(s.Pools))
	for i, p := range s.Pools {
		p.LastScrub = utc(p.LastScrub)
		p.Scans = slices.Clone(p.Scans)
		for k := range p.Scans {
			p.Scans[k].Start, p.Scans[k].End = utc(p.Scans[k].Start), utc(p.Scans[k].End)
		}
		out[i] = p
	}
	return out
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// WriteTable prints the status for a person: one aligned row per dataset (and per job that has
// none), each finding and the operator's command on lines under it, the pools' table (see
// writePools), and a summary line. On a
// terminal (tty) the level has an emoji; otherwise it is a plain word, for pipes and logs.
func (s Status) WriteTable(w io.Writer, tty bool) error {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	header := []string{"JOB", "DATASET", "LAST PULL", "LAST GOOD", "AGE/RPO", "NEWEST", "SNAPS", "HELD", "HOLDS", "FROZEN"}
	right := map[int]bool{6: true, 7: true, 8: true}
	rows := s.jobRows()
	cells := [][]string{header}
	for _, r := range rows {
		js, d := r.job, r.ds
		rpo := conf.FormatDuration(js.RPO)
		if d == nil {
			cells = append(cells, []string{js.Job, "-", "-", "-", "-/" + rpo, "-", "-", "-", "-", "-"})
			continue
		}
		// LAST GOOD is what AGE counts from: the last good pull, or an import's data time.
		good := "never"
		if !d.LastSuccess.IsZero() {
			good = d.goodAsOf().In(loc).Format("2006-01-02 15:04")
		}
		frozen := "no"
		if d.PruneFreeze != "" {
			frozen = "yes"
		}
		cells = append(cells, []string{js.Job, d.Dataset, orDash(d.Outcome), good, s.ageOf(d) + "/" + rpo, orDash(d.Newest),
			count(d.Snapshots), bytesOrDash(d.HeldBytes), count(d.Holds), frozen})
	}
	width := make([]int, len(header))
	for _, c := range cells {
		for i, v := range c {
			width[i] = max(width[i], len([]rune(v)))
		}
	}
	var b strings.Builder
	line := func(mark string, c []string) {
		b.WriteString(mark)
		for i, v := range c {
			pad := strings.Repeat(" ", width[i]-len([]rune(v)))
			b.WriteString("  ")
			if right[i] {
				b.WriteString(pad + v)
			} else if i < len(c)-1 {
				b.WriteString(v + pad)
			} else {
				b.WriteString(v)
			}
		}
		b.WriteString("\n")
	}
	line(levelMark(tty, -1), cells[0])
	indent := strings.Repeat(" ", len([]rune(levelMark(tty, -1)))+4)
	for i, r := range rows {
		line(levelMark(tty, r.level()), cells[i+1])
		for _, f := range r.findings() {
			b.WriteString(indent + f.Text + "\n")
		}
		if r.ds != nil && r.ds.Hint != "" {
			b.WriteString(indent + "at the console, as root: " + r.ds.Hint + "\n")
		}
	}
	for _, js := range s.Jobs {
		if js.Quota != nil && js.Used != nil {
			fmt.Fprintf(&b, "%s: %s uses %s of its quota %s (%d%%)\n", js.Job, js.Target, bytefmt.IEC(*js.Used), bytefmt.IEC(*js.Quota), *js.Used*100/max(*js.Quota, 1))
		}
	}
	s.writePools(&b)
	fmt.Fprintf(&b, "\n%s\n", s.overall())
	if s.Protection != nil {
		fmt.Fprintf(&b, "protection %s\n", s.Protection.Detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// levelMark is the level column: a word, with an emoji on a terminal. All marks of one kind
// have the same width on screen (the warning sign is drawn one cell wide by most terminals, the
// other emoji two); -1 gives the header.
// overall is the table's last line: the worst level and the rows counted by level.
func (s Status) overall() string {
	sum := s.Summary()
	what := fmt.Sprintf("%d dataset(s) in %d job(s)", sum.Datasets, sum.Jobs)
	if n := len(s.jobRows()) - sum.Datasets; n > 0 {
		what = fmt.Sprintf("%d dataset(s) and %d job(s) without any, in %d job(s)", sum.Datasets, n, sum.Jobs)
	}
	if len(s.Pools) > 0 {
		what += fmt.Sprintf(", %d pool(s)", len(s.Pools))
	}
	return fmt.Sprintf("overall %s: %s: %d ok, %d warn, %d crit, %d unknown", sum.Level, what, sum.OK, sum.Warn, sum.Crit, sum.Unknown)
}

// ageOf is the AGE column: how old the dataset's newest good copy is, "-" without one.
func (s Status) ageOf(d *DatasetStatus) string {
	if d.LastSuccess.IsZero() {
		return "-"
	}
	return Age(max(s.Time.Sub(d.goodAsOf()), 0))
}

func levelMark(tty bool, l Level) string {
	if !tty {
		if l < 0 {
			return "LEVEL  "
		}
		return fmt.Sprintf("%-7s", l)
	}
	switch l {
	case LevelOK:
		return "✅ OK     "
	case LevelWarn:
		return "⚠️  WARN   "
	case LevelCrit:
		return "🚨 CRIT   "
	case LevelUnknown:
		return "❔ UNKNOWN"
	}
	return "LEVEL     "
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func count(n *int64) string {
	if n == nil {
		return "-"
	}
	return strconv.FormatInt(*n, 10)
}

func bytesOrDash(n *int64) string {
	if n == nil {
		return "-"
	}
	return bytefmt.IEC(*n)
}

// Age writes a duration the way the status shows ages: its two largest units, "45s", "12m",
// "4h12m", "26h", "3d4h".
func Age(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int64(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int64(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int64(d/(24*time.Hour)), int64(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

// stamp is a time in findings: UTC, to the minute (the table shows times in the configured
// zone; findings go to monitors and logs too).
func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func orUnknown(s string) string {
	if s == "" {
		return "no error recorded"
	}
	return oneLine(s)
}

// poolOf is the pool of a dataset name, for commands in findings ("POOL" when it is not a name).
func poolOf(target string) string {
	if d, err := zfs.ParseDataset(target); err == nil {
		return d.Pool()
	}
	return "POOL"
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
