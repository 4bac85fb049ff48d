package report

import (
	"bytes"
	"fmt"
	"io"
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
