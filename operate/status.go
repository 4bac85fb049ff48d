package operate

import (
	"context"
	"errors"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
	"github.com/belltech/vault/zpool"
)

// States is the daemon's answer to the "status" request: the saved state of each job
// asked for (a job never run has none), and why a job's state could not be read.
type States struct {
	Jobs   map[string]*report.JobState `json:"jobs"`
	Errors map[string]string           `json:"errors,omitempty"`
}

// ReadStates reads the saved state of the jobs named, or of every job of c when none is. It
// takes no lock: state files are replaced by rename, so a read sees the old file or the new.
// The daemon answers "status" with it; consoles without a daemon call it themselves.
func ReadStates(store *state.Store, c *conf.Config, names []string) States {
	if len(names) == 0 {
		for _, j := range c.Jobs {
			names = append(names, j.Name)
		}
	}
	r := States{Jobs: map[string]*report.JobState{}}
	for _, n := range names {
		var js report.JobState
		ok, err := store.Load("jobs/"+n, &js)
		switch {
		case err != nil:
			if r.Errors == nil {
				r.Errors = map[string]string{}
			}
			r.Errors[n] = err.Error()
		case ok:
			r.Jobs[n] = &js
		}
	}
	return r
}

// StatusOf turns saved states into a status for the jobs of c.
func StatusOf(c *conf.Config, r States, now time.Time) report.Status {
	st := report.Evaluate(c, r.Jobs, now)
	for job, msg := range r.Errors {
		st.MarkUnreadable(job, errors.New(msg))
	}
	return st
}

// WriteMetrics rewrites the Prometheus textfile, when the configuration names one, from the
// saved state of every job and a look at their pools, as of now. The daemon calls it after
// each run; not with the run's context: a run cut short by SIGTERM is still written.
func WriteMetrics(store *state.Store, c *conf.Config, now time.Time) error {
	if c.PrometheusTextfile == "" {
		return nil
	}
	st := StatusOf(c, ReadStates(store, c, nil), now)
	LookAtPools(context.Background(), c, &st)
	return report.WritePrometheusFile(c.PrometheusTextfile, st)
}

// poolsTimeout bounds one look at the pools (a zpool list and a zpool status): a zpool that
// hangs, as on a suspended pool, is reported rather than waited for, inside the 10 seconds
// Nagios gives vault check.
const poolsTimeout = 8 * time.Second

// LookAtPools adds to st the pools that hold its jobs' targets: two zpool commands whatever
// their number. zpool runs with zfs.Local's environment (LC_ALL=C, TZ=UTC), so its dates are
// read as UTC. A zpool that cannot run is one WARN in st, never an error.
func LookAtPools(ctx context.Context, c *conf.Config, st *report.Status) {
	var want []string
	for _, js := range st.Jobs {
		if d, err := zfs.ParseDataset(js.Target); err == nil {
			want = append(want, d.Pool())
		}
	}
	z := &zpool.Zpool{Bin: c.ZpoolBinary, Exec: &zfs.Local{}, Location: time.UTC}
	lctx, cancel := context.WithTimeout(ctx, poolsTimeout)
	defer cancel()
	h, err := z.Look(lctx, want)
	st.SetPools(h, err, report.PoolThresholdsOf(c))
}
