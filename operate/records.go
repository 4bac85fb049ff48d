package operate

import (
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/ledger"
	"github.com/belltech/vault/props"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// Records is where a process records runs: the jobs' saved states, the journal, the ledger of
// what each job's target holds, the properties kept for a restore and the Prometheus textfile.
// Its mutex serialises the read-modify-write of the job state files within the process (the
// daemon's runs and prunes, and a console's vault ack through the socket), so a process makes
// one Records for its state directory and hands it to whatever records.
//
// A nil *Records is a run with no state directory to record in: it loads no state, allows
// nothing new, and checks no ledger.
type Records struct {
	store   *state.Store
	journal *state.Journal
	log     hclog.Logger
	mu      sync.Mutex
}

// NewRecords records in store, appending to journal (nil: no journal lines) and logging to log.
func NewRecords(store *state.Store, journal *state.Journal, log hclog.Logger) *Records {
	return &Records{store: store, journal: journal, log: log}
}

// Store is the state directory the records are kept in.
func (rec *Records) Store() *state.Store { return rec.store }

// Load reads a job's saved state; nil for a job never run (or with no records).
func (rec *Records) Load(job string) (*report.JobState, error) {
	if rec == nil {
		return nil, nil
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return loadJobState(rec.store, job)
}

// Quietly is Load for what is only shown: nil when the state cannot be read (the status says why).
func (rec *Records) Quietly(job string) *report.JobState {
	st, err := rec.Load(job)
	if err != nil {
		return nil
	}
	return st
}

// Update changes a job's saved state: change gets it (nil for a job never run) and says
// whether to save it. The state is read afresh under the lock, so nothing recorded meanwhile
// (an ack, a run) is lost.
func (rec *Records) Update(job string, change func(st *report.JobState) (save bool, err error)) error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	st, err := loadJobState(rec.store, job)
	if err != nil {
		return err
	}
	save, err := change(st)
	if err != nil || !save {
		return err
	}
	return rec.store.Save("jobs/"+job, st)
}

// AllowNew gives the puller the one-off allowances that vault ack of a refused flood saved in
// the job's state (read when the puller asks, so an ack during the run counts); nil without
// records.
func (rec *Records) AllowNew(job string) func(zfs.Dataset) int {
	if rec == nil {
		return nil
	}
	return func(src zfs.Dataset) int {
		st, err := rec.Load(job)
		if err != nil || st == nil {
			return 0
		}
		if d := st.Datasets[src.String()]; d != nil {
			return d.AllowNew
		}
		return 0
	}
}

// Metrics rewrites the Prometheus textfile from the saved states (WriteMetrics), logging a
// failure.
func (rec *Records) Metrics(c *conf.Config) {
	if err := WriteMetrics(rec.store, c, time.Now()); err != nil {
		rec.log.Error("cannot write the Prometheus textfile", "file", c.PrometheusTextfile, "error", err)
	}
}

// Record saves a run's state atomically, applies the anomaly tripwire, checks the job's
// targets against their ledger (what vanished from them since the last check, not by vault
// prune, raises the erased-snapshots alarm), records the properties the run read for a restore
// (package props), and appends the run's journal lines. c is the configuration in force.
func (rec *Records) Record(c *conf.Config, r *puller.Report) {
	log := rec.log
	j, hasJob := c.Job(r.Job)
	var chk *ledger.Check
	if hasJob {
		var err error
		if chk, err = rec.observe(c, j); err != nil {
			log.Error("cannot check what the vault holds against its ledger", "job", r.Job, "error", err)
		}
	}
	// Held to the end: the Prometheus textfile too is written by one run at a time.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	p, err := loadJobState(rec.store, r.Job)
	if err != nil {
		log.Error("cannot read the job's state; starting it afresh", "job", r.Job, "error", err)
	}
	next := report.Apply(p, r)
	if hasJob {
		for _, ds := range report.Trip(next, r, j.Anomaly) {
			d := next.Datasets[ds]
			log.Error("ALARM: pruning of the dataset is frozen until vault ack", "alarm", report.AlarmName(d.Anomaly.Kind),
				"job", r.Job, "dataset", ds, "detail", d.Anomaly.Detail, "ack", "vault ack "+r.Job+" "+ds)
		}
	}
	var erased []report.ErasedAlarm
	if chk != nil {
		erased = report.RaiseErased(next, chk.Next.Taken, chk.Erased)
	}
	if err := rec.store.Save("jobs/"+r.Job, next); err != nil {
		log.Error("cannot save the job's state", "job", r.Job, "error", err)
	} else if chk != nil && !unraised(chk, erased) {
		// Only now: the alarm is saved, so a crash cannot lose what the ledger no longer has.
		if err := ledger.Save(rec.store, chk.Next); err != nil {
			log.Error("cannot save the ledger of the job's snapshots", "job", r.Job, "error", err)
		}
	}
	rec.logErased(r.Job, "after pull", erased)
	if len(r.Props) > 0 {
		if err := props.Record(rec.store, r.Job, r.Props); err != nil {
			log.Error("cannot record the properties kept for a restore", "job", r.Job, "error", err)
		}
	}
	rec.Metrics(c)
	rec.journalRun(r)
	logAttention(log, r)
}

// journalRun appends the run's journal lines.
func (rec *Records) journalRun(r *puller.Report) {
	if rec.journal == nil {
		return
	}
	for _, line := range report.Lines(r) {
		if err := rec.journal.Append(line); err != nil {
			rec.log.Error("cannot append to the journal", "job", r.Job, "error", err)
			return
		}
	}
}

// logAttention logs what of a run needs the operator.
func logAttention(log hclog.Logger, r *puller.Report) {
	for _, d := range r.Datasets {
		switch d.Outcome {
		case puller.Conflicted, puller.Failed, puller.NeedsBootstrap:
			log.Warn("dataset needs attention", "job", r.Job, "dataset", d.Source.String(), "outcome", string(d.Outcome), "error", d.Err, "hint", d.Hint)
		}
	}
	if r.Err != nil {
		log.Error("pull could not run", "job", r.Job, "error", r.Err)
	}
}

// loadJobState reads a job's saved state; nil for a job never run. The caller holds the lock.
func loadJobState(store *state.Store, job string) (*report.JobState, error) {
	var s report.JobState
	ok, err := store.Load("jobs/"+job, &s)
	if err != nil || !ok {
		return nil, err
	}
	return &s, nil
}

// Journal is the journal runs are appended to; nil without one (or without records).
func (rec *Records) Journal() *state.Journal {
	if rec == nil {
		return nil
	}
	return rec.journal
}
