package puller

// The executor: lists both sides, plans, and runs each dataset's steps, streaming a zfs send on
// the source (over SSH, through `vault serve`) into a local zfs receive the vault names itself.
// It never destroys, rolls back or force-receives; a failure in one dataset does not stop its
// siblings, only its own descendants.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/zfs"
)

// Side is one end of a pull: typed zfs commands and a way to stream a send or a receive.
type Side struct {
	ZFS     *zfs.ZFS
	Starter zfs.Starter
}

// Job is what the puller needs of a configured job.
type Job struct {
	Name string
	// Host is the source host, for messages.
	Host      string
	Roots     []zfs.Dataset
	Recursive bool
	Exclude   []zfs.Dataset
	// TargetRoot is the job's target: every source root lands in a child of it.
	TargetRoot zfs.Dataset
	TargetFor  func(zfs.Dataset) (zfs.Dataset, bool)
	// ReceiveSet and ReceiveExclude apply to the first full receive of each dataset.
	ReceiveSet     []zfs.PropSetting
	ReceiveExclude []string
	// BandwidthLimit caps each stream, in bytes per second; 0 means none.
	BandwidthLimit int64
	// SnapshotTTL, if set, makes the puller take a zfsnap2-named snapshot of every dataset in
	// scope on the source, in one transaction, before it lists (snapshot on pull).
	SnapshotTTL *policy.TTL
	// Location is the source's time zone, for the snapshot's name.
	Location *time.Location
	// HoldPrefix starts the tag of the job's holds ("vault:rust10:"); "vault:" when empty.
	HoldPrefix string
	// Quota, in bytes, is set on TargetRoot by Bootstrap; 0 leaves the target's quota alone.
	Quota int64
	// MaxNewSnapshots bounds the snapshots one pull brings into an existing target: a dataset
	// offering more receives nothing and is Refused. 0 means no bound.
	MaxNewSnapshots int
	// AllowNew, if set, gives a dataset (by source name) a one-off larger bound, after the
	// operator acknowledged a refused flood (vault ack).
	AllowNew func(src zfs.Dataset) int
}

// HoldTag is the hold the job keeps on its incremental base on both sides.
func (j *Job) HoldTag() string {
	if j.HoldPrefix == "" {
		return legacyHoldPrefix + j.Name
	}
	return j.HoldPrefix + j.Name
}

// legacyHoldPrefix is the prefix of every vault's holds before hold_prefix: the sweep releases
// the job's old tag too.
const legacyHoldPrefix = "vault:"

// ownTags are the hold tags that are the job's: its own, and the one it used before hold_prefix.
func (j *Job) ownTags() []string {
	tags := []string{j.HoldTag()}
	if old := legacyHoldPrefix + j.Name; old != tags[0] {
		tags = append(tags, old)
	}
	return tags
}

// Options are per-run choices.
type Options struct {
	// NewestOnly sends just the newest snapshot (-i, no intermediates).
	NewestOnly bool
	// DryRun plans and reports without sending anything.
	DryRun bool
	// OnlyNew pulls only datasets that have no target yet (vault bootstrap, as root); the rest
	// are left for the unprivileged pulls.
	OnlyNew bool
	// NoFull leaves datasets that need a first full receive alone and reports them as needing
	// bootstrap (the unprivileged daemon: first receives run as root, at the console).
	NoFull bool
}

// ProgressFunc shows a stream's progress: what it is, its expected size in bytes and the
// counter of bytes copied so far, until the returned function is called. The commands give one
// that draws on a terminal; the puller only calls it.
type ProgressFunc func(what string, total int64, copied *atomic.Int64) (stop func())

// Puller runs pulls.
type Puller struct {
	Source, Target Side
	Log            hclog.Logger
	Now            func() time.Time
	// Progress, if set (on a terminal, by the command), shows each stream's bytes as they go.
	Progress ProgressFunc
	// Abort, if set, discards the partial state of an unusable resume token in the target's
	// dataset; it is how a puller that holds no destroy (append-only pulls) asks the prune
	// identity. Unset, the puller runs zfs receive -A itself.
	Abort func(ctx context.Context, ds zfs.Dataset) error
	// Transfers, if set (the daemon), is told of every stream while it runs; nil in vault pull.
	Transfers TransferSink
}

// The columns read. Snapshots are listed with name, guid, createtxg and userrefs (the hold
// count, which finds stale holds for the sweep); the target's datasets with referenced, for
// the rewrite tripwire.
var (
	sourceDatasetCols = []zfs.Column{zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColEncryption}
	targetDatasetCols = []zfs.Column{zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColReceiveResumeToken, zfs.ColReferenced}
	snapshotCols      = []zfs.Column{zfs.ColName, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColUserRefs}
	datasetTypes      = []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume}
	snapshotTypes     = []zfs.Type{zfs.TypeSnapshot}
)

// maxReplans bounds how often one dataset is re-planned in a run (after a resume, or after an
// unusable resume token was aborted).
const maxReplans = 3

// Pull runs one pull of job. The report says what happened to every dataset; Report.Err is
// set when the job could not be planned at all (the source or target could not be listed).
func (p *Puller) Pull(ctx context.Context, job *Job, o Options) *Report {
	r := &Report{Job: job.Name, Started: p.now()}
	defer func() { r.Duration = p.now().Sub(r.Started) }()
	log := p.log().With("job", job.Name)

	if job.SnapshotTTL != nil && !o.DryRun {
		name, err := p.snapshotOnPull(ctx, job)
		if err != nil {
			r.Err = err
			return r
		}
		r.Snapshot = name
		log.Info("snapshot on pull", "name", name)
	}
	plan, err := p.plan(ctx, job, o)
	if err != nil {
		r.Err = err
		return r
	}
	r.Orphans = plan.Orphans
	if o.DryRun {
		for _, dp := range plan.Datasets {
			r.Datasets = append(r.Datasets, plannedReport(dp))
		}
		return r
	}
	// The properties kept for a restore are read after the listing (every dataset pulled existed
	// when they were), beside the streams.
	waitProps := p.startProps(ctx, job)
	defer func() { r.Props = p.keepProps(job, r, waitProps()) }()
	if err := p.ensureTargetRoot(ctx, job, plan); err != nil {
		r.Err = err
		return r
	}
	var stopped []zfs.Dataset // new targets whose first receive failed: their descendants wait
	for _, dp := range plan.Datasets {
		if parent := under(dp.Target, stopped); !parent.IsZero() {
			r.Datasets = append(r.Datasets, DatasetReport{Source: dp.Source, Target: dp.Target, Outcome: Skipped,
				Err: fmt.Sprintf("its parent %q did not pull", parent)})
			stopped = append(stopped, dp.Target)
			continue
		}
		var dr DatasetReport
		switch {
		case o.OnlyNew && dp.TargetExists:
			continue
		case o.NoFull && !dp.TargetExists && len(dp.Steps) > 0:
			dr = DatasetReport{Source: dp.Source, Target: dp.Target, Outcome: NeedsBootstrap,
				Err:  "new on the source: its first full receive runs as root",
				Hint: "vault bootstrap " + job.Name}
		default:
			dr = p.pullDataset(ctx, job, o, dp)
		}
		// A child's receive needs its parent on the target. A parent that exists there (even in
		// conflict, or after a failed incremental) does not hold its children back; one whose
		// first receive did not complete does.
		if !dp.TargetExists && dr.Outcome != OK && dr.Outcome != UpToDate {
			stopped = append(stopped, dp.Target)
		}
		log.Debug("dataset pulled", "source", dp.Source.String(), "outcome", string(dr.Outcome), "bytes", dr.Bytes, "error", dr.Err)
		r.Datasets = append(r.Datasets, dr)
		if ctx.Err() != nil {
			break
		}
	}
	return r
}

func (p *Puller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Puller) log() hclog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return hclog.NewNullLogger()
}

// under returns the entry of stopped that is an ancestor of ds, if any.
func under(ds zfs.Dataset, stopped []zfs.Dataset) zfs.Dataset {
	for _, s := range stopped {
		if s.IsAncestorOf(ds) {
			return s
		}
	}
	return zfs.Dataset{}
}

// snapshotOnPull snapshots every dataset in scope on the source in one zfs snapshot call.
func (p *Puller) snapshotOnPull(ctx context.Context, job *Job) (string, error) {
	entries, err := p.Source.ZFS.List(ctx, job.Roots, job.Recursive, datasetTypes, []zfs.Column{zfs.ColName})
	if err != nil {
		return "", fmt.Errorf("cannot list the source for snapshot on pull: %w", err)
	}
	loc := job.Location
	if loc == nil {
		loc = time.Local
	}
	name := policy.FormatName("", p.now().In(loc), *job.SnapshotTTL)
	var snaps []zfs.Snapshot
	for _, e := range entries {
		ds, ok := e.Dataset()
		if !ok {
			continue
		}
		if _, in := job.TargetFor(ds); !in {
			continue
		}
		s, err := ds.Snapshot(name)
		if err != nil {
			return "", err
		}
		snaps = append(snaps, s)
	}
	if len(snaps) == 0 {
		return "", errors.New("snapshot on pull: no source dataset in scope")
	}
	if err := p.Source.ZFS.Snapshot(ctx, snaps...); err != nil {
		return "", fmt.Errorf("cannot snapshot the source: %w", err)
	}
	return name, nil
}

// plan lists both sides (two zfs list calls per side, whatever the number of datasets) and plans.
func (p *Puller) plan(ctx context.Context, job *Job, o Options) (*JobPlan, error) {
	// The four listings are independent: run them at once (the source's two as two sessions on
	// the one connection), so a run pays one round trip for listing, not four.
	roots := []zfs.Dataset{job.TargetRoot}
	var srcDS, srcSnaps, dstDS, dstSnaps []zfs.Entry
	var srcDSErr, srcSnapsErr, dstDSErr, dstSnapsErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		srcDS, srcDSErr = p.Source.ZFS.List(ctx, job.Roots, job.Recursive, datasetTypes, sourceDatasetCols)
	})
	wg.Go(func() {
		srcSnaps, srcSnapsErr = p.Source.ZFS.List(ctx, job.Roots, job.Recursive, snapshotTypes, snapshotCols)
	})
	wg.Go(func() { dstDS, dstDSErr = p.Target.ZFS.List(ctx, roots, true, datasetTypes, targetDatasetCols) })
	wg.Go(func() { dstSnaps, dstSnapsErr = p.Target.ZFS.List(ctx, roots, true, snapshotTypes, snapshotCols) })
	wg.Wait()
	switch {
	case srcDSErr != nil:
		return nil, fmt.Errorf("cannot list the source: %w", srcDSErr)
	case srcSnapsErr != nil:
		return nil, fmt.Errorf("cannot list the source's snapshots: %w", srcSnapsErr)
	}
	var dst []zfs.Entry
	switch {
	case zfs.IsNotExist(dstDSErr):
		// The target root does not exist yet: everything is new.
	case dstDSErr != nil:
		return nil, fmt.Errorf("cannot list the target: %w", dstDSErr)
	case zfs.IsNotExist(dstSnapsErr):
		// Destroyed between the two listings: for this run it is gone, and so is all it held.
	case dstSnapsErr != nil:
		return nil, fmt.Errorf("cannot list the target's snapshots: %w", dstSnapsErr)
	default:
		dst = append(dstDS, withDatasets(dstDS, dstSnaps)...)
	}
	return Plan(Input{
		Sources: job.Roots, Recursive: job.Recursive, Exclude: job.Exclude,
		Source: append(srcDS, withDatasets(srcDS, srcSnaps)...), Target: dst,
		TargetFor: job.TargetFor, NewestOnly: o.NewestOnly,
	})
}

// withDatasets drops snapshots whose dataset is not in datasets: the two listings are separate
// calls, and a dataset destroyed between them is simply gone for this run.
func withDatasets(datasets, snaps []zfs.Entry) []zfs.Entry {
	have := make(map[zfs.Dataset]bool, len(datasets))
	for _, e := range datasets {
		have[e.ParentDataset()] = true
	}
	out := snaps[:0:0]
	for _, e := range snaps {
		if have[e.ParentDataset()] {
			out = append(out, e)
		}
	}
	return out
}

// ensureTargetRoot creates the job's target (not mounted) when a full receive needs it.
func (p *Puller) ensureTargetRoot(ctx context.Context, job *Job, plan *JobPlan) error {
	need := false
	for _, dp := range plan.Datasets {
		if !dp.TargetExists && job.TargetRoot.IsAncestorOf(dp.Target) {
			need = true
		}
	}
	if !need {
		return nil
	}
	_, err := p.Target.ZFS.List(ctx, []zfs.Dataset{job.TargetRoot}, false, datasetTypes, []zfs.Column{zfs.ColName})
	if err == nil || !zfs.IsNotExist(err) {
		return err
	}
	if err := p.Target.ZFS.Create(ctx, job.TargetRoot, map[string]string{"canmount": "noauto"}); err != nil {
		return fmt.Errorf("cannot create the target %q: %w (create it, or run vault bootstrap as root)", job.TargetRoot, err)
	}
	return nil
}

// pullDataset runs one dataset's plan, re-planning after a resume.
func (p *Puller) pullDataset(ctx context.Context, job *Job, o Options, dp DatasetPlan) (dr DatasetReport) {
	dr = DatasetReport{Source: dp.Source, Target: dp.Target}
	start := p.now()
	defer func() { dr.Duration = p.now().Sub(start) }()
	for replans := 0; ; replans++ {
		dr.Vanished = len(dp.Vanished)
		dr.Newest = newestName(dp)
		if replans == 0 {
			dr.Common, dr.TargetReferenced = dp.Common, dp.TargetReferenced
		}
		dr.NewSnapshots += len(dp.New)
		if limit := job.newLimit(dp.Source); limit > 0 && len(dp.New) > limit {
			dr.Outcome = Refused
			dr.Err = fmt.Sprintf("the source offers %d new snapshots (%s to %s), more than max_new_snapshots %d: nothing received, pruning frozen; "+
				"check the source, then `vault ack %s %s` lets the next pull receive them", len(dp.New), dp.New[0].Name.Short(), dp.New[len(dp.New)-1].Name.Short(), limit, job.Name, dp.Source)
			dr.Hint = fmt.Sprintf("vault ack %s %s", job.Name, dp.Source)
			return dr
		}
		switch {
		case dp.Conflict != nil:
			dr.Outcome, dr.Conflict = Conflicted, dp.Conflict
			dr.Err = dp.Conflict.Detail
			dr.Hint = fmt.Sprintf("vault resolve %s %s --archive", job.Name, dp.Source)
			return dr
		case dp.SourceEmpty:
			if dr.Outcome == "" {
				dr.Outcome = SourceEmpty
			}
			return dr
		case len(dp.Steps) == 0:
			if dr.Outcome == "" {
				dr.Outcome = UpToDate
			}
			dr.Warnings = append(dr.Warnings, p.sweepHolds(ctx, job, dp, dp.Base)...)
			return dr
		}
		base, targetBase := dp.Base, dp.TargetBase
		for _, st := range dp.Steps {
			sr, err := p.runStep(ctx, job, dp, st)
			dr.Steps = append(dr.Steps, sr)
			dr.Bytes += sr.Bytes
			if errors.Is(err, errTokenUnusable) {
				// The source can no longer serve the interrupted receive: discard its partial
				// state (the vault's own, never a snapshot) and plan the dataset afresh.
				abort := p.Target.ZFS.AbortReceive
				if p.Abort != nil {
					abort = p.Abort
				}
				if aerr := abort(ctx, dp.Target); aerr != nil {
					dr.Outcome, dr.Err = Failed, fmt.Sprintf("%v; and cannot abort the partial receive: %v", err, aerr)
					return dr
				}
				dr.Warnings = append(dr.Warnings, fmt.Sprintf("the interrupted receive could not be resumed (%v); it was aborted and the dataset re-planned", err))
				break
			}
			if sr.Warning != "" {
				dr.Warnings = append(dr.Warnings, sr.Warning)
			}
			if err != nil {
				var nospace *NoSpaceError
				dr.Outcome, dr.Err = Failed, err.Error()
				dr.NoSpace = errors.As(err, &nospace) || zfs.IsQuotaExceeded(err)
				return dr
			}
			if st.Kind == Full {
				dr.Warnings = append(dr.Warnings, p.checkReceivedProps(ctx, job, dp)...)
			}
			if st.Kind != Resume {
				if w := p.moveHold(ctx, job, dp, base, targetBase, st.To); w != "" {
					dr.Warnings = append(dr.Warnings, w)
				}
				to := st.To
				base, targetBase = &to, nil
			}
			dr.Outcome = OK
		}
		if dr.Outcome == OK {
			dr.Received += dp.Brings
		}
		if !dp.Replan && dr.Outcome == OK {
			dr.Warnings = append(dr.Warnings, p.sweepHolds(ctx, job, dp, base)...)
			return dr
		}
		if replans >= maxReplans {
			dr.Outcome, dr.Err = Failed, "the dataset still needs work after re-planning; run the pull again"
			return dr
		}
		next, err := p.replan(ctx, job, o, dp.Source)
		if err != nil {
			dr.Outcome, dr.Err = Failed, err.Error()
			return dr
		}
		dp = next
	}
}

func (p *Puller) replan(ctx context.Context, job *Job, o Options, src zfs.Dataset) (DatasetPlan, error) {
	plan, err := p.plan(ctx, job, o)
	if err != nil {
		return DatasetPlan{}, err
	}
	for _, dp := range plan.Datasets {
		if dp.Source == src {
			return dp, nil
		}
	}
	return DatasetPlan{}, fmt.Errorf("source dataset %q disappeared while it was being pulled", src)
}

func newestName(dp DatasetPlan) string {
	for i := len(dp.Steps) - 1; i >= 0; i-- {
		if dp.Steps[i].Kind != Resume {
			return dp.Steps[i].To.Name.Short()
		}
	}
	if dp.Base != nil {
		return dp.Base.Name.Short()
	}
	return ""
}

var errTokenUnusable = errors.New("resume token can no longer be served")

// runStep streams one send into one receive.
func (p *Puller) runStep(ctx context.Context, job *Job, dp DatasetPlan, st Step) (sr StepReport, err error) {
	sr = StepReport{Kind: st.Kind, To: st.To.Name.Short(), Intermediates: st.Intermediates}
	send := zfs.SendOptions{Raw: dp.Encrypted}
	// Every receive, full, incremental or resumed, overrides the properties a stream could carry
	// and the vault never wants (ReceiveProps).
	recv := zfs.ReceiveOptions{Target: dp.Target}
	recv.Set, recv.Exclude = ReceiveProps(job, dp.Type)
	switch st.Kind {
	case Resume:
		send = zfs.SendOptions{Token: st.Token}
	case Full:
		send.Snapshot = st.To.Name
	case Incremental:
		send.Snapshot = st.To.Name
		send.FromSnapshot = st.From.Name
		send.Intermediates = st.Intermediates
		sr.From = st.From.Name.Short()
	}
	log := p.log().With("job", job.Name, "dataset", dp.Source.String(), "step", st.String())
	start := p.now()
	defer func() { sr.Duration = p.now().Sub(start) }()

	// Every step is sized before it starts: a stream that cannot fit on the vault is not
	// started (space.go), and the same estimate feeds the progress display.
	total, warning, err := p.sizeStep(ctx, dp, st, send)
	sr.Estimated, sr.Warning = total, warning
	if err != nil {
		return sr, err
	}

	sendCmd, err := p.Source.ZFS.SendCmd(send)
	if err != nil {
		return sr, err
	}
	recvCmd, err := p.Target.ZFS.ReceiveCmd(recv)
	if err != nil {
		return sr, err
	}
	// The receive reads an OS pipe that copyStream writes in blocking mode: one write(2) per
	// chunk, where a pipe in Go's poller (or an io.Pipe that os/exec copies into one) costs a
	// system call, or a wake-up, per 32-64 KiB. When zfs receive ends early, the next write
	// fails with EPIPE at once.
	pr, pw, err := os.Pipe()
	if err != nil {
		return sr, fmt.Errorf("cannot make a pipe for the receive: %w", err)
	}
	_ = pw.Fd() // Fd puts the write end in blocking mode
	recvCmd.Stdin = pr
	// The receive is not tied to ctx: when the run is cancelled (SIGTERM) it must not be killed
	// but see the end of its input, so that a resumable receive saves what arrived and leaves
	// a token. Ending the input below always happens, cancelled or not.
	rp, err := p.Target.Starter.Start(context.WithoutCancel(ctx), recvCmd)
	pr.Close() // the receive has its own copy; ours would keep EPIPE from ever coming
	if err != nil {
		pw.Close()
		return sr, fmt.Errorf("cannot start the receive: %w", err)
	}
	sp, err := p.Source.Starter.Start(ctx, sendCmd)
	if err != nil {
		pw.Close()
		_ = rp.Wait()
		return sr, fmt.Errorf("cannot start the send: %w", err)
	}
	var counter atomic.Int64
	stopProgress := func() {}
	if p.Progress != nil {
		stopProgress = p.Progress(fmt.Sprintf("%s %s", dp.Target, st.Kind), total, &counter)
	}
	endTransfer := p.beginTransfer(Transfer{Job: job.Name, Source: dp.Source.String(), Target: dp.Target.String(),
		Kind: st.Kind.String(), Total: total, Started: p.now()}, &counter)
	n, cerr := copyStream(ctx, pw, sp.Stdout(), streamOptions{Limit: job.BandwidthLimit, Counter: &counter})
	endTransfer()
	stopProgress()
	if errors.Is(cerr, syscall.EPIPE) {
		cerr = fmt.Errorf("%w: %w", errReceiveEnded, cerr)
	}
	sr.Bytes = n
	var serr error
	if cerr != nil && !errors.Is(cerr, errEmptySend) {
		serr = sp.Abort()
	} else {
		// The send ended by itself: its exit status and stderr say how.
		serr = sp.Wait()
	}
	// End the receive's input either way: on a cut stream a resumable receive keeps what it got
	// and leaves a resume token for the next run.
	pw.Close()
	rerr := rp.Wait()
	switch {
	case rerr != nil && zfs.IsQuotaExceeded(rerr):
		return sr, fmt.Errorf("receive failed: %s is out of space or at its quota (the job's quota, or the pool): %w; "+
			"raise quota in the configuration and run vault bootstrap, or prune, then pull again", dp.Target, rerr)
	case errors.Is(cerr, errReceiveEnded) && rerr != nil:
		return sr, fmt.Errorf("receive failed: %w", rerr)
	case serr != nil && st.Kind == Resume && zfs.IsResumeUnusable(serr):
		return sr, fmt.Errorf("%w: %v", errTokenUnusable, serr)
	case serr != nil && (cerr == nil || errors.Is(cerr, errEmptySend)):
		return sr, fmt.Errorf("send failed: %w", serr)
	case cerr != nil:
		return sr, fmt.Errorf("stream cut after %d bytes: %w (a resume token keeps what arrived)", n, firstErr(serr, cerr))
	case rerr != nil:
		return sr, fmt.Errorf("receive failed: %w", rerr)
	}
	log.Debug("step done", "bytes", n, "duration", p.now().Sub(start).Round(time.Millisecond))
	return sr, nil
}

// sizeStep estimates st's stream (zfs send -n -P on the source) and reads the space available
// where it lands on the vault (zfs get available), the two at once: one round trip for the
// step. It returns the estimate (-1 if unknown), a *NoSpaceError when the stream cannot fit,
// and errTokenUnusable for a resume the source can no longer serve. A failure to estimate or
// to read the space is not a failure to pull: the step goes on, with a warning that the space
// was not checked.
func (p *Puller) sizeStep(ctx context.Context, dp DatasetPlan, st Step, send zfs.SendOptions) (estimate int64, warning string, err error) {
	where, whereOK := spaceWhere(dp, st)
	var avail int64
	var estErr, availErr error
	var wg sync.WaitGroup
	wg.Go(func() { estimate, estErr = p.Source.ZFS.SendSize(ctx, send) })
	if whereOK {
		wg.Go(func() { avail, availErr = p.Target.ZFS.Available(ctx, where) })
	}
	wg.Wait()
	switch {
	case estErr != nil && st.Kind == Resume && zfs.IsResumeUnusable(estErr):
		return -1, "", fmt.Errorf("%w: %v", errTokenUnusable, estErr)
	case estErr != nil:
		return -1, fmt.Sprintf("cannot estimate the size of %s (%v): the space on the vault was not checked before it", streamName(dp, st), estErr), nil
	case !whereOK:
		return estimate, fmt.Sprintf("%s has no parent to read the available space of: not checked before the stream", dp.Target), nil
	case availErr != nil:
		return estimate, fmt.Sprintf("cannot read the space available on %s (%v): not checked before the stream", where, availErr), nil
	}
	p.log().Debug("space checked", "dataset", dp.Source.String(), "step", st.String(), "estimate", estimate, "need", spaceNeeded(estimate), "where", where.String(), "available", avail)
	return estimate, "", checkSpace(streamName(dp, st), where, estimate, avail)
}

var errReceiveEnded = errors.New("zfs receive ended before its input")

// WatchReceive closes pr, the receive's input, as soon as the receive process ends, so that a
// writer into it fails at once instead of blocking for ever when zfs receive gave up early
// (a missing parent, a refused permission, a modified destination).
func WatchReceive(p zfs.Process, pr *io.PipeReader) {
	go func() {
		err := p.Wait()
		if err == nil {
			err = errors.New("zfs receive ended")
		}
		pr.CloseWithError(fmt.Errorf("%w: %w", errReceiveEnded, err))
	}()
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// checkReceivedProps reads back the properties a first receive was asked to set: a delegated
// receive that lacks the permission for one prints an error yet exits 0, leaving it unset.
func (p *Puller) checkReceivedProps(ctx context.Context, job *Job, dp DatasetPlan) []string {
	set, _ := ReceiveProps(job, dp.Type)
	if len(set) == 0 {
		return nil
	}
	names := make([]string, len(set))
	for i, s := range set {
		names[i] = s.Name
	}
	props, err := p.Target.ZFS.Get(ctx, names, dp.Target)
	if err != nil {
		return []string{fmt.Sprintf("cannot read back the received properties: %v", err)}
	}
	got := map[string]string{}
	for _, pr := range props {
		got[pr.Property] = pr.Value
	}
	var warns []string
	for _, s := range set {
		if got[s.Name] != s.Value {
			warns = append(warns, fmt.Sprintf("%s is %q, not %q: the receiving user may not set it; grant %q with zfs allow on the target, or receive it as root (vault bootstrap)",
				s.Name, got[s.Name], s.Value, s.Name))
		}
	}
	return warns
}

// moveHold holds the new base on both sides, then releases the old one, so that source-side
// pruning can never break the incremental chain. Failures are warnings: the data arrived.
// old is the previous base as the source names it; oldTarget as the target does, when known
// (a snapshot renamed on one side has another name on the other).
func (p *Puller) moveHold(ctx context.Context, job *Job, dp DatasetPlan, old, oldTarget *SnapRef, to SnapRef) string {
	tag := job.HoldTag()
	newTarget, err := dp.Target.Snapshot(to.Name.Short())
	if err != nil {
		return err.Error()
	}
	// Each side's hold, then each side's release: the two sides at once, a side's own commands
	// in order, so a base is never left without a hold on either side.
	var srcProblems, dstProblems []string
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := p.Source.ZFS.Hold(ctx, tag, to.Name); err != nil && !zfs.IsHoldExists(err) {
			srcProblems = append(srcProblems, fmt.Sprintf("cannot hold %s on the source: %v", to.Name, err))
		}
	})
	wg.Go(func() {
		if err := p.Target.ZFS.Hold(ctx, tag, newTarget); err != nil && !zfs.IsHoldExists(err) {
			dstProblems = append(dstProblems, fmt.Sprintf("cannot hold %s: %v", newTarget, err))
		}
	})
	wg.Wait()
	if old != nil && old.GUID != to.GUID && len(srcProblems)+len(dstProblems) == 0 {
		releaseTarget, terr := dp.Target.Snapshot(old.Name.Short())
		if oldTarget != nil {
			releaseTarget, terr = oldTarget.Name, nil
		}
		wg.Go(func() {
			if err := p.Source.ZFS.Release(ctx, tag, old.Name); err != nil && !zfs.IsHoldMissing(err) {
				srcProblems = append(srcProblems, fmt.Sprintf("cannot release the old base %s on the source: %v", old.Name, err))
			}
		})
		if terr == nil {
			wg.Go(func() {
				if err := p.Target.ZFS.Release(ctx, tag, releaseTarget); err != nil && !zfs.IsHoldMissing(err) {
					dstProblems = append(dstProblems, fmt.Sprintf("cannot release the old base %s: %v", releaseTarget, err))
				}
			})
		}
		wg.Wait()
	}
	return strings.Join(append(srcProblems, dstProblems...), "; ")
}

// newLimit is how many new snapshots a pull may bring into src's existing target; 0 for no bound.
func (j *Job) newLimit(src zfs.Dataset) int {
	limit := j.MaxNewSnapshots
	if j.AllowNew != nil && limit > 0 {
		limit = max(limit, j.AllowNew(src))
	}
	return limit
}

// sweepHolds releases the job's holds (its tag, and its tag before hold_prefix) from every
// snapshot of the dataset but the base, on both sides: a crash between a hold and its release,
// or a release that failed, leaves one behind, and a held snapshot is never pruned on either
// side. The listing's userrefs say which snapshots have any hold; zfs holds says whose.
// Failures are warnings: the data arrived.
func (p *Puller) sweepHolds(ctx context.Context, job *Job, dp DatasetPlan, base *SnapRef) []string {
	var warns []string
	keep := func(r SnapRef) bool { return base != nil && r.GUID == base.GUID }
	for _, side := range []struct {
		name string
		zfs  *zfs.ZFS
		held []SnapRef
	}{{"the source", p.Source.ZFS, dp.HeldSource}, {"the vault", p.Target.ZFS, dp.HeldTarget}} {
		var snaps []zfs.Snapshot
		for _, r := range side.held {
			if !keep(r) {
				snaps = append(snaps, r.Name)
			}
		}
		if len(snaps) == 0 {
			continue
		}
		holds, err := side.zfs.Holds(ctx, snaps)
		if err != nil {
			warns = append(warns, fmt.Sprintf("cannot look for stale holds on %s: %v", side.name, err))
			continue
		}
		for _, tag := range job.ownTags() {
			var stale []zfs.Snapshot
			for _, h := range holds {
				if h.Tag == tag {
					stale = append(stale, h.Snapshot)
				}
			}
			if len(stale) == 0 {
				continue
			}
			if err := side.zfs.Release(ctx, tag, stale...); err != nil && !zfs.IsHoldMissing(err) {
				warns = append(warns, fmt.Sprintf("cannot release stale hold %s on %s: %v", tag, side.name, err))
				continue
			}
			p.log().Info("released stale holds", "job", job.Name, "dataset", dp.Source.String(), "side", side.name, "tag", tag, "snapshots", len(stale))
		}
	}
	return warns
}
