package conf

import (
	"testing"
	"time"
	_ "time/tzdata" // the DST cases need these zones wherever the tests run

	"github.com/robfig/cron/v3"
	"github.com/stretchr/testify/require"
)

// Firings around changes of a zone's offset, each case written out in local times.
// Europe/Berlin: 2025-03-30 02:00 CET -> 03:00 CEST, 2025-10-26 03:00 CEST -> 02:00 CET.
// America/New_York: 2025-03-09 02:00 EST -> 03:00 EDT, 2025-11-02 02:00 EDT -> 01:00 EST.
// America/Sao_Paulo: 2018-11-04 00:00 -03 -> 01:00 -02 (midnight does not exist that day).
// Australia/Lord_Howe: 2025-10-05 02:00 +1030 -> 02:30 +11.
func TestScheduleDST(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		return loc
	}
	berlin, ny, sp := zone("Europe/Berlin"), zone("America/New_York"), zone("America/Sao_Paulo")
	lh := zone("Australia/Lord_Howe")
	at := func(loc *time.Location, s string) time.Time {
		// The zone's abbreviation or offset fixes which of a repeated hour's two times is meant.
		tt, err := time.ParseInLocation("2006-01-02 15:04 MST", s, loc)
		if err != nil {
			tt, err = time.ParseInLocation("2006-01-02 15:04 -0700", s, loc)
		}
		require.NoError(t, err, s)
		return tt
	}
	for _, tc := range []struct {
		name string
		spec string
		loc  *time.Location
		from string
		want []string
	}{
		{"spring forward: a daily time in the gap runs when the clocks resume", "30 2 * * *", berlin, "2025-03-29 03:00 CET",
			[]string{"2025-03-30 03:00 CEST", "2025-03-31 02:30 CEST"}},
		{"spring forward: the gap's first minute", "0 2 * * *", berlin, "2025-03-29 03:00 CET",
			[]string{"2025-03-30 03:00 CEST", "2025-03-31 02:00 CEST"}},
		{"spring forward: a time after the gap runs once", "0 3 * * *", berlin, "2025-03-29 04:00 CET",
			[]string{"2025-03-30 03:00 CEST", "2025-03-31 03:00 CEST"}},
		{"spring forward: a time before the gap is unaffected", "15 1 * * *", berlin, "2025-03-29 03:00 CET",
			[]string{"2025-03-30 01:15 CET", "2025-03-31 01:15 CEST"}},
		{"spring forward: hourly runs at the gap's end, then as usual", "30 * * * *", berlin, "2025-03-30 00:45 CET",
			[]string{"2025-03-30 01:30 CET", "2025-03-30 03:00 CEST", "2025-03-30 03:30 CEST", "2025-03-30 04:30 CEST"}},
		{"spring forward: every 15 minutes", "*/15 * * * *", berlin, "2025-03-30 01:40 CET",
			[]string{"2025-03-30 01:45 CET", "2025-03-30 03:00 CEST", "2025-03-30 03:15 CEST"}},
		{"spring forward: a weekly job on the day of the change", "30 2 * * 0", berlin, "2025-03-27 12:00 CET",
			[]string{"2025-03-30 03:00 CEST", "2025-04-06 02:30 CEST"}},
		{"spring forward in New York", "30 2 * * *", ny, "2025-03-08 03:00 EST",
			[]string{"2025-03-09 03:00 EDT", "2025-03-10 02:30 EDT"}},
		{"spring forward at midnight: daily", "0 0 * * *", sp, "2018-11-02 12:00 -03",
			[]string{"2018-11-03 00:00 -03", "2018-11-04 01:00 -02", "2018-11-05 00:00 -02"}},
		{"spring forward at midnight: @daily", "@daily", sp, "2018-11-03 12:00 -03",
			[]string{"2018-11-04 01:00 -02", "2018-11-05 00:00 -02"}},
		{"spring forward at midnight: weekly on the day of the change", "0 0 * * 0", sp, "2018-10-30 12:00 -03",
			[]string{"2018-11-04 01:00 -02", "2018-11-11 00:00 -02"}},
		{"a 30-minute jump forward: a time in the gap", "15 2 * * *", lh, "2025-10-04 12:00 +1030",
			[]string{"2025-10-05 02:30 +11", "2025-10-06 02:15 +11"}},
		{"a 30-minute jump forward: the rest of the day still fires", "0 7 1 * 0", lh, "2025-10-04 12:00 +1030",
			[]string{"2025-10-05 07:00 +11", "2025-10-12 07:00 +11"}},
		{"fall back: a daily time in the repeated hour runs at both", "30 2 * * *", berlin, "2025-10-25 03:00 CEST",
			[]string{"2025-10-26 02:30 CEST", "2025-10-26 02:30 CET", "2025-10-27 02:30 CET"}},
		{"fall back: hourly runs in both passes", "30 * * * *", berlin, "2025-10-26 00:45 CEST",
			[]string{"2025-10-26 01:30 CEST", "2025-10-26 02:30 CEST", "2025-10-26 02:30 CET", "2025-10-26 03:30 CET"}},
		{"fall back in New York", "30 1 * * *", ny, "2025-11-01 03:00 EDT",
			[]string{"2025-11-02 01:30 EDT", "2025-11-02 01:30 EST", "2025-11-03 01:30 EST"}},
		{"@every counts elapsed time across the gap", "@every 15m", berlin, "2025-03-30 01:50 CET",
			[]string{"2025-03-30 03:05 CEST", "2025-03-30 03:20 CEST"}},
		{"@every counts elapsed time across the repeated hour", "@every 1h", berlin, "2025-10-26 02:10 CEST",
			[]string{"2025-10-26 02:10 CET", "2025-10-26 03:10 CET"}},
		{"a gap in the zone, not the schedule's: UTC is unaffected", "30 2 * * *", time.UTC, "2025-03-29 03:00 UTC",
			[]string{"2025-03-30 02:30 UTC", "2025-03-31 02:30 UTC"}},
	} {
		s, err := ParseSchedule(tc.spec, tc.loc)
		require.NoError(t, err, tc.name)
		from := at(tc.loc, tc.from)
		for i, w := range tc.want {
			want := at(tc.loc, w)
			got := s.Next(from)
			if !got.Equal(want) {
				t.Errorf("%s: ParseSchedule(%q, %v), firing %d after %s: got %s, want %s", tc.name, tc.spec, tc.loc, i+1,
					from.Format("2006-01-02 15:04 MST"), got.Format("2006-01-02 15:04 MST"), w)
				break
			}
			from = got
		}
	}
}

// dstWindows are 30 hours around changes of offset, for FuzzSchedule's oracle.
var dstWindows = []struct {
	zone string
	from time.Time
}{
	{"Europe/Berlin", time.Date(2025, 3, 29, 18, 0, 0, 0, time.UTC)},      // spring forward at 02:00
	{"Europe/Berlin", time.Date(2025, 10, 25, 18, 0, 0, 0, time.UTC)},     // fall back at 03:00
	{"America/Sao_Paulo", time.Date(2018, 11, 3, 12, 0, 0, 0, time.UTC)},  // spring forward at midnight
	{"Australia/Lord_Howe", time.Date(2025, 10, 4, 6, 0, 0, 0, time.UTC)}, // a 30-minute step, at 02:00
}

// oracleFirings gives the firings of a clock-based schedule in (from, from+30h] by looking at
// every minute: a minute fires if its wall-clock time matches the spec's fields, and the first
// minute after a jump forward fires if any wall-clock minute that the jump skipped matches. It
// reads the fields itself, as cron(8) does, and never calls the cron package.
func oracleFirings(spec *cron.SpecSchedule, loc *time.Location, from time.Time) []time.Time {
	const star = 1 << 63 // the field was "*" or "?", perhaps with a step
	bit := func(set uint64, n int) bool { return set&(1<<uint(n)) != 0 }
	matches := func(wall time.Time) bool {
		dom, dow := bit(spec.Dom, wall.Day()), bit(spec.Dow, int(wall.Weekday()))
		day := dom && dow
		if spec.Dom&star == 0 && spec.Dow&star == 0 {
			day = dom || dow // both restricted: either will do
		}
		return bit(spec.Minute, wall.Minute()) && bit(spec.Hour, wall.Hour()) && bit(spec.Month, int(wall.Month())) && day
	}
	var out []time.Time
	for m := from.Add(time.Minute); !m.After(from.Add(30 * time.Hour)); m = m.Add(time.Minute) {
		_, before := m.Add(-time.Minute).In(loc).Zone()
		_, after := m.In(loc).Zone()
		fires := matches(m.In(loc))
		for skipped := m.In(time.FixedZone("", before)); !fires && after > before && skipped.Before(m.Add(time.Duration(after-before)*time.Second)); skipped = skipped.Add(time.Minute) {
			fires = matches(skipped)
		}
		if fires {
			out = append(out, m)
		}
	}
	return out
}
