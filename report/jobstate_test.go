package report

import (
	"errors"
	"testing"
	"time"

	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/zfs"
)

func ds(t *testing.T, s string) zfs.Dataset {
	t.Helper()
	d, err := zfs.ParseDataset(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestApplyKeepsTheLastSuccessThroughFailures(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 1, 15, 0, 0, time.UTC)
	ok := &puller.Report{Job: "j", Started: t0, Datasets: []puller.DatasetReport{
		{Source: ds(t, "p/a"), Target: ds(t, "v/a"), Outcome: puller.OK, Newest: "s2", Bytes: 10},
	}}
	s := Apply(nil, ok)
	a := s.Datasets["p/a"]
	if a == nil || !a.LastSuccess.Equal(t0) || a.Newest != "s2" || s.LastExit != puller.ExitOK || !a.FirstAttempt.Equal(t0) || !s.FirstRun.Equal(t0) {
		t.Fatalf("after a good run: %+v", a)
	}
	t1 := t0.Add(24 * time.Hour)
	failed := &puller.Report{Job: "j", Started: t1, Datasets: []puller.DatasetReport{
		{Source: ds(t, "p/a"), Target: ds(t, "v/a"), Outcome: puller.Failed, Err: "boom"},
	}}
	s = Apply(s, failed)
	a = s.Datasets["p/a"]
	if !a.LastSuccess.Equal(t0) || !a.LastAttempt.Equal(t1) || a.Newest != "s2" || a.Error != "boom" || s.LastExit != puller.ExitFailed ||
		!a.FirstAttempt.Equal(t0) || !s.FirstRun.Equal(t0) {
		t.Errorf("after a failed run: got %+v (exit %d), want last success %s kept, attempt %s, newest s2", a, s.LastExit, t0, t1)
	}
	if a.NoSpace {
		t.Errorf("after a failure that was not for space: NoSpace set")
	}
	nospace := &puller.Report{Job: "j", Started: t1, Datasets: []puller.DatasetReport{
		{Source: ds(t, "p/a"), Target: ds(t, "v/a"), Outcome: puller.Failed, Err: "not started: ...", NoSpace: true},
	}}
	if a := Apply(s, nospace).Datasets["p/a"]; !a.NoSpace || a.Error != "not started: ..." {
		t.Errorf("after a run refused for space: %+v, want NoSpace and its error", a)
	}
	if a := Apply(Apply(s, nospace), ok).Datasets["p/a"]; a.NoSpace {
		t.Errorf("after a good run that followed one refused for space: NoSpace still set")
	}
	unreachable := &puller.Report{Job: "j", Started: t1.Add(time.Hour), Err: errors.New("dial: no route")}
	s2 := Apply(s, unreachable)
	if s2.Error == "" || s2.Datasets["p/a"].LastAttempt != t1 {
		t.Errorf("a run that could not start: %+v", s2)
	}
	if s.Datasets["p/a"] == s2.Datasets["p/a"] {
		t.Errorf("Apply shares dataset state with its input")
	}
	if got := len(Lines(unreachable)); got != 1 {
		t.Errorf("journal lines of a run that could not start: %d, want 1", got)
	}
	if l := Lines(ok); len(l) != 1 || l[0].Dataset != "p/a" || l[0].Outcome != "ok" {
		t.Errorf("journal lines: %+v", l)
	}
}
