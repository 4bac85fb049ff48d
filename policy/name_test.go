package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		in, prefix, created, ttl string
	}{
		{"2022-04-08_16.49.48--1w", "", "2022-04-08 16:49:48", "1w"},
		{"hourly-2022-04-08_16.49.48--1w", "hourly-", "2022-04-08 16:49:48", "1w"},
		{"hourly2022-04-08_16.49.48--1d", "hourly", "2022-04-08 16:49:48", "1d"}, // -p hourly: no '-' added
		{"daily-2022-04-08_00.00.00--forever", "daily-", "2022-04-08 00:00:00", "forever"},
		{"2022-04-08_16.49.48--1y2m3w4d5h6M7s", "", "2022-04-08 16:49:48", "1y2m3w4d5h6M7s"},
		{"2022-04-08_16.49.48--1M", "", "2022-04-08 16:49:48", "1M"},
		// Weird but valid prefixes: anything of letters, digits and _ . : -
		{"a--2022-04-08_16.49.48--1w", "a--", "2022-04-08 16:49:48", "1w"},
		{"Weekly.Backup:v2_x-2022-04-08_16.49.48--2w", "Weekly.Backup:v2_x-", "2022-04-08 16:49:48", "2w"},
		{"_2022-04-08_16.49.48--1d", "_", "2022-04-08 16:49:48", "1d"},
		{"x-2022-04-08_16.49.48--1d", "x-", "2022-04-08 16:49:48", "1d"},
		{"2021-01-01_00.00.00--1d2022-04-08_16.49.48--1w", "2021-01-01_00.00.00--1d", "2022-04-08 16:49:48", "1w"},
		{"1-2022-04-08_16.49.48--1w", "1-", "2022-04-08 16:49:48", "1w"},
		// zfsnap2's years: [12][90]xx.
		{"1999-12-31_23.59.59--forever", "", "1999-12-31 23:59:59", "forever"},
		{"1900-01-01_00.00.00--1s", "", "1900-01-01 00:00:00", "1s"},
		{"1000-01-01_00.00.00--1s", "", "1000-01-01 00:00:00", "1s"},
		{"2099-12-31_23.59.59--1s", "", "2099-12-31 23:59:59", "1s"},
		{"2999-12-31_23.59.59--1s", "", "2999-12-31 23:59:59", "1s"},
		// Leap days.
		{"2024-02-29_12.00.00--1y", "", "2024-02-29 12:00:00", "1y"},
		{"2000-02-29_12.00.00--1y", "", "2000-02-29 12:00:00", "1y"},
	}
	for _, tt := range tests {
		got, ok := ParseName(tt.in, time.UTC)
		if !ok {
			t.Errorf("ParseName(%q): got not a zfsnap2 name, want prefix %q, created %s, ttl %s", tt.in, tt.prefix, tt.created, tt.ttl)
			continue
		}
		want := Name{Prefix: tt.prefix, Created: day(tt.created), TTL: mustTTL(t, tt.ttl)}
		if got.Prefix != want.Prefix || !got.Created.Equal(want.Created) || got.Created.Location() != time.UTC || got.TTL != want.TTL {
			t.Errorf("ParseName(%q): got %+v, want %+v", tt.in, got, want)
		}
		if s := FormatName(got.Prefix, got.Created, got.TTL); s != tt.in {
			t.Errorf("FormatName(ParseName(%q)): got %q, want the input", tt.in, s)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("ParseName(%q).String(): got %q, want the input", tt.in, s)
		}
	}
}

func TestParseNameNotZfsnap(t *testing.T) {
	for _, in := range []string{
		"",
		"manual",
		"before-upgrade",
		"2022-04-08_16.49.48",      // no TTL
		"2022-04-08_16.49.48-1w",   // one '-'
		"2022-04-08_16.49.48--",    // empty TTL
		"2022-04-08_16.49.48---1w", // the TTL follows the last "--"; the date is then "...48-"
		"2022-04-08_16.49.48--b--1w",
		"a--b--1w",
		"--1w",
		"2022-04-08_16.49.48--1w--",
		"2022-04-08_16.49.48--0d",
		"2022-04-08_16.49.48--01d",
		"2022-04-08_16.49.48--1d1y",
		"2022-04-08_16.49.48--1x",
		"2022-04-08_16.49.48--1W",
		"2022-04-08_16.49.48--Forever",
		"2022-04-08_16.49.48--1w ",
		"2022-04-08_16.49.48--1000000000s",
		// Not real dates and times.
		"2023-02-29_00.00.00--1d",
		"2023-02-30_00.00.00--1d",
		"1900-02-29_00.00.00--1d",
		"2022-04-31_00.00.00--1d",
		"2022-13-01_00.00.00--1d",
		"2022-00-10_00.00.00--1d",
		"2022-04-00_00.00.00--1d",
		"2022-04-08_24.00.00--1d",
		"2022-04-08_23.60.00--1d",
		"2022-04-08_23.59.60--1d",
		// Not zfsnap2's years or format.
		"2122-04-08_16.49.48--1w",
		"1822-04-08_16.49.48--1w",
		"3022-04-08_16.49.48--1w",
		"0999-04-08_16.49.48--1w",
		"22-04-08_16.49.48--1w",
		"2022-4-08_16.49.48--1w",
		"2022-04-08T16.49.48--1w",
		"2022-04-08_16:49:48--1w",
		"2022/04/08_16.49.48--1w",
		"2022-04-08 16.49.48--1w",
		"2022-04-08_16.49.4x--1w",
		"2022-04-08_16.49.48.5--1w",
		"20220408_164948--1w",
		"２０２２-04-08_16.49.48--1w",
		// Other tools' names.
		"autosnap_2022-04-08_16:49:48_daily",
		"zrepl_20220408_164948_000",
		"zfs-auto-snap_daily-2022-04-08-1649",
		// Bad prefixes.
		"my snap-2022-04-08_16.49.48--1w",
		"-x2022-04-08_16.49.48--1w",
		"-2022-04-08_16.49.48--1w",
		"a%2022-04-08_16.49.48--1w",
		"é2022-04-08_16.49.48--1w",
		"pool/fs@2022-04-08_16.49.48--1w", // a full name, not the short one
		"@2022-04-08_16.49.48--1w",
		"a\n2022-04-08_16.49.48--1w",
	} {
		if got, ok := ParseName(in, time.UTC); ok {
			t.Errorf("ParseName(%q): got %+v, want not a zfsnap2 name", in, got)
		}
	}
}

func TestParseNameLocation(t *testing.T) {
	ny := newYork(t)
	const in = "2022-04-08_16.49.48--1w"
	n, ok := ParseName(in, ny)
	require.True(t, ok)
	if want := time.Date(2022, 4, 8, 20, 49, 48, 0, time.UTC); !n.Created.Equal(want) || n.Created.Location() != ny {
		t.Errorf("ParseName(%q, New York): got created %s, want %s in New York", in, n.Created, want)
	}
	if s := n.String(); s != in {
		t.Errorf("ParseName(%q, New York).String(): got %q, want the input", in, s)
	}
	n, ok = ParseName(in, nil)
	require.True(t, ok)
	if n.Created.Location() != time.Local {
		t.Errorf("ParseName(%q, nil): got location %s, want time.Local", in, n.Created.Location())
	}
}

func TestParseNameDST(t *testing.T) {
	ny := newYork(t)
	// Clocks fell back from 02:00 EDT to 01:00 EST: 01:30 happened twice.
	// Either is Go's choice to make; the name formats back the same.
	const twice = "2023-11-05_01.30.00--1h"
	n, ok := ParseName(twice, ny)
	require.True(t, ok)
	first := time.Date(2023, 11, 5, 5, 30, 0, 0, time.UTC)
	if !n.Created.Equal(first) && !n.Created.Equal(first.Add(time.Hour)) {
		t.Errorf("ParseName(%q): got created %s, want %s or an hour later", twice, n.Created, first)
	}
	if s := n.String(); s != twice {
		t.Errorf("ParseName(%q).String(): got %q, want the input", twice, s)
	}

	// Clocks sprang forward from 02:00 EST to 03:00 EDT: 02:30 never
	// happened. Go reads it with one of the two offsets; the name is still a
	// zfsnap2 name, and what it formats to parses to the same instant.
	const never = "2023-03-12_02.30.00--1d"
	n, ok = ParseName(never, ny)
	require.True(t, ok)
	est := time.Date(2023, 3, 12, 7, 30, 0, 0, time.UTC) // 02:30 read as EST
	if !n.Created.Equal(est) && !n.Created.Equal(est.Add(-time.Hour)) {
		t.Errorf("ParseName(%q): got created %s, want %s or an hour earlier", never, n.Created, est)
	}
	again, ok := ParseName(n.String(), ny)
	if !ok || !again.Created.Equal(n.Created) || again.TTL != n.TTL || again.Prefix != n.Prefix {
		t.Errorf("ParseName(%q) formats as %q, which parses as %+v (ok %v); want %+v", never, n.String(), again, ok, n)
	}
}

func TestFormatName(t *testing.T) {
	ny := newYork(t)
	tests := []struct {
		prefix string
		t      time.Time
		ttl    TTL
		want   string
	}{
		{"", time.Date(2022, 4, 8, 16, 49, 48, 0, time.UTC), TTL{Weeks: 1}, "2022-04-08_16.49.48--1w"},
		{"hourly-", time.Date(2022, 4, 8, 16, 49, 48, 0, time.UTC), TTL{Weeks: 1}, "hourly-2022-04-08_16.49.48--1w"},
		{"", time.Date(2022, 4, 8, 16, 49, 48, 999_999_999, ny), TTL{Forever: true}, "2022-04-08_16.49.48--forever"},
		{"", time.Date(2022, 4, 8, 16, 49, 48, 0, ny).UTC(), TTL{Days: 1}, "2022-04-08_20.49.48--1d"},
		{"", time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC), TTL{Months: 1, Minutes: 1}, "2022-01-02_03.04.05--1m1M"},
	}
	for _, tt := range tests {
		if got := FormatName(tt.prefix, tt.t, tt.ttl); got != tt.want {
			t.Errorf("FormatName(%q, %s, %s): got %q, want %q", tt.prefix, tt.t, tt.ttl, got, tt.want)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	tests := []struct {
		in, want string // want "": valid
	}{
		{"", ""},
		{"hourly-", ""},
		{"hourly", ""},
		{"a--", ""},
		{"Weekly.Backup:v2_x-", ""},
		{"-x", `prefix "-x": must not start with "-"`},
		{"my snap-", `prefix "my snap-": " " is not allowed; use letters, digits and _ . : -`},
		{"a/b", `prefix "a/b": "/" is not allowed; use letters, digits and _ . : -`},
		{"a@b", `prefix "a@b": "@" is not allowed; use letters, digits and _ . : -`},
		{"a%b", `prefix "a%b": "%" is not allowed; use letters, digits and _ . : -`},
		{"é-", `prefix "é-": "é" is not allowed; use letters, digits and _ . : -`},
		{"\xff-", `prefix "\xff-": "\xff" is not allowed; use letters, digits and _ . : -`},
	}
	for _, tt := range tests {
		err := ValidPrefix(tt.in)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidPrefix(%q): got %v, want nil", tt.in, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("ValidPrefix(%q): got %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestExpired(t *testing.T) {
	n, ok := ParseName("2024-01-31_12.00.00--1m", time.UTC)
	require.True(t, ok)
	tests := []struct {
		now    string
		factor float64
		want   bool
	}{
		{"2024-01-31 12:00:00", 1, false},
		{"2024-02-29 11:59:59", 1, false},
		{"2024-02-29 12:00:00", 1, true}, // from the instant of expiry on, as zfsnap2
		{"2025-01-01 00:00:00", 1, true},
		{"2024-02-29 12:00:00", 2, false},
		{"2024-03-29 11:59:59", 2, false}, // 2 × 29 days
		{"2024-03-29 12:00:00", 2, true},
		{"2024-02-15 00:00:00", 0.5, true},
		{"2999-01-01 00:00:00", math.NaN(), false},
		{"2999-01-01 00:00:00", 0, false},
		{"2999-01-01 00:00:00", -1, false},
		{"2999-01-01 00:00:00", math.Inf(1), false},
	}
	for _, tt := range tests {
		if got := n.Expired(day(tt.now), tt.factor); got != tt.want {
			t.Errorf("%s expired at %s with factor %v: got %v, want %v (expires %s)", n, tt.now, tt.factor, got, tt.want, n.ExpiresAt(tt.factor))
		}
	}
	if got, want := n.ExpiresAt(1), day("2024-02-29 12:00:00"); !got.Equal(want) {
		t.Errorf("%s.ExpiresAt(1): got %s, want %s", n, got, want)
	}
	if got, want := n.ExpiresAt(1.5), day("2024-03-15 00:00:00"); !got.Equal(want) { // + 43.5 days
		t.Errorf("%s.ExpiresAt(1.5): got %s, want %s", n, got, want)
	}

	forever, ok := ParseName("2000-01-01_00.00.00--forever", time.UTC)
	require.True(t, ok)
	for _, now := range []time.Time{day("2000-01-01"), Never(), Never().Add(time.Hour), time.Unix(1<<62, 0)} {
		if forever.Expired(now, 1) {
			t.Errorf("%s expired at %s: got true, want false", forever, now)
		}
	}
	if got := forever.ExpiresAt(1); !got.Equal(Never()) {
		t.Errorf("%s.ExpiresAt(1): got %s, want Never()", forever, got)
	}

	// The zero Name, as from a caller that forgot to check ok, expires never.
	if (Name{}).Expired(day("2024-01-01"), 1) {
		t.Errorf("Name{}.Expired: got true, want false")
	}

	// Read in New York, the same name expires five hours later.
	ny := newYork(t)
	n, ok = ParseName("2024-01-31_12.00.00--1m", ny)
	require.True(t, ok)
	if got, want := n.ExpiresAt(1), day("2024-02-29 17:00:00"); !got.Equal(want) {
		t.Errorf("%s in New York: got expiry %s, want %s", n, got, want)
	}
}

func TestParseNameAllocs(t *testing.T) {
	ny := newYork(t)
	for _, s := range benchNames {
		if a := testing.AllocsPerRun(100, func() { ParseName(s, ny) }); a != 0 {
			t.Errorf("ParseName(%q): got %v allocations, want 0", s, a)
		}
	}
}

// benchNames mixes zfsnap2 names with others, as a dataset's list would.
var benchNames = []string{
	"2022-04-08_16.49.48--1w",
	"hourly-2022-04-08_16.00.00--2d",
	"daily-2022-04-08_01.15.00--1m",
	"monthly-2022-04-01_01.15.00--1y2m3w4d5h6M7s",
	"2022-04-08_16.49.48--forever",
	"autosnap_2022-04-08_16:49:48_daily",
	"zrepl_20220408_164948_000",
	"before-upgrade",
	"2023-02-30_00.00.00--1d",
	"my snap-2022-04-08_16.49.48--1w",
}

func BenchmarkParseName(b *testing.B) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range benchNames {
			ParseName(s, ny)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchNames)), "ns/name")
}

func FuzzParseName(f *testing.F) {
	for _, s := range benchNames {
		f.Add(s)
	}
	for _, s := range []string{
		"a--2022-04-08_16.49.48--1w", "a--b--1w", "2022-04-08_16.49.48---1w",
		"2023-03-12_02.30.00--1d", "2023-11-05_01.30.00--1h", "2024-02-29_00.00.00--1y",
		"-2022-04-08_16.49.48--1w", "2022-04-08_16.49.48--",
	} {
		f.Add(s)
	}
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, s string) {
		// s as a prefix: valid exactly when ValidPrefix says so.
		const rest = "2022-04-08_16.49.48--1w"
		if p, ok := ParseName(s+rest, time.UTC); ok != (ValidPrefix(s) == nil) || ok && p.Prefix != s {
			t.Fatalf("ParseName(%q): got %+v, ok %v; ValidPrefix(%q) says %v", s+rest, p, ok, s, ValidPrefix(s))
		}

		n, ok := ParseName(s, time.UTC)
		nn, okNY := ParseName(s, ny)
		if ok != okNY {
			t.Fatalf("ParseName(%q): got ok %v in UTC, %v in New York; want the same", s, ok, okNY)
		}
		if !ok {
			if n != (Name{}) {
				t.Fatalf("ParseName(%q): got %+v with ok false, want the zero Name", s, n)
			}
			return
		}
		if got := FormatName(n.Prefix, n.Created, n.TTL); got != s {
			t.Fatalf("FormatName(ParseName(%q)) in UTC: got %q, want the input", s, got)
		}
		if err := ValidPrefix(n.Prefix); err != nil {
			t.Fatalf("ParseName(%q): got prefix %q, which ValidPrefix refuses: %v", s, n.Prefix, err)
		}
		if err := ValidTTL(n.TTL.String()); err != nil {
			t.Fatalf("ParseName(%q): got TTL %+v, which does not format as a valid one: %v", s, n.TTL, err)
		}
		if !strings.HasSuffix(s, "--"+n.TTL.String()) || !strings.HasPrefix(s, n.Prefix) {
			t.Fatalf("ParseName(%q): got %+v, not the name's parts", s, n)
		}
		// In New York, the name formats back to itself unless its wall time
		// was skipped, and what it formats to parses to the same Name.
		formatted := nn.String()
		again, ok := ParseName(formatted, ny)
		if !ok || again.Prefix != nn.Prefix || again.TTL != nn.TTL || !again.Created.Equal(nn.Created) {
			t.Fatalf("ParseName(%q) in New York formats as %q, which parses as %+v (ok %v); want %+v", s, formatted, again, ok, nn)
		}
		if formatted != s && !skipped(n.Created, ny) {
			t.Fatalf("ParseName(%q) in New York formats as %q; want the input", s, formatted)
		}
		if exp := nn.ExpiresAt(1); !exp.After(nn.Created) {
			t.Fatalf("%q in New York: expires %s, not after its creation %s", s, exp, nn.Created)
		}
	})
}

// skipped reports whether the wall-clock time of u (a UTC time) never
// occurred in loc.
func skipped(u time.Time, loc *time.Location) bool {
	y, m, d := u.Date()
	hh, mm, ss := u.Clock()
	l := time.Date(y, m, d, hh, mm, ss, 0, loc)
	return l.Format(dateLayout) != u.Format(dateLayout)
}
