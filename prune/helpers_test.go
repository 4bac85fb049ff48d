package prune

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the machine's zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/zfs"
)

// The tests describe a dataset in lines, one snapshot per line, oldest first:
//
//	2026-01-03_00.00.00--1w held          => keep held
//	manual created=2026-01-04T10:00       => destroy outside_grid
//
// Before "=>": the short name, then any of
//
//	held               one hold
//	holds=N            N holds
//	created=DATETIME   the creation property, "2006-01-02T15:04" in the
//	                   test's location; by default the time in a zfsnap2
//	                   name, and none for other names
//	created=UTC:DATETIME  the same, in UTC
//	txg=N              createtxg; by default 10 × the line number
//	guid=N             guid; by default 1000 + the line number
//	acked              its guid is in the input's AckedLies
//	nocreation         no creation property (the zero Time)
//
// After "=>" the verdict wanted: "keep RULE" or "destroy RULE".

const testDataset = "tank/fs"

type testLine struct {
	snap  Snapshot
	acked bool
	want  string
}

func ds(t testing.TB, name string) zfs.Dataset {
	t.Helper()
	d, err := zfs.ParseDataset(name)
	require.NoError(t, err)
	return d
}

func parseLines(t testing.TB, dataset zfs.Dataset, loc *time.Location, text string) []testLine {
	t.Helper()
	var out []testLine
	for _, raw := range strings.Split(text, "\n") {
		spec, want, _ := strings.Cut(raw, "=>")
		f := strings.Fields(spec)
		if len(f) == 0 {
			continue
		}
		n := len(out) + 1
		name, err := dataset.Snapshot(f[0])
		require.NoError(t, err, "line %q", raw)
		s := Snapshot{Name: name, CreateTXG: uint64(10 * n), GUID: uint64(1000 + n)}
		acked := false
		if pn, ok := policy.ParseName(f[0], loc); ok {
			s.Creation = pn.Created.UTC()
		}
		for _, tok := range f[1:] {
			key, val, _ := strings.Cut(tok, "=")
			switch key {
			case "held":
				s.UserRefs = 1
			case "acked":
				acked = true
			case "nocreation":
				s.Creation = time.Time{}
			case "holds":
				s.UserRefs = mustUint(t, val)
			case "txg":
				s.CreateTXG = mustUint(t, val)
			case "guid":
				s.GUID = mustUint(t, val)
			case "created":
				l := loc
				if v, ok := strings.CutPrefix(val, "UTC:"); ok {
					l, val = time.UTC, v
				}
				c, err := time.ParseInLocation("2006-01-02T15:04", val, l)
				require.NoError(t, err, "line %q", raw)
				s.Creation = c.UTC()
			default:
				t.Fatalf("line %q: unknown word %q", raw, tok)
			}
		}
		out = append(out, testLine{snap: s, acked: acked, want: strings.Join(strings.Fields(want), " ")})
	}
	return out
}

func mustUint(t testing.TB, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	require.NoError(t, err)
	return n
}

// ackedOf returns the GUIDs of the lines marked acked, nil for none.
func ackedOf(lines []testLine) map[uint64]bool {
	var m map[uint64]bool
	for _, l := range lines {
		if l.acked {
			if m == nil {
				m = map[uint64]bool{}
			}
			m[l.snap.GUID] = true
		}
	}
	return m
}

// at parses "2006-01-02 15:04" or "2006-01-02 15:04:05" in loc.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if len(s) > len(layout) {
		layout += ":05"
	}
	tm, err := time.ParseInLocation(layout, s, loc)
	require.NoError(t, err)
	return tm
}

// render gives one line per verdict: "short => keep RULE".
func render(p DatasetPlan) string {
	var b strings.Builder
	for _, v := range p.Verdicts {
		verb := "keep"
		if v.Destroy {
			verb = "destroy"
		}
		fmt.Fprintf(&b, "%s => %s %s\n", v.Snapshot.Name.Short(), verb, v.Rule)
	}
	return b.String()
}

// renderWant gives the lines' wanted verdicts in createtxg order, as render.
func renderWant(lines []testLine) string {
	lines = slices.Clone(lines)
	slices.SortStableFunc(lines, func(a, b testLine) int { return compareSnapshots(a.snap, b.snap) })
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s => %s\n", l.snap.Name.Short(), l.want)
	}
	return b.String()
}

func snapshotsOf(lines []testLine) []Snapshot {
	s := make([]Snapshot, len(lines))
	for i, l := range lines {
		s[i] = l.snap
	}
	return s
}

// planOne plans a single dataset, checks that the reversed input gives the
// same plan, and returns it.
func planOne(t testing.TB, in DatasetInput, r Rules, now time.Time) DatasetPlan {
	t.Helper()
	plans := Plan([]DatasetInput{in}, r, now)
	require.Len(t, plans, 1)
	rev := in
	rev.Snapshots = slices.Clone(in.Snapshots)
	slices.Reverse(rev.Snapshots)
	if again := Plan([]DatasetInput{rev}, r, now); !reflect.DeepEqual(again, plans) {
		t.Errorf("reversed input: got\n%s\nwant the same plan as in order:\n%s", render(again[0]), render(plans[0]))
	}
	return plans[0]
}

func newYork(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	return loc
}
