package puller

// The pull planner: a pure function from the job's scope and two zfs listings
// to what each dataset needs. It does no I/O and reads no clock; the executor
// (elsewhere in this package) runs the steps, re-lists, and never uses a plan
// twice.

import (
	"errors"
	"fmt"
	"slices"

	"github.com/belltech/vault/zfs"
)

// Input is what [Plan] plans from: the job's scope and one listing per side.
type Input struct {
	// Sources are the job's source roots. Each must be in the Source
	// listing, unless it is excluded.
	Sources []zfs.Dataset
	// Recursive includes the descendants of the roots; without it only the
	// roots themselves are planned.
	Recursive bool
	// Exclude skips these datasets and their descendants. They need not
	// exist.
	Exclude []zfs.Dataset

	// Source is one recursive listing of the roots with at least the name,
	// type, guid, createtxg and encryption columns: the filesystems and
	// volumes, and their snapshots. Bookmarks may appear;
	// the planner ignores them (see [Plan]). Entries may come in any order.
	Source []zfs.Entry
	// Target is one recursive listing of the target tree, with the name,
	// type, guid, createtxg and receive_resume_token columns. It may be empty: the target root
	// does not exist yet.
	Target []zfs.Entry

	// TargetFor maps a source dataset to the dataset it lands on. It must
	// succeed for every dataset in scope, and no two may land on the same
	// target. For [JobPlan.Orphans] it is also asked about source names
	// that are not (or no longer) listed.
	TargetFor func(src zfs.Dataset) (zfs.Dataset, bool)

	// NewestOnly sends just the newest source snapshot: a full send of it
	// when the target is absent, otherwise one -i from the base to it, with
	// no intermediates (vault pull --newest-only, the last replication of a
	// migration under time pressure).
	NewestOnly bool
}

// JobPlan is what one pull of a job would do.
type JobPlan struct {
	// Datasets holds one plan per source dataset in scope, ordered by target
	// name as a tree (a parent, then its whole subtree, then its next
	// sibling), so every parent comes before its children. A child's
	// receive needs its parent on the target: the executor runs the plans
	// in this order and skips the descendants of a dataset that is in
	// conflict or whose steps failed. A child is planned on its own even
	// when its parent needs a Full or has nothing to send (SourceEmpty, no
	// target): such a parent's target must exist before the child's Full,
	// which is the executor's to create or report.
	Datasets []DatasetPlan
	// Orphans are datasets in the target tree whose source dataset no
	// longer exists: under the target of a recursive root, in no excluded
	// subtree, not in the source listing, and where TargetFor would put
	// that source name. They are reported, never touched. Tree order.
	Orphans []zfs.Dataset
}

// DatasetPlan is what one source dataset needs.
//
// Exactly one of these holds: Conflict != nil (stop, keep everything,
// report); len(Steps) > 0 (run them in order); UpToDate; SourceEmpty with
// nothing to do.
type DatasetPlan struct {
	Source, Target zfs.Dataset
	// Type is the source's type, filesystem or volume: receive properties
	// differ (canmount and atime do not apply to volumes).
	Type zfs.Type
	// Encrypted is true when the source's encryption is neither "off" nor
	// empty: sends must be raw (-w).
	Encrypted bool
	// TargetExists is true when the target dataset is in the target
	// listing. A Full step happens only when it is false.
	TargetExists bool

	// Steps are the sends to receive, in order; empty when up to date,
	// empty of work, or in conflict.
	Steps []Step
	// Replan is true when the plan ends with a Resume: which snapshot the
	// token completes is unknown without decoding it, so the executor
	// re-lists and re-plans this dataset after the resume.
	Replan bool
	// Conflict is nil when the dataset can proceed.
	Conflict *Conflict
	// UpToDate is true when the target's newest snapshot is the source's
	// newest: nothing to send.
	UpToDate bool
	// SourceEmpty is true when the source dataset has no snapshots: nothing
	// can be sent. Every snapshot the target holds is then in Vanished.
	SourceEmpty bool

	// Base is the newest common snapshot, by GUID, as the source names it:
	// the incremental base, held on both sides. It is set in a diverged
	// target and while a resume is pending too. TargetBase is the same
	// snapshot as the target names it (a snapshot renamed on one side has
	// another name on the other).
	Base, TargetBase *SnapRef
	// Vanished are the snapshots the target holds whose GUID the source no
	// longer has, as the target names them, by target createtxg: history
	// the source pruned (normal; info), and in a diverged target the newer
	// ones as well. The vault keeps them all.
	Vanished []SnapRef

	// New are the source snapshots the steps would bring into an existing
	// target, oldest first (empty for a first full receive, a resume, or
	// nothing to send): what max_new_snapshots bounds.
	New []SnapRef
	// Common counts the target's snapshots that the source still has.
	Common int
	// Brings counts the source snapshots the steps would bring, full receives included.
	Brings int
	// TargetReferenced is the target's referenced bytes before the pull (0
	// when unknown): what the rewrite tripwire compares an incremental with.
	TargetReferenced uint64
	// HeldSource and HeldTarget are the snapshots with holds (any tag) on each
	// side, other than the base: where a stale vault hold may hide. Empty
	// when the listings have no userrefs column.
	HeldSource, HeldTarget []SnapRef
}

// StepKind is what a [Step] sends. The zero StepKind is not a valid kind.
// There is no kind that destroys, rolls back or forces a receive: the vault
// never does.
type StepKind int

// The kinds of step.
const (
	// Full is a full send of Step.To into a target dataset that does not
	// exist yet.
	Full StepKind = iota + 1
	// Incremental is an incremental send from Step.From, which the target
	// has, to Step.To: -I with the intermediate snapshots, -i without.
	Incremental
	// Resume resumes an interrupted receive with zfs send -t Step.Token.
	Resume
)

func (k StepKind) String() string {
	switch k {
	case Full:
		return "full"
	case Incremental:
		return "incremental"
	case Resume:
		return "resume"
	}
	return fmt.Sprintf("StepKind(%d)", int(k))
}

// Step is one send and receive.
type Step struct {
	Kind StepKind
	// From is the incremental source, a source snapshot the target holds
	// (by GUID); nil for Full and Resume.
	From *SnapRef
	// To is the source snapshot that is newest on the target after the
	// step. It is the zero SnapRef for Resume: which snapshot a token
	// completes is not known without decoding it (see DatasetPlan.Replan).
	To SnapRef
	// Intermediates selects -I (send every snapshot between From and To)
	// over -i. Only Incremental uses it.
	Intermediates bool
	// Token is the target's receive_resume_token, for Resume only.
	Token string
}

// String describes the step in one line for a dry run, such as
// "incremental pool/fs@a -I pool/fs@c".
func (s Step) String() string {
	switch s.Kind {
	case Full:
		return "full " + s.To.Name.String()
	case Incremental:
		flag := "-i"
		if s.Intermediates {
			flag = "-I"
		}
		from := "?"
		if s.From != nil {
			from = s.From.Name.String()
		}
		return fmt.Sprintf("incremental %s %s %s", from, flag, s.To.Name)
	case Resume:
		tok := s.Token
		if len(tok) > 24 {
			tok = tok[:24] + "..."
		}
		return "resume " + tok
	}
	return s.Kind.String()
}

// SnapRef identifies a snapshot: its name on one side, and its GUID, which
// is the same on every host that holds a copy. CreateTXG is the side's own.
// In a Step and in Base it is a source snapshot; in TargetBase and Vanished a
// target one.
type SnapRef struct {
	Name      zfs.Snapshot
	GUID      uint64
	CreateTXG uint64
}

// ConflictKind says why a dataset cannot proceed. The zero ConflictKind is
// not a valid kind.
type ConflictKind int

// The kinds of conflict.
const (
	// Diverged: the target's newest snapshot is not on the source, so an
	// incremental from the common base cannot be received without a
	// rollback.
	Diverged ConflictKind = iota + 1
	// NoCommonSnapshot: the target has snapshots, but none of them is on
	// the source.
	NoCommonSnapshot
	// NotOurs: the target dataset exists but has no snapshots (and no
	// interrupted receive): it was not received by the vault, and receiving
	// into it would take -F.
	NotOurs
	// NameClash: a snapshot the source would send has the name of a
	// different snapshot (another GUID) the target already holds, so the
	// receive would fail.
	NameClash
)

func (k ConflictKind) String() string {
	switch k {
	case Diverged:
		return "diverged"
	case NoCommonSnapshot:
		return "no common snapshot"
	case NotOurs:
		return "not ours"
	case NameClash:
		return "name clash"
	}
	return fmt.Sprintf("ConflictKind(%d)", int(k))
}

// Conflict is why a dataset stops. Detail is a message for the operator; the
// executor adds the `vault resolve` hint.
type Conflict struct {
	Kind   ConflictKind
	Detail string
}

func (c *Conflict) Error() string { return c.Detail }

// Plan works out, per source dataset in scope, what brings its target up to
// date. It returns an error only for input that cannot be right: no roots, no
// TargetFor, a root missing from the listing, an entry without the columns
// the planner needs (type, guid, createtxg; encryption for a source dataset
// in scope, since guessing "off" would send an encrypted dataset decrypted),
// a snapshot whose dataset is not listed, two snapshots
// of one dataset with the same GUID or createtxg, a dataset listed twice
// differently, TargetFor failing, or two sources landing on one target.
//
// Per dataset, with snapshots ordered by createtxg (never by name or
// creation time) and matched across sides by GUID (never by name):
//
//   - Target absent: a Full of the oldest source snapshot, then one -I from
//     it to the newest (if that is another). NewestOnly: a Full of the
//     newest. A source with no snapshots: nothing, SourceEmpty.
//   - Source without snapshots: nothing to send, SourceEmpty; the target's
//     snapshots are all Vanished (kept). A target without snapshots is then
//     no conflict either: it may be a container the executor created. A
//     pending resume token is left alone: the source cannot serve it.
//   - Target with a receive_resume_token: one Resume step and Replan. The
//     target may be an interrupted full receive without snapshots.
//   - Target without snapshots: NotOurs.
//   - No target snapshot on the source: NoCommonSnapshot.
//   - The base, the target snapshot with the highest target createtxg whose
//     GUID the source has, is not the target's newest: Diverged.
//   - Otherwise one Incremental from the base to the source's newest (-I;
//     NewestOnly -i), or UpToDate. Source snapshots older than the base
//     that the target lacks are not backfilled. A sent snapshot whose name
//     the target already uses for another snapshot: NameClash.
//
// No plan destroys, rolls back or forces anything; snapshots the source lost
// are reported in Vanished, never mirrored.
//
// Bookmarks are ignored. A bookmark on the source could serve as the
// incremental source when the source has lost the target's newest snapshot
// (zfs send -i fs#bm), which would turn some Diverged cases into
// incrementals; the vault holds its base on the source instead.
//
// The plan depends only on the input's content, not on the order of the
// entries.
func Plan(in Input) (*JobPlan, error) {
	if len(in.Sources) == 0 {
		return nil, errors.New("cannot plan pull: no source datasets")
	}
	if in.TargetFor == nil {
		return nil, errors.New("cannot plan pull: no target mapping")
	}
	src, err := indexListing("source", in.Source)
	if err != nil {
		return nil, err
	}
	dst, err := indexListing("target", in.Target)
	if err != nil {
		return nil, err
	}
	sc, err := newScope(in)
	if err != nil {
		return nil, err
	}
	for _, r := range sc.roots {
		if _, ok := src[r]; !ok {
			return nil, fmt.Errorf("cannot plan pull: source root %q is not in the source listing", r)
		}
	}

	// The datasets in scope, in name order so that errors are deterministic.
	var names []zfs.Dataset
	for name := range src {
		if sc.includes(name) {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, compareDatasets)

	jp := &JobPlan{Datasets: make([]DatasetPlan, 0, len(names))}
	landed := make(map[zfs.Dataset]zfs.Dataset, len(names)) // target -> source
	for _, name := range names {
		target, ok := in.TargetFor(name)
		if !ok || target.IsZero() {
			return nil, fmt.Errorf("cannot plan pull: no target for source dataset %q", name)
		}
		if other, dup := landed[target]; dup {
			return nil, fmt.Errorf("cannot plan pull: source datasets %q and %q both land on %q", other, name, target)
		}
		landed[target] = name
		p, err := planDataset(src[name], target, dst[target], in.NewestOnly)
		if err != nil {
			return nil, err
		}
		jp.Datasets = append(jp.Datasets, p)
	}
	slices.SortFunc(jp.Datasets, func(a, b DatasetPlan) int { return compareDatasets(a.Target, b.Target) })
	jp.Orphans = orphans(in, sc, src, dst, landed)
	return jp, nil
}

// planDataset plans one source dataset s whose target is named target; t is
// the target's listing, nil if it does not exist.
func planDataset(s *listed, target zfs.Dataset, t *listed, newestOnly bool) (DatasetPlan, error) {
	p := DatasetPlan{
		Source:       s.name,
		Target:       target,
		Type:         s.typ,
		Encrypted:    s.encryption != "" && s.encryption != "off",
		TargetExists: t != nil,
		SourceEmpty:  len(s.snaps) == 0,
	}
	if s.encryption == "" {
		// Without -w an encrypted dataset is sent decrypted: never guess.
		return p, fmt.Errorf("cannot plan pull: source listing: dataset %q has no encryption value (list the encryption column)", s.name)
	}
	if err := s.prepare("source", true); err != nil {
		return p, err
	}
	ss := s.snaps
	if t == nil {
		if p.SourceEmpty {
			return p, nil
		}
		oldest, newest := ss[0].ref(), ss[len(ss)-1].ref()
		if newestOnly {
			p.Steps = []Step{{Kind: Full, To: newest}}
			p.Brings = 1
			return p, nil
		}
		p.Brings = len(ss)
		p.Steps = []Step{{Kind: Full, To: oldest}}
		if len(ss) > 1 {
			p.Steps = append(p.Steps, Step{Kind: Incremental, From: &oldest, To: newest, Intermediates: true})
		}
		return p, nil
	}

	if err := t.prepare("target", false); err != nil {
		return p, err
	}
	ts := t.snaps
	p.TargetReferenced = t.referenced
	baseT, baseS := -1, -1
	for i := len(ts) - 1; i >= 0; i-- {
		if j, ok := s.byGUID[ts[i].guid]; ok {
			baseT, baseS = i, j
			break
		}
	}
	for _, sn := range ts {
		if _, ok := s.byGUID[sn.guid]; !ok {
			p.Vanished = append(p.Vanished, sn.ref())
		}
	}
	p.Common = len(ts) - len(p.Vanished)
	if baseT >= 0 {
		b, tb := ss[baseS].ref(), ts[baseT].ref()
		p.Base, p.TargetBase = &b, &tb
	}
	for i, sn := range ss {
		if sn.userrefs > 0 && i != baseS {
			p.HeldSource = append(p.HeldSource, sn.ref())
		}
	}
	for i, sn := range ts {
		if sn.userrefs > 0 && i != baseT {
			p.HeldTarget = append(p.HeldTarget, sn.ref())
		}
	}

	switch {
	case p.SourceEmpty:
		// Nothing to send, nor to resume from; everything the target holds
		// is in Vanished.
	case t.token != "":
		p.Steps = []Step{{Kind: Resume, Token: t.token}}
		p.Replan = true
	case len(ts) == 0:
		p.Conflict = &Conflict{Kind: NotOurs, Detail: fmt.Sprintf(
			"target %q exists but has no snapshots, so it was not received from %q; "+
				"the vault never receives over an existing dataset (that would take zfs receive -F): "+
				"rename it away or map %q to another target", target, s.name, s.name)}
	case baseT < 0:
		p.Conflict = &Conflict{Kind: NoCommonSnapshot, Detail: fmt.Sprintf(
			"target %q has no snapshot in common with source %q (by guid): "+
				"the target holds %d, newest %q; the source has %d, newest %q; "+
				"an incremental is impossible and the vault never overwrites a target",
			target, s.name, len(ts), ts[len(ts)-1].name, len(ss), ss[len(ss)-1].name)}
	case baseT != len(ts)-1:
		p.Conflict = &Conflict{Kind: Diverged, Detail: fmt.Sprintf(
			"target %q has diverged from source %q: the newest common snapshot is %q, "+
				"but the target holds %d newer snapshot(s) the source does not have, newest %q; "+
				"the source was rolled back or destroyed them, or someone snapshotted the target",
			target, s.name, ss[baseS].name, len(ts)-1-baseT, ts[len(ts)-1].name)}
	case baseS == len(ss)-1:
		p.UpToDate = true
	default:
		from := *p.Base // the step's own copy: no aliasing with p.Base
		step := Step{Kind: Incremental, From: &from, To: ss[len(ss)-1].ref(), Intermediates: !newestOnly}
		sent := ss[len(ss)-1:]
		if step.Intermediates {
			sent = ss[baseS+1:]
		}
		if c := nameClash(sent, ts, target); c != nil {
			p.Conflict = c
			return p, nil
		}
		p.Steps = []Step{step}
		for _, sn := range sent {
			p.New = append(p.New, sn.ref())
		}
		p.Brings = len(sent)
	}
	return p, nil
}

// nameClash returns a NameClash conflict if a snapshot in sent (source
// snapshots the step would create on the target) has the short name of a
// snapshot the target holds. That is another snapshot (another GUID): a
// target snapshot on the source is older than the base.
func nameClash(sent, ts []snap, target zfs.Dataset) *Conflict {
	shorts := make(map[string]*snap, len(sent))
	for i := range sent {
		shorts[sent[i].name.Short()] = &sent[i]
	}
	for _, t := range ts {
		if s, ok := shorts[t.name.Short()]; ok {
			return &Conflict{Kind: NameClash, Detail: fmt.Sprintf(
				"cannot receive %q into %q: the target already holds a snapshot named %q "+
					"(guid %d; the source's has guid %d), so the receive would fail; rename one of them",
				s.name, target, t.name, t.guid, s.guid)}
		}
	}
	return nil
}
