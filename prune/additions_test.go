package prune

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/zfs"
)

// The invariant of issue #13: for any snapshots a source adds (any names,
// counts, creation times, order), no snapshot that the plan kept before the
// additions is destroyed because of them, except by the ordinary passing of
// periods with genuine new snapshots.
//
// additionsCase builds a genuine history E (createtxg and dates rising
// together, each name's date its creation's, at most now) and additions A
// (createtxg above E's; names back-dated, future-dated, in the wrong zone,
// forever, with tiny TTLs, not zfsnap2 names; creation times that agree with
// the name or not, zero included). checkAdditions then holds the planner to
// an oracle that reads "genuine" straight from the issue, not from the
// planner: an addition is genuine when its name's wall-clock time (or the
// instant it names) is within the tolerance of its creation, and its date is
// no more than the tolerance before E's latest nor after now. G are the
// genuine additions.
//
//   - If an addition that is not genuine is not acknowledged, Plan(E ∪ A)
//     destroys nothing and reports lies.
//   - Otherwise Plan(E ∪ A) destroys exactly what Plan(E ∪ G) destroys: the
//     acknowledged liars change nothing.
//   - Whatever Plan(E) kept and Plan(E ∪ A) destroys, Plan(E ∪ G) destroys
//     too, and G is not empty.
//   - Later, with the dataset frozen while the lies found now are not
//     acknowledged (the caller's alarm), Plan(E ∪ A) destroys no more than
//     Plan(E ∪ G).
type additionsCase struct {
	rules      Rules
	now, later time.Time
	e, a       []Snapshot
	latest     time.Time // the latest date in E
	acked      map[uint64]bool
}

// FuzzAdditions checks the invariant on cases built from the fuzz bytes.
func FuzzAdditions(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("back-dated names, one per recent day, created today: \x01\x01\x01\x01\x01\x01"))
	addRandomSeeds(f, 3, 5)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAdditions(t, additionsInput(t, data))
	})
}

// TestAdditions runs FuzzAdditions' check on pseudo-random cases, so that
// plain go test covers it too.
func TestAdditions(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	r := rand.New(rand.NewPCG(13, 1))
	for range n {
		b := make([]byte, 50+r.IntN(400))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		checkAdditions(t, additionsInput(t, b))
		if t.Failed() {
			t.Fatalf("input bytes %q", b)
		}
	}
}

func additionsInput(t testing.TB, data []byte) additionsCase {
	r := &byteReader{b: data}
	locs := locations(t)
	loc := locs[r.pick(len(locs))]
	bases := []time.Time{
		time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), // New York falls back at 06:00 UTC
		time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC),  // and springs forward at 07:00 UTC
		time.Date(2027, 1, 2, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 5, 3, 0, 0, 0, time.UTC), // Sydney and Lord Howe fall back
	}
	c := additionsCase{now: bases[r.pick(len(bases))].Add(time.Duration(r.next()) * 17 * time.Minute)}
	c.later = c.now.Add([]time.Duration{time.Hour, 24 * time.Hour, 8 * 24 * time.Hour, 40 * 24 * time.Hour, 400 * 24 * time.Hour}[r.pick(5)])
	c.rules = Rules{
		SourceTTL:     r.pick(3) != 0,
		TTLFactor:     []float64{1, 1, 1.5, 2}[r.pick(4)],
		KeepUnparsed:  r.pick(3) == 0,
		MinKeep:       r.pick(8) - 1,
		MinAge:        []time.Duration{0, 0, time.Hour, 24 * time.Hour}[r.pick(4)],
		MaxDestroy:    []int{1000, 1000, 3, 1, 0}[r.pick(5)],
		DateTolerance: []time.Duration{0, 15 * time.Minute, time.Minute, time.Hour}[r.pick(4)],
		Location:      loc,
	}
	for u := Hourly; u <= Yearly; u++ {
		switch k := r.pick(6); {
		case k < 2:
		case k == 2:
			c.rules.Grid = append(c.rules.Grid, GridRule{Forever: true, Unit: u})
		default:
			c.rules.Grid = append(c.rules.Grid, GridRule{Count: 1 + r.pick(8), Unit: u})
		}
	}
	tol := c.rules.DateTolerance
	if tol == 0 {
		tol = DefaultDateTolerance
	}

	dataset, err := zfs.ParseDataset(testDataset)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	txg, guid := uint64(100), uint64(1000)
	add := func(to *[]Snapshot, short string, creation time.Time, holds uint64) *Snapshot {
		if names[short] {
			return nil // zfs refuses a name twice
		}
		names[short] = true
		sn, err := dataset.Snapshot(short)
		if err != nil {
			t.Fatal(err)
		}
		txg += uint64(1 + r.pick(3))
		guid++
		*to = append(*to, Snapshot{Name: sn, GUID: guid, CreateTXG: txg, Creation: creation, UserRefs: holds})
		return &(*to)[len(*to)-1]
	}
	prefixes := []string{"", "", "hourly-", "daily-"}
	ttl := func() policy.TTL {
		tt, err := policy.ParseTTL([]string{"1h", "1d", "1w", "1m", "1y", "forever", "90M", "3d12h", "1s"}[r.pick(9)])
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	holds := func() uint64 {
		if r.pick(10) == 9 {
			return 1
		}
		return 0
	}

	// E: genuine history, dates rising with createtxg, up to now.
	ts := c.now.Add(-time.Duration(r.pick(90)) * 24 * time.Hour).Add(-time.Duration(r.next()) * time.Hour).Truncate(time.Second)
	latest := time.Time{}
	for i, n := 0, 1+r.pick(40); i < n; i++ {
		if i > 0 {
			step := time.Duration(1+r.pick(48)) * []time.Duration{time.Second, time.Minute, 17 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}[r.pick(6)]
			if ts.Add(step).After(c.now) {
				break
			}
			ts = ts.Add(step)
		}
		var s *Snapshot
		if r.pick(6) == 5 {
			s = add(&c.e, fmt.Sprintf("manual-%d", i), ts, holds())
		} else {
			jitter := time.Duration(r.pick(4)) * time.Second // zfsnap2 dates the name a moment before it snapshots
			s = add(&c.e, policy.FormatName(prefixes[r.pick(4)], ts.In(loc), ttl()), ts.Add(jitter), holds())
		}
		if s != nil {
			latest = ts
		}
	}

	// A: anything at all.
	for i, n := 0, r.pick(12); i < n; i++ {
		short := func(at time.Time) string {
			if r.pick(5) == 4 {
				return fmt.Sprintf("extra-%d", i)
			}
			return policy.FormatName(prefixes[r.pick(4)], at.In(loc), ttl())
		}
		ago := time.Duration(1+r.pick(30)) * []time.Duration{time.Minute, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}[r.pick(4)]
		var s *Snapshot
		switch kind := r.pick(9); kind {
		case 0, 1: // genuine: dated between E's latest and now, or a little after
			span := max(c.now.Sub(latest), 0) + tol
			at := latest.Add(r.upTo(span).Truncate(time.Second))
			s = add(&c.a, short(at), at.Add(time.Duration(r.pick(3))*time.Second), holds())
		case 2: // the attack: a recent day's 23:59:59, created now
			day := c.now.In(loc).AddDate(0, 0, -1-r.pick(10))
			at := time.Date(day.Year(), day.Month(), day.Day(), 23, 59, 59, 0, loc)
			s = add(&c.a, policy.FormatName(prefixes[r.pick(4)], at, ttl()), c.now.Add(-time.Duration(r.pick(60))*time.Minute), holds())
		case 3: // root with the clock set back: name and creation agree
			at := latest.Add(-ago)
			s = add(&c.a, short(at), at, holds())
		case 4: // back-dated by less than the tolerance
			at := latest.Add(-r.upTo(tol).Truncate(time.Second))
			s = add(&c.a, short(at), at, holds())
		case 5: // dated in the future, created now or then
			at := c.now.Add(tol + []time.Duration{time.Second, time.Hour, 24 * time.Hour, 365 * 24 * time.Hour, 80 * 365 * 24 * time.Hour}[r.pick(5)])
			creation := c.now
			if r.pick(2) == 0 {
				creation = at
			}
			s = add(&c.a, short(at), creation, holds())
		case 6: // a name in another zone, an hour or more off
			other := locs[r.pick(len(locs))]
			at := c.now.Add(-time.Duration(r.pick(120)) * time.Minute)
			s = add(&c.a, policy.FormatName("", at.In(other), ttl()), at, holds())
		case 7: // any name with no creation time
			at := latest.Add(time.Duration(int(r.next())-128) * time.Hour)
			s = add(&c.a, short(at), time.Time{}, holds())
		case 8: // any name, any creation
			at := latest.Add(time.Duration(int(r.next())-128) * 3 * time.Hour)
			s = add(&c.a, short(at), latest.Add(time.Duration(int(r.next())-128)*3*time.Hour), holds())
		}
		if s != nil && r.pick(6) == 5 {
			ack(&c, s.GUID)
		}
	}
	c.latest = latest
	if r.pick(3) == 0 {
		// The operator has acknowledged every lie.
		for _, s := range c.a {
			if !c.genuine(s, latest) {
				ack(&c, s.GUID)
			}
		}
	}
	for i := range c.e {
		c.e[i].Creation = c.e[i].Creation.UTC()
	}
	for i := range c.a {
		if !c.a[i].Creation.IsZero() {
			c.a[i].Creation = c.a[i].Creation.UTC()
		}
	}
	return c
}

func ack(c *additionsCase, guid uint64) {
	if c.acked == nil {
		c.acked = map[uint64]bool{}
	}
	c.acked[guid] = true
}

// genuine reads the definition of an addition that does not lie,
// for addition s to history whose latest date is latest.
func (c *additionsCase) genuine(s Snapshot, latest time.Time) bool {
	loc := c.rules.Location
	tol := c.rules.DateTolerance
	if tol <= 0 {
		tol = 15 * time.Minute
	}
	const layout = "2006-01-02_15.04.05"
	name, parsed := policy.ParseName(s.Name.Short(), loc)
	var date time.Time
	switch {
	case parsed && !s.Creation.IsZero():
		// The wall clocks in the location, each read as UTC.
		nameWall, err := time.Parse(layout, name.Created.Format(layout))
		if err != nil {
			panic(err)
		}
		createdWall, err := time.Parse(layout, s.Creation.In(loc).Format(layout))
		if err != nil {
			panic(err)
		}
		switch {
		case absDuration(name.Created.Sub(s.Creation)) <= tol:
			date = name.Created
		case absDuration(nameWall.Sub(createdWall)) <= tol:
			date = s.Creation.Add(nameWall.Sub(createdWall))
		default:
			return false
		}
	case parsed:
		date = name.Created
	case !s.Creation.IsZero():
		date = s.Creation
	default:
		return true // no date to lie about
	}
	return !date.Before(latest.Add(-tol)) && !date.After(c.now.Add(tol))
}

func destroyedSet(p DatasetPlan) map[string]bool {
	d := map[string]bool{}
	for _, v := range p.Verdicts {
		if v.Destroy {
			d[v.Snapshot.Name.Short()] = true
		}
	}
	return d
}

func checkAdditions(t *testing.T, c additionsCase) {
	t.Helper()
	dataset, err := zfs.ParseDataset(testDataset)
	if err != nil {
		t.Fatal(err)
	}
	plan := func(snaps []Snapshot, now time.Time, freeze *Freeze) DatasetPlan {
		t.Helper()
		in := DatasetInput{Dataset: dataset, Snapshots: snaps, AckedLies: c.acked, Freeze: freeze}
		p := Plan([]DatasetInput{in}, c.rules, now)[0]
		checkRails(t, in, c.rules, now, p)
		return p
	}
	var g []Snapshot
	lie := false // an addition that is not genuine and not acknowledged
	for _, s := range c.a {
		switch {
		case c.genuine(s, c.latest):
			g = append(g, s)
		case !c.acked[s.GUID]:
			lie = true
		}
	}
	ea := append(slices.Clone(c.e), c.a...)
	eg := append(slices.Clone(c.e), g...)

	pe := plan(c.e, c.now, nil)
	if len(pe.Lies) > 0 {
		t.Fatalf("the genuine history lies: %+v\n%s", pe.Lies, reasons(pe))
	}
	pa, pg := plan(ea, c.now, nil), plan(eg, c.now, nil)
	da, dg := destroyedSet(pa), destroyedSet(pg)
	describe := func() string {
		return fmt.Sprintf("now %s, rules %+v\nE+A:\n%s\nE+G:\n%s", c.now, c.rules, reasons(pa), reasons(pg))
	}
	switch {
	case lie && len(da) > 0:
		t.Errorf("an addition lies, but E+A destroys %v\n%s", keys(da), describe())
	case lie && len(pa.Lies) == 0:
		t.Errorf("an addition lies, but E+A reports no lies\n%s", describe())
	case !lie && !maps.Equal(da, dg):
		t.Errorf("every lie is acknowledged, but E+A destroys %v and E+G %v\n%s", keys(da), keys(dg), describe())
	}
	for _, v := range pe.Verdicts {
		s := v.Snapshot.Name.Short()
		if v.Destroy || !da[s] {
			continue
		}
		if len(g) == 0 {
			t.Errorf("%s: kept before, destroyed after additions none of which is genuine\n%s", s, describe())
		}
		if !dg[s] {
			t.Errorf("%s: kept before, destroyed after the additions, but not after the genuine ones alone\n%s", s, describe())
		}
	}

	// Time passes. The caller keeps the dataset frozen while the lies
	// reported now are not acknowledged.
	var freeze *Freeze
	if len(pa.Lies) > 0 {
		freeze = &Freeze{Reason: "lying-names alarm"}
	}
	la, lg := destroyedSet(plan(ea, c.later, freeze)), destroyedSet(plan(eg, c.later, nil))
	for s := range la {
		if !lg[s] {
			t.Errorf("%s: destroyed at %s after the additions, but not after the genuine ones alone\n%s", s, c.later, describe())
		}
	}
}

// upTo returns a duration from 0 to d, from three bytes.
func (r *byteReader) upTo(d time.Duration) time.Duration {
	n := uint64(r.next())<<16 | uint64(r.next())<<8 | uint64(r.next())
	return time.Duration(float64(d) * float64(n) / float64(1<<24-1))
}

func keys(m map[string]bool) string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return strings.Join(k, " ")
}
