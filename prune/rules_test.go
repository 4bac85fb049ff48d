package prune

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
)

func TestParseGrid(t *testing.T) {
	got, err := ParseGrid([]string{"14 daily", "8 weekly", "12 monthly", "forever yearly", "48 hourly"})
	require.NoError(t, err)
	want := []GridRule{{14, false, Daily}, {8, false, Weekly}, {12, false, Monthly}, {0, true, Yearly}, {48, false, Hourly}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for i, g := range got {
		if s := g.String(); s != []string{"14 daily", "8 weekly", "12 monthly", "forever yearly", "48 hourly"}[i] {
			t.Errorf("got String() %q for %+v", s, g)
		}
	}
	if g, err := ParseGrid(nil); err != nil || g != nil {
		t.Errorf("ParseGrid(nil): got %v, %v; want no grid, no error", g, err)
	}

	for _, tc := range []struct{ in, err string }{
		{"0 daily", "must be a positive whole number"},
		{"-1 daily", "must be a positive whole number"},
		{"14 fortnightly", `unknown unit "fortnightly"`},
		{"14", "write a count and a unit"},
		{"daily 14", "must be a positive whole number"},
		{"forever", "write a count and a unit"},
	} {
		if _, err := ParseGrid([]string{tc.in}); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseGrid(%q): got error %v, want one containing %q", tc.in, err, tc.err)
		}
	}
	if _, err := ParseGrid([]string{"14 daily", "forever daily"}); err == nil || !strings.Contains(err.Error(), "more than one daily rule") {
		t.Errorf("two daily rules: got error %v, want more than one daily rule", err)
	}
}

func TestUnit(t *testing.T) {
	for u := Hourly; u <= Yearly; u++ {
		got, err := ParseUnit(u.String())
		if err != nil || got != u {
			t.Errorf("ParseUnit(%q): got %v, %v; want %v", u.String(), got, err, u)
		}
	}
	if s := Unit(0).String(); s != "unit(0)" {
		t.Errorf("Unit(0).String(): got %q, want unit(0)", s)
	}
	if _, err := ParseUnit("Daily"); err == nil {
		t.Errorf("ParseUnit(%q): got no error, want one", "Daily")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		r   Rules
		err string // "" for valid
	}{
		{Rules{}, ""},
		{Rules{SourceTTL: true, TTLFactor: 1}, ""},
		{Rules{SourceTTL: true, TTLFactor: 1e300}, ""},
		{Rules{SourceTTL: false, TTLFactor: 0}, ""}, // the factor does not matter without the TTL rule
		{Rules{SourceTTL: true, TTLFactor: 0}, "ttl_factor 0: must be a number of at least 1"},
		{Rules{SourceTTL: true, TTLFactor: 0.999}, "ttl_factor 0.999"},
		{Rules{SourceTTL: true, TTLFactor: math.NaN()}, "ttl_factor NaN"},
		{Rules{SourceTTL: true, TTLFactor: math.Inf(1)}, "ttl_factor +Inf"},
		{Rules{MinKeep: -1, MaxDestroy: -1, MinAge: -time.Hour}, ""}, // read in the direction that keeps more
		{Rules{DateTolerance: time.Hour}, ""},
		{Rules{DateTolerance: -time.Minute}, "date_tolerance -1m: must not be negative"},
		{Rules{Grid: []GridRule{{Count: 1, Unit: Daily}, {Forever: true, Unit: Yearly}}}, ""},
		{Rules{Grid: []GridRule{{Count: 0, Unit: Daily}}}, `grid rule "0 daily": the count must be at least 1`},
		{Rules{Grid: []GridRule{{Count: 2, Forever: true, Unit: Daily}}}, "forever with a count of 2"},
		{Rules{Grid: []GridRule{{Count: 2, Unit: 9}}}, `grid rule "2 unit(9)": invalid unit`},
		{Rules{Grid: []GridRule{{Count: 2, Unit: Weekly}, {Count: 3, Unit: Weekly}}}, "more than one weekly rule"},
	} {
		err := tc.r.Validate()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%+v: got error %v, want none", tc.r, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%+v: got error %v, want one containing %q", tc.r, err, tc.err)
		}
	}
}

func TestRulesFromConf(t *testing.T) {
	loc := newYork(t)
	p := conf.Prune{
		SourceTTL: true, TTLFactor: 1.5, KeepUnparsed: true, MinKeep: 7, MinAge: 24 * time.Hour, MaxDestroy: 20,
		Grid: []conf.GridRule{{Count: 14, Unit: "daily"}, {Forever: true, Unit: "yearly"}}, DateTolerance: 20 * time.Minute,
	}
	got, err := RulesFromConf(p, loc)
	require.NoError(t, err)
	want := Rules{
		SourceTTL: true, TTLFactor: 1.5, KeepUnparsed: true, MinKeep: 7, MinAge: 24 * time.Hour, MaxDestroy: 20,
		Grid: []GridRule{{Count: 14, Unit: Daily}, {Forever: true, Unit: Yearly}}, DateTolerance: 20 * time.Minute, Location: loc,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}

	// conf's own parser and ours agree on every unit.
	for _, s := range []string{"24 hourly", "14 daily", "8 weekly", "12 monthly", "forever yearly"} {
		c, err := conf.ParseGridRule(s)
		require.NoError(t, err)
		r, err := RulesFromConf(conf.Prune{Grid: []conf.GridRule{c}}, time.UTC)
		require.NoError(t, err)
		if g := r.Grid[0].String(); g != s {
			t.Errorf("conf %q: got %q", s, g)
		}
	}

	for _, tc := range []struct {
		p   conf.Prune
		err string
	}{
		{conf.Prune{Grid: []conf.GridRule{{Count: 3, Unit: "fortnightly"}}}, `unknown grid unit "fortnightly"`},
		{conf.Prune{Grid: []conf.GridRule{{Count: 3, Unit: "daily"}, {Count: 4, Unit: "daily"}}}, "more than one daily rule"},
		{conf.Prune{SourceTTL: true, TTLFactor: 0.5}, "ttl_factor 0.5"},
	} {
		if _, err := RulesFromConf(tc.p, time.UTC); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%+v: got error %v, want one containing %q", tc.p, err, tc.err)
		}
	}
}
