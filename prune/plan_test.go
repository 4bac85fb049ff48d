package prune

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ttlRules is source_ttl alone, with rails that stay out of the way unless a
// test sets them.
var ttlRules = Rules{SourceTTL: true, TTLFactor: 1, MinKeep: 1, MaxDestroy: 100, Location: time.UTC}

func with(r Rules, f func(*Rules)) Rules {
	f(&r)
	return r
}

// withGrid returns r with the grid rules given, and source_ttl as ttl says.
func withGrid(r Rules, ttl bool, grid ...string) Rules {
	g, err := ParseGrid(grid)
	if err != nil {
		panic(err)
	}
	r.Grid, r.SourceTTL = g, ttl
	return r
}

func TestPlan(t *testing.T) {
	ny := newYork(t)
	tests := []struct {
		name   string
		rules  Rules
		now    string // in the rules' location; default 2026-02-01 00:00
		freeze *Freeze
		lines  string
	}{
		// The TTL rule alone.
		{name: "ttl: expired goes, running stays, newest stays", rules: ttlRules, lines: `
			2026-01-01_00.00.00--1w => destroy expired
			2026-01-25_00.00.00--1w => destroy expired
			2026-01-25_00.00.01--1w => keep ttl
			2026-01-31_00.00.00--1d => keep newest`},
		{name: "ttl: factor 2 stretches", rules: with(ttlRules, func(r *Rules) { r.TTLFactor = 2 }), lines: `
			2026-01-01_00.00.00--1w => destroy expired
			2026-01-18_00.00.01--1w => keep ttl
			2026-01-20_00.00.00--1w => keep ttl
			2026-01-31_00.00.00--1d => keep newest`},
		{name: "ttl: months and years", rules: ttlRules, lines: `
			2025-01-31_00.00.00--1y => destroy expired
			2025-02-01_00.00.00--1y => destroy expired
			2025-02-01_00.00.01--1y => keep ttl
			2026-01-01_00.00.00--1m => destroy expired
			2026-01-01_00.00.01--1m => keep ttl
			2026-01-31_00.00.00--1d => keep newest`},

		// Each rail alone.
		{name: "rail: newest, even expired", rules: ttlRules, lines: `
			2025-01-01_00.00.00--1d => keep newest`},
		{name: "rail: held", rules: ttlRules, lines: `
			2026-01-01_00.00.00--1d held    => keep held
			2026-01-02_00.00.00--1d holds=3 => keep held
			2026-01-03_00.00.00--1d         => destroy expired
			2026-01-04_00.00.00--1d         => keep newest`},
		{name: "rail: forever, with no TTL rule and a grid that drops it", rules: withGrid(ttlRules, false, "1 daily"), lines: `
			2025-01-01_00.00.00--forever => keep forever
			2025-06-01_00.00.00--1d      => destroy outside_grid
			2026-01-31_00.00.00--1d      => keep newest`},
		{name: "rail: min_age, from the name's date", rules: with(ttlRules, func(r *Rules) { r.MinAge = 24 * time.Hour }), lines: `
			2026-01-30_00.00.00--1h => destroy expired
			2026-01-31_00.00.00--1h => destroy expired
			2026-01-31_00.00.01--1h => keep min_age
			2026-01-31_12.00.00--1h => keep newest`},
		{name: "rail: min_keep 3", rules: with(ttlRules, func(r *Rules) { r.MinKeep = 3 }), lines: `
			2026-01-01_00.00.00--1d => destroy expired
			2026-01-02_00.00.00--1d => destroy expired
			2026-01-03_00.00.00--1d => keep min_keep
			2026-01-04_00.00.00--1d => keep min_keep
			2026-01-05_00.00.00--1d => keep newest`},
		{name: "rail: min_keep larger than the count", rules: with(ttlRules, func(r *Rules) { r.MinKeep = 10 }), lines: `
			2026-01-01_00.00.00--1d => keep min_keep
			2026-01-02_00.00.00--1d => keep min_keep
			2026-01-05_00.00.00--1d => keep newest`},
		{name: "rail: min_keep 0 is 1", rules: with(ttlRules, func(r *Rules) { r.MinKeep = 0 }), lines: `
			2026-01-01_00.00.00--1d => destroy expired
			2026-01-02_00.00.00--1d => destroy expired
			2026-01-05_00.00.00--1d => keep newest`},
		{name: "rail: min_keep negative is 1", rules: with(ttlRules, func(r *Rules) { r.MinKeep = -3 }), lines: `
			2026-01-02_00.00.00--1d => destroy expired
			2026-01-05_00.00.00--1d => keep newest`},
		{name: "rail: newest and min_keep by createtxg, not by the name's date", rules: with(ttlRules, func(r *Rules) { r.MinKeep = 2 }), lines: `
			2026-01-05_00.10.00--1d txg=10 => destroy expired
			2026-01-05_00.00.00--1d txg=30 => keep newest
			2026-01-05_00.05.00--1d txg=20 => keep min_keep`},
		{name: "rail: min_keep keeps the newest even when older ones are kept", rules: with(withGrid(ttlRules, false, "forever yearly"), func(r *Rules) { r.MinKeep = 3 }), lines: `
			2025-12-31_00.00.00--1d => keep grid
			2026-01-01_00.00.00--1d => keep min_keep
			2026-01-02_00.00.00--1d => keep min_keep
			2026-01-05_00.00.00--1d => keep newest`},
		{name: "rail: max_destroy takes the oldest", rules: with(ttlRules, func(r *Rules) { r.MaxDestroy = 2 }), lines: `
			2026-01-01_00.00.00--1d      => destroy expired
			2026-01-02_00.00.00--1d held => keep held
			2026-01-03_00.00.00--1d      => destroy expired
			2026-01-04_00.00.00--1d      => keep max_destroy
			2026-01-05_00.00.00--1d      => keep max_destroy
			2026-01-06_00.00.00--1d      => keep newest`},
		{name: "rail: max_destroy 0 destroys nothing", rules: with(ttlRules, func(r *Rules) { r.MaxDestroy = 0 }), lines: `
			2026-01-01_00.00.00--1d => keep max_destroy
			2026-01-06_00.00.00--1d => keep newest`},
		{name: "rail: max_destroy negative destroys nothing", rules: with(ttlRules, func(r *Rules) { r.MaxDestroy = -1 }), lines: `
			2026-01-01_00.00.00--1d => keep max_destroy
			2026-01-06_00.00.00--1d => keep newest`},
		{name: "rail: frozen", rules: ttlRules, freeze: &Freeze{Reason: "last pull diverged"}, lines: `
			2026-01-01_00.00.00--1d => keep frozen
			2026-01-06_00.00.00--1d => keep frozen`},
		{name: "rail: dated in the future, within the date tolerance", rules: ttlRules, lines: `
			2026-01-01_00.00.00--1d         => destroy expired
			2026-02-01_00.10.00--1d         => keep future
			manual created=2026-02-01T00:12 => keep future
			2026-02-01_00.05.00--1d         => keep future
			2026-02-01_00.14.00--1d         => keep newest`},
		{name: "rail: strongest reason first", rules: with(ttlRules, func(r *Rules) { r.MinKeep, r.MinAge = 5, 48*time.Hour }), lines: `
			2026-01-01_00.00.00--forever held => keep held
			2026-01-02_00.00.00--forever      => keep forever
			2026-01-31_00.00.00--1d           => keep min_age
			2026-01-31_06.00.00--1d held      => keep newest`},

		// No rules.
		{name: "no rules: nothing goes", rules: with(ttlRules, func(r *Rules) { r.SourceTTL = false }), lines: `
			2025-01-01_00.00.00--1d => keep no_rules
			manual created=2025-01-01T00:00 => keep no_rules
			2026-01-31_00.00.00--1d => keep newest`},
		{name: "no rules, unparsed kept as unparsed first", rules: with(ttlRules, func(r *Rules) { r.SourceTTL, r.KeepUnparsed = false, true }), lines: `
			manual created=2025-01-01T00:00 => keep unparsed
			2025-01-01_00.00.00--1d         => keep no_rules
			2026-01-31_00.00.00--1d         => keep newest`},

		// Names that are not zfsnap2 names.
		{name: "unparsed: keep_unparsed keeps, and stays out of the grid", rules: with(withGrid(ttlRules, true, "1 daily"), func(r *Rules) { r.KeepUnparsed = true }), lines: `
			2026-01-30_00.00.00--1d          => destroy expired
			2026-01-31_00.00.00--1d          => keep grid
			manual created=2026-01-31T12:00  => keep newest`},
		{name: "unparsed: without keep_unparsed, in the grid by creation", rules: withGrid(ttlRules, true, "1 daily"), lines: `
			2026-01-30_00.00.00--1d          => destroy expired
			2026-01-31_00.00.00--1d          => destroy expired
			manual created=2026-01-31T12:00  => keep newest`},
		{name: "unparsed: the grid judges it, the TTL rule abstains", rules: withGrid(ttlRules, true, "2 daily"), lines: `
			manual-a created=2026-01-28T10:00 => destroy outside_grid
			2026-01-29_00.00.00--1d           => destroy expired
			manual-b created=2026-01-29T10:00 => keep grid
			no-creation                       => keep unparsed
			2026-01-31_00.00.00--1d           => keep newest`},
		{name: "unparsed: source_ttl alone has no opinion, so it stays", rules: ttlRules, lines: `
			manual created=2025-01-01T00:00 => keep unparsed
			2025-01-01_00.00.00--1d         => destroy expired
			2026-01-31_00.00.00--1d         => keep newest`},
		{name: "unparsed: look-alikes are not zfsnap2 names", rules: withGrid(ttlRules, true, "1 yearly"), lines: `
			2025-02-30_00.00.00--1d created=2025-01-01T00:00 => destroy outside_grid
			2025-01-01_00.00.00--1x created=2025-01-01T00:00 => destroy outside_grid
			2026-01-31_00.00.00--1d                         => keep newest`},
		{name: "unparsed: prefixed zfsnap2 names parse", rules: ttlRules, lines: `
			hourly-2026-01-01_00.00.00--1d => destroy expired
			daily-2026-01-01_00.00.01--1y  => keep ttl
			2026-01-31_00.00.00--1d        => keep newest`},

		// The grid.
		{name: "grid: newest of each of the last 3 days that have snapshots", rules: withGrid(ttlRules, false, "3 daily"), lines: `
			2026-01-10_00.00.00--1d => destroy outside_grid
			2026-01-20_00.00.00--1d => destroy outside_grid
			2026-01-20_23.59.59--1d => keep grid
			2026-01-30_00.00.00--1d => keep grid
			2026-01-31_00.00.00--1d => destroy outside_grid
			2026-01-31_12.00.00--1d => keep newest`},
		{name: "grid and ttl: a snapshot goes only if both let it go", rules: withGrid(ttlRules, true, "2 daily"), lines: `
			2026-01-01_00.00.00--1w => destroy expired
			2026-01-30_00.00.00--1d => keep grid
			2026-01-31_00.00.00--1w => keep ttl
			2026-01-31_06.00.00--1d => keep newest`},
		{name: "grid: hourly", rules: withGrid(ttlRules, false, "3 hourly"), lines: `
			2026-01-31_20.00.00--1d => destroy outside_grid
			2026-01-31_21.10.00--1d => destroy outside_grid
			2026-01-31_21.50.00--1d => keep grid
			2026-01-31_22.30.00--1d => keep grid
			2026-01-31_23.30.00--1d => keep newest`},
		{name: "grid: month boundary", rules: withGrid(ttlRules, false, "2 monthly"), now: "2026-02-02 00:00", lines: `
			2025-12-31_23.59.59--1d => destroy outside_grid
			2026-01-01_00.00.00--1d => destroy outside_grid
			2026-01-31_23.59.59--1d => keep grid
			2026-02-01_00.00.00--1d => keep newest`},
		{name: "grid: year boundary", rules: withGrid(ttlRules, false, "2 yearly"), lines: `
			2024-12-31_23.59.59--1d => destroy outside_grid
			2025-01-01_00.00.00--1d => destroy outside_grid
			2025-12-31_23.59.59--1d => keep grid
			2026-01-01_00.00.00--1d => keep newest`},
		{name: "grid: forever yearly keeps every year", rules: withGrid(ttlRules, false, "forever yearly", "1 monthly"), lines: `
			2001-06-01_00.00.00--1d => destroy outside_grid
			2001-07-01_00.00.00--1d => keep grid
			2010-01-01_00.00.00--1d => keep grid
			2025-12-01_00.00.00--1d => keep grid
			2026-01-01_00.00.00--1d => destroy outside_grid
			2026-01-31_00.00.00--1d => keep newest`},
		{name: "grid: ISO week 53 spans the new year", rules: withGrid(ttlRules, false, "2 weekly"), now: "2027-01-05 00:00", lines: `
			2026-12-27_12.00.00--1d => destroy outside_grid
			2026-12-28_00.00.00--1d => destroy outside_grid
			2026-12-31_23.00.00--1d => destroy outside_grid
			2027-01-03_23.00.00--1d => keep grid
			2027-01-04_00.00.00--1d => keep newest`},
		{name: "grid: ISO week 53 of 2020", rules: withGrid(ttlRules, false, "3 weekly"), now: "2021-01-05 00:00", lines: `
			2020-12-20_00.00.00--1d => destroy outside_grid
			2020-12-27_00.00.00--1d => keep grid
			2020-12-28_00.00.00--1d => destroy outside_grid
			2021-01-03_00.00.00--1d => keep grid
			2021-01-04_00.00.00--1d => keep newest`},
		{name: "grid: units together", rules: withGrid(ttlRules, false, "2 daily", "2 weekly", "2 monthly"), lines: `
			2025-11-30_00.00.00--1d => destroy outside_grid
			2025-12-31_00.00.00--1d => keep grid
			2026-01-11_00.00.00--1d => destroy outside_grid
			2026-01-18_00.00.00--1d => keep grid
			2026-01-28_00.00.00--1d => destroy outside_grid
			2026-01-30_00.00.00--1d => keep grid
			2026-01-31_00.00.00--1d => keep newest`},
		{name: "grid: held and young snapshots fill their buckets", rules: with(withGrid(ttlRules, false, "2 daily"), func(r *Rules) { r.MinAge = 12 * time.Hour }), lines: `
			2026-01-29_00.00.00--1d      => destroy outside_grid
			2026-01-30_00.00.00--1d      => destroy outside_grid
			2026-01-30_06.00.00--1d held => keep held
			2026-01-31_00.00.00--1d      => destroy outside_grid
			2026-01-31_18.00.00--1d      => keep min_age
			2026-01-31_20.00.00--1d      => keep newest`},
		{name: "grid: a future snapshot takes no bucket", rules: withGrid(ttlRules, false, "1 daily"), lines: `
			2026-01-30_00.00.00--1d         => destroy outside_grid
			2026-01-31_00.00.00--1d         => keep grid
			2026-02-01_00.00.01--1d         => keep future
			manual created=2026-02-01T00:02 => keep newest`},

		// Time zones.
		{name: "dst: names and days in the location (spring forward, a 23-hour day)", rules: with(withGrid(ttlRules, false, "2 daily"), func(r *Rules) { r.Location = ny }), now: "2026-03-10 00:00", lines: `
			2026-03-07_23.30.00--1d => destroy outside_grid
			2026-03-08_00.30.00--1d => destroy outside_grid
			2026-03-08_23.30.00--1d => keep grid
			2026-03-09_00.10.00--1d => keep newest`},
		{name: "dst: creation times in the location's days (fall back, a 25-hour day)", rules: with(withGrid(ttlRules, false, "2 daily"), func(r *Rules) { r.Location = ny }), now: "2026-11-03 00:00", lines: `
			a created=UTC:2026-11-01T04:30 => destroy outside_grid
			b created=UTC:2026-11-01T05:30 => destroy outside_grid
			c created=UTC:2026-11-01T06:30 => destroy outside_grid
			d created=UTC:2026-11-02T04:30 => keep grid
			e created=UTC:2026-11-02T05:30 => keep newest`},
		{name: "dst: the hour that happens twice is one bucket", rules: with(withGrid(ttlRules, false, "2 hourly"), func(r *Rules) { r.Location = ny }), now: "2026-11-03 00:00", lines: `
			a created=UTC:2026-11-01T04:30 => destroy outside_grid
			b created=UTC:2026-11-01T05:30 => destroy outside_grid
			c created=UTC:2026-11-01T06:30 => keep grid
			d created=UTC:2026-11-01T07:10 => keep newest`},
		{name: "dst: a day's TTL is a calendar day", rules: with(ttlRules, func(r *Rules) { r.Location = ny }), now: "2026-03-08 12:00", lines: `
			2026-03-07_12.00.00--1d => destroy expired
			2026-03-07_12.00.01--1d => keep ttl
			2026-03-07_12.00.02--24h => keep ttl
			2026-03-08_12.00.00--1d => keep newest`},

		// Malformed input and rules.
		{name: "malformed: two snapshots with one createtxg", rules: ttlRules, lines: `
			2026-01-01_00.00.00--1d txg=10 => keep malformed
			2026-01-02_00.00.00--1d txg=10 => keep malformed
			2026-01-03_00.00.00--1d txg=30 => keep malformed`},
		{name: "malformed: two snapshots with one guid", rules: ttlRules, lines: `
			2026-01-01_00.00.00--1d guid=7 => keep malformed
			2026-01-02_00.00.00--1d guid=7 => keep malformed
			2026-01-03_00.00.00--1d        => keep malformed`},
		{name: "malformed: one name twice", rules: ttlRules, lines: `
			2026-01-01_00.00.00--1d => keep malformed
			2026-01-01_00.00.00--1d => keep malformed
			2026-01-03_00.00.00--1d => keep malformed`},
		{name: "invalid rules: ttl_factor below 1", rules: with(ttlRules, func(r *Rules) { r.TTLFactor = 0.5 }), lines: `
			2026-01-01_00.00.00--1d => keep invalid_rules
			2026-01-03_00.00.00--1d => keep invalid_rules`},
		{name: "invalid rules: ttl_factor unset", rules: with(ttlRules, func(r *Rules) { r.TTLFactor = 0 }), lines: `
			2026-01-01_00.00.00--1d => keep invalid_rules
			2026-01-03_00.00.00--1d => keep invalid_rules`},
		{name: "invalid rules: ttl_factor NaN", rules: with(ttlRules, func(r *Rules) { r.TTLFactor = math.NaN() }), lines: `
			2026-01-01_00.00.00--1d => keep invalid_rules
			2026-01-03_00.00.00--1d => keep invalid_rules`},
		{name: "invalid rules: two daily rules", rules: with(ttlRules, func(r *Rules) { r.Grid = []GridRule{{Count: 1, Unit: Daily}, {Count: 2, Unit: Daily}} }), lines: `
			2026-01-01_00.00.00--1d => keep invalid_rules
			2026-01-03_00.00.00--1d => keep invalid_rules`},
		{name: "invalid rules: a zero grid rule", rules: with(ttlRules, func(r *Rules) { r.Grid = []GridRule{{}} }), lines: `
			2026-01-01_00.00.00--1d => keep invalid_rules
			2026-01-03_00.00.00--1d => keep invalid_rules`},
		{name: "empty dataset", rules: ttlRules, lines: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := tt.rules.Location
			now := "2026-02-01 00:00"
			if tt.now != "" {
				now = tt.now
			}
			lines := parseLines(t, ds(t, testDataset), loc, tt.lines)
			in := DatasetInput{Dataset: ds(t, testDataset), Snapshots: snapshotsOf(lines), Freeze: tt.freeze, AckedLies: ackedOf(lines)}
			got := planOne(t, in, tt.rules, at(t, loc, now))
			if g, w := render(got), renderWant(lines); g != w {
				t.Errorf("got\n%s\nwant\n%s\nreasons:\n%s", g, w, reasons(got))
			}
			checkRails(t, in, tt.rules, at(t, loc, now), got)
		})
	}
}

func reasons(p DatasetPlan) string {
	var b strings.Builder
	for _, v := range p.Verdicts {
		b.WriteString(v.Snapshot.Name.Short() + ": " + v.Reason + "\n")
	}
	return b.String()
}

// TestReasons pins the text an operator reads.
func TestReasons(t *testing.T) {
	r := withGrid(ttlRules, true, "2 daily", "2 weekly", "forever yearly")
	r.MinKeep, r.MinAge, r.MaxDestroy = 2, 6*time.Hour, 1
	lines := parseLines(t, ds(t, testDataset), time.UTC, `
		2024-06-01_00.00.00--forever
		2025-06-01_00.00.00--1d
		2025-06-02_00.00.00--1d
		2025-12-31_10.00.00--1w
		2026-01-10_00.00.00--1d holds=2
		2026-01-11_00.00.00--1d held
		manual created=2026-01-12T00:00
		2026-01-20_00.00.00--1y
		2026-01-25_00.00.00--1d
		2026-01-28_10.30.00--1w
		2026-01-29_00.00.00--1d
		2026-01-30_00.00.00--1d
		2026-01-31_22.00.00--1d
		2026-02-01_00.05.00--1d
		2026-02-01_00.10.00--1d`)
	got := planOne(t, DatasetInput{Dataset: ds(t, testDataset), Snapshots: snapshotsOf(lines)}, r, at(t, time.UTC, "2026-02-01 00:00"))
	want := `2024-06-01_00.00.00--forever: kept: ttl forever
2025-06-01_00.00.00--1d: destroy: ttl 1d expired 2025-06-02 00:00 and outside the grid
2025-06-02_00.00.00--1d: kept: max_destroy 1 reached (ttl 1d expired 2025-06-03 00:00 and outside the grid)
2025-12-31_10.00.00--1w: kept: yearly 2, forever (2025)
2026-01-10_00.00.00--1d: kept: held (2 holds)
2026-01-11_00.00.00--1d: kept: held (1 hold)
manual: kept: max_destroy 1 reached (not a zfsnap2 name, outside the grid)
2026-01-20_00.00.00--1y: kept: ttl 1y until 2027-01-20 00:00
2026-01-25_00.00.00--1d: kept: weekly 2 of 2 (2026-W04)
2026-01-28_10.30.00--1w: kept: ttl 1w until 2026-02-04 10:30
2026-01-29_00.00.00--1d: kept: max_destroy 1 reached (ttl 1d expired 2026-01-30 00:00 and outside the grid)
2026-01-30_00.00.00--1d: kept: daily 2 of 2 (2026-01-30)
2026-01-31_22.00.00--1d: kept: younger than min_age 6h (age 2h)
2026-02-01_00.05.00--1d: kept: dated in the future (2026-02-01 00:05)
2026-02-01_00.10.00--1d: kept: newest
`
	if g := reasons(got); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}

	// The same with keep_unparsed, a TTL factor and min_keep 3.
	r.MinKeep, r.MinAge, r.TTLFactor, r.KeepUnparsed = 3, 0, 2, true
	got = planOne(t, DatasetInput{Dataset: ds(t, testDataset), Snapshots: snapshotsOf(lines)}, r, at(t, time.UTC, "2026-02-01 00:00"))
	for _, w := range []string{
		"manual: kept: not a zfsnap2 name (keep_unparsed)",
		"2026-01-20_00.00.00--1y: kept: ttl 1y x2 until 2028-01-20 00:00",
		"2026-01-31_22.00.00--1d: kept: min_keep 3 (3rd newest)",
	} {
		if !strings.Contains(reasons(got), w+"\n") {
			t.Errorf("got\n%s\nwant a line %q", reasons(got), w)
		}
	}

	// Reasons of whole datasets and the remaining rules.
	for _, tc := range []struct {
		rules  Rules
		freeze *Freeze
		lines  string
		want   string
	}{
		{ttlRules, &Freeze{Reason: "last pull failed"}, "2026-01-01_00.00.00--1d", "kept: dataset frozen: last pull failed"},
		{ttlRules, &Freeze{}, "2026-01-01_00.00.00--1d", "kept: dataset frozen"},
		{ttlRules, nil, "a txg=1\nb txg=1", `kept: malformed input: snapshots "tank/fs@a" and "tank/fs@b" have the same createtxg 1`},
		{with(ttlRules, func(r *Rules) { r.TTLFactor = 0.5 }), nil, "a", "kept: invalid prune rules: ttl_factor 0.5: must be a number of at least 1"},
		{with(ttlRules, func(r *Rules) { r.SourceTTL = false }), nil, "2026-01-01_00.00.00--1d\nb", "kept: no prune rules (no source_ttl, no grid)"},
		{ttlRules, nil, "a created=2025-01-01T00:00\nb", "kept: not a zfsnap2 name, and no rule judges it (source_ttl reads zfsnap2 names only)"},
		{withGrid(ttlRules, false, "1 daily"), nil, "a\nb", "kept: not a zfsnap2 name, and no creation time"},
		{withGrid(ttlRules, false, "1 daily"), nil, "2025-01-01_00.00.00--1d\n2026-01-01_00.00.00--1d", "destroy: outside the grid"},
		{ttlRules, nil, "2025-01-01_00.00.00--1d\nb", "destroy: ttl 1d expired 2025-01-02 00:00"},
		{ttlRules, nil, "2025-01-01_00.00.07--1d\nb", "destroy: ttl 1d expired 2025-01-02 00:00:07"},
		{with(ttlRules, func(r *Rules) { r.TTLFactor = 1e300 }), nil, "2025-01-01_00.00.00--1d\nb", "kept: ttl 1d x1e+300 never runs out"},
		{withGrid(ttlRules, false, "1 hourly"), nil, "2026-01-31_23.30.00--1d\nb", "kept: hourly 1 of 1 (2026-01-31 23:00)"},
		{withGrid(ttlRules, false, "1 monthly"), nil, "2026-01-31_23.30.00--1d\nb", "kept: monthly 1 of 1 (2026-01)"},
	} {
		lines := parseLines(t, ds(t, testDataset), time.UTC, tc.lines)
		p := planOne(t, DatasetInput{Dataset: ds(t, testDataset), Snapshots: snapshotsOf(lines), Freeze: tc.freeze}, tc.rules, at(t, time.UTC, "2026-02-01 00:00"))
		if got := p.Verdicts[0].Reason; got != tc.want {
			t.Errorf("%q under %+v: got reason %q, want %q", tc.lines, tc.rules, got, tc.want)
		}
	}
}

func TestPlanDatasets(t *testing.T) {
	now := at(t, time.UTC, "2026-02-01 00:00")
	input := func(name, lines string) DatasetInput {
		d := ds(t, name)
		return DatasetInput{Dataset: d, Snapshots: snapshotsOf(parseLines(t, d, time.UTC, lines))}
	}

	t.Run("empty input", func(t *testing.T) {
		if got := Plan(nil, ttlRules, now); len(got) != 0 {
			t.Errorf("got %d plans, want none", len(got))
		}
	})

	t.Run("name order, frozen alone, a dataset with no snapshots", func(t *testing.T) {
		in := []DatasetInput{
			input("tank/b", "2026-01-01_00.00.00--1d\n2026-01-02_00.00.00--1d"),
			input("tank/a/x", "2026-01-01_00.00.00--1d\n2026-01-02_00.00.00--1d"),
			input("tank/a", "2026-01-01_00.00.00--1d\n2026-01-02_00.00.00--1d"),
			input("tank/a-b", ""),
		}
		in[1].Freeze = &Freeze{Reason: "anomaly"}
		got := Plan(in, ttlRules, now)
		var names []string
		for _, p := range got {
			names = append(names, p.Dataset.String())
		}
		if want := []string{"tank/a", "tank/a-b", "tank/a/x", "tank/b"}; !reflect.DeepEqual(names, want) {
			t.Fatalf("got datasets %q, want %q", names, want)
		}
		for i, want := range [][]string{{"tank/a@2026-01-01_00.00.00--1d"}, nil, nil, {"tank/b@2026-01-01_00.00.00--1d"}} {
			var d []string
			for _, s := range got[i].Destroy() {
				d = append(d, s.String())
			}
			if !reflect.DeepEqual(d, want) {
				t.Errorf("%s: got Destroy() %q, want %q", got[i].Dataset, d, want)
			}
		}
		if got[2].Frozen != in[1].Freeze || got[0].Frozen != nil {
			t.Errorf("got Frozen %v and %v, want the input's freeze for tank/a/x only", got[2].Frozen, got[0].Frozen)
		}
		if got[1].Verdicts == nil || len(got[1].Verdicts) != 0 {
			t.Errorf("tank/a-b: got verdicts %v, want an empty list", got[1].Verdicts)
		}
		// Any order of the datasets and of their snapshots: the same plan.
		rev := []DatasetInput{in[3], in[2], in[1], in[0]}
		for i := range rev {
			s := slices.Clone(rev[i].Snapshots)
			slices.Reverse(s)
			rev[i].Snapshots = s
		}
		if again := Plan(rev, ttlRules, now); !reflect.DeepEqual(again, got) {
			t.Errorf("other input order: got %+v, want %+v", again, got)
		}
	})

	t.Run("a dataset given twice keeps everything", func(t *testing.T) {
		a := input("tank/a", "2026-01-01_00.00.00--1d\n2026-01-02_00.00.00--1d")
		a2 := input("tank/a", "2026-01-03_00.00.00--1d\n2026-01-04_00.00.00--1d")
		got := Plan([]DatasetInput{a, a2}, ttlRules, now)
		require.Len(t, got, 1)
		require.Len(t, got[0].Verdicts, 4)
		if got[0].Frozen == nil || got[0].Frozen.Reason != "malformed input: the dataset is given 2 times" {
			t.Errorf("got Frozen %+v, want the malformed input", got[0].Frozen)
		}
		for _, v := range got[0].Verdicts {
			if v.Destroy || v.Rule != RuleMalformed {
				t.Errorf("%s: got %+v, want kept as malformed", v.Snapshot.Name, v)
			}
		}
		if again := Plan([]DatasetInput{a2, a}, ttlRules, now); !reflect.DeepEqual(again, got) {
			t.Errorf("other input order: got %+v, want %+v", again, got)
		}
	})

	t.Run("a snapshot of another dataset", func(t *testing.T) {
		a := input("tank/a", "2026-01-01_00.00.00--1d\n2026-01-02_00.00.00--1d")
		b := input("tank/b", "2026-01-03_00.00.00--1d")
		a.Snapshots = append(a.Snapshots, b.Snapshots...)
		got := Plan([]DatasetInput{a}, ttlRules, now)
		if want := `malformed input: snapshot "tank/b@2026-01-03_00.00.00--1d" is not a snapshot of the dataset`; got[0].Frozen == nil || got[0].Frozen.Reason != want {
			t.Errorf("got Frozen %+v, want %q", got[0].Frozen, want)
		}
		if d := got[0].Destroy(); len(d) != 0 {
			t.Errorf("got Destroy() %v, want nothing", d)
		}
	})

	t.Run("a snapshot with no name, a dataset with no name", func(t *testing.T) {
		a := input("tank/a", "2026-01-01_00.00.00--1d\n2026-01-02_00.00.00--1d")
		a.Snapshots = append(a.Snapshots, Snapshot{CreateTXG: 5})
		var none DatasetInput
		none.Snapshots = []Snapshot{{CreateTXG: 1}, {CreateTXG: 2}}
		got := Plan([]DatasetInput{a, none}, ttlRules, now)
		for _, p := range got {
			if p.Frozen == nil || len(p.Destroy()) != 0 {
				t.Errorf("%q: got Frozen %+v, Destroy() %v; want frozen, nothing destroyed", p.Dataset, p.Frozen, p.Destroy())
			}
		}
	})

	t.Run("input not changed", func(t *testing.T) {
		a := input("tank/a", "2026-01-02_00.00.00--1d\n2026-01-01_00.00.00--1d txg=1")
		before := append([]Snapshot(nil), a.Snapshots...)
		Plan([]DatasetInput{a}, ttlRules, now)
		if !reflect.DeepEqual(a.Snapshots, before) {
			t.Errorf("Plan reordered its input")
		}
	})
}
