package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/control"
	"github.com/belltech/vault/daemon"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/privdrop"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/sshx"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "daemon", summary: "as root: bootstrap, drop to the backup user for good, run the schedules", run: runDaemon})
}

const daemonUsage = "usage: vault daemon [-c FILE] [-v] [--log auto|syslog|stderr]"

// runDaemon is the unattended vault. Started as root it does only what needs root (take the
// lock, prepare the state directory, bootstrap: targets, delegation, first full receives),
// drops to the configured user for good, then pulls on each job's schedule until SIGTERM.
// SIGHUP reloads the configuration.
func runDaemon(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "daemon", daemonUsage,
		"\nRuns in the foreground (the service manager daemonises). Logs, with --log auto, to stderr",
		"when it is a terminal or the systemd journal, and to syslog (facility daemon, tag vault)",
		"otherwise, as under FreeBSD's rc.d.")
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	verbose := fs.Bool("v", false, "log at debug level")
	logTo := fs.String("log", logAuto, "where to log: `auto`, syslog or stderr")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("takes no arguments, got %s", joinQuoted(fs.Args()))
	}
	if err := checkLogTo(*logTo); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return usageErrorf("starts as root: it bootstraps what needs root, then drops to the configured user for good")
	}
	c, err := loadConfig(*path)
	if err != nil {
		return err
	}
	level := hclog.LevelFromString(c.LogLevel)
	if *verbose {
		level = hclog.Debug
	}
	log, logDest := daemonLog{to: *logTo, level: level}.logger(s)
	return (&daemonRun{s: s, path: *path, c: c, log: log, logDest: logDest}).run(ctx)
}

// daemonRun is one run of vault daemon, from its configuration file path and c, logging to log
// (whose destination is logDest).
type daemonRun struct {
	s       *stdio
	path    string
	c       *conf.Config
	log     hclog.Logger
	logDest string
}

// run is the root phase: the state directory and its lock, the bootstrap of every job and the
// prune worker; then the drop, for good, and serve.
func (dr *daemonRun) run(ctx context.Context) error {
	c, log := dr.c, dr.log
	u, err := privdrop.Lookup(c.User)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("user (in %s): %w", dr.path, err)}
	}
	store, err := state.Open(c.StateDir, u.UID, u.GID)
	if err != nil {
		return err
	}
	defer store.Close()
	lock, err := state.AcquireLock(filepath.Join(c.StateDir, state.LockFile))
	if err != nil {
		return err
	}
	defer lock.Release()
	if n, err := store.RemoveStaleTemp(); err != nil {
		log.Warn("cannot sweep temporary files of an earlier crash", "error", err)
	} else if n > 0 {
		log.Info("swept temporary files of an earlier crash", "count", n)
	}
	for i := range c.Jobs {
		b := operate.Wiring{Log: log}.Bootstrap(ctx, c, &c.Jobs[i])
		logBootstrap(log, b)
	}
	if ctx.Err() != nil {
		return nil
	}

	// The prune identity: a process of its own, started now while this one is root, in a new
	// network namespace, dropping to prune_user; from here on only it destroys.
	var worker *pruneWorker
	if c.PruneUser != "" {
		if worker, err = startPruneWorker(dr.path, workerStderr(log, dr.logDest, dr.s)); err != nil {
			return err
		}
		defer worker.Close()
		log.Info("prune worker started", "user", c.PruneUser, "pid", worker.cmd.Process.Pid)
	}

	// --- for good: the delegated user, never root again -----------------------------------
	privdrop.MustDrop(u)
	log.Info("dropped privileges", "user", u.Name, "uid", u.UID, "gid", u.GID)
	return dr.serve(ctx, u, store, worker)
}

// serve runs the schedules as the delegated user until ctx ends, reloading the configuration
// on SIGHUP and answering the console on the control socket.
func (dr *daemonRun) serve(ctx context.Context, u privdrop.User, store *state.Store, worker *pruneWorker) error {
	c, log := dr.c, dr.log
	journal, err := store.OpenJournal()
	if err != nil {
		return err
	}
	defer journal.Close()
	rec := operate.NewRecords(store, journal, log)
	sshx.TuneRuntime(c.MaxParallel, dr.s.getenv) // a stream per job pulling
	// The streams in progress, for a console's vault status --watch.
	transfers := &daemon.Transfers{}
	d := dr.schedules(rec, transfers, worker)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go dr.reloads(ctx, hup, d)
	// A restart refreshes the monitoring textfile at once.
	rec.Metrics(c)
	// The console's way in: a unix socket owned by the user, peer credentials checked, made
	// after the drop so that it belongs to the user. No network listener of any kind.
	srv := &control.Server{Path: controlSocket(c), AllowUIDs: []int{u.UID}, Log: log.Named("control"),
		Handler: func(ctx context.Context, peer control.Peer, req control.Request) (any, error) {
			return handleControl(ctx, d, rec, transfers, peer, req)
		}}
	if err := srv.Listen(); err != nil {
		return err
	}
	go func() {
		if err := srv.Serve(ctx); err != nil {
			log.Error("control socket stopped", "error", err)
		}
	}()
	defer srv.Close()
	log.Info("vault daemon running", "jobs", len(c.Jobs), "max_parallel", c.MaxParallel, "control", srv.Path)
	err = d.Run(ctx)
	log.Info("vault daemon stopped")
	return err
}

// schedules is the daemon's scheduler: a scheduled pull runs as the unprivileged user (datasets
// new on the source are reported as needing bootstrap, never received), each run is recorded in
// rec, and each job is pruned on its schedule (by the worker, with prune_user).
func (dr *daemonRun) schedules(rec *operate.Records, transfers *daemon.Transfers, worker *pruneWorker) *daemon.Daemon {
	log := dr.log
	w := operate.Wiring{Log: log, Transfers: transfers, AllowNew: rec.AllowNew}
	runner := operate.LocalPrune(&prune.Executor{ZFS: &zfs.ZFS{Bin: dr.c.ZFSBinary, Exec: &zfs.Local{Log: log.Named("zfs")}}, Log: log.Named("prune")})
	if worker != nil {
		w.Abort = worker.Abort
		runner = workerPrune(worker)
	}
	d := daemon.New(dr.c, func(ctx context.Context, c *conf.Config, j *conf.Job) *puller.Report {
		rec.CheckBeforePull(c, j)
		return w.Pull(ctx, c, j, puller.Options{NoFull: true})
	}, log.Named("daemon"))
	d.Done = rec.Record
	d.Prune = func(ctx context.Context, c *conf.Config, j *conf.Job) {
		run, err := operate.PruneJob(ctx, c, rec, runner, j, false, time.Now())
		logPrune(log, j.Name, run, err)
	}
	return d
}

// logPrune logs what a scheduled prune of job did.
func logPrune(log hclog.Logger, job string, run operate.PruneRun, err error) {
	if err != nil {
		log.Error("prune failed", "job", job, "error", err)
		return
	}
	destroyed := 0
	for _, r := range run.Results {
		destroyed += len(r.Destroyed)
		if r.Plan.Frozen != nil {
			log.Warn("prune frozen", "job", job, "dataset", r.Plan.Dataset.String(), "reason", r.Plan.Frozen.Reason)
		}
	}
	if run.Dry {
		log.Warn("prune destroyed nothing: no record of the job's last pull yet", "job", job)
	}
	log.Info("pruned", "job", job, "destroyed", destroyed)
}

// reloads reloads the configuration at each SIGHUP on hup until ctx ends. A configuration that
// does not load is refused, and the one in force stays.
func (dr *daemonRun) reloads(ctx context.Context, hup <-chan os.Signal, d *daemon.Daemon) {
	log, path := dr.log, dr.path
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			next, err := conf.Load(path)
			if err != nil {
				log.Error("reload refused, the configuration in force stays", "file", path, "error", strings.ReplaceAll(err.Error(), "\n", "; "))
				continue
			}
			done, restart := d.Reload(next)
			log.Info("reloaded", "file", path, "changes", strings.Join(done, "; "))
			if len(restart) > 0 {
				log.Warn("these take effect only after a restart", "settings", strings.Join(restart, "; "))
			}
		}
	}
}

// controlSocket is where the daemon listens for console commands.
func controlSocket(c *conf.Config) string { return filepath.Join(c.StateDir, "control.sock") }

// pullReply is the daemon's answer to a console's pull: the report as the console prints it,
// and the exit code vault pull would have.
type pullReply struct {
	Text string `json:"text"`
	Exit int    `json:"exit"`
}

// transfersReply is the daemon's answer to "transfers": every stream in progress, and the
// daemon's clock when it read their counters (what a console measures rates against).
type transfersReply struct {
	Time      time.Time         `json:"time"`
	Transfers []puller.Transfer `json:"transfers"`
}

func handleControl(ctx context.Context, d *daemon.Daemon, rec *operate.Records, transfers *daemon.Transfers, peer control.Peer, req control.Request) (any, error) {
	switch req.Op {
	case "ping":
		return "pong", nil
	case "pull":
		reports, err := d.PullNow(ctx, req.Jobs)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, r := range reports {
			printPullReport(&b, r, false)
			printErased(&b, d.Config(), rec.Quietly(r.Job), false)
		}
		return pullReply{Text: b.String(), Exit: puller.ExitCode(reports)}, nil
	case "status":
		return operate.ReadStates(rec.Store(), d.Config(), req.Jobs), nil
	case "transfers":
		return transfersReply{Time: time.Now(), Transfers: transfers.List()}, nil
	case "ack":
		if len(req.Jobs) != 1 {
			return nil, fmt.Errorf("ack takes one job")
		}
		return ackState(rec, req.Jobs[0], req.Args["dataset"])
	}
	return nil, control.UnknownOp(req.Op)
}

func logBootstrap(log hclog.Logger, b *puller.BootstrapReport) {
	l := log.With("job", b.Job, "target", b.Target.String())
	if b.CreatedTarget {
		l.Info("bootstrap: created the target")
	}
	if len(b.Delegated) > 0 {
		l.Info("bootstrap: delegated and verified", "permissions", strings.Join(b.Delegated, ","))
	}
	if len(b.Revoked) > 0 {
		l.Info("bootstrap: taken away from the pulling user and verified", "permissions", strings.Join(b.Revoked, ","))
	}
	if b.Err != nil {
		l.Error("bootstrap failed; the job's pulls will report it", "error", b.Err)
	}
	if b.Pull != nil {
		if b.Pull.Err != nil {
			l.Error("bootstrap: cannot reach the source", "error", b.Pull.Err)
		}
		for _, d := range b.Pull.Datasets {
			l.Info("bootstrap: first receive", "dataset", d.Source.String(), "outcome", string(d.Outcome), "bytes", d.Bytes, "error", d.Err)
		}
	}
}
