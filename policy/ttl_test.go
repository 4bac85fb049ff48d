package policy

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the machine's zoneinfo

	"github.com/stretchr/testify/require"
)

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want TTL
	}{
		{"1w", TTL{Weeks: 1}},
		{"forever", TTL{Forever: true}},
		{"1y2m3w4d5h6M7s", TTL{Years: 1, Months: 2, Weeks: 3, Days: 4, Hours: 5, Minutes: 6, Seconds: 7}},
		{"1m", TTL{Months: 1}},  // m is months
		{"1M", TTL{Minutes: 1}}, // M is minutes
		{"1y", TTL{Years: 1}},
		{"1d", TTL{Days: 1}},
		{"1h", TTL{Hours: 1}},
		{"1s", TTL{Seconds: 1}},
		{"10d", TTL{Days: 10}},
		{"2h30M", TTL{Hours: 2, Minutes: 30}},
		{"1y1s", TTL{Years: 1, Seconds: 1}},
		{"1m1M", TTL{Months: 1, Minutes: 1}},
		{"100y", TTL{Years: 100}},
		{"999999999s", TTL{Seconds: 999999999}},
	}
	for _, tt := range tests {
		got, err := ParseTTL(tt.in)
		if err != nil {
			t.Errorf("ParseTTL(%q): got error %v, want %+v", tt.in, err, tt.want)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseTTL(%q): got %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("ParseTTL(%q).String(): got %q, want %q", tt.in, s, tt.in)
		}
		if err := ValidTTL(tt.in); err != nil {
			t.Errorf("ValidTTL(%q): got %v, want nil", tt.in, err)
		}
	}
}

func TestParseTTLInvalid(t *testing.T) {
	tests := []struct {
		in, want string // want: the whole error message
	}{
		{"", `ttl "": empty; want forever or parts like 1y2m3w4d5h6M7s`},
		{"0d", `ttl "0d": numbers must be positive`},
		{"00d", `ttl "00d": numbers must be positive`},
		{"1y0m", `ttl "1y0m": numbers must be positive`},
		{"01d", `ttl "01d": numbers must not have leading zeros (01)`},
		{"1d1y", `ttl "1d1y": parts must be in the order y m w d h M s`},
		{"1m1y", `ttl "1m1y": parts must be in the order y m w d h M s`},
		{"1s1M", `ttl "1s1M": parts must be in the order y m w d h M s`},
		{"1M1m", `ttl "1M1m": parts must be in the order y m w d h M s`},
		{"1d1d", `ttl "1d1d": unit "d" appears more than once`},
		{"1x", `ttl "1x": unknown unit "x"; units are y m w d h M s (m is months, M minutes)`},
		{"1D", `ttl "1D": unknown unit "D"; units are y m w d h M s (m is months, M minutes)`},
		{"1W", `ttl "1W": unknown unit "W"; units are y m w d h M s (m is months, M minutes)`},
		{"1é", `ttl "1é": unknown unit "é"; units are y m w d h M s (m is months, M minutes)`},
		{"1.5d", `ttl "1.5d": unknown unit "."; units are y m w d h M s (m is months, M minutes)`},
		{"1 d", `ttl "1 d": unknown unit " "; units are y m w d h M s (m is months, M minutes)`},
		{"d", `ttl "d": no number before "d"`},
		{"1dh", `ttl "1dh": no number before "h"`},
		{"1", `ttl "1": no unit after 1; units are y m w d h M s`},
		{"1d2", `ttl "1d2": no unit after 2; units are y m w d h M s`},
		{"Forever", `ttl "Forever": unexpected "F"; want forever or parts like 1y2m3w4d5h6M7s`},
		{"forever1d", `ttl "forever1d": unexpected "f"; want forever or parts like 1y2m3w4d5h6M7s`},
		{"1dforever", `ttl "1dforever": unexpected "f"; want forever or parts like 1y2m3w4d5h6M7s`},
		{" 1d", `ttl " 1d": unexpected " "; want forever or parts like 1y2m3w4d5h6M7s`},
		{"+1d", `ttl "+1d": unexpected "+"; want forever or parts like 1y2m3w4d5h6M7s`},
		{"-1d", `ttl "-1d": unexpected "-"; want forever or parts like 1y2m3w4d5h6M7s`},
		{"1000000000s", `ttl "1000000000s": number 1000000000 is too large; at most 999999999`},
		{"99999999999999999999999y", `ttl "99999999999999999999999y": number 99999999999999999999999 is too large; at most 999999999`},
	}
	for _, tt := range tests {
		got, err := ParseTTL(tt.in)
		if err == nil {
			t.Errorf("ParseTTL(%q): got %+v, want error %q", tt.in, got, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseTTL(%q): got error %q, want %q", tt.in, err, tt.want)
		}
		if got != (TTL{}) {
			t.Errorf("ParseTTL(%q): got %+v with the error, want the zero TTL", tt.in, got)
		}
		if err := ValidTTL(tt.in); err == nil || err.Error() != tt.want {
			t.Errorf("ValidTTL(%q): got %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestTTLString(t *testing.T) {
	tests := []struct {
		in   TTL
		want string
	}{
		{TTL{Forever: true}, "forever"},
		{TTL{Forever: true, Days: 3}, "forever"},
		{TTL{Weeks: 2, Hours: 12}, "2w12h"},
		{TTL{Years: 1, Months: 2, Weeks: 3, Days: 4, Hours: 5, Minutes: 6, Seconds: 7}, "1y2m3w4d5h6M7s"},
		{TTL{Months: 14}, "14m"}, // not normalised to 1y2m: the name says what it says
		{TTL{}, ""},              // invalid, and does not parse
		{TTL{Days: -1}, "-1d"},   // invalid, and does not parse
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v.String(): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// day is a readable way to write a UTC time in the tables below.
func day(s string) time.Time {
	layout := "2006-01-02 15:04:05"
	if len(s) == len("2006-01-02") {
		layout = "2006-01-02"
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		panic(err)
	}
	return t
}

func mustTTL(t testing.TB, s string) TTL {
	t.Helper()
	ttl, err := ParseTTL(s)
	require.NoError(t, err)
	return ttl
}

func TestExpiryUTC(t *testing.T) {
	tests := []struct {
		created, ttl, want string
	}{
		// Month ends: clamp to the last day of the target month.
		{"2024-01-31", "1m", "2024-02-29"},
		{"2023-01-31", "1m", "2023-02-28"},
		{"2023-03-31", "1m", "2023-04-30"},
		{"2023-10-31", "1m", "2023-11-30"}, // zfsnap2: 2023-12-01
		{"2023-12-31", "1m", "2024-01-31"},
		{"2023-08-31", "1m", "2023-09-30"},
		{"2023-01-30", "1m", "2023-02-28"},
		{"2023-01-28", "1m", "2023-02-28"},
		{"2023-02-28", "1m", "2023-03-28"}, // not the last day: the day is kept
		// Leap years.
		{"2024-02-29", "1y", "2025-02-28"},
		{"2024-02-29", "12m", "2025-02-28"},
		{"2024-02-29", "4y", "2028-02-29"},
		{"2024-02-29", "48m", "2028-02-29"},
		{"2023-02-28", "1y", "2024-02-28"},
		{"2023-02-28", "1d", "2023-03-01"},
		{"2024-02-28", "1d", "2024-02-29"},
		{"2024-02-28", "1w", "2024-03-06"},
		{"2000-02-28", "1d", "2000-02-29"}, // divisible by 400: leap
		{"2100-02-28", "1d", "2100-03-01"}, // divisible by 100: not
		{"1900-01-31", "1m", "1900-02-28"},
		// Month totals: 13m is 1y1m, and totals that are multiples of 12
		// above 12 are right (zfsnap2 puts them in January a year on).
		{"2023-01-31", "13m", "2024-02-29"},
		{"2023-01-31", "1y1m", "2024-02-29"},
		{"2023-12-15", "12m", "2024-12-15"},   // zfsnap2: 2025-01-15
		{"2023-01-15", "23m", "2024-12-15"},   // zfsnap2: 2025-01-15
		{"2023-06-10", "18m", "2024-12-10"},   // zfsnap2: 2025-01-10
		{"2023-12-31", "24m", "2025-12-31"},   // zfsnap2: 2026-01-31
		{"2023-12-31", "1y12m", "2025-12-31"}, // zfsnap2: 2026-01-31
		{"2023-01-15", "24m", "2025-01-15"},
		{"2023-01-15", "2y", "2025-01-15"},
		{"2023-12-01", "1m", "2024-01-01"},
		{"2023-11-30", "3m", "2024-02-29"},
		{"2023-05-31", "100m", "2031-09-30"},
		// Days after months: clamp first, then count days.
		{"2024-01-31", "1m1d", "2024-03-01"},
		{"2023-01-31", "1m1d", "2023-03-01"},
		{"2023-02-27", "1m3d", "2023-03-30"}, // zfsnap2's own example
		{"2023-01-31 00:00:00", "1y1m1w1d1h1M1s", "2024-03-08 01:01:01"},
		{"2023-12-31 23:59:59", "1s", "2024-01-01 00:00:00"},
		{"2024-01-01 12:00:00", "25h", "2024-01-02 13:00:00"},
		{"2024-01-01 12:00:00", "90M", "2024-01-01 13:30:00"},
		{"2024-01-01 12:00:00", "86400s", "2024-01-02 12:00:00"},
		{"2024-01-01", "1000w", "2043-03-02"},
		{"2024-01-01", "999999999s", "2055-09-09 01:46:39"},
		{"2024-01-01", "7975y", "9999-01-01"},
	}
	for _, tt := range tests {
		ttl := mustTTL(t, tt.ttl)
		got := ttl.Expiry(day(tt.created))
		if want := day(tt.want); !got.Equal(want) {
			t.Errorf("%s + %s: got %s, want %s", tt.created, tt.ttl, got, want)
		}
	}
}

func TestExpiryNever(t *testing.T) {
	created := day("2024-01-01")
	tests := []struct {
		name string
		ttl  TTL
	}{
		{"forever", TTL{Forever: true}},
		{"after 9999", TTL{Years: 7976}},
		{"after 9999 in days", TTL{Weeks: maxPart, Days: maxPart}},
		{"after 9999 in hours", TTL{Years: 7975, Months: 11, Days: 30, Hours: 24}},
		{"most of everything", TTL{Years: maxPart, Months: maxPart, Weeks: maxPart, Days: maxPart, Hours: maxPart, Minutes: maxPart, Seconds: maxPart}},
		{"zero", TTL{}},
		{"negative", TTL{Days: -1}},
		{"negative among positives", TTL{Years: 1, Seconds: -1}},
		{"too large", TTL{Hours: maxPart + 1}},
		{"overflowing", TTL{Seconds: math.MaxInt}},
	}
	for _, tt := range tests {
		if got := tt.ttl.Expiry(created); !got.Equal(Never()) {
			t.Errorf("%s: %+v.Expiry(%s): got %s, want Never()", tt.name, tt.ttl, created, got)
		}
	}
	require.Equal(t, "9999-12-31T00:00:00Z", Never().Format(time.RFC3339))
	// Never is early enough to marshal in the zone furthest east, UTC+14.
	kiritimati, err := time.LoadLocation("Pacific/Kiritimati")
	require.NoError(t, err)
	if _, err := Never().In(kiritimati).MarshalJSON(); err != nil {
		t.Errorf("Never() in Kiritimati: got %v, want it to marshal", err)
	}
}

func TestMaxUnixDay(t *testing.T) {
	if got := time.Unix(maxUnixDay*86400, 0).UTC(); !got.Equal(day("9999-12-31")) {
		t.Errorf("maxUnixDay: got %s, want 9999-12-31", got)
	}
}

// TestYearsAreTwelveMonths checks, for every day of two years, that 1y is 12m,
// 1y1m is 13m and 2y is 24m, and that a month's expiry keeps the day or clamps
// it to the month's last day.
func TestYearsAreTwelveMonths(t *testing.T) {
	for c := day("2023-01-01 13:14:15"); c.Year() < 2025; c = c.AddDate(0, 0, 1) {
		for _, pair := range [][2]TTL{
			{{Years: 1}, {Months: 12}},
			{{Years: 1, Months: 1}, {Months: 13}},
			{{Years: 2}, {Months: 24}},
		} {
			if a, b := pair[0].Expiry(c), pair[1].Expiry(c); !a.Equal(b) {
				t.Errorf("from %s: %s gives %s, %s gives %s; want the same", c, pair[0], a, pair[1], b)
			}
		}
		got := TTL{Months: 1}.Expiry(c)
		wantMonth := c.Month()%12 + 1
		wantDay := min(c.Day(), daysIn(got.Year(), wantMonth))
		if got.Month() != wantMonth || got.Day() != wantDay || got.Hour() != 13 || got.Minute() != 14 || got.Second() != 15 {
			t.Errorf("%s + 1m: got %s, want month %d day %d at 13:14:15", c, got, wantMonth, wantDay)
		}
	}
}

func newYork(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	return loc
}

// TestExpiryNewYork pins the choice that y m w d are calendar units on the
// wall clock and h M s are elapsed time, across the 2023 switches: clocks
// sprang forward from 02:00 EST to 03:00 EDT on March 12 and fell back from
// 02:00 EDT to 01:00 EST on November 5.
func TestExpiryNewYork(t *testing.T) {
	ny := newYork(t)
	const layout = "2006-01-02 15:04:05 MST"
	at := func(s string) time.Time {
		// Wall time in New York; the zone abbreviation only documents.
		c, err := time.ParseInLocation("2006-01-02 15:04:05", s[:19], ny)
		require.NoError(t, err)
		require.Equal(t, s, c.Format(layout), "test setup")
		return c
	}
	tests := []struct {
		created, ttl, want string
		elapsed            time.Duration
	}{
		// Spring forward: a calendar day is 23 hours, 24h is 24 hours.
		{"2023-03-11 12:00:00 EST", "1d", "2023-03-12 12:00:00 EDT", 23 * time.Hour},
		{"2023-03-11 12:00:00 EST", "24h", "2023-03-12 13:00:00 EDT", 24 * time.Hour},
		{"2023-03-11 12:00:00 EST", "1440M", "2023-03-12 13:00:00 EDT", 24 * time.Hour},
		{"2023-03-05 12:00:00 EST", "1w", "2023-03-12 12:00:00 EDT", 7*24*time.Hour - time.Hour},
		{"2023-02-12 12:00:00 EST", "1m", "2023-03-12 12:00:00 EDT", 28*24*time.Hour - time.Hour},
		{"2023-03-12 01:30:00 EST", "1h", "2023-03-12 03:30:00 EDT", time.Hour},
		// A calendar expiry in the skipped hour moves forward by the gap.
		{"2023-03-11 02:30:00 EST", "1d", "2023-03-12 03:30:00 EDT", 24 * time.Hour},
		{"2023-03-05 02:30:00 EST", "1w", "2023-03-12 03:30:00 EDT", 7 * 24 * time.Hour},
		{"2023-02-12 02:30:00 EST", "1m", "2023-03-12 03:30:00 EDT", 28 * 24 * time.Hour},
		{"2022-03-12 02:30:00 EST", "1y", "2023-03-12 03:30:00 EDT", 365 * 24 * time.Hour},
		{"2023-03-11 02:30:00 EST", "1d30M", "2023-03-12 04:00:00 EDT", 24*time.Hour + 30*time.Minute},
		// Fall back: a calendar day is 25 hours, 24h is 24 hours.
		{"2023-11-04 12:00:00 EDT", "1d", "2023-11-05 12:00:00 EST", 25 * time.Hour},
		{"2023-11-04 12:00:00 EDT", "24h", "2023-11-05 11:00:00 EST", 24 * time.Hour},
		{"2023-11-05 00:30:00 EDT", "1h", "2023-11-05 01:30:00 EDT", time.Hour},
		{"2023-11-05 00:30:00 EDT", "2h", "2023-11-05 01:30:00 EST", 2 * time.Hour},
		{"2023-11-05 00:30:00 EDT", "3h", "2023-11-05 02:30:00 EST", 3 * time.Hour},
		{"2023-10-05 12:00:00 EDT", "1m", "2023-11-05 12:00:00 EST", 31*24*time.Hour + time.Hour},
		// No switch in between: nothing special.
		{"2023-06-30 12:00:00 EDT", "1m", "2023-07-30 12:00:00 EDT", 30 * 24 * time.Hour},
		{"2024-01-31 09:00:00 EST", "1m", "2024-02-29 09:00:00 EST", 29 * 24 * time.Hour},
	}
	for _, tt := range tests {
		c := at(tt.created)
		got := mustTTL(t, tt.ttl).Expiry(c)
		if s := got.Format(layout); s != tt.want {
			t.Errorf("%s + %s: got %s, want %s", tt.created, tt.ttl, s, tt.want)
		}
		if e := got.Sub(c); e != tt.elapsed {
			t.Errorf("%s + %s: got %s elapsed, want %s", tt.created, tt.ttl, e, tt.elapsed)
		}
	}
}

func TestExpiryNewYorkRepeatedHour(t *testing.T) {
	ny := newYork(t)
	// 01:30 on 2023-11-05 happened twice; both are valid answers for a
	// calendar expiry that lands on it.
	first := time.Date(2023, 11, 5, 5, 30, 0, 0, time.UTC).In(ny)
	second := first.Add(time.Hour)
	require.Equal(t, "01:30:00 EDT", first.Format("15:04:05 MST"), "test setup")
	require.Equal(t, "01:30:00 EST", second.Format("15:04:05 MST"), "test setup")
	got := TTL{Days: 1}.Expiry(time.Date(2023, 11, 4, 1, 30, 0, 0, ny))
	if !got.Equal(first) && !got.Equal(second) {
		t.Errorf("2023-11-04 01:30 EDT + 1d: got %s, want %s or %s", got, first, second)
	}
	// From the second 01:30, elapsed parts count from that instant, and a
	// calendar day lands on the second 01:30 of the next day.
	if got, want := (TTL{Hours: 1}).Expiry(second), second.Add(time.Hour); !got.Equal(want) {
		t.Errorf("second 01:30 + 1h: got %s, want %s", got, want)
	}
	if got, want := (TTL{Days: 1}).Expiry(second), second.Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("second 01:30 + 1d: got %s, want %s", got, want)
	}
}

// TestExpirySkippedDay: Samoa skipped 2011-12-30 entirely, moving from
// UTC-10 to UTC+14. A day from the 29th must still be a day later, not
// nothing (which reading the 30th with the new offset would give).
func TestExpirySkippedDay(t *testing.T) {
	apia, err := time.LoadLocation("Pacific/Apia")
	require.NoError(t, err)
	c := time.Date(2011, 12, 29, 12, 0, 0, 0, apia)
	got := TTL{Days: 1}.Expiry(c)
	if e := got.Sub(c); e != 24*time.Hour {
		t.Errorf("2011-12-29 12:00 in Apia + 1d: got %s, %s later; want 24h later", got, e)
	}
}

func TestExpiryScaled(t *testing.T) {
	tests := []struct {
		created, ttl string
		factor       float64
		want         string
	}{
		{"2024-01-01", "1d", 1, "2024-01-02"},
		{"2024-01-01", "1d", 1.5, "2024-01-02 12:00:00"},
		{"2024-01-01", "1d", 0.5, "2024-01-01 12:00:00"},
		{"2024-01-01", "1w", 2, "2024-01-15"},
		{"2024-01-01", "1M", 2.5, "2024-01-01 00:02:30"},
		// The calendar span first (1m from Jan 31 is 29 days), then stretched.
		{"2024-01-31", "1m", 1, "2024-02-29"},
		{"2024-01-31", "1m", 1.5, "2024-03-14 12:00:00"},
		{"2023-01-31", "1m", 2, "2023-03-28"},
		{"2024-01-01", "1y", 3, "2027-01-03"}, // 3 × 366 days
	}
	for _, tt := range tests {
		got := mustTTL(t, tt.ttl).ExpiryScaled(day(tt.created), tt.factor)
		if want := day(tt.want); !got.Equal(want) {
			t.Errorf("%s + %s × %v: got %s, want %s", tt.created, tt.ttl, tt.factor, got, want)
		}
	}

	c := day("2024-01-01")
	for _, f := range []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1), 1e300} {
		if got := (TTL{Days: 1}).ExpiryScaled(c, f); !got.Equal(Never()) {
			t.Errorf("1d × %v: got %s, want Never()", f, got)
		}
	}
	if got := (TTL{Forever: true}).ExpiryScaled(c, 0.5); !got.Equal(Never()) {
		t.Errorf("forever × 0.5: got %s, want Never()", got)
	}
	if got := (TTL{Years: 7975}).ExpiryScaled(c, 2); !got.Equal(Never()) {
		t.Errorf("7975y × 2: got %s, want Never()", got)
	}

	// A sub-second created time: factor above 1 never ends before Expiry.
	c = time.Date(2024, 1, 1, 0, 0, 0, 999_999_999, time.UTC)
	ttl := TTL{Years: 5000, Seconds: 1}
	if got, exp := ttl.ExpiryScaled(c, math.Nextafter(1, 2)), ttl.Expiry(c); got.Before(exp) {
		t.Errorf("%s × (1+ε): got %s, before the unscaled %s", ttl, got, exp)
	}
}

func TestExpiryScaledMonotonic(t *testing.T) {
	ny := newYork(t)
	factors := []float64{0.001, 0.1, 0.5, 0.999, 1, 1.0001, 1.5, 2, 3.3, 10, 1000}
	for _, created := range []time.Time{
		day("2024-01-31 23:59:59"),
		time.Date(2023, 3, 11, 2, 30, 0, 0, ny),
		time.Date(2023, 11, 4, 1, 30, 0, 0, ny),
	} {
		for _, s := range []string{"1s", "1d", "1m", "1y2m3w4d5h6M7s", "100y"} {
			ttl := mustTTL(t, s)
			prev := created
			for _, f := range factors {
				got := ttl.ExpiryScaled(created, f)
				if got.Before(prev) {
					t.Errorf("%s + %s × %v: got %s, before %s for a smaller factor", created, s, f, got, prev)
				}
				if f >= 1 && got.Before(ttl.Expiry(created)) {
					t.Errorf("%s + %s × %v: got %s, before the unscaled expiry", created, s, f, got)
				}
				prev = got
			}
		}
	}
}

func BenchmarkParseTTL(b *testing.B) {
	for b.Loop() {
		if _, err := ParseTTL("1y2m3w4d5h6M7s"); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{
		"1w", "forever", "1y2m3w4d5h6M7s", "0d", "01d", "1d1y", "", "1x", "1M", "1m",
		"999999999s", "1000000000s", "1d1d", "d", "1", "forever1d", "1é", "2h30M",
	} {
		f.Add(s)
	}
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(f, err)
	created := []time.Time{
		time.Date(2024, 1, 31, 2, 30, 0, 0, time.UTC),
		time.Date(2023, 3, 11, 2, 30, 0, 0, ny),
		time.Date(2023, 11, 4, 1, 30, 0, 0, ny),
	}
	f.Fuzz(func(t *testing.T, s string) {
		ttl, err := ParseTTL(s)
		if err != nil {
			if prefix := "ttl " + strconv.Quote(s) + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("ParseTTL(%q): got error %q, want it to start %q", s, err, prefix)
			}
			return
		}
		if got := ttl.String(); got != s {
			t.Fatalf("ParseTTL(%q).String(): got %q, want the input", s, got)
		}
		if !ttl.valid() {
			t.Fatalf("ParseTTL(%q): got %+v, which valid() refuses", s, ttl)
		}
		for _, c := range created {
			exp := ttl.Expiry(c)
			if !exp.After(c) {
				t.Fatalf("%s + %s: got %s, not after it", c, s, exp)
			}
			if got := ttl.ExpiryScaled(c, 1.5); got.Before(exp) {
				t.Fatalf("%s + %s × 1.5: got %s, before the unscaled %s", c, s, got, exp)
			}
		}
	})
}
