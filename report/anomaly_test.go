package report

import (
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
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
