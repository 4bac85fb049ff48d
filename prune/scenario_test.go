package prune

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

// The two-year scenario: what a vault holds after two years of zfsnap2's
// usual crontab on the source, and what pruning keeps of it. The lab test
// asserts the same sets on real pools, so they are listed here in full.
//
// Snapshots (UTC), created in time order (createtxg ascending), from
// 2025-01-01 to 2026-12-31:
//
//	daily    every day at 00:00         --1w
//	weekly   every Sunday at 00:10      --1m
//	monthly  every 1st at 00:20         --1y
//	yearly   every January 1 at 00:30   --forever
//
// now is 2027-01-01 00:00 UTC, the end of the two years (before that day's
// snapshots). Rules: source_ttl, grid ["14 daily", "8 weekly", "12 monthly",
// "forever yearly"], keep_unparsed, min_keep 1, min_age 24h, max_destroy
// high enough for one run to finish.

// twoYears returns the scenario's snapshots of ds, oldest first.
func twoYears(t testing.TB, ds zfs.Dataset) []Snapshot {
	t.Helper()
	type snap struct {
		at  time.Time
		ttl string
	}
	var all []snap
	for d := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2027; d = d.AddDate(0, 0, 1) {
		all = append(all, snap{d, "1w"})
		if d.Weekday() == time.Sunday {
			all = append(all, snap{d.Add(10 * time.Minute), "1m"})
		}
		if d.Day() == 1 {
			all = append(all, snap{d.Add(20 * time.Minute), "1y"})
		}
		if d.YearDay() == 1 {
			all = append(all, snap{d.Add(30 * time.Minute), "forever"})
		}
	}
	s := make([]Snapshot, len(all))
	for i, x := range all {
		name, err := ds.Snapshot(x.at.Format("2006-01-02_15.04.05") + "--" + x.ttl)
		require.NoError(t, err)
		s[i] = Snapshot{Name: name, GUID: uint64(1e6 + i), CreateTXG: uint64(100 + 10*i), Creation: x.at.Add(3 * time.Second)}
	}
	return s
}

var twoYearRules = Rules{
	SourceTTL: true, TTLFactor: 1, KeepUnparsed: true,
	MinKeep: 1, MinAge: 24 * time.Hour, MaxDestroy: 100000, Location: time.UTC,
}

// update rewrites the golden files: go test ./prune/ -run TwoYears -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestTwoYears plans the scenario with ttl_factor 1 and 2 and wants exactly
// the keep sets that scenarioKeep, an independent and slower reading of the
// rules, works out. The kept snapshots and their reasons are also listed in
// full in testdata/two-years-ttl-factor-N.golden (46 of 860 with factor 1,
// 60 with factor 2), for a reviewer and for the lab test.
func TestTwoYears(t *testing.T) {
	dataset := ds(t, "rust10/Backups/host05/data")
	snaps := twoYears(t, dataset)
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	grid, err := ParseGrid([]string{"14 daily", "8 weekly", "12 monthly", "forever yearly"})
	require.NoError(t, err)
	for _, factor := range []float64{1, 2} {
		t.Run(fmt.Sprintf("ttl_factor %v", factor), func(t *testing.T) {
			r := twoYearRules
			r.Grid, r.TTLFactor = grid, factor
			p := planOne(t, DatasetInput{Dataset: dataset, Snapshots: snaps}, r, now)
			checkRails(t, DatasetInput{Dataset: dataset, Snapshots: snaps}, r, now, p)
			var got []string
			for _, v := range p.Verdicts {
				if !v.Destroy {
					got = append(got, v.Snapshot.Name.Short())
				}
			}
			want := scenarioKeep(snaps, now, factor)
			if !slices.Equal(got, want) {
				t.Errorf("got keep set (%d)\n%s\nwant (%d)\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
			}

			var b strings.Builder
			fmt.Fprintf(&b, "# prune: TestTwoYears, ttl_factor %v: %d of %d snapshots kept\n", factor, len(got), len(snaps))
			for _, v := range p.Verdicts {
				if !v.Destroy {
					fmt.Fprintf(&b, "%-30s %s\n", v.Snapshot.Name.Short(), v.Reason)
				}
			}
			golden := filepath.Join("testdata", fmt.Sprintf("two-years-ttl-factor-%v.golden", factor))
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
			}
			wantGolden, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./prune/ -run TwoYears -update to create it")
			if b.String() != string(wantGolden) {
				t.Errorf("kept snapshots and reasons: got\n%s\nwant (%s)\n%s", b.String(), golden, wantGolden)
			}
		})
	}
}

// scenarioKeep works out what the scenario keeps, the slow way, for a
// dataset whose names are all zfsnap2 names in UTC: the newest; every
// snapshot whose TTL has not run out or is forever; and, walking the
// calendar back from now, the newest snapshot of each of the last 14 days,
// 8 ISO weeks and 12 months that have snapshots, and of every year.
func scenarioKeep(snaps []Snapshot, now time.Time, factor float64) []string {
	type snap struct {
		short string
		at    time.Time
		keep  bool
	}
	var all []*snap
	for _, s := range snaps {
		short := s.Name.Short()
		at, err := time.Parse("2006-01-02_15.04.05", short[:19])
		if err != nil {
			panic(err)
		}
		x := &snap{short: short, at: at}
		ttl := short[21:]
		var expiry time.Time
		switch ttl {
		case "forever":
			x.keep = true
		case "1w":
			expiry = at.AddDate(0, 0, 7)
		case "1m":
			expiry = addMonthsClamped(at, 1)
		case "1y":
			expiry = addMonthsClamped(at, 12)
		default:
			panic(ttl)
		}
		if !x.keep {
			span := expiry.Sub(at)
			x.keep = now.Before(at.Add(time.Duration(float64(span) * factor)))
		}
		all = append(all, x)
	}
	all[len(all)-1].keep = true // the newest

	// newestIn marks the newest snapshot in [from, to), and says whether
	// there was one.
	newestIn := func(from, to time.Time) bool {
		var best *snap
		for _, x := range all {
			if !x.at.Before(from) && x.at.Before(to) && (best == nil || x.at.After(best.at)) {
				best = x
			}
		}
		if best != nil {
			best.keep = true
		}
		return best != nil
	}
	first := all[0].at
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	for n := 0; n < 14 && !day.Before(first.AddDate(0, 0, -1)); day = day.AddDate(0, 0, -1) {
		if newestIn(day, day.AddDate(0, 0, 1)) {
			n++
		}
	}
	monday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	for monday.Weekday() != time.Monday {
		monday = monday.AddDate(0, 0, -1)
	}
	for n := 0; n < 8 && !monday.Before(first.AddDate(0, 0, -7)); monday = monday.AddDate(0, 0, -7) {
		if newestIn(monday, monday.AddDate(0, 0, 7)) {
			n++
		}
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	for n := 0; n < 12 && !month.Before(first.AddDate(0, -1, 0)); month = month.AddDate(0, -1, 0) {
		if newestIn(month, month.AddDate(0, 1, 0)) {
			n++
		}
	}
	for y := first.Year(); y <= now.Year(); y++ {
		newestIn(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC))
	}

	var keep []string
	for _, x := range all {
		if x.keep {
			keep = append(keep, x.short)
		}
	}
	return keep
}

// addMonthsClamped adds n calendar months to t, clamping the day to the
// target month's last, as zfsnap2 TTLs count months in vault.
func addMonthsClamped(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), 0, t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}
