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
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return Schedule{}, fmt.Errorf("cron spec %q sets its own time zone; remove the prefix and set the top-level timezone", spec)
	}
	if strings.TrimSpace(spec) == "" {
		return Schedule{}, fmt.Errorf("empty cron spec; write one like \"15 1 * * *\" (01:15 daily) or \"@hourly\"")
	}
	defer func() {
		// The cron parser has panicked on odd input before; a config check must not.
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
	// Some specs parse but never fire, like "0 0 30 2 *" (30 February).
	if cs.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return Schedule{}, fmt.Errorf("cron spec %q never fires; check the day of month and the month", spec)
	}
	return Schedule{Spec: spec, sched: cs, loc: loc}, nil
}

// IsZero reports whether no schedule was set.
func (s Schedule) IsZero() bool { return s.sched == nil }

// Next gives the first time the schedule fires after t, or the zero time if it never does.
func (s Schedule) Next(t time.Time) time.Time {
	if s.sched == nil {
		return time.Time{}
	}
	return s.sched.Next(t.In(s.loc))
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
