package puller

import (
	"time"

	"github.com/belltech/vault/props"
	"github.com/belltech/vault/zfs"
)

// Outcome is what a pull did to one dataset.
type Outcome string

// The outcomes, from good to bad.
const (
	OK          Outcome = "ok"           // new snapshots arrived
	UpToDate    Outcome = "up-to-date"   // nothing to send
	SourceEmpty Outcome = "source-empty" // the source dataset has no snapshots
	Planned     Outcome = "planned"      // dry run: what would be sent
	Skipped     Outcome = "skipped"      // its parent did not pull
	// NeedsBootstrap: new on the source; vault bootstrap receives it as root.
	NeedsBootstrap Outcome = "needs-bootstrap"
	Conflicted     Outcome = "conflict" // diverged, no common snapshot, or not ours: needs the operator
	// Refused: the source offered more new snapshots than max_new_snapshots; nothing was
	// received for the dataset (a flood from a compromised source).
	Refused Outcome = "refused"
	Failed  Outcome = "failed" // an error; the next run retries (and resumes)
)

// Report is what one pull of a job did.
type Report struct {
	Job      string
	Started  time.Time
	Duration time.Duration
	// Snapshot is the name of the snapshot taken on the source before the pull, if any.
	Snapshot string
	// Err is set when the job could not run at all: nothing was pulled.
	Err      error
	Datasets []DatasetReport
	Orphans  []zfs.Dataset
	// Props are the properties the source set locally on each dataset the run pulled or found
	// up to date, by source name, kept for a restore (package props; never applied to the
	// vault's copy); nil when they were not read (a dry run, or a source that refused the zfs
	// get).
	Props map[zfs.Dataset]props.Set
}

// DatasetReport is what happened to one dataset.
type DatasetReport struct {
	Source, Target zfs.Dataset
	Outcome        Outcome
	Steps          []StepReport
	Bytes          int64
	Duration       time.Duration
	// Newest is the newest snapshot the target holds after the run (its short name).
	Newest string
	// DataTime is when the data of Newest was made, when that is older than the run: set by an
	// import from media (the older of the manifest's created and the snapshot's creation), zero
	// for a pull, whose copy is as new as the run.
	DataTime time.Time
	// Vanished counts the target's snapshots the source no longer has (kept).
	Vanished int
	// Common counts the target's snapshots the source still has, before the pull.
	Common int
	// NewSnapshots counts the snapshots an incremental pull brought into an existing target,
	// or offered when Refused.
	NewSnapshots int
	// Received counts the snapshots the pull brought, full receives included.
	Received int
	// TargetReferenced is the target's referenced bytes before the pull (0 when unknown).
	TargetReferenced uint64
	Conflict         *Conflict
	Err              string
	// NoSpace is set when the dataset failed for want of space on the vault: a stream refused
	// before it started (a *NoSpaceError), or a receive that ran out of space or quota.
	NoSpace bool
	// Hint is the command that resolves a conflict.
	Hint     string
	Warnings []string
}

// StepReport is one send and receive.
type StepReport struct {
	Kind          StepKind
	From, To      string
	Intermediates bool
	Bytes         int64
	// Estimated is zfs send -n -P's size of the stream, -1 when unknown.
	Estimated int64
	Duration  time.Duration
	// Warning says the stream's size or the space on the vault could not be checked before it.
	Warning string
}

// Exit codes of a pull run, shared by vault pull and the daemon's journal.
const (
	ExitOK       = 0 // every dataset pulled or up to date
	ExitFailed   = 1 // something failed; the next run retries
	ExitConflict = 3 // a dataset needs the operator (vault resolve, vault ack)
)

// ExitCode summarises reports: conflicts outrank failures, which outrank success.
func ExitCode(reports []*Report) int {
	code := ExitOK
	for _, r := range reports {
		if r.Err != nil {
			code = max(code, ExitFailed)
		}
		for _, d := range r.Datasets {
			switch d.Outcome {
			case Conflicted, Refused:
				code = ExitConflict
			case Failed, Skipped, NeedsBootstrap:
				code = max(code, ExitFailed)
			}
		}
	}
	return code
}

func plannedReport(dp DatasetPlan) DatasetReport {
	dr := DatasetReport{Source: dp.Source, Target: dp.Target, Vanished: len(dp.Vanished), Newest: newestName(dp),
		Common: dp.Common, NewSnapshots: len(dp.New), TargetReferenced: dp.TargetReferenced}
	switch {
	case dp.Conflict != nil:
		dr.Outcome, dr.Conflict, dr.Err = Conflicted, dp.Conflict, dp.Conflict.Detail
	case dp.SourceEmpty:
		dr.Outcome = SourceEmpty
	case len(dp.Steps) == 0:
		dr.Outcome = UpToDate
	default:
		dr.Outcome = Planned
		for _, st := range dp.Steps {
			s := StepReport{Kind: st.Kind, To: st.To.Name.Short(), Intermediates: st.Intermediates}
			if st.From != nil {
				s.From = st.From.Name.Short()
			}
			dr.Steps = append(dr.Steps, s)
		}
	}
	return dr
}
