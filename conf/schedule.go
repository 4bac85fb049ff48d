package conf

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is when something runs: a standard 5-field cron spec ("15 1 * * *") or a
// descriptor (@hourly, @daily, @weekly, @monthly, @yearly, or "@every 15m", which counts from
// the daemon's start). It is read in the configuration's time zone. The zero Schedule never
// fires: IsZero reports it.
type Schedule struct {
	Spec  string
	sched cron.Schedule
	loc   *time.Location
}

// ParseSchedule parses a cron spec in the given time zone (nil means UTC).
func ParseSchedule(spec string, loc *time.Location) (s Schedule, err error) {
	if loc == nil {
		loc = time.UTC
	}
	if err := checkSpec(spec); err != nil {
		return Schedule{}, err
	}
	defer func() {
		// Belt and braces: robfig/cron v3.0.1 is unmaintained, and FuzzSchedule shows that
		// checkSpec alone keeps its parser from panicking on what the fuzzer has tried, not on
		// everything. A config check must not panic.
		if r := recover(); r != nil {
			s, err = Schedule{}, fmt.Errorf("invalid cron spec %q", spec)
		}
	}()
	cs, err := cron.ParseStandard(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("invalid cron spec %q: %v; write 5 fields (minute hour day-of-month month day-of-week) like \"15 1 * * *\", or @hourly, @daily, @weekly, @monthly", spec, err)
	}
	if strings.HasPrefix(spec, "@every ") {
		d, _ := time.ParseDuration(strings.TrimPrefix(spec, "@every "))
		if d < time.Minute {
			return Schedule{}, fmt.Errorf("cron spec %q runs more often than once a minute; use at least \"@every 1m\"", spec)
		}
	}
	s = Schedule{Spec: spec, sched: cs, loc: loc}
	// Some specs parse but never fire, like "0 0 30 2 *" (30 February).
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return Schedule{}, fmt.Errorf("cron spec %q never fires; check the day of month and the month", spec)
	}
	return s, nil
}

// IsZero reports whether no schedule was set.
func (s Schedule) IsZero() bool { return s.sched == nil }

// checkSpec rejects what robfig/cron must not see. A "TZ=" or "CRON_TZ=" prefix is vault's
// policy (one time zone, the top-level timezone) and also the input that panics robfig/cron
// v3.0.1 (an index out of range on "TZ=" without a space after the zone, robfig/cron#470 and
// #554, never fixed there).
func checkSpec(spec string) error {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return fmt.Errorf("cron spec %q sets its own time zone; remove the prefix and set the top-level timezone", spec)
	}
	if strings.TrimSpace(spec) == "" {
		return fmt.Errorf("empty cron spec; write one like \"15 1 * * *\" (01:15 daily) or \"@hourly\"")
	}
	return nil
}

// Next gives the first time the schedule fires after t, or the zero time if it never does.
//
// The schedule matches wall-clock times in its time zone, and around a change of the zone's
// offset (summer time) Next does what cron(8) does:
//   - A wall-clock time that the clocks skip fires when they resume: "30 2 * * *" fires at
//     03:00 on the day Europe/Berlin jumps from 02:00 to 03:00. robfig/cron alone skips it
//     (robfig/cron#541, open), which would lose that night's pull.
//   - A wall-clock time that repeats fires at each occurrence: "30 2 * * *" fires twice, an
//     hour apart, on the day the clocks go back from 03:00 to 02:00. A second pull or prune an
//     hour after the first does no harm.
//
// "@every" counts elapsed time and ignores the clock.
func (s Schedule) Next(t time.Time) time.Time {
	if s.sched == nil {
		return time.Time{}
	}
	t = t.In(s.loc)
	if _, ok := s.sched.(*cron.SpecSchedule); !ok {
		return s.sched.Next(t)
	}
	// robfig/cron steps through a day an hour at a time in the zone: it never matches a time
	// that a jump forward skips, and where the jump is not a whole hour (Australia/Lord_Howe's
	// 30 minutes) it misses the rest of that day: FuzzSchedule found "0 7 1 * 0" skipping
	// 07:00 on 2025-10-05 there. So it only reads the schedule in a fixed offset, one stretch
	// of the zone's constant offset at a time.
	seg, after := t, t // the stretch starts at seg; firings are strictly after after
	for {
		_, off := seg.Zone()
		_, end := seg.ZoneBounds() // zero: the offset never changes again
		c := s.sched.Next(after.In(time.FixedZone("", off)))
		if c.IsZero() {
			return time.Time{}
		}
		if end.IsZero() || c.Before(end) {
			return c.In(s.loc)
		}
		// No firing before the offset changes at end. If the clocks jump forward there, the
		// wall-clock times they skip are those of [end, end+jump) read in the old offset.
		if _, next := end.Zone(); next > off && c.Before(end.Add(time.Duration(next-off)*time.Second)) {
			return end.In(s.loc)
		}
		seg, after = end, end.Add(-time.Nanosecond) // Next rounds up to end itself
	}
}

// String gives the spec as written.
func (s Schedule) String() string { return s.Spec }

// longestGap gives the longest time between two consecutive firings, sampled over a year's
// worth of firings (or 500 of them) from a fixed start in UTC, so that the answer does not
// depend on the clock.
func (s Schedule) longestGap() time.Duration {
	if s.sched == nil {
		return 0
	}
	start := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := s.sched.Next(start)
	var gap time.Duration
	for i := 0; i < 500 && !prev.IsZero() && prev.Sub(start) < 366*24*time.Hour; i++ {
		next := s.sched.Next(prev)
		if next.IsZero() {
			break
		}
		gap = max(gap, next.Sub(prev))
		prev = next
	}
	return gap
}
