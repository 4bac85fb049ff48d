package conf

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// FuzzParse checks that no input makes Parse panic, that every failure is a *Problems, and
// that what parses can be described and validates again.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.toml", "testdata/invalid/*.toml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("job = [{}]\n"))
	f.Add([]byte("[[job]]\n[[job.prune]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("fuzz.toml", data, host{goos: "linux", name: "rust10.example.org"})
		if err != nil {
			var ps *Problems
			if !errors.As(err, &ps) || len(*ps) == 0 {
				t.Fatalf("got %T %v, want a non-empty *Problems", err, err)
			}
			_ = err.Error()
			return
		}
		c.Describe(io.Discard)
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed, but does not validate again: %v", err)
		}
	})
}

// FuzzSchedule checks that checkSpec alone keeps robfig/cron's parser from panicking (it is
// called here without ParseSchedule's recover), that ParseSchedule's answers are whole, and
// that around changes of offset Next fires exactly when a minute-by-minute reading of the
// clock says it should (oracleFirings).
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"15 1 * * *", "30 2 * * *", "0 2 * * 0", "0 0 * * *", "*/15 * * * *", "30 * * * *",
		"0 9-17 * * 1-5", "0 0 1,15 * 0", "5 4 * jan,mar mon-fri", "@daily", "@hourly", "@every 15m", "@every 1h30m",
		"0 0 30 2 *", "", "TZ=", "CRON_TZ=", "TZ=0", "TZ=TZ=TZ=", "TZ=UTC 0 1 * * *", "@every", "@every -1s", "*/0 * * * *"} {
		f.Add(s, uint8(0))
	}
	zones := map[string]*time.Location{}
	for _, w := range dstWindows {
		loc, err := time.LoadLocation(w.zone)
		if err != nil {
			f.Fatal(err)
		}
		zones[w.zone] = loc
	}
	f.Fuzz(func(t *testing.T, spec string, window uint8) {
		if checkSpec(spec) == nil {
			_, _ = cron.ParseStandard(spec) // a panic here fails the fuzz
		}
		w := dstWindows[int(window)%len(dstWindows)]
		loc := zones[w.zone]
		s, err := ParseSchedule(spec, loc)
		if err != nil {
			if !s.IsZero() || err.Error() == "" {
				t.Fatalf("ParseSchedule(%q): got %+v and error %q, want the zero Schedule and a message", spec, s, err)
			}
			return
		}
		if s.IsZero() || s.String() != spec {
			t.Fatalf("ParseSchedule(%q): got %+v, want a schedule that prints as the spec", spec, s)
		}
		next := s.Next(w.from)
		if !next.After(w.from) || next.Location() != loc {
			t.Fatalf("%q: Next(%v) = %v, want a later time in %v", spec, w.from, next, loc)
		}
		cs, ok := s.sched.(*cron.SpecSchedule)
		if !ok {
			return // @every: elapsed time, no clock to check against
		}
		want := oracleFirings(cs, loc, w.from)
		var got []time.Time
		for at := s.Next(w.from); !at.After(w.from.Add(30 * time.Hour)); at = s.Next(at) {
			got = append(got, at)
		}
		if len(got) != len(want) {
			t.Fatalf("%q in %s from %v: got %d firings %v, want %d %v", spec, w.zone, w.from, len(got), got, len(want), want)
		}
		for i := range got {
			if !got[i].Equal(want[i]) {
				t.Fatalf("%q in %s from %v: firing %d at %v, want %v", spec, w.zone, w.from, i+1, got[i].In(loc), want[i].In(loc))
			}
		}
	})
}
