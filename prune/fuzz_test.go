package prune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/zfs"
)

// FuzzPlan builds datasets, snapshots, holds, freezes and rules from the fuzz
// bytes, plans them, and checks with checkPlan that every rail holds, that
// each snapshot has exactly one verdict, and that the plan does not depend
// on the input's order.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x00\x00\x05\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0\xf0"))
	f.Add([]byte("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0\xef\xee\xed\xec"))
	f.Add([]byte("fourteen daily, eight weekly, twelve monthly, forever yearly; keep the newest"))
	addRandomSeeds(f, 1, 2)
	f.Fuzz(func(t *testing.T, data []byte) {
		in, rules, now := fuzzInput(t, data)
		checkPlan(t, in, rules, now)
	})
}

// TestPlanRandom runs FuzzPlan's checks on pseudo-random inputs, so that
// plain go test covers them too.
func TestPlanRandom(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	r := rand.New(rand.NewPCG(7, 11))
	for range n {
		b := make([]byte, r.IntN(400))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		in, rules, now := fuzzInput(t, b)
		checkPlan(t, in, rules, now)
		if t.Failed() {
			t.Fatalf("input bytes %q", b)
		}
	}
}

// byteReader hands out fuzz bytes, then zeros.
type byteReader struct{ b []byte }

func (r *byteReader) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *byteReader) pick(n int) int { return int(r.next()) % n }

var (
	fuzzLocsOnce sync.Once
	fuzzLocs     []*time.Location
)

// locations: UTC, a northern and a southern DST zone, one with a 30-minute
// DST shift, and one that used to fall back across midnight.
func locations(t testing.TB) []*time.Location {
	fuzzLocsOnce.Do(func() {
		fuzzLocs = []*time.Location{time.UTC}
		for _, name := range []string{"America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "America/Sao_Paulo"} {
			loc, err := time.LoadLocation(name)
			if err != nil {
				panic(err)
			}
			fuzzLocs = append(fuzzLocs, loc)
		}
	})
	return fuzzLocs
}

var fuzzTTLs = []string{"1h", "1d", "1w", "2w", "1m", "1y", "forever", "3d12h", "90M", "6m"}

func fuzzInput(t testing.TB, data []byte) ([]DatasetInput, Rules, time.Time) {
	r := &byteReader{b: data}
	locs := locations(t)
	loc := locs[r.pick(len(locs))]
	if r.pick(8) == 7 {
		loc = nil // time.Local
	}
	// Around DST switches and ISO week 53 of 2026.
	bases := []time.Time{
		time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 2, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 5, 3, 0, 0, 0, time.UTC),
	}
	now := bases[r.pick(len(bases))].Add(time.Duration(r.next()) * 17 * time.Minute)

	rules := Rules{
		SourceTTL:    r.pick(4) != 0,
		TTLFactor:    []float64{1, 1, 1, 1.5, 2, 1e300}[r.pick(6)],
		KeepUnparsed: r.pick(2) == 0,
		MinKeep:      r.pick(7) - 1,
		MinAge:       []time.Duration{0, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, -time.Hour}[r.pick(5)],
		MaxDestroy:   []int{-1, 0, 1, 2, 3, 5, 1000}[r.pick(7)],
		Location:     loc,

		DateTolerance: []time.Duration{0, 15 * time.Minute, time.Minute, time.Hour, 3 * time.Hour}[r.pick(5)],
	}
	if r.pick(16) == 15 {
		rules.TTLFactor = []float64{0, 0.5, math.NaN(), math.Inf(1)}[r.pick(4)] // invalid
	}
	if r.pick(32) == 31 {
		rules.DateTolerance = -time.Minute // invalid
	}
	for u := Hourly; u <= Yearly; u++ {
		switch c := r.pick(8); {
		case c < 3:
		case c == 3:
			rules.Grid = append(rules.Grid, GridRule{Forever: true, Unit: u})
		default:
			rules.Grid = append(rules.Grid, GridRule{Count: 1 + r.pick(6), Unit: u})
		}
	}
	if r.pick(32) == 31 && len(rules.Grid) > 0 {
		rules.Grid = append(rules.Grid, rules.Grid[0]) // invalid: a unit twice
	}
	slices.Reverse(rules.Grid[:len(rules.Grid)/2]) // any order

	var in []DatasetInput
	nds := 1 + r.pick(3)
	for d := range nds {
		name := fmt.Sprintf("tank/d%d", d)
		if r.pick(16) == 15 {
			name = "tank/d0" // the same dataset twice
		}
		dataset, err := zfs.ParseDataset(name)
		if err != nil {
			t.Fatal(err)
		}
		di := DatasetInput{Dataset: dataset}
		if r.pick(8) == 7 {
			di.Freeze = &Freeze{Reason: "last pull failed"}
		}
		n := r.pick(40)
		ts := now.Add(-time.Duration(r.next()) * 24 * time.Hour)
		txg := uint64(1 + r.pick(100))
		for i := range n {
			// Mostly forward in time, by minutes to weeks; sometimes back.
			step := time.Duration(r.pick(48)) * []time.Duration{time.Minute, 17 * time.Minute, time.Hour, 6 * time.Hour}[r.pick(4)]
			if r.pick(10) == 9 {
				step = -step
			}
			ts = ts.Add(step).Truncate(time.Second).Add(time.Duration(i) * time.Second)
			var short string
			var creation time.Time
			switch k := r.pick(10); {
			case k < 7:
				prefix := []string{"", "", "hourly-", "daily-"}[r.pick(4)]
				lt := ts.In(time.Local)
				if loc != nil {
					lt = ts.In(loc)
				}
				ttl, err := policy.ParseTTL(fuzzTTLs[r.pick(len(fuzzTTLs))])
				if err != nil {
					t.Fatal(err)
				}
				short = policy.FormatName(prefix, lt, ttl)
				creation = ts
			case k < 9:
				short = fmt.Sprintf("manual-%d", i)
				creation = ts
			default:
				short = fmt.Sprintf("nocreation-%d", i)
			}
			if r.pick(8) == 7 {
				creation = creation.Add(time.Duration(int(r.next())-128) * time.Hour) // creation disagrees with the name
			}
			sn, err := dataset.Snapshot(short)
			if err != nil {
				t.Fatal(err)
			}
			if r.next() != 255 {
				txg += uint64(1 + r.pick(5)) // else: the same createtxg twice
			}
			guid := uint64(d)<<32 | uint64(i+1)
			if r.next() == 255 {
				guid = 1 // two snapshots with one guid, now and then
			}
			var holds uint64
			if r.pick(6) == 5 {
				holds = uint64(1 + r.pick(3))
			}
			di.Snapshots = append(di.Snapshots, Snapshot{Name: sn, GUID: guid, CreateTXG: txg, Creation: creation.UTC(), UserRefs: holds})
			if r.pick(8) == 7 {
				if di.AckedLies == nil {
					di.AckedLies = map[uint64]bool{}
				}
				di.AckedLies[guid] = true // a lie acknowledged, or a GUID that does not lie
			}
		}
		// Any input order.
		for i := len(di.Snapshots) - 1; i > 0; i-- {
			j := r.pick(i + 1)
			di.Snapshots[i], di.Snapshots[j] = di.Snapshots[j], di.Snapshots[i]
		}
		in = append(in, di)
	}
	return in, rules, now
}

// checkPlan plans in and checks the plan: one plan per dataset in name
// order, the rails of each (checkRails), the same plan for the input
// reversed, and a second run on what the first leaves behind.
func checkPlan(t *testing.T, in []DatasetInput, r Rules, now time.Time) {
	t.Helper()
	plans := Plan(in, r, now)

	byName := map[zfs.Dataset][]DatasetInput{}
	for _, di := range in {
		byName[di.Dataset] = append(byName[di.Dataset], di)
	}
	if len(plans) != len(byName) {
		t.Fatalf("got %d plans for %d datasets", len(plans), len(byName))
	}
	for i, p := range plans {
		if i > 0 && plans[i-1].Dataset.String() >= p.Dataset.String() {
			t.Errorf("plans out of order: %q before %q", plans[i-1].Dataset, p.Dataset)
		}
		group := byName[p.Dataset]
		if len(group) == 0 {
			t.Fatalf("plan for %q, which is not in the input", p.Dataset)
		}
		di := group[0]
		if len(group) > 1 {
			di = DatasetInput{Dataset: p.Dataset, Freeze: givenTwice}
			for _, g := range group {
				di.Snapshots = append(di.Snapshots, g.Snapshots...)
			}
			if p.Frozen == nil {
				t.Errorf("%s: given %d times, got a plan that is not frozen", p.Dataset, len(group))
			}
		}
		checkRails(t, di, r, now, p)
	}

	// Any order: the same plan.
	rev := slices.Clone(in)
	slices.Reverse(rev)
	for i := range rev {
		rev[i].Snapshots = slices.Clone(rev[i].Snapshots)
		slices.Reverse(rev[i].Snapshots)
	}
	if again := Plan(rev, r, now); !reflect.DeepEqual(again, plans) {
		t.Errorf("reversed input: got another plan")
	}

	// A second run on what is left, at the same time, keeps what the
	// first kept by a rule and has exactly the first run's max_destroy
	// leftovers to consider.
	var left []DatasetInput
	for _, p := range plans {
		if p.Frozen != nil {
			continue
		}
		di := DatasetInput{Dataset: p.Dataset, AckedLies: in[slices.IndexFunc(in, func(x DatasetInput) bool { return x.Dataset == p.Dataset })].AckedLies}
		for _, v := range p.Verdicts {
			if !v.Destroy {
				di.Snapshots = append(di.Snapshots, v.Snapshot)
			}
		}
		left = append(left, di)
	}
	second := Plan(left, r, now)
	for i, p := range second {
		first := map[string]Verdict{}
		var wantNext []string
		for _, v := range plans[slices.IndexFunc(plans, func(q DatasetPlan) bool { return q.Dataset == left[i].Dataset })].Verdicts {
			first[v.Snapshot.Name.String()] = v
			if v.Rule == RuleMaxDestroy {
				wantNext = append(wantNext, v.Snapshot.Name.String())
			}
		}
		var gotNext []string
		for _, v := range p.Verdicts {
			was := first[v.Snapshot.Name.String()]
			if v.Destroy && (was.Rule == RuleTTL || was.Rule == RuleGrid) {
				t.Errorf("%s: kept by %q in the first run, destroyed in the second: %s", v.Snapshot.Name, was.Rule, v.Reason)
			}
			if v.Destroy || v.Rule == RuleMaxDestroy {
				gotNext = append(gotNext, v.Snapshot.Name.String())
			}
		}
		if !slices.Equal(gotNext, wantNext) {
			t.Errorf("%s: second run considers %q, want the first run's max_destroy leftovers %q", p.Dataset, gotNext, wantNext)
		}
	}
}

// givenTwice is the Freeze checkPlan gives checkRails for the snapshots of
// a dataset given more than once, all together: malformed input.
var givenTwice = &Freeze{Reason: "the dataset is given more than once"}

// checkRails checks one dataset's plan against its input, with as little of
// the planner's own code as it can: exactly one verdict per snapshot, oldest
// first, the lies refDates finds and no others, and no destroy that a rail
// or a rule forbids.
func checkRails(t *testing.T, in DatasetInput, r Rules, now time.Time, p DatasetPlan) {
	t.Helper()
	twice := in.Freeze == givenTwice
	if p.Dataset != in.Dataset {
		t.Errorf("got plan for %q, want %q", p.Dataset, in.Dataset)
	}
	// Exactly one verdict per input snapshot.
	got := make([]Snapshot, len(p.Verdicts))
	for i, v := range p.Verdicts {
		got[i] = v.Snapshot
	}
	want := slices.Clone(in.Snapshots)
	gotSorted := slices.Clone(got)
	slices.SortFunc(gotSorted, compareSnapshots) // a total order on every field
	slices.SortFunc(want, compareSnapshots)
	if !reflect.DeepEqual(gotSorted, want) && !(len(gotSorted) == 0 && len(want) == 0) {
		t.Fatalf("%s: the verdicts' snapshots are not the input's:\ngot  %+v\nwant %+v", in.Dataset, gotSorted, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].CreateTXG > got[i].CreateTXG {
			t.Errorf("%s: verdicts not oldest first: createtxg %d before %d", in.Dataset, got[i-1].CreateTXG, got[i].CreateTXG)
		}
	}

	loc := r.Location
	if loc == nil {
		loc = time.Local
	}
	n := len(in.Snapshots)
	wellFormed := !in.Dataset.IsZero() && !twice
	txgs, names, guids := map[uint64]bool{}, map[string]bool{}, map[uint64]bool{}
	for _, s := range in.Snapshots {
		wellFormed = wellFormed && !s.Name.IsZero() && s.Name.Dataset() == in.Dataset &&
			!txgs[s.CreateTXG] && !names[s.Name.String()] && !guids[s.GUID]
		txgs[s.CreateTXG], names[s.Name.String()], guids[s.GUID] = true, true, true
	}

	// The lies: exactly those refDates finds, and none in malformed input.
	dates := refDates(in, r, now)
	var wantLies []string
	if wellFormed {
		for _, s := range want {
			if d := dates[s.Name.String()]; d.liar && !d.acked {
				wantLies = append(wantLies, fmt.Sprintf("%s (guid %d)", s.Name, s.GUID))
			}
		}
	}
	var gotLies []string
	for _, l := range p.Lies {
		gotLies = append(gotLies, fmt.Sprintf("%s (guid %d)", l.Snapshot, l.GUID))
		if l.Why == "" {
			t.Errorf("%s: a lie with no why", l.Snapshot)
		}
	}
	if !slices.Equal(gotLies, wantLies) {
		t.Errorf("%s: got lies %q, want %q", in.Dataset, gotLies, wantLies)
	}

	// The newest minKeep of the snapshots whose dates do not lie.
	minKeep := max(r.MinKeep, 1)
	var newest uint64
	protected := map[string]bool{}
	for i := len(want) - 1; i >= 0 && len(protected) < minKeep; i-- {
		if !dates[want[i].Name.String()].liar {
			protected[want[i].Name.String()] = true
			newest = max(newest, want[i].CreateTXG)
		}
	}
	selected := refGrid(in.Snapshots, r, now, dates)

	destroyed, kept := 0, 0
	var lastDestroyed uint64
	for _, v := range p.Verdicts {
		s := v.Snapshot
		d := dates[s.Name.String()]
		if v.Rule == "" || v.Reason == "" {
			t.Errorf("%s: no rule or reason: %+v", s.Name, v)
		}
		if v.Destroy != strings.HasPrefix(v.Reason, "destroy: ") || v.Destroy == strings.HasPrefix(v.Reason, "kept: ") {
			t.Errorf("%s: destroy %v with reason %q", s.Name, v.Destroy, v.Reason)
		}
		if wellFormed && in.Freeze == nil && r.Validate() == nil && (v.Rule == RuleLiar) != d.liar {
			t.Errorf("%s: rule %q (%s), but refDates says liar %v", s.Name, v.Rule, v.Reason, d.liar)
		}
		if !v.Destroy {
			kept++
			continue
		}
		destroyed++
		lastDestroyed = max(lastDestroyed, s.CreateTXG)
		fail := func(why string) { t.Errorf("%s destroyed (%s) but %s", s.Name, v.Reason, why) }
		if in.Freeze != nil || p.Frozen != nil {
			fail("the dataset is frozen")
		}
		if !wellFormed {
			fail("the input is malformed")
		}
		if len(wantLies) > 0 {
			fail("a date in the dataset lies")
		}
		if d.liar {
			fail("its date lies")
		}
		if r.Validate() != nil {
			fail("the rules are invalid")
		}
		if !r.SourceTTL && len(r.Grid) == 0 {
			fail("there are no rules")
		}
		if s.CreateTXG == newest {
			fail("it is the newest")
		}
		if protected[s.Name.String()] {
			fail(fmt.Sprintf("it is among the newest %d", minKeep))
		}
		if s.UserRefs > 0 {
			fail("it is held")
		}
		name, parsed := policy.ParseName(s.Name.Short(), loc)
		if parsed && name.TTL.Forever {
			fail("its TTL is forever")
		}
		if !parsed && r.KeepUnparsed {
			fail("keep_unparsed is set")
		}
		if !d.known {
			fail("its age is unknown")
		}
		if d.t.After(now) {
			fail("it is dated in the future")
		}
		if now.Sub(d.t) < r.MinAge {
			fail("it is younger than min_age")
		}
		if r.SourceTTL && parsed && !name.Expired(now, r.TTLFactor) {
			fail("its TTL has not run out")
		}
		if len(r.Grid) > 0 && selected[s.Name.String()] {
			fail("the grid selects it")
		}
		if len(r.Grid) == 0 && !(r.SourceTTL && parsed) {
			fail("no rule lets it go")
		}
	}
	if destroyed > max(r.MaxDestroy, 0) {
		t.Errorf("%s: %d destroyed, max_destroy %d", in.Dataset, destroyed, r.MaxDestroy)
	}
	if kept < min(minKeep, n) {
		t.Errorf("%s: %d kept, min_keep %d of %d", in.Dataset, kept, r.MinKeep, n)
	}
	for _, v := range p.Verdicts {
		if v.Rule == RuleMaxDestroy && v.Snapshot.CreateTXG < lastDestroyed {
			t.Errorf("%s kept by max_destroy, but the newer %d was destroyed: oldest first", v.Snapshot.Name, lastDestroyed)
		}
		if v.Rule == RuleGrid && !selected[v.Snapshot.Name.String()] {
			t.Errorf("%s kept by the grid (%s), which does not select it", v.Snapshot.Name, v.Reason)
		}
	}
}

// refDate is what the package documentation's "Age" says of one snapshot.
type refDate struct {
	t     time.Time // age time, when known and not a liar
	known bool
	liar  bool
	acked bool
}

// refDates dates a dataset's snapshots as "Age" describes it, the slow way,
// by full name: every reading of a zfsnap2 name is found by trying each UTC
// offset the location has around the creation, and the name's wall-clock
// time is compared as text.
func refDates(in DatasetInput, r Rules, now time.Time) map[string]refDate {
	loc := r.Location
	if loc == nil {
		loc = time.Local
	}
	tol := r.DateTolerance
	if tol <= 0 {
		tol = 15 * time.Minute
	}
	const layout = "2006-01-02 15:04:05"
	snaps := slices.Clone(in.Snapshots)
	slices.SortFunc(snaps, compareSnapshots)
	out := map[string]refDate{}
	var ref time.Time // the latest date of an older snapshot that does not lie
	haveRef := false
	for _, s := range snaps {
		var d refDate
		name, parsed := policy.ParseName(s.Name.Short(), loc)
		switch {
		case parsed && !s.Creation.IsZero():
			wall := name.Created.Format(layout)
			w, err := time.Parse(layout, wall)
			if err != nil {
				panic(err)
			}
			readings := []time.Time{name.Created}
			for _, at := range []time.Time{s.Creation.Add(-tol), s.Creation, s.Creation.Add(tol)} {
				_, off := at.In(loc).Zone()
				if x := w.Add(-time.Duration(off) * time.Second); x.In(loc).Format(layout) == wall {
					readings = append(readings, x)
				}
			}
			found := false
			for _, x := range readings {
				diff := absDuration(x.Sub(s.Creation))
				best := absDuration(d.t.Sub(s.Creation))
				if diff <= tol && (!found || diff < best || diff == best && x.Before(d.t)) {
					d.t, found = x, true
				}
			}
			d.known, d.liar = true, !found
		case parsed:
			d.t, d.known = name.Created, true
		case !s.Creation.IsZero():
			d.t, d.known = s.Creation, true
		}
		if d.known && !d.liar {
			switch {
			case d.t.Sub(now) > tol:
				d.liar = true
			case haveRef && ref.Sub(d.t) > tol:
				d.liar = true
			}
		}
		d.acked = in.AckedLies[s.GUID]
		if d.acked {
			d.liar = true
		}
		if d.known && !d.liar && (!haveRef || d.t.After(ref)) {
			ref, haveRef = d.t, true
		}
		out[s.Name.String()] = d
	}
	return out
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// refGrid works out which snapshots the grid selects, the slow way: each
// snapshot's period as text, the newest snapshot of each period, the periods
// ranked by their newest snapshot, and the first Count of them. dates are
// refDates'.
func refGrid(snaps []Snapshot, r Rules, now time.Time, dates map[string]refDate) map[string]bool {
	loc := r.Location
	if loc == nil {
		loc = time.Local
	}
	type part struct {
		name string
		t    time.Time
		txg  uint64
	}
	var parts []part
	for _, s := range snaps {
		_, parsed := policy.ParseName(s.Name.Short(), loc)
		d := dates[s.Name.String()]
		if !d.known || d.liar || !parsed && r.KeepUnparsed || d.t.After(now) {
			continue
		}
		parts = append(parts, part{s.Name.String(), d.t.In(loc), s.CreateTXG})
	}
	selected := map[string]bool{}
	for _, g := range r.Grid {
		newest := map[string]part{}
		for _, x := range parts {
			var k string
			switch g.Unit {
			case Hourly:
				k = x.t.Format("2006-01-02T15")
			case Daily:
				k = x.t.Format("2006-01-02")
			case Weekly:
				y, w := x.t.ISOWeek()
				k = fmt.Sprint(y, "W", w)
			case Monthly:
				k = x.t.Format("2006-01")
			case Yearly:
				k = x.t.Format("2006")
			}
			if cur, ok := newest[k]; !ok || x.t.After(cur.t) || x.t.Equal(cur.t) && x.txg > cur.txg {
				newest[k] = x
			}
		}
		var ranked []part
		for _, x := range newest {
			ranked = append(ranked, x)
		}
		slices.SortFunc(ranked, func(a, b part) int {
			if c := b.t.Compare(a.t); c != 0 {
				return c
			}
			return compareUint(b.txg, a.txg)
		})
		for i, x := range ranked {
			if g.Forever || i < g.Count {
				selected[x.name] = true
			}
		}
	}
	return selected
}

// addRandomSeeds adds eight seeds of 64 to 319 random bytes, the same for the same PCG seeds.
func addRandomSeeds(f *testing.F, seed1, seed2 uint64) {
	r := rand.New(rand.NewPCG(seed1, seed2))
	for range 8 {
		b := make([]byte, 64+r.IntN(256))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
}
