package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/zfs"
)

func incr(t *testing.T, at time.Time, bytes int64) *puller.Report {
	return &puller.Report{Job: "j", Started: at, Datasets: []puller.DatasetReport{{
		Source: ds(t, "p/a"), Target: ds(t, "v/a"), Outcome: puller.OK, Bytes: bytes,
		Steps: []puller.StepReport{{Kind: puller.Incremental, Bytes: bytes}}}}}
}

func TestTripFreezeAck(t *testing.T) {
	a := conf.Anomaly{Factor: 10, Floor: 1 << 20, Window: 5}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var s *JobState
	sizes := []int64{4 << 20, 5 << 20, 6 << 20, 5 << 20, 40 << 20 /* 8x: no */, 90 << 20 /* 18x the median: yes */}
	var tripped []string
	for i, b := range sizes {
		r := incr(t, t0.Add(time.Duration(i)*24*time.Hour), b)
		s = Apply(s, r)
		tripped = Trip(s, r, a)
		if i < len(sizes)-1 && len(tripped) > 0 {
			t.Fatalf("run %d (%d bytes) tripped the alarm; want only the last", i, b)
		}
	}
	if len(tripped) != 1 || s.Datasets["p/a"].Anomaly == nil {
		t.Fatalf("an incremental 18x the median did not trip the alarm: %+v", s.Datasets["p/a"])
	}
	if got := len(s.Datasets["p/a"].History); got != 5 {
		t.Errorf("history keeps %d, want the window of 5", got)
	}
	// The alarm survives later good runs, freezes pruning, and names the ack command.
	s = Apply(s, incr(t, t0.Add(10*24*time.Hour), 5<<20))
	f := Freezes(s, "j")[ds(t, "v/a")]
	if f == nil || !strings.Contains(f.Reason, "vault ack j p/a") {
		t.Fatalf("freeze: %+v, want one naming vault ack", f)
	}
	if got := Ack(s, "p/a"); len(got) != 1 || s.Datasets["p/a"].Anomaly != nil {
		t.Errorf("ack: %q, anomaly %+v", got, s.Datasets["p/a"].Anomaly)
	}
	if len(Freezes(s, "j")) != 0 {
		t.Errorf("still frozen after ack")
	}
	// Small datasets: below the floor nothing trips, however large the ratio.
	var small *JobState
	for i, b := range []int64{10, 10, 10, 100000} {
		r := incr(t, t0.Add(time.Duration(i)*time.Hour), b)
		small = Apply(small, r)
		if got := Trip(small, r, a); len(got) > 0 {
			t.Errorf("%d bytes below the floor tripped the alarm", b)
		}
	}
	// A failed or diverged last pull freezes too.
	failed := Apply(nil, &puller.Report{Job: "j", Started: t0, Datasets: []puller.DatasetReport{{Source: ds(t, "p/a"), Target: ds(t, "v/a"), Outcome: puller.Conflicted, Err: "diverged"}}})
	if f := Freezes(failed, "j")[ds(t, "v/a")]; f == nil || !strings.Contains(f.Reason, "diverged") {
		t.Errorf("a diverged dataset is not frozen: %+v", f)
	}
}

// Each alarm beyond the size tripwire: what a run reports, after a history of ordinary runs,
// trips the alarm of its kind (or none), and ack lifts it with what it needs to let go.
func TestTripAlarms(t *testing.T) {
	a := conf.Anomaly{Factor: 10, Floor: 1 << 30, Window: 10, RewriteShare: 0.5, RewriteFloor: 64 << 20, SnapshotFloor: 48}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// An ordinary day: 1 MiB in 1 snapshot, 10 held in common, 1 GiB referenced.
	day := func(d puller.DatasetReport) puller.DatasetReport {
		base := puller.DatasetReport{Source: ds(t, "p/a"), Target: ds(t, "v/a"), Outcome: puller.OK, Bytes: 1 << 20,
			Steps: []puller.StepReport{{Kind: puller.Incremental, Bytes: 1 << 20}}, Common: 10, NewSnapshots: 1, Received: 1, TargetReferenced: 1 << 30}
		if d.Outcome != "" {
			base.Outcome, base.Steps, base.Bytes = d.Outcome, d.Steps, d.Bytes
		}
		if d.Steps != nil {
			base.Steps, base.Bytes = d.Steps, d.Bytes
		}
		if d.Common != 0 {
			base.Common = d.Common
		}
		if d.NewSnapshots != 0 {
			base.NewSnapshots = d.NewSnapshots
		}
		if d.TargetReferenced != 0 {
			base.TargetReferenced = d.TargetReferenced
		}
		base.Vanished, base.Err = d.Vanished, d.Err
		return base
	}
	for _, tc := range []struct {
		name    string
		last    puller.DatasetReport
		orphan  bool
		kind    string // "" and none false: no alarm
		tripped bool
	}{
		{name: "an ordinary day", last: day(puller.DatasetReport{})},
		{name: "600 MB share encrypted wholesale", last: day(puller.DatasetReport{Bytes: 600 << 20,
			Steps: []puller.StepReport{{Kind: puller.Incremental, Bytes: 600 << 20}}, TargetReferenced: 700 << 20}), kind: AlarmRewrite, tripped: true},
		{name: "a rewrite below the floor", last: day(puller.DatasetReport{Bytes: 10 << 20,
			Steps: []puller.StepReport{{Kind: puller.Incremental, Bytes: 10 << 20}}, TargetReferenced: 12 << 20})},
		{name: "an unusual number of snapshots", last: day(puller.DatasetReport{NewSnapshots: 200}), kind: AlarmSnapshots, tripped: true},
		{name: "many snapshots, under the floor", last: day(puller.DatasetReport{NewSnapshots: 40})},
		{name: "a refused flood", last: day(puller.DatasetReport{Outcome: puller.Refused, Steps: nil, Bytes: 0, NewSnapshots: 5000,
			Err: "the source offers 5000 new snapshots"}), kind: AlarmFlood, tripped: true},
		{name: "the source wiped", last: day(puller.DatasetReport{Outcome: puller.SourceEmpty, Steps: nil, Bytes: 0, Common: -1, Vanished: 11}),
			kind: AlarmSourceLost, tripped: true},
		{name: "most snapshots gone at once", last: day(puller.DatasetReport{Common: 3}), kind: AlarmSourceLost, tripped: true},
		{name: "one pruned by the source", last: day(puller.DatasetReport{Common: 10})},
		{name: "the dataset gone from the source", orphan: true, kind: AlarmSourceLost, tripped: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s *JobState
			for i := range 5 {
				r := &puller.Report{Job: "j", Started: t0.Add(time.Duration(i) * 24 * time.Hour), Datasets: []puller.DatasetReport{day(puller.DatasetReport{Common: 10 - 1})}}
				s = Apply(s, r)
				if got := Trip(s, r, a); len(got) > 0 {
					t.Fatalf("ordinary run %d tripped: %+v", i, s.Datasets["p/a"].Anomaly)
				}
			}
			r := &puller.Report{Job: "j", Started: t0.Add(6 * 24 * time.Hour)}
			if tc.orphan {
				r.Orphans = []zfs.Dataset{ds(t, "v/a")}
			} else {
				last := tc.last
				if last.Common == -1 {
					last.Common = 0
				}
				r.Datasets = []puller.DatasetReport{last}
			}
			s = Apply(s, r)
			got := Trip(s, r, a)
			d := s.Datasets["p/a"]
			if !tc.tripped {
				if len(got) > 0 || d.Anomaly != nil {
					t.Fatalf("tripped %q: %+v", got, d.Anomaly)
				}
				return
			}
			if len(got) != 1 || d.Anomaly == nil || d.Anomaly.Kind != tc.kind {
				t.Fatalf("tripped %q, alarm %+v; want kind %q", got, d.Anomaly, tc.kind)
			}
			if Freezes(s, "j")[ds(t, "v/a")] == nil {
				t.Fatal("the alarm does not freeze pruning")
			}
			// The same condition on the next run raises nothing new once acknowledged.
			Ack(s, "p/a")
			if tc.kind == AlarmFlood && d.AllowNew != 5000 {
				t.Errorf("ack of a flood allows %d new snapshots, want 5000", d.AllowNew)
			}
			if !tc.orphan && tc.kind == AlarmSourceLost {
				r2 := &puller.Report{Job: "j", Started: t0.Add(7 * 24 * time.Hour), Datasets: r.Datasets}
				s = Apply(s, r2)
				if got := Trip(s, r2, a); len(got) > 0 {
					t.Errorf("the acknowledged loss tripped again: %+v", s.Datasets["p/a"].Anomaly)
				}
			}
			if tc.orphan {
				s = Apply(s, r)
				if got := Trip(s, r, a); len(got) > 0 {
					t.Errorf("the acknowledged orphan tripped again")
				}
			}
		})
	}
}

// An acknowledged lie is remembered by GUID; an ack lifts every kind of alarm.
func TestAckRemembersLies(t *testing.T) {
	d := &DatasetState{Target: "v/a"}
	d.raise(Anomaly{Kind: AlarmLies, Lies: []uint64{7, 9}, Detail: "two names lie"})
	d.raise(Anomaly{Kind: AlarmLies, Lies: []uint64{9, 11}, Detail: "another"})
	s := &JobState{Job: "j", Datasets: map[string]*DatasetState{"p/a": d}}
	if got := Ack(s, ""); len(got) != 1 {
		t.Fatalf("ack: %q", got)
	}
	if want := []uint64{7, 9, 11}; !slices.Equal(d.AckedLies, want) {
		t.Errorf("acked lies %v, want %v", d.AckedLies, want)
	}
}

// Lies found by prune raise the alarm once per set of snapshots; an acknowledged lie reaches
// the pruner by target dataset.
func TestRaiseLies(t *testing.T) {
	at := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	s := &JobState{Job: "j", Datasets: map[string]*DatasetState{"p/a": {Target: "v/a"}}}
	if src, isNew := RaiseLies(s, "v/a", at, []uint64{7}, "named X but created Y"); src != "p/a" || !isNew {
		t.Fatalf("first raise: %q %v", src, isNew)
	}
	if _, isNew := RaiseLies(s, "v/a", at, []uint64{7}, "named X but created Y"); isNew {
		t.Error("the same lie raised the alarm again")
	}
	if _, isNew := RaiseLies(s, "v/a", at, []uint64{7, 8}, "and another"); !isNew {
		t.Error("a new lie did not raise the alarm")
	}
	if _, isNew := RaiseLies(s, "v/other", at, []uint64{9}, "x"); isNew {
		t.Error("a target no dataset lands on raised an alarm")
	}
	if f := Freezes(s, "j")[ds(t, "v/a")]; f == nil || !strings.Contains(f.Reason, "lying-names") {
		t.Errorf("freeze %+v, want one naming the lying-names alarm", f)
	}
	Ack(s, "p/a")
	if got := AckedLies(s)[ds(t, "v/a")]; !got[7] || !got[8] || len(got) != 2 {
		t.Errorf("acked lies by target: %v, want 7 and 8", got)
	}
}
