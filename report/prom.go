package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/belltech/vault/state"
)

// family is one metric family of the textfile: its samples, in order.
type family struct {
	name, help string
	samples    []sample
}

type sample struct {
	labels string // rendered: {a="b",c="d"}
	value  string
}

// WritePrometheus writes s in the Prometheus text exposition format (version 0.0.4), for
// node_exporter's textfile collector: one family per metric, each with HELP and TYPE, every
// sample a gauge. Values that are not known (the last success of a dataset that never had one,
// snapshot counts when the vault was not listed) are left out rather than written as 0.
//
// The job's name is the label vault_job, not job: Prometheus gives job to the scrape job, and
// would rename ours exported_job.
//
// Lags are as of s.Time, the moment the file was written; alert on
// time() - vault_dataset_last_success_timestamp_seconds for one that keeps counting.
func WritePrometheus(w io.Writer, s Status) error {
	fams := map[string]*family{}
	var order []string
	add := func(name, help, labels, value string) {
		f := fams[name]
		if f == nil {
			f = &family{name: name, help: help}
			fams[name] = f
			order = append(order, name)
		}
		f.samples = append(f.samples, sample{labels, value})
	}
	for _, js := range s.Jobs {
		jl := labels("vault_job", js.Job)
		add("vault_job_state", "Worst level of the job and its datasets: 0 ok, 1 warn, 2 crit, 3 unknown.", jl, itoa(int64(js.Level)))
		if !js.LastRun.IsZero() {
			add("vault_job_last_run_timestamp_seconds", "When the job's last run started, in seconds since the epoch.", jl, unix(js.LastRun))
		}
		if js.LastExit != nil {
			add("vault_job_last_exit_code", "Exit code of the job's last run: 0 ok, 1 something failed, 3 a dataset needs the operator.", jl, itoa(int64(*js.LastExit)))
		}
		add("vault_job_rpo_seconds", "The job's rpo: a dataset whose last good pull is older warns.", jl, itoa(int64(js.RPO/time.Second)))
		add("vault_job_rpo_critical_seconds", "The job's rpo_critical: a dataset whose last good pull is older is critical.", jl, itoa(int64(js.RPOCritical/time.Second)))
	}
	for _, js := range s.Jobs {
		for _, d := range js.Datasets {
			dl := labels("vault_job", js.Job, "dataset", d.Dataset, "target", d.Target)
			add("vault_dataset_state", "Level of the dataset: 0 ok, 1 warn, 2 crit, 3 unknown.", dl, itoa(int64(d.Level)))
			if !d.LastSuccess.IsZero() {
				add("vault_dataset_last_success_timestamp_seconds", "When the dataset last pulled or was found up to date, in seconds since the epoch.", dl, unix(d.LastSuccess))
			}
			if !d.LastSuccess.IsZero() {
				add("vault_dataset_data_timestamp_seconds", "When the data of the dataset's newest good copy was made, in seconds since the epoch: its last good pull, or for an import from media the export's data.", dl, unix(d.goodAsOf()))
			}
			if d.LagSeconds != nil {
				add("vault_dataset_lag_seconds", "Age of the dataset's newest good copy when this file was written; time() - vault_dataset_data_timestamp_seconds keeps counting.", dl, itoa(*d.LagSeconds))
			}
			if !d.LastAttempt.IsZero() {
				add("vault_dataset_last_attempt_timestamp_seconds", "When the dataset was last tried, in seconds since the epoch.", dl, unix(d.LastAttempt))
			}
			add("vault_dataset_last_bytes", "Bytes the dataset's last pull received.", dl, itoa(d.LastBytes))
			frozen := int64(0)
			if d.PruneFreeze != "" {
				frozen = 1
			}
			add("vault_dataset_prune_frozen", "1 when pruning of the dataset's copy is frozen (failed, diverged, anomaly alarm), else 0.", dl, itoa(frozen))
			if d.Snapshots != nil {
				add("vault_dataset_snapshots", "Snapshots the vault holds of the dataset.", dl, itoa(*d.Snapshots))
			}
			if d.HeldBytes != nil {
				add("vault_dataset_held_bytes", "Space the dataset's copy takes on the vault, its snapshots included, its children not.", dl, itoa(*d.HeldBytes))
			}
		}
	}
	writePoolMetrics(s, add)
	var b bytes.Buffer
	for _, name := range order {
		f := fams[name]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", f.name, escapeHelp(f.help), f.name)
		for _, x := range f.samples {
			fmt.Fprintf(&b, "%s%s %s\n", f.name, x.labels, x.value)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WritePrometheusFile replaces the textfile at path with s (see WritePrometheus), atomically and
// with mode 0644, so that node_exporter never reads half a file. The directory must be writable
// by the caller (the daemon runs as the vault user).
func WritePrometheusFile(path string, s Status) error {
	var b bytes.Buffer
	if err := WritePrometheus(&b, s); err != nil {
		return err
	}
	return state.WriteFileAtomic(path, b.Bytes(), 0o644)
}

// labels renders name/value pairs as {a="b",c="d"}, values escaped as the format says.
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// unix is a time in seconds since the epoch, to the millisecond.
func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// poolHealthStates are the states vault_pool_health has a sample for, each pool's own among
// them: alert on vault_pool_health{state="ONLINE"} == 0.
var poolHealthStates = []string{"ONLINE", "DEGRADED", "FAULTED", "OFFLINE", "REMOVED", "UNAVAIL", "SUSPENDED"}

// writePoolMetrics adds the vault_pool_* families: nothing of a pool zpool did not tell, and
// vault_pool_check_failed 1 when zpool could not be asked.
func writePoolMetrics(s Status, add func(name, help, labels, value string)) {
	if s.PoolsError != nil {
		add("vault_pool_check_failed", "1 when zpool could not be run and no pool was checked, else 0.", "", "1")
		return
	}
	if len(s.Pools) == 0 {
		return
	}
	add("vault_pool_check_failed", "1 when zpool could not be run and no pool was checked, else 0.", "", "0")
	for _, p := range s.Pools {
		pl := labels("pool", p.Pool)
		add("vault_pool_state", "Level of the pool: 0 ok, 1 warn, 2 crit, 3 unknown.", pl, itoa(int64(p.Level)))
		imported := int64(0)
		if p.Imported {
			imported = 1
		}
		add("vault_pool_imported", "1 when the pool that holds a job's target is imported, else 0.", pl, itoa(imported))
		if p.State != "" {
			states := poolHealthStates
			if !slices.Contains(states, p.State) {
				states = append(slices.Clone(states), p.State)
			}
			for _, st := range states {
				v := "0"
				if st == p.State {
					v = "1"
				}
				add("vault_pool_health", "1 for the pool's state as zpool status shows it, 0 for the other states.", labels("pool", p.Pool, "state", st), v)
			}
		}
		if p.CapacityPercent != nil && p.SizeBytes != nil && *p.SizeBytes > 0 {
			add("vault_pool_capacity_ratio", "Share of the pool's size allocated, 0 to 1.", pl,
				strconv.FormatFloat(float64(*p.AllocatedBytes)/float64(*p.SizeBytes), 'f', -1, 64))
			add("vault_pool_size_bytes", "The pool's size, as zpool list shows it.", pl, itoa(*p.SizeBytes))
			add("vault_pool_free_bytes", "The pool's free space, as zpool list shows it.", pl, itoa(*p.FreeBytes))
		}
		if p.ReadErrors != nil {
			for _, e := range []struct {
				kind string
				n    int64
			}{{"read", *p.ReadErrors}, {"write", *p.WriteErrors}, {"checksum", *p.ChecksumErrors}} {
				add("vault_pool_errors", "Error counters of the pool's devices, summed over its config tree (zpool status); zpool clear resets them.",
					labels("pool", p.Pool, "type", e.kind), itoa(e.n))
			}
			add("vault_pool_data_errors", "Files or objects of the pool damaged beyond repair (zpool status's errors: line).", pl, itoa(*p.DataErrors))
		}
		if !p.LastScrub.IsZero() {
			add("vault_pool_last_scrub_timestamp_seconds", "When the pool's last completed scrub ended, in seconds since the epoch; absent when zpool shows none.", pl, unix(p.LastScrub))
		}
		if p.ReadErrors != nil {
			scrub, resilver := int64(0), int64(0)
			for _, sc := range p.Scans {
				if sc.State == "in-progress" || sc.State == "paused" {
					if sc.Kind == "resilver" {
						resilver = 1
					} else {
						scrub = 1
					}
				}
			}
			add("vault_pool_scrub_in_progress", "1 while a scrub of the pool runs or is paused, else 0.", pl, itoa(scrub))
			add("vault_pool_resilver_in_progress", "1 while a resilver of the pool runs, else 0.", pl, itoa(resilver))
		}
	}
}
