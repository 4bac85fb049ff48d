package prune

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/zfs"
)

// Snapshot is one snapshot as the planner sees it: the columns of
// `zfs list -p -o name,guid,createtxg,creation,userrefs`.
type Snapshot struct {
	Name      zfs.Snapshot
	GUID      uint64
	CreateTXG uint64
	Creation  time.Time // the creation property; the zero Time if unknown
	UserRefs  uint64    // the number of holds
}

// SnapshotFromEntry returns the snapshot a zfs list entry describes, and
// false if the entry is not a snapshot. The entry should carry the name,
// guid, createtxg, creation and userrefs columns.
func SnapshotFromEntry(e zfs.Entry) (Snapshot, bool) {
	name, ok := e.Snapshot()
	if !ok {
		return Snapshot{}, false
	}
	return Snapshot{Name: name, GUID: e.GUID, CreateTXG: e.CreateTXG, Creation: e.Creation, UserRefs: e.UserRefs}, true
}

// Freeze says why a dataset must not be pruned at all: its last pull failed
// or diverged, or it tripped the anomaly alarm.
type Freeze struct {
	Reason string // for an operator: "last pull diverged", "anomaly: ..."
}

// DatasetInput is one dataset to plan: all its snapshots, in any order, its
// freeze, nil when it is not frozen, and the lies the operator acknowledged.
type DatasetInput struct {
	Dataset   zfs.Dataset
	Snapshots []Snapshot
	Freeze    *Freeze
	// AckedLies holds the GUIDs of snapshots whose dates lie that the
	// operator acknowledged (vault ack). Each is taken for a liar for good,
	// whatever its dates say now: kept, left out of the grid and of the
	// order, but it no longer freezes the dataset and is not reported in
	// [DatasetPlan.Lies].
	AckedLies map[uint64]bool
}

// Verdict is what happens to one snapshot, and why.
type Verdict struct {
	Snapshot Snapshot
	Destroy  bool
	// Reason is one line for an operator, the strongest reason to keep a
	// kept snapshot or what let a destroyed one go: "kept: newest",
	// "kept: held (2 holds)", "kept: ttl 1w until 2026-12-01 10:00",
	// "kept: daily 3 of 14 (2026-11-24)",
	// "destroy: ttl 1w expired 2026-11-20 00:00 and outside the grid".
	Reason string
	// Rule is Reason as a machine tag, one of the Rule constants.
	Rule string
}

// DatasetPlan is the plan for one dataset.
type DatasetPlan struct {
	Dataset zfs.Dataset
	// Verdicts holds one verdict for each snapshot in the input, oldest
	// first (ascending createtxg).
	Verdicts []Verdict
	// Frozen is the input's Freeze, or one the planner set because the input
	// for the dataset was malformed or a snapshot's date lies; nil otherwise.
	// Nothing in a frozen dataset is destroyed.
	Frozen *Freeze
	// Lies are the snapshots whose dates lie and that the operator has not
	// acknowledged, oldest first; while there are any, the dataset is frozen.
	// They are found in every well-formed dataset, frozen or not, under
	// valid rules or not, so that the caller can raise the alarm.
	Lies []Lie
}

// Destroy returns the snapshots the plan destroys, oldest first.
func (p DatasetPlan) Destroy() []zfs.Snapshot {
	var d []zfs.Snapshot
	for i := range p.Verdicts {
		if p.Verdicts[i].Destroy {
			d = append(d, p.Verdicts[i].Snapshot.Name)
		}
	}
	return d
}

// Plan returns a verdict for every snapshot of every dataset in in under the
// rules r at time now, one DatasetPlan per dataset in name order. It is pure
// and deterministic: the same input in any order gives the same plan. The
// package documentation describes the rules and the rails exactly.
func Plan(in []DatasetInput, r Rules, now time.Time) []DatasetPlan {
	p := newPlanner(r, now)
	order := make([]int, len(in))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return strings.Compare(in[a].Dataset.String(), in[b].Dataset.String())
	})
	out := make([]DatasetPlan, 0, len(in))
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && in[order[hi]].Dataset == in[order[lo]].Dataset {
			hi++
		}
		first := &in[order[lo]]
		if hi-lo == 1 {
			out = append(out, p.dataset(first.Dataset, first.Snapshots, first.Freeze, first.AckedLies, ""))
		} else {
			// One dataset given more than once: which listing is right is
			// anybody's guess. Keep everything in all of them, as one plan,
			// so the output does not depend on the input's order.
			var all []Snapshot
			for _, i := range order[lo:hi] {
				all = append(all, in[i].Snapshots...)
			}
			out = append(out, p.dataset(first.Dataset, all, nil, nil, fmt.Sprintf("the dataset is given %d times", hi-lo)))
		}
		lo = hi
	}
	return out
}

// planner holds the rules in the form the planner uses, and scratch space
// reused from one dataset to the next.
type planner struct {
	r        Rules
	now      time.Time
	loc      *time.Location
	tol      time.Duration // the date tolerance in force
	rulesErr error
	grid     [numUnits]GridRule // by unit; Unit 0 for a unit with no rule
	hasGrid  bool
	minKeep  int
	maxDel   int

	info  []snapInfo
	order []int32
	seen  map[int64]struct{}
	names map[string]struct{}
	guids map[uint64]struct{}
}

// snapInfo is what the planner works out about one snapshot.
type snapInfo struct {
	name   policy.Name
	parsed bool      // the name is a zfsnap2 name
	t      time.Time // age time, in the rules' location
	known  bool      // t is known: a zfsnap2 name or a creation time
	lie    string    // why its date lies, or ""
	liar   bool      // lie != "", or acknowledged
	acked  bool      // a liar the operator acknowledged
	top    int32     // among those that do not lie, 1 for the newest, 2 for the next; 0 for a liar
	future bool      // t is after now
	inGrid bool      // the grid judges the snapshot
	ranks  [numUnits]int32
}

func newPlanner(r Rules, now time.Time) *planner {
	p := &planner{
		r:        r,
		now:      now,
		loc:      r.Location,
		rulesErr: r.Validate(),
		minKeep:  max(r.MinKeep, 1),
		maxDel:   max(r.MaxDestroy, 0),
		tol:      r.DateTolerance,
		seen:     map[int64]struct{}{},
		names:    map[string]struct{}{},
		guids:    map[uint64]struct{}{},
	}
	if p.loc == nil {
		p.loc = time.Local
	}
	if p.tol <= 0 {
		p.tol = DefaultDateTolerance // a negative one fails Validate too
	}
	if p.rulesErr == nil {
		for _, g := range r.Grid {
			p.grid[g.Unit] = g
			p.hasGrid = true
		}
	}
	return p
}

// compareSnapshots orders by createtxg, then, for malformed input only, by
// every other field, so that the order never depends on the input's.
func compareSnapshots(a, b Snapshot) int {
	return cmp.Or(
		cmp.Compare(a.CreateTXG, b.CreateTXG),
		strings.Compare(a.Name.String(), b.Name.String()),
		cmp.Compare(a.GUID, b.GUID),
		a.Creation.Compare(b.Creation),
		cmp.Compare(a.UserRefs, b.UserRefs),
	)
}

func (p *planner) dataset(ds zfs.Dataset, snaps []Snapshot, freeze *Freeze, acked map[uint64]bool, malformed string) DatasetPlan {
	s := slices.Clone(snaps)
	slices.SortFunc(s, compareSnapshots)
	v := make([]Verdict, len(s))
	for i := range s {
		v[i].Snapshot = s[i]
	}
	if malformed == "" {
		malformed = p.check(ds, s)
	}
	plan := DatasetPlan{Dataset: ds, Verdicts: v, Frozen: freeze}
	if malformed == "" {
		// Lies are looked for whatever else holds the dataset back: the
		// caller raises the alarm on them.
		plan.Lies = p.dates(v, acked)
	}
	switch {
	case freeze != nil:
		reason := "kept: dataset frozen"
		if freeze.Reason != "" {
			reason += ": " + freeze.Reason
		}
		keepAll(v, RuleFrozen, reason)
	case malformed != "":
		plan.Frozen = &Freeze{Reason: "malformed input: " + malformed}
		keepAll(v, RuleMalformed, "kept: malformed input: "+malformed)
	case p.rulesErr != nil:
		keepAll(v, RuleInvalidRules, "kept: invalid prune rules: "+p.rulesErr.Error())
	case len(plan.Lies) > 0:
		plan.Frozen = &Freeze{Reason: liesReason(plan.Lies)}
		frozen := "kept: dataset frozen: " + plan.Frozen.Reason
		for i := range v {
			if in := &p.info[i]; in.liar {
				v[i].Rule, v[i].Reason = RuleLiar, liarReason(in)
			} else {
				v[i].Rule, v[i].Reason = RuleFrozen, frozen
			}
		}
	default:
		p.judge(v)
	}
	return plan
}

func keepAll(v []Verdict, rule, reason string) {
	for i := range v {
		v[i].Rule, v[i].Reason = rule, reason
	}
}

// check returns what is inconsistent in a dataset's snapshots, sorted by
// compareSnapshots, or "".
func (p *planner) check(ds zfs.Dataset, s []Snapshot) string {
	if ds.IsZero() {
		return "no dataset name"
	}
	clear(p.names)
	clear(p.guids)
	for i := range s {
		name := s[i].Name
		switch {
		case name.IsZero():
			return "a snapshot with no name"
		case name.Dataset() != ds:
			return fmt.Sprintf("snapshot %q is not a snapshot of the dataset", name)
		case i > 0 && s[i-1].CreateTXG == s[i].CreateTXG:
			return fmt.Sprintf("snapshots %q and %q have the same createtxg %d", s[i-1].Name, name, s[i].CreateTXG)
		}
		if _, dup := p.names[name.String()]; dup {
			return fmt.Sprintf("snapshot %q is listed twice", name)
		}
		p.names[name.String()] = struct{}{}
		if _, dup := p.guids[s[i].GUID]; dup {
			return fmt.Sprintf("two snapshots have guid %d", s[i].GUID)
		}
		p.guids[s[i].GUID] = struct{}{}
	}
	return ""
}

// judge fills in the verdicts of a well-formed, unfrozen dataset with no
// lie that is not acknowledged, v sorted oldest first and p.info filled in
// by dates.
func (p *planner) judge(v []Verdict) {
	info := p.info
	for i := range info {
		in := &info[i]
		in.future = in.known && !in.liar && in.t.After(p.now)
		in.inGrid = p.hasGrid && in.known && !in.liar && !in.future && (in.parsed || !p.r.KeepUnparsed)
	}
	if p.hasGrid {
		p.order = selectGrid(info, &p.grid, p.order, p.seen)
	}

	destroyed := 0
	for i := range v {
		rule, reason, candidate := p.verdict(&v[i].Snapshot, &info[i])
		if candidate {
			if destroyed < p.maxDel {
				destroyed++
				v[i].Destroy = true
			} else {
				// The oldest candidates come first, so these are the
				// newest: they go in a later run.
				rule = RuleMaxDestroy
				reason = fmt.Sprintf("kept: max_destroy %d reached (%s)", p.maxDel, strings.TrimPrefix(reason, "destroy: "))
			}
		}
		v[i].Rule, v[i].Reason = rule, reason
	}
}

// verdict judges one snapshot: the rails, then the rules. candidate is true
// when the rules let it go; max_destroy is the caller's.
func (p *planner) verdict(s *Snapshot, in *snapInfo) (rule, reason string, candidate bool) {
	r := &p.r
	switch {
	case in.liar:
		return RuleLiar, liarReason(in), false
	case in.top == 1:
		return RuleNewest, "kept: newest", false
	case s.UserRefs > 0:
		return RuleHeld, fmt.Sprintf("kept: held (%d %s)", s.UserRefs, plural(s.UserRefs, "hold")), false
	case in.parsed && in.name.TTL.Forever:
		return RuleForever, "kept: ttl forever", false
	case in.future:
		return RuleFuture, "kept: dated in the future (" + stamp(in.t) + ")", false
	case in.known && p.now.Sub(in.t) < r.MinAge:
		return RuleMinAge, fmt.Sprintf("kept: younger than min_age %s (age %s)",
			conf.FormatDuration(r.MinAge), conf.FormatDuration(p.now.Sub(in.t).Round(time.Second))), false
	case int(in.top) <= p.minKeep:
		return RuleMinKeep, fmt.Sprintf("kept: min_keep %d (%s newest)", p.minKeep, ordinal(int(in.top))), false
	case !in.parsed && r.KeepUnparsed:
		return RuleUnparsed, "kept: not a zfsnap2 name (keep_unparsed)", false
	case !in.known:
		return RuleUnparsed, "kept: not a zfsnap2 name, and no creation time", false
	case !r.SourceTTL && !p.hasGrid:
		return RuleNoRules, "kept: no prune rules (no source_ttl, no grid)", false
	}

	// The rules. Each keeps, lets go, or (the TTL rule, for a name that is
	// not a zfsnap2 name) has no opinion.
	ttlLetsGo := false
	var expiry time.Time
	if r.SourceTTL && in.parsed {
		expiry = in.name.ExpiresAt(r.TTLFactor)
		if expiry.Equal(policy.Never()) {
			return RuleTTL, "kept: " + p.ttl(in) + " never runs out", false
		}
		if p.now.Before(expiry) {
			return RuleTTL, "kept: " + p.ttl(in) + " until " + stamp(expiry), false
		}
		ttlLetsGo = true
	}
	if p.hasGrid && in.ranks != ([numUnits]int32{}) {
		return RuleGrid, "kept: " + gridReason(in, &p.grid), false
	}
	switch {
	case ttlLetsGo && p.hasGrid:
		return RuleExpired, "destroy: " + p.ttl(in) + " expired " + stamp(expiry) + " and outside the grid", true
	case ttlLetsGo:
		return RuleExpired, "destroy: " + p.ttl(in) + " expired " + stamp(expiry), true
	case p.hasGrid && in.parsed:
		return RuleOutsideGrid, "destroy: outside the grid", true
	case p.hasGrid:
		return RuleOutsideGrid, "destroy: not a zfsnap2 name, outside the grid", true
	}
	// Only the TTL rule, and it has no opinion on this name.
	return RuleUnparsed, "kept: not a zfsnap2 name, and no rule judges it (source_ttl reads zfsnap2 names only)", false
}

// ttl describes the TTL rule as applied to in: "ttl 1w", "ttl 1w x2".
func (p *planner) ttl(in *snapInfo) string {
	if p.r.TTLFactor == 1 {
		return "ttl " + in.name.TTL.String()
	}
	return fmt.Sprintf("ttl %s x%v", in.name.TTL, p.r.TTLFactor)
}

// stamp formats t for a reason, to the minute unless it has seconds.
func stamp(t time.Time) string {
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02 15:04")
	}
	return t.Format("2006-01-02 15:04:05")
}

func plural(n uint64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// ordinal returns "1st", "2nd", "3rd", "4th", ..., "11th", "21st".
func ordinal(n int) string {
	suffix := "th"
	switch n % 10 {
	case 1:
		suffix = "st"
	case 2:
		suffix = "nd"
	case 3:
		suffix = "rd"
	}
	if n%100 >= 11 && n%100 <= 13 {
		suffix = "th"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
