// Package daemon runs the jobs' schedules in the unprivileged vault daemon: one loop per job,
// runs of one job never overlapping, at most max_parallel jobs pulling at once, a reload that
// keeps running pulls going, and a stop that lets every pull end cleanly (a cut receive keeps
// its resume token). It knows nothing of SSH or zfs: the pull itself is a function it is given.
package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
)

// PullFunc runs one pull of a job, with cfg the configuration in force, and returns its report.
type PullFunc func(ctx context.Context, cfg *conf.Config, job *conf.Job) *puller.Report

// Daemon schedules the pulls of a configuration.
type Daemon struct {
	Log  hclog.Logger
	Pull PullFunc
	// Done, if set, receives every report (to journal it and update the state), with the
	// configuration in force when the run ended.
	Done func(cfg *conf.Config, r *puller.Report)
	// Prune, if set, runs a job's prune on its [job.prune] schedule, with the configuration in
	// force.
	Prune func(ctx context.Context, cfg *conf.Config, job *conf.Job)
	// Now and Jitter are the clock and the random delay, replaceable in tests.
	Now    func() time.Time
	Jitter func(max time.Duration) time.Duration

	mu      sync.Mutex
	cfg     *conf.Config
	sem     chan struct{}
	loops   map[string]*loop       // by job name
	running map[string]*sync.Mutex // held while a job pulls: pulls of one job never overlap
	busy    map[string]*sync.Mutex // held while a job pulls or prunes: the two never overlap
	wg      sync.WaitGroup
	runCtx  context.Context
}

type loop struct {
	job  conf.Job
	stop chan struct{}
}

// New prepares a daemon for cfg.
func New(cfg *conf.Config, pull PullFunc, log hclog.Logger) *Daemon {
	return &Daemon{cfg: cfg, Pull: pull, Log: log, loops: map[string]*loop{}, running: map[string]*sync.Mutex{}, busy: map[string]*sync.Mutex{},
		sem: make(chan struct{}, max(1, cfg.MaxParallel))}
}

func (d *Daemon) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Daemon) jitter(m time.Duration) time.Duration {
	if m <= 0 {
		return 0
	}
	if d.Jitter != nil {
		return d.Jitter(m)
	}
	return time.Duration(rand.Int64N(int64(m)))
}

// Run starts a loop per scheduled job and returns when ctx is done and every running pull has
// returned. Pulls see ctx: cancelling it stops them (the executor ends each receive's input,
// so a resumable receive keeps what arrived).
func (d *Daemon) Run(ctx context.Context) error {
	d.mu.Lock()
	d.runCtx = ctx
	for i := range d.cfg.Jobs {
		d.startLocked(d.cfg.Jobs[i])
	}
	d.mu.Unlock()
	<-ctx.Done()
	d.mu.Lock()
	for _, l := range d.loops {
		close(l.stop)
	}
	d.loops = map[string]*loop{}
	d.mu.Unlock()
	d.wg.Wait()
	return nil
}

// startLocked starts the loops of a job: its pulls and its prunes, each on its schedule. d.mu
// is held.
func (d *Daemon) startLocked(job conf.Job) {
	pulls := !job.IsMedia() && !job.Schedule.IsZero()
	prunes := d.Prune != nil && !job.Prune.Schedule.IsZero()
	if !pulls && !prunes {
		return
	}
	d.mutexesLocked(job.Name)
	l := &loop{job: job, stop: make(chan struct{})}
	d.loops[job.Name] = l
	if pulls {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.loop(d.runCtx, l)
		}()
	}
	if prunes {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.pruneLoop(d.runCtx, l)
		}()
	}
}

// loop waits for each firing of the job's schedule (plus jitter) and pulls. A firing that
// comes while the job is still running from the last one is skipped and logged: runs of one
// job never overlap.
func (d *Daemon) loop(ctx context.Context, l *loop) {
	d.every(ctx, l, "pull", l.job.Schedule, l.job.Jitter, func() error {
		_, err := d.run(ctx, l.job, false)
		return err
	})
}

// pruneLoop runs the job's prune on its own schedule, never while the job pulls.
func (d *Daemon) pruneLoop(ctx context.Context, l *loop) {
	d.every(ctx, l, "prune", l.job.Prune.Schedule, 0, func() error {
		d.mu.Lock()
		_, b := d.mutexesLocked(l.job.Name)
		d.mu.Unlock()
		// A pull of the job in progress finishes first, and a pull firing meanwhile waits for
		// the prune (they usually fire together; skipping either would starve it).
		b.Lock()
		defer b.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.Prune(ctx, d.Config(), &l.job)
		return nil
	})
}

// every runs fn at each firing of sched (plus up to jitter) until ctx ends or the loop stops.
func (d *Daemon) every(ctx context.Context, l *loop, what string, sched conf.Schedule, jitter time.Duration, fn func() error) {
	log := d.Log.With("job", l.job.Name)
	for {
		next := sched.Next(d.now())
		if next.IsZero() {
			log.Warn("the schedule never fires again", "what", what, "schedule", sched.Spec)
			return
		}
		next = next.Add(d.jitter(jitter))
		log.Debug("next run", "what", what, "at", next.Format(time.RFC3339))
		t := time.NewTimer(next.Sub(d.now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-l.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if err := fn(); err != nil {
			log.Warn("scheduled run skipped", "what", what, "reason", err)
		}
	}
}

// mutexesLocked returns a job's pull and busy mutexes, making them on first use. d.mu is held.
func (d *Daemon) mutexesLocked(job string) (running, busy *sync.Mutex) {
	if d.running[job] == nil {
		d.running[job] = &sync.Mutex{}
		d.busy[job] = &sync.Mutex{}
	}
	return d.running[job], d.busy[job]
}

// ErrBusy says a job is still running.
type ErrBusy struct{ Job string }

func (e *ErrBusy) Error() string {
	return fmt.Sprintf("job %q is still running from its last start", e.Job)
}

// run pulls one job, within the parallel bound. wait says whether to wait for a run of the same
// job that is in progress (a console request) or to skip (a scheduled firing).
func (d *Daemon) run(ctx context.Context, job conf.Job, wait bool) (*puller.Report, error) {
	d.mu.Lock()
	m, b := d.mutexesLocked(job.Name)
	d.mu.Unlock()
	if wait {
		m.Lock()
	} else if !m.TryLock() {
		return nil, &ErrBusy{Job: job.Name}
	}
	defer m.Unlock()
	// A prune of the job in progress finishes first.
	b.Lock()
	defer b.Unlock()
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-d.sem }()
	start := d.now()
	// One line per run at info (what an admin reads in syslog); each dataset's at debug.
	d.Log.Debug("pull started", "job", job.Name)
	r := d.Pull(ctx, d.Config(), &job)
	// Recorded first: whoever reads "pull finished" in the log and then asks vault status sees
	// the run.
	if d.Done != nil {
		d.Done(d.Config(), r)
	}
	d.Log.Info("pull finished", append([]any{"job", job.Name, "duration", d.now().Sub(start).Round(time.Millisecond),
		"exit", puller.ExitCode([]*puller.Report{r})}, runSummary(r)...)...)
	return r, nil
}

// PullNow runs the named jobs (every SSH job if none is named) now, waiting for a run of the
// same job in progress to finish first, and returns their reports.
func (d *Daemon) PullNow(ctx context.Context, names []string) ([]*puller.Report, error) {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	var jobs []conf.Job
	for _, j := range cfg.Jobs {
		if j.IsMedia() {
			continue
		}
		if len(names) == 0 || slices.Contains(names, j.Name) {
			jobs = append(jobs, j)
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(jobs, func(j conf.Job) bool { return j.Name == n }) {
			return nil, fmt.Errorf("no SSH job named %q in the daemon's configuration", n)
		}
	}
	reports := make([]*puller.Report, len(jobs))
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := d.run(ctx, j, true)
			if err != nil {
				errMu.Lock()
				firstErr = err
				errMu.Unlock()
				return
			}
			reports[i] = r
		}()
	}
	wg.Wait()
	return reports, firstErr
}

// Reload applies a new configuration: loops of removed or changed jobs stop (a pull in progress
// finishes first), new and changed ones start. It returns what it did, and what only a restart
// can change (those keep their old values).
func (d *Daemon) Reload(next *conf.Config) (done []string, needRestart []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.cfg
	for _, c := range []struct{ name, a, b string }{
		{"user", old.User, next.User},
		{"prune_user", old.PruneUser, next.PruneUser},
		{"state_dir", old.StateDir, next.StateDir},
		{"zfs_binary", old.ZFSBinary, next.ZFSBinary},
		{"max_parallel", fmt.Sprint(old.MaxParallel), fmt.Sprint(next.MaxParallel)},
	} {
		if c.a != c.b {
			needRestart = append(needRestart, fmt.Sprintf("%s (%q -> %q)", c.name, c.a, c.b))
		}
	}
	if old.PruneUser != "" || next.PruneUser != "" {
		needRestart = append(needRestart, pruneWorkerChanges(old, next)...)
	}
	keep := *next
	keep.PruneUser = old.PruneUser
	keep.User, keep.StateDir, keep.ZFSBinary, keep.MaxParallel = old.User, old.StateDir, old.ZFSBinary, old.MaxParallel
	for name, l := range d.loops {
		nj, ok := keep.Job(name)
		if !ok {
			close(l.stop)
			delete(d.loops, name)
			done = append(done, "removed job "+name)
			continue
		}
		if jobKey(*nj) != jobKey(l.job) {
			close(l.stop)
			delete(d.loops, name)
			done = append(done, "changed job "+name)
		}
	}
	d.cfg = &keep
	if d.runCtx != nil {
		for i := range keep.Jobs {
			j := keep.Jobs[i]
			if _, ok := d.loops[j.Name]; ok {
				continue
			}
			if _, existed := old.Job(j.Name); !existed {
				done = append(done, "added job "+j.Name)
			}
			d.startLocked(j)
		}
	}
	slices.Sort(done)
	return done, needRestart
}

// pruneWorkerChanges lists what a reload changes that the prune worker uses: the worker read the
// configuration as root when the daemon started and never takes rules from the daemon (which
// talks to the network), so those changes wait for a restart, and say so.
func pruneWorkerChanges(old, next *conf.Config) []string {
	var out []string
	if old.PruneUser == "" {
		return nil // no worker: prune runs in this process, with the new settings
	}
	for _, c := range []struct{ name, a, b string }{
		{"timezone", old.Timezone, next.Timezone},
		{"hold_prefix", old.HoldPrefix, next.HoldPrefix},
	} {
		if c.a != c.b {
			out = append(out, fmt.Sprintf("%s for the prune worker (%q -> %q)", c.name, c.a, c.b))
		}
	}
	for _, nj := range next.Jobs {
		oj, ok := old.Job(nj.Name)
		switch {
		case !ok:
			out = append(out, "prune of the new job "+nj.Name+" (the prune worker does not know it)")
		case oj.Target != nj.Target || jobKey(conf.Job{Prune: oj.Prune}) != jobKey(conf.Job{Prune: nj.Prune}):
			out = append(out, "prune settings or target of job "+nj.Name+" for the prune worker")
		}
	}
	return out
}

// jobKey is a job's settings as comparable text (a schedule compares by its spec).
func jobKey(j conf.Job) string {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Sprintf("%p", &j)
	}
	return string(b)
}

// Config is the configuration in force.
func (d *Daemon) Config() *conf.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// runSummary gives the key-value pairs that sum a run up in its one info line: how many
// datasets, how many by outcome (those that are not ok or up to date), the bytes received, and
// why the job could not run, if it could not.
func runSummary(r *puller.Report) []any {
	if r == nil {
		return nil
	}
	kv := []any{"datasets", len(r.Datasets)}
	var bytes int64
	counts := map[puller.Outcome]int{}
	var order []puller.Outcome
	for _, dr := range r.Datasets {
		bytes += dr.Bytes
		if counts[dr.Outcome] == 0 {
			order = append(order, dr.Outcome)
		}
		counts[dr.Outcome]++
	}
	kv = append(kv, "bytes", bytes)
	for _, o := range order {
		kv = append(kv, string(o), counts[o])
	}
	if r.Err != nil {
		kv = append(kv, "error", r.Err.Error())
	}
	return kv
}
