package prune

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLies plans datasets with snapshots whose dates lie (issue #13), in the
// line notation of TestPlan, and wants the lies reported by short name.
func TestLies(t *testing.T) {
	ny := newYork(t)
	zurich, err := time.LoadLocation("Europe/Zurich")
	require.NoError(t, err)
	daily := withGrid(ttlRules, true, "7 daily")
	tests := []struct {
		name  string
		rules Rules
		now   string // in the rules' location
		lines string
		lies  []string
	}{
		{name: "the attack: a back-dated name per recent day, created today, destroys nothing", rules: daily, now: "2026-11-25 12:00", lines: `
			2026-11-17_00.00.00--1w                                  => keep frozen
			2026-11-18_00.00.00--1w                                  => keep frozen
			2026-11-19_00.00.00--1w                                  => keep frozen
			2026-11-20_00.00.00--1w                                  => keep frozen
			2026-11-21_00.00.00--1w                                  => keep frozen
			2026-11-22_00.00.00--1w                                  => keep frozen
			2026-11-23_00.00.00--1w                                  => keep frozen
			2026-11-24_00.00.00--1w                                  => keep frozen
			2026-11-25_00.00.00--1w                                  => keep frozen
			2026-11-19_23.59.59--1w created=2026-11-25T10:03          => keep liar
			2026-11-20_23.59.59--1w created=2026-11-25T10:03          => keep liar
			2026-11-21_23.59.59--1w created=2026-11-25T10:03          => keep liar
			2026-11-22_23.59.59--1w created=2026-11-25T10:04          => keep liar
			2026-11-23_23.59.59--1w created=2026-11-25T10:04          => keep liar
			2026-11-24_23.59.59--1w created=2026-11-25T10:04          => keep liar`,
			lies: []string{"2026-11-19_23.59.59--1w", "2026-11-20_23.59.59--1w", "2026-11-21_23.59.59--1w", "2026-11-22_23.59.59--1w", "2026-11-23_23.59.59--1w", "2026-11-24_23.59.59--1w"}},
		{name: "the attack, acknowledged: the genuine snapshots keep the plan they had", rules: daily, now: "2026-11-25 12:00", lines: `
			2026-11-17_00.00.00--1w                                  => destroy expired
			2026-11-18_00.00.00--1w                                  => destroy expired
			2026-11-19_00.00.00--1w                                  => keep ttl
			2026-11-20_00.00.00--1w                                  => keep ttl
			2026-11-21_00.00.00--1w                                  => keep ttl
			2026-11-22_00.00.00--1w                                  => keep ttl
			2026-11-23_00.00.00--1w                                  => keep ttl
			2026-11-24_00.00.00--1w                                  => keep ttl
			2026-11-25_00.00.00--1w                                  => keep newest
			2026-11-19_23.59.59--1w created=2026-11-25T10:03 acked    => keep liar
			2026-11-24_23.59.59--1w created=2026-11-25T10:04 acked    => keep liar`},
		{name: "the attack with the clock set back: names and creation agree, dates before older snapshots", rules: daily, now: "2026-11-25 12:00", lines: `
			2026-11-23_00.00.00--1w => keep frozen
			2026-11-24_00.00.00--1w => keep frozen
			2026-11-25_00.00.00--1w => keep frozen
			2026-11-23_23.59.59--1w => keep liar
			2026-11-24_23.44.59--1w => keep liar
			2026-11-24_23.59.59--1w => keep frozen`,
			lies: []string{"2026-11-23_23.59.59--1w", "2026-11-24_23.44.59--1w"}},
		{name: "a far-future name lies, and genuine snapshots after it do not", rules: daily, now: "2026-11-25 12:00", lines: `
			2026-11-24_00.00.00--1w                                  => keep frozen
			2099-01-01_00.00.00--1w created=2026-11-25T10:00          => keep liar
			2099-01-02_00.00.00--forever                             => keep liar
			2026-11-25_00.00.00--1w                                  => keep frozen`,
			lies: []string{"2099-01-01_00.00.00--1w", "2099-01-02_00.00.00--forever"}},
		{name: "a name an hour off (written in UTC, read in Zurich) lies", rules: with(daily, func(r *Rules) { r.Location = zurich }), now: "2026-01-31 12:00", lines: `
			2026-01-30_00.00.00--1w                              => keep frozen
			2026-01-31_11.00.00--1w created=UTC:2026-01-31T11:00 => keep liar`,
			lies: []string{"2026-01-31_11.00.00--1w"}},
		{name: "date_tolerance 1h lets a name an hour off pass", rules: with(daily, func(r *Rules) { r.Location, r.DateTolerance = zurich, time.Hour }), now: "2026-01-31 12:00", lines: `
			2026-01-30_00.00.00--1w                              => keep ttl
			2026-01-31_11.00.00--1w created=UTC:2026-01-31T11:00 => keep newest`},
		{name: "date_tolerance 1m: a name two minutes off lies", rules: with(daily, func(r *Rules) { r.DateTolerance = time.Minute }), now: "2026-01-31 12:00", lines: `
			2026-01-30_00.00.00--1w                          => keep frozen
			2026-01-31_11.00.00--1w created=2026-01-31T11:02 => keep liar`,
			lies: []string{"2026-01-31_11.00.00--1w"}},
		{name: "dst: a name in the hour that happens twice is read as its creation says", rules: with(withGrid(ttlRules, false, "2 hourly"), func(r *Rules) { r.Location = ny }), now: "2026-11-03 00:00", lines: `
			2026-11-01_00.30.00--1d                              => destroy outside_grid
			2026-11-01_01.50.00--1d                              => destroy outside_grid
			2026-11-01_01.30.00--1d created=UTC:2026-11-01T06:30 => keep grid
			2026-11-01_02.10.00--1d                              => keep newest`},
		{name: "dst: named just before the clocks spring forward, created just after", rules: with(ttlRules, func(r *Rules) { r.Location = ny }), now: "2026-03-08 12:00", lines: `
			2026-03-07_12.00.00--1w                              => keep ttl
			2026-03-08_01.59.59--1w created=UTC:2026-03-08T07:00 => keep ttl
			2026-03-08_03.00.01--1w                              => keep newest`},
		{name: "an acknowledged liar: kept, out of the grid, and the dataset is not frozen", rules: withGrid(ttlRules, false, "2 daily"), now: "2026-02-01 12:00", lines: `
			2026-01-30_00.00.00--1d                                => destroy outside_grid
			2026-01-31_00.00.00--1d                                => keep grid
			2026-01-31_23.59.59--1d created=2026-02-01T10:00 acked => keep liar
			2026-02-01_11.00.00--1d                                => keep newest
			2026-01-31_22.00.00--1d created=2026-02-01T11:30 acked => keep liar`},
		{name: "acknowledged liars take no place among the newest min_keep", rules: with(ttlRules, func(r *Rules) { r.MinKeep = 2 }), now: "2026-02-01 12:00", lines: `
			2026-01-29_00.00.00--1d                                => destroy expired
			2026-01-30_00.00.00--1d                                => keep min_keep
			2026-01-31_00.00.00--1d                                => keep newest
			2026-01-20_00.00.00--1d created=2026-02-01T10:00 acked => keep liar
			2026-01-21_00.00.00--1d created=2026-02-01T11:00 acked => keep liar`},
		{name: "not zfsnap2 names, dated by creation: one created before an older one lies", rules: withGrid(ttlRules, false, "1 daily"), now: "2026-02-01 12:00", lines: `
			manual-a created=2026-01-30T10:00 => keep frozen
			manual-b created=2026-01-31T10:00 => keep frozen
			manual-c created=2026-01-29T10:00 => keep liar
			manual-d created=2026-01-31T12:00 => keep frozen
			manual-e created=2026-01-31T11:50 => keep frozen`,
			lies: []string{"manual-c"}},
		{name: "not zfsnap2 names, in order within the tolerance", rules: withGrid(ttlRules, false, "1 daily"), now: "2026-02-01 12:00", lines: `
			manual-a created=2026-01-30T10:00 => destroy outside_grid
			manual-b created=2026-01-31T10:00 => destroy outside_grid
			manual-d created=2026-01-31T12:00 => keep grid
			manual-e created=2026-01-31T11:50 => destroy outside_grid
			no-creation                       => keep unparsed
			manual-f created=2026-02-01T12:10 => keep newest`},
		{name: "dated before an older snapshot by no more than the tolerance: not a lie, and its own date", rules: withGrid(ttlRules, false, "3 daily"), now: "2026-02-01 12:00", lines: `
			2026-01-30_23.00.00--1d => destroy outside_grid
			2026-01-30_23.50.00--1d => destroy outside_grid
			2026-01-31_00.05.00--1d => keep grid
			2026-01-30_23.55.00--1d => keep grid
			2026-01-30_23.50.01--1d => destroy outside_grid
			2026-02-01_10.00.00--1d => keep newest`},
		{name: "a zfsnap2 name with no creation: the order still tells", rules: withGrid(ttlRules, false, "3 daily"), now: "2026-02-01 12:00", lines: `
			2026-01-30_00.00.00--1d            => keep frozen
			2026-01-31_00.00.00--1d            => keep frozen
			2026-01-30_12.00.00--1d nocreation => keep liar
			2026-02-01_00.00.00--1d            => keep frozen`,
			lies: []string{"2026-01-30_12.00.00--1d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := tt.rules.Location
			now := at(t, loc, tt.now)
			lines := parseLines(t, ds(t, testDataset), loc, tt.lines)
			in := DatasetInput{Dataset: ds(t, testDataset), Snapshots: snapshotsOf(lines), AckedLies: ackedOf(lines)}
			got := planOne(t, in, tt.rules, now)
			if g, w := render(got), renderWant(lines); g != w {
				t.Errorf("got\n%s\nwant\n%s\nreasons:\n%s", g, w, reasons(got))
			}
			checkRails(t, in, tt.rules, now, got)
			var lies []string
			for _, l := range got.Lies {
				lies = append(lies, l.Snapshot.Short())
			}
			if !slices.Equal(lies, tt.lies) {
				t.Errorf("got lies %q, want %q", lies, tt.lies)
			}
			if frozen := got.Frozen != nil; frozen != (len(tt.lies) > 0) {
				t.Errorf("got Frozen %+v with lies %q", got.Frozen, tt.lies)
			}
		})
	}
}

// TestLieReasons pins the text an operator reads about lies.
func TestLieReasons(t *testing.T) {
	now := "2026-11-25 12:00"
	r := withGrid(ttlRules, true, "7 daily")
	for _, tc := range []struct {
		lines  string
		reason string // of the last line
		frozen string // DatasetPlan.Frozen.Reason, "" for none
		first  string // the first line's reason, when frozen
	}{
		{"2026-11-24_00.00.00--1w\n2026-11-20_23.59.59--1w created=2026-11-25T10:03",
			"kept: named 2026-11-20 23:59:59 but created 2026-11-25 10:03 (lies about its date)",
			"@2026-11-20_23.59.59--1w lies about its date: named 2026-11-20 23:59:59 but created 2026-11-25 10:03",
			"kept: dataset frozen: @2026-11-20_23.59.59--1w lies about its date: named 2026-11-20 23:59:59 but created 2026-11-25 10:03"},
		{"2026-11-24_00.00.00--1w\n2026-11-20_23.59.59--1w",
			"kept: dated 2026-11-20 23:59:59, before the older @2026-11-24_00.00.00--1w (lies about its date)",
			"@2026-11-20_23.59.59--1w lies about its date: dated 2026-11-20 23:59:59, before the older @2026-11-24_00.00.00--1w", ""},
		{"2026-11-24_00.00.00--1w\n2099-01-01_00.00.00--1w",
			"kept: dated 2099-01-01 00:00, more than 15m in the future (lies about its date)",
			"@2099-01-01_00.00.00--1w lies about its date: dated 2099-01-01 00:00, more than 15m in the future", ""},
		{"2026-11-24_00.00.00--1w\nmanual created=2026-11-20T10:00\n2099-01-01_00.00.00--1w",
			"kept: dated 2099-01-01 00:00, more than 15m in the future (lies about its date)",
			"2 snapshots lie about their dates, the oldest @manual: dated 2026-11-20 10:00, before the older @2026-11-24_00.00.00--1w", ""},
		{"2026-11-24_00.00.00--1w\n2026-11-20_23.59.59--1w created=2026-11-25T10:03 acked",
			"kept: named 2026-11-20 23:59:59 but created 2026-11-25 10:03 (lies about its date; acknowledged)", "", ""},
		{"2026-11-24_00.00.00--1w\n2026-11-25_10.00.00--1w acked",
			"kept: acknowledged as lying about its date", "", ""},
	} {
		lines := parseLines(t, ds(t, testDataset), time.UTC, tc.lines)
		in := DatasetInput{Dataset: ds(t, testDataset), Snapshots: snapshotsOf(lines), AckedLies: ackedOf(lines)}
		p := planOne(t, in, r, at(t, time.UTC, now))
		if got := p.Verdicts[len(p.Verdicts)-1].Reason; got != tc.reason {
			t.Errorf("%q: got reason %q, want %q", tc.lines, got, tc.reason)
		}
		var frozen string
		if p.Frozen != nil {
			frozen = p.Frozen.Reason
		}
		if frozen != tc.frozen {
			t.Errorf("%q: got Frozen %q, want %q", tc.lines, frozen, tc.frozen)
		}
		if tc.first != "" && p.Verdicts[0].Reason != tc.first {
			t.Errorf("%q: got first reason %q, want %q", tc.lines, p.Verdicts[0].Reason, tc.first)
		}
		for _, l := range p.Lies {
			if want := "kept: " + l.Why + " (lies about its date)"; !strings.Contains(reasons(p), want) {
				t.Errorf("%q: lie %+v, but no verdict %q", tc.lines, l, want)
			}
		}
	}
}

// TestLiesWhateverElse: lies are reported in a frozen dataset and under
// invalid rules, and not in malformed input.
func TestLiesWhateverElse(t *testing.T) {
	lines := parseLines(t, ds(t, testDataset), time.UTC, "2026-11-24_00.00.00--1w\n2026-11-20_23.59.59--1w")
	now := at(t, time.UTC, "2026-11-25 12:00")
	in := DatasetInput{Dataset: ds(t, testDataset), Snapshots: snapshotsOf(lines)}
	for _, tc := range []struct {
		name   string
		in     DatasetInput
		rules  Rules
		rule   string
		nlies  int
		frozen string
	}{
		{"frozen", DatasetInput{Dataset: in.Dataset, Snapshots: in.Snapshots, Freeze: &Freeze{Reason: "last pull failed"}}, ttlRules, RuleFrozen, 1, "last pull failed"},
		{"invalid rules", in, with(ttlRules, func(r *Rules) { r.TTLFactor = 0 }), RuleInvalidRules, 1, ""},
		{"negative date_tolerance", in, with(ttlRules, func(r *Rules) { r.DateTolerance = -time.Minute }), RuleInvalidRules, 1, ""},
		{"malformed", DatasetInput{Dataset: in.Dataset, Snapshots: append(slices.Clone(in.Snapshots), Snapshot{Name: in.Snapshots[0].Name, CreateTXG: 99, GUID: 99})}, ttlRules, RuleMalformed, 0, "malformed input: snapshot \"tank/fs@2026-11-24_00.00.00--1w\" is listed twice"},
	} {
		p := planOne(t, tc.in, tc.rules, now)
		for _, v := range p.Verdicts {
			if v.Rule != tc.rule || v.Destroy {
				t.Errorf("%s: %s: got %+v, want kept as %s", tc.name, v.Snapshot.Name, v, tc.rule)
			}
		}
		if len(p.Lies) != tc.nlies {
			t.Errorf("%s: got lies %+v, want %d", tc.name, p.Lies, tc.nlies)
		}
		var frozen string
		if p.Frozen != nil {
			frozen = p.Frozen.Reason
		}
		if frozen != tc.frozen {
			t.Errorf("%s: got Frozen %q, want %q", tc.name, frozen, tc.frozen)
		}
	}
}
