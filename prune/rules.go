package prune

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/belltech/vault/conf"
)

// Rules are one job's pruning rules and rails; see the package documentation
// for exactly how [Plan] applies them. The zero Rules has no rule and lets
// nothing go.
type Rules struct {
	// SourceTTL is the TTL rule: a snapshot with a zfsnap2 name may go once
	// the TTL in its name, stretched by TTLFactor, has run out, and is kept
	// until then. It has no opinion on other names.
	SourceTTL bool
	// TTLFactor stretches the TTL (2 keeps twice as long). With SourceTTL it
	// must be finite and at least 1; see [Rules.Validate].
	TTLFactor float64

	// Grid is the grid rule, when not empty: a snapshot may go unless one of
	// the grid's buckets selects it. One GridRule per Unit, in any order.
	Grid []GridRule

	// KeepUnparsed keeps every snapshot whose name is not a zfsnap2 name,
	// whatever the rules say, and leaves such snapshots out of the grid.
	// Without it the grid judges them by their creation time.
	KeepUnparsed bool

	// MinKeep: the newest MinKeep snapshots of a dataset (by createtxg) are
	// always kept. Below 1 it counts as 1: the newest is always kept.
	MinKeep int
	// MinAge: a snapshot younger than this is always kept. Zero or negative
	// protects nothing by age (snapshots dated in the future are still kept).
	MinAge time.Duration
	// MaxDestroy bounds what one run destroys in one dataset; the oldest go
	// first. Zero or negative lets nothing go.
	MaxDestroy int

	// DateTolerance is how far a snapshot's date may stray before [Plan]
	// takes it for a lie: from its creation (for a zfsnap2 name), before an
	// older snapshot's date, or after now; see "Age" in the package
	// documentation. Zero or negative is [DefaultDateTolerance]; a negative
	// one also fails [Rules.Validate].
	DateTolerance time.Duration

	// Location is the time zone that zfsnap2 names are read in and calendar
	// buckets are cut in (the source's); nil is time.Local, as in
	// [policy.ParseName].
	Location *time.Location
}

// Unit is the period of a grid bucket.
type Unit uint8

// The grid's units. Hours are wall-clock hours and days calendar days in
// [Rules.Location] (so a day is 23 or 25 hours across a DST switch, and the
// hour that happens twice when clocks fall back is one bucket); weeks are ISO
// 8601 weeks, Monday to Sunday, numbered within their ISO year (a year has
// 52 or 53); months and years are calendar months and years.
const (
	Hourly Unit = iota + 1
	Daily
	Weekly
	Monthly
	Yearly
)

// numUnits is the number of units, plus one for the zero Unit.
const numUnits = int(Yearly) + 1

var unitNames = [numUnits]string{"", "hourly", "daily", "weekly", "monthly", "yearly"}

// String returns the unit as configured: "hourly", "daily", "weekly",
// "monthly" or "yearly"; "unit(N)" for an invalid one.
func (u Unit) String() string {
	if u.valid() {
		return unitNames[u]
	}
	return "unit(" + strconv.Itoa(int(u)) + ")"
}

func (u Unit) valid() bool { return u >= Hourly && u <= Yearly }

// ParseUnit parses "hourly", "daily", "weekly", "monthly" or "yearly".
func ParseUnit(s string) (Unit, error) {
	for u := Hourly; u <= Yearly; u++ {
		if unitNames[u] == s {
			return u, nil
		}
	}
	return 0, fmt.Errorf("unknown grid unit %q; use one of %s", s, strings.Join(unitNames[1:], ", "))
}

// GridRule is one line of a retention grid: keep the newest snapshot of each
// of the Count most recent periods of Unit that hold a snapshot ("14 daily"),
// or of every such period when Forever is set ("forever yearly"). Exactly
// one of Count >= 1 and Forever holds in a valid rule.
type GridRule struct {
	Count   int
	Forever bool
	Unit    Unit
}

// ParseGridRule parses a rule as configured: "14 daily", "8 weekly",
// "12 monthly", "forever yearly", "48 hourly".
func ParseGridRule(s string) (GridRule, error) {
	// One parser for the configuration and the planner.
	c, err := conf.ParseGridRule(s)
	if err != nil {
		return GridRule{}, err
	}
	return fromConf(c)
}

// ParseGrid parses each rule with [ParseGridRule] and checks that no unit
// appears twice.
func ParseGrid(rules []string) ([]GridRule, error) {
	var g []GridRule
	for _, s := range rules {
		r, err := ParseGridRule(s)
		if err != nil {
			return nil, err
		}
		g = append(g, r)
	}
	if err := checkGrid(g); err != nil {
		return nil, err
	}
	return g, nil
}

// String returns the rule as configured: "14 daily", "forever yearly".
func (g GridRule) String() string {
	if g.Forever {
		return "forever " + g.Unit.String()
	}
	return strconv.Itoa(g.Count) + " " + g.Unit.String()
}

func (g GridRule) check() error {
	switch {
	case !g.Unit.valid():
		return fmt.Errorf("grid rule %q: invalid unit", g)
	case g.Forever && g.Count != 0:
		return fmt.Errorf("grid rule %q: forever with a count of %d; want one or the other", g, g.Count)
	case !g.Forever && g.Count < 1:
		return fmt.Errorf("grid rule %q: the count must be at least 1", g)
	}
	return nil
}

func checkGrid(g []GridRule) error {
	var seen [numUnits]bool
	for _, r := range g {
		if err := r.check(); err != nil {
			return err
		}
		if seen[r.Unit] {
			return fmt.Errorf("grid: more than one %s rule; one rule per unit", r.Unit)
		}
		seen[r.Unit] = true
	}
	return nil
}

// Validate reports rules that [Plan] refuses to apply: a TTL factor that is
// not a finite number of at least 1 (with SourceTTL), a grid with an
// invalid rule or two rules for one unit, or a negative date tolerance. Plan
// keeps every snapshot under such rules. MinKeep, MinAge and MaxDestroy have
// no invalid values: each reads a value out of range in the direction that
// keeps more.
func (r Rules) Validate() error {
	var errs []error
	if r.SourceTTL && !(r.TTLFactor >= 1 && !math.IsInf(r.TTLFactor, 1)) {
		errs = append(errs, fmt.Errorf("ttl_factor %v: must be a number of at least 1", r.TTLFactor))
	}
	if r.DateTolerance < 0 {
		errs = append(errs, fmt.Errorf("date_tolerance -%s: must not be negative", conf.FormatDuration(-r.DateTolerance)))
	}
	if err := checkGrid(r.Grid); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RulesFromConf returns a job's prune configuration as Rules, names read in
// loc (the configuration's Location). The error is [Rules.Validate]'s, or
// names a grid unit the planner does not know.
func RulesFromConf(p conf.Prune, loc *time.Location) (Rules, error) {
	r := Rules{
		SourceTTL:     p.SourceTTL,
		TTLFactor:     p.TTLFactor,
		KeepUnparsed:  p.KeepUnparsed,
		MinKeep:       p.MinKeep,
		MinAge:        p.MinAge,
		MaxDestroy:    p.MaxDestroy,
		DateTolerance: p.DateTolerance,
		Location:      loc,
	}
	for _, c := range p.Grid {
		g, err := fromConf(c)
		if err != nil {
			return Rules{}, err
		}
		r.Grid = append(r.Grid, g)
	}
	return r, r.Validate()
}

func fromConf(c conf.GridRule) (GridRule, error) {
	u, err := ParseUnit(c.Unit)
	if err != nil {
		return GridRule{}, fmt.Errorf("grid rule %q: %w", c, err)
	}
	g := GridRule{Count: c.Count, Forever: c.Forever, Unit: u}
	return g, g.check()
}

// The machine tags in [Verdict.Rule]: what kept a snapshot, or what let it go.
const (
	// Kept by a rail, whatever the rules say, strongest first.
	RuleFrozen       = "frozen"        // the dataset is frozen (last pull failed, diverged, anomaly, a lie)
	RuleMalformed    = "malformed"     // the listing of the dataset is inconsistent; nothing in it goes
	RuleInvalidRules = "invalid_rules" // the rules fail Rules.Validate; nothing goes
	RuleLiar         = "liar"          // its date lies (see Lie); unless acknowledged, the rest of the dataset is frozen
	RuleNewest       = "newest"        // the dataset's newest snapshot whose date does not lie
	RuleHeld         = "held"          // has at least one hold (the replication base, say)
	RuleForever      = "forever"       // zfsnap2 TTL forever
	RuleFuture       = "future"        // dated in the future, within the date tolerance: clock skew
	RuleMinAge       = "min_age"       // younger than min_age
	RuleMinKeep      = "min_keep"      // among the newest min_keep
	RuleUnparsed     = "unparsed"      // not a zfsnap2 name, and keep_unparsed, no creation time or no rule judges it
	RuleNoRules      = "no_rules"      // neither source_ttl nor a grid: nothing goes

	// Kept by a rule.
	RuleTTL  = "ttl"  // its TTL has not run out
	RuleGrid = "grid" // a grid bucket selects it

	// Kept although the rules let it go.
	RuleMaxDestroy = "max_destroy" // this run already destroys max_destroy older ones

	// Destroyed.
	RuleExpired     = "expired"      // its TTL ran out (and the grid, if any, does not select it)
	RuleOutsideGrid = "outside_grid" // no grid bucket selects it, and no TTL keeps it
)
