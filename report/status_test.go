package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/zfs"
	"github.com/belltech/vault/zpool"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// now is the moment every test evaluates at.
var now = time.Date(2026, 11, 27, 3, 15, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

// job is a configured pull job of one recursive root, rpo 26h, rpo_critical 52h.
func job(name, root string) conf.Job {
	return conf.Job{Name: name, Source: &conf.Remote{User: "backup", Host: name, Port: 22},
		SourceDatasets: []string{root}, Recursive: true, Target: "rust10/Backups/" + name,
		RPO: 26 * time.Hour, RPOCritical: 52 * time.Hour}
}

func config(jobs ...conf.Job) *conf.Config {
	return &conf.Config{Jobs: jobs, Location: time.UTC}
}

// okState is a dataset pulled at lastRun.
func okState(target string, at time.Time) *DatasetState {
	return &DatasetState{Target: target, Outcome: "up-to-date", LastAttempt: at, LastSuccess: at, Newest: "2026-11-26_00.00.00--1w"}
}

func kinds(f []Finding) []string {
	var out []string
	for _, x := range f {
		out = append(out, x.Kind)
	}
	return out
}

func TestEvaluate(t *testing.T) {
	run := ago(2 * time.Hour)
	for _, tc := range []struct {
		name      string
		state     *JobState // nil: never run
		wantJob   Level
		wantDS    Level    // the dataset p/a's level, if the state has it
		wantKinds []string // p/a's findings, or the job's own when it has no dataset
	}{
		{
			name:      "fresh",
			state:     &JobState{Job: "j", LastRun: run, Datasets: map[string]*DatasetState{"p/a": okState("v/j/a", run)}},
			wantJob:   LevelOK,
			wantDS:    LevelOK,
			wantKinds: nil,
		},
		{
			name:      "never run",
			wantJob:   LevelUnknown,
			wantKinds: []string{KindNeverRun},
		},
		{
			name:      "lagging past rpo",
			state:     &JobState{Job: "j", LastRun: ago(27 * time.Hour), Datasets: map[string]*DatasetState{"p/a": okState("v/j/a", ago(27*time.Hour))}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindLag},
		},
		{
			name:      "exactly at rpo is still ok",
			state:     &JobState{Job: "j", LastRun: ago(26 * time.Hour), Datasets: map[string]*DatasetState{"p/a": okState("v/j/a", ago(26*time.Hour))}},
			wantJob:   LevelOK,
			wantDS:    LevelOK,
			wantKinds: nil,
		},
		{
			name:      "past rpo_critical",
			state:     &JobState{Job: "j", LastRun: ago(53 * time.Hour), Datasets: map[string]*DatasetState{"p/a": okState("v/j/a", ago(53*time.Hour))}},
			wantJob:   LevelCrit,
			wantDS:    LevelCrit,
			wantKinds: []string{KindLag},
		},
		{
			name: "failed, last success recent",
			state: &JobState{Job: "j", LastRun: run, LastExit: 1, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "failed",
				LastAttempt: run, LastSuccess: ago(26 * time.Hour), Error: "receive: out of space"}}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindFailed},
		},
		{
			name: "failed for want of space",
			state: &JobState{Job: "j", LastRun: run, LastExit: 1, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "failed",
				LastAttempt: run, LastSuccess: ago(2 * time.Hour), NoSpace: true,
				Error: "not started: the stream of p/a@b (incremental from @a) needs about 1.2 GiB (1.2 GiB estimated, and room for metadata), v/j/a has 800.0 MiB available (pool or quota); ..."}}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindNoSpace},
		},
		{
			name: "failed and past rpo_critical",
			state: &JobState{Job: "j", LastRun: run, LastExit: 1, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "failed",
				LastAttempt: run, LastSuccess: ago(60 * time.Hour), Error: "boom"}}},
			wantJob:   LevelCrit,
			wantDS:    LevelCrit,
			wantKinds: []string{KindLag, KindFailed},
		},
		{
			name: "skipped",
			state: &JobState{Job: "j", LastRun: run, LastExit: 1, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "skipped",
				LastAttempt: run, LastSuccess: ago(time.Hour), Error: `its parent "v/j" did not pull`}}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindSkipped},
		},
		{
			name: "diverged, pulled recently",
			state: &JobState{Job: "j", LastRun: run, LastExit: 3, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "conflict",
				LastAttempt: run, LastSuccess: ago(25 * time.Hour), Error: "diverged", Hint: "vault resolve j p/a --archive"}}},
			wantJob:   LevelCrit,
			wantDS:    LevelCrit,
			wantKinds: []string{KindConflict},
		},
		{
			name: "needs bootstrap",
			state: &JobState{Job: "j", LastRun: run, LastExit: 1, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "needs-bootstrap",
				LastAttempt: run, Error: "new on the source: its first full receive runs as root", Hint: "vault bootstrap j"}}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindNeedsBootstrap, KindNoGoodCopy},
		},
		{
			name: "needs bootstrap for longer than rpo_critical",
			state: &JobState{Job: "j", LastRun: run, LastExit: 1, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "needs-bootstrap",
				FirstAttempt: ago(53 * time.Hour), LastAttempt: run, Error: "new on the source", Hint: "vault bootstrap j"}}},
			wantJob:   LevelCrit,
			wantDS:    LevelCrit,
			wantKinds: []string{KindNoGoodCopy, KindNeedsBootstrap},
		},
		{
			name:      "never reached the source, for longer than rpo_critical",
			state:     &JobState{Job: "j", FirstRun: ago(53 * time.Hour), LastRun: run, LastExit: 1, Error: "host key mismatch", Datasets: map[string]*DatasetState{}},
			wantJob:   LevelCrit,
			wantKinds: []string{KindRunError},
		},
		{
			name: "source-empty with vanished snapshots",
			state: &JobState{Job: "j", LastRun: run, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "source-empty",
				LastAttempt: run, LastSuccess: ago(10 * time.Hour), Vanished: 3}}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindSourceLost},
		},
		{
			name: "source-empty, nothing on either side",
			state: &JobState{Job: "j", LastRun: run, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "source-empty",
				LastAttempt: run}}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindNoGoodCopy},
		},
		{
			name: "warnings",
			state: &JobState{Job: "j", LastRun: run, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "ok",
				LastAttempt: run, LastSuccess: run, Warnings: []string{"readonly=on did not take"}}}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindWarning},
		},
		{
			name: "the last run could not start: it counts against every dataset",
			state: &JobState{Job: "j", LastRun: run, LastExit: 1, Error: "dial tcp: no route to host",
				Datasets: map[string]*DatasetState{"p/a": okState("v/j/a", ago(3*time.Hour))}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindRunError},
		},
		{
			name: "unreachable for longer than rpo_critical",
			state: &JobState{Job: "j", LastRun: run, LastExit: 1, Error: "dial tcp: no route to host",
				Datasets: map[string]*DatasetState{"p/a": okState("v/j/a", ago(55*time.Hour))}},
			wantJob:   LevelCrit,
			wantDS:    LevelCrit,
			wantKinds: []string{KindLag, KindRunError},
		},
		{
			name:      "never reached the source",
			state:     &JobState{Job: "j", LastRun: run, LastExit: 1, Error: "host key mismatch", Datasets: map[string]*DatasetState{}},
			wantJob:   LevelWarn,
			wantKinds: []string{KindRunError},
		},
		{
			name:      "ran, but nothing of the job as configured now",
			state:     &JobState{Job: "j", LastRun: run, Datasets: map[string]*DatasetState{"q/other": okState("v/j/other", run)}},
			wantJob:   LevelUnknown,
			wantKinds: []string{KindNoDatasets},
		},
		{
			name: "not in the last run",
			state: &JobState{Job: "j", LastRun: run, Datasets: map[string]*DatasetState{
				"p":   okState("v/j/p", run),
				"p/a": okState("v/j/a", ago(26*time.Hour))}},
			wantJob:   LevelWarn,
			wantDS:    LevelWarn,
			wantKinds: []string{KindNotInLastRun},
		},
		{
			name: "anomaly alarm",
			state: &JobState{Job: "j", LastRun: run, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "ok",
				LastAttempt: run, LastSuccess: run, Anomaly: &Anomaly{At: run, Bytes: 1 << 30, Median: 1 << 20, Detail: "an incremental of 1073741824 bytes, 1024x the median"}}}},
			wantJob:   LevelCrit,
			wantDS:    LevelCrit,
			wantKinds: []string{KindAnomaly},
		},
		{
			name: "erased-snapshots alarm",
			state: &JobState{Job: "j", LastRun: run, Datasets: map[string]*DatasetState{"p/a": {Target: "v/j/a", Outcome: "ok",
				LastAttempt: run, LastSuccess: run, Anomaly: &Anomaly{At: run, Kind: AlarmErased, Detail: "2 snapshot(s) erased from the vault, not by vault prune: @1, @2"}}}},
			wantJob:   LevelCrit,
			wantDS:    LevelCrit,
			wantKinds: []string{KindErased},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := job("j", "p")
			j.Exclude = []string{"p/excluded"}
			states := map[string]*JobState{}
			if tc.state != nil {
				tc.state.Datasets["p/excluded"] = okState("v/j/excluded", ago(100*time.Hour))
				states["j"] = tc.state
			}
			s := Evaluate(config(j), states, now)
			require.Len(t, s.Jobs, 1)
			js := s.Jobs[0]
			if js.Level != tc.wantJob {
				t.Errorf("job level: got %s, want %s (%+v)", js.Level, tc.wantJob, js)
			}
			var gotKinds []string
			if i := slices.IndexFunc(js.Datasets, func(d DatasetStatus) bool { return d.Dataset == "p/a" }); i >= 0 {
				d := js.Datasets[i]
				if d.Level != tc.wantDS {
					t.Errorf("dataset level: got %s, want %s (%+v)", d.Level, tc.wantDS, d.Findings)
				}
				gotKinds = kinds(d.Findings)
			} else {
				gotKinds = kinds(js.Findings)
			}
			if !slices.Equal(gotKinds, tc.wantKinds) {
				t.Errorf("findings: got %q, want %q", gotKinds, tc.wantKinds)
			}
			for _, d := range js.Datasets {
				if d.Dataset == "p/excluded" {
					t.Errorf("an excluded dataset is in the status: %+v", d)
				}
			}
		})
	}
}

// A media job's imports come one dataset at a time: the others are not "missing from the run".
func TestMediaImportsOneDatasetAtATime(t *testing.T) {
	media := conf.Job{Name: "m", MediaSigners: []string{"lab"}, SourceDatasets: []string{"p"}, Recursive: true,
		Target: "v/m", RPO: 8 * 24 * time.Hour, RPOCritical: 15 * 24 * time.Hour}
	st := map[string]*JobState{"m": {Job: "m", LastRun: ago(time.Hour), Datasets: map[string]*DatasetState{
		"p/a": okState("v/m/a", ago(time.Hour)),
		"p/b": okState("v/m/b", ago(3*24*time.Hour)),
	}}}
	s := Evaluate(config(media), st, now)
	if s.Jobs[0].Level != LevelOK {
		t.Errorf("media job: got %s, want OK: %+v", s.Jobs[0].Level, s.Jobs[0].Datasets)
	}
}

func TestLevelsOrder(t *testing.T) {
	for _, tc := range []struct{ a, b, want Level }{
		{LevelOK, LevelUnknown, LevelUnknown},
		{LevelUnknown, LevelWarn, LevelWarn},
		{LevelWarn, LevelCrit, LevelCrit},
		{LevelCrit, LevelUnknown, LevelCrit},
	} {
		if got := Worse(tc.a, tc.b); got != tc.want {
			t.Errorf("Worse(%s, %s): got %s, want %s", tc.a, tc.b, got, tc.want)
		}
		if got := Worse(tc.b, tc.a); got != tc.want {
			t.Errorf("Worse(%s, %s): got %s, want %s", tc.b, tc.a, got, tc.want)
		}
	}
	for _, l := range []Level{LevelOK, LevelWarn, LevelCrit, LevelUnknown} {
		b, err := l.MarshalText()
		require.NoError(t, err)
		var back Level
		if err := back.UnmarshalText(b); err != nil || back != l {
			t.Errorf("level %s through text %q: got %s, %v", l, b, back, err)
		}
	}
}

func TestWithThresholds(t *testing.T) {
	st := map[string]*JobState{"j": {Job: "j", LastRun: ago(30 * time.Hour),
		Datasets: map[string]*DatasetState{"p": okState("v/j/p", ago(30*time.Hour))}}}
	s := Evaluate(config(job("j", "p")), st, now)
	for _, tc := range []struct {
		warn, crit time.Duration
		want       Level
	}{
		{0, 0, LevelWarn},
		{48 * time.Hour, 0, LevelOK},
		{0, 29 * time.Hour, LevelCrit},
		{12 * time.Hour, 24 * time.Hour, LevelCrit},
		{31 * time.Hour, 72 * time.Hour, LevelOK},
	} {
		got := s.WithThresholds(tc.warn, tc.crit)
		if got.Jobs[0].Level != tc.want {
			t.Errorf("--warn %s --crit %s: got %s, want %s", tc.warn, tc.crit, got.Jobs[0].Level, tc.want)
		}
	}
	if s.Jobs[0].Level != LevelWarn || s.Jobs[0].RPO != 26*time.Hour {
		t.Errorf("WithThresholds changed its receiver: %+v", s.Jobs[0])
	}
}

func TestMarkUnreadable(t *testing.T) {
	st := map[string]*JobState{"j": {Job: "j", LastRun: now, Datasets: map[string]*DatasetState{"p": okState("v/j/p", now)}}}
	s := Evaluate(config(job("j", "p"), job("k", "q")), st, now)
	s.MarkUnreadable("j", errors.New("cannot load state \"jobs/j\": unexpected end of JSON input"))
	js := s.Jobs[0]
	if js.Level != LevelUnknown || len(js.Datasets) != 0 || !slices.Equal(kinds(js.Findings), []string{KindUnreadable}) {
		t.Errorf("an unreadable job: got %+v", js)
	}
	if s.Jobs[1].Level != LevelUnknown || s.Jobs[1].Unreadable != "" {
		t.Errorf("the other job changed: %+v", s.Jobs[1])
	}
}

func entry(t *testing.T, line string) zfs.Entry {
	t.Helper()
	es, err := zfs.ParseList(strings.NewReader(line+"\n"), []zfs.Column{zfs.ColName, zfs.ColUsed, zfs.ColUserRefs})
	require.NoError(t, err)
	return es[0]
}

func TestSetHoldings(t *testing.T) {
	st := map[string]*JobState{"j": {Job: "j", LastRun: now, Datasets: map[string]*DatasetState{
		"p":   okState("rust10/Backups/j/p", now),
		"p/a": okState("rust10/Backups/j/p/a", now),
		"p/b": okState("rust10/Backups/j/p/b", now),
	}}}
	s := Evaluate(config(job("j", "p")), st, now)
	var es []zfs.Entry
	for _, l := range []string{
		"rust10/Backups/j\t3000\t-",
		"rust10/Backups/j/p\t2900\t-",
		"rust10/Backups/j/p@s1\t100\t0",
		"rust10/Backups/j/p@s2\t0\t1",
		"rust10/Backups/j/p/a\t1800\t-",
		"rust10/Backups/j/p/a@s1\t50\t1",
		"rust10/Backups/j/p/a/c\t300\t-",
	} {
		es = append(es, entry(t, l))
	}
	s.SetHoldings("j", es)
	got := map[string][3]int64{}
	for _, d := range s.Jobs[0].Datasets {
		if d.Snapshots == nil {
			got[d.Dataset] = [3]int64{-1, -1, -1}
			continue
		}
		got[d.Dataset] = [3]int64{*d.Snapshots, *d.HeldBytes, *d.Holds}
	}
	want := map[string][3]int64{
		"p":   {2, 2900 - 1800, 1},
		"p/a": {1, 1800 - 300, 1},
		"p/b": {-1, -1, -1}, // not listed: unknown
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got snapshots, held, holds %v, want %v", k, got[k], w)
		}
	}
}

func TestAge(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {45 * time.Second, "45s"}, {12*time.Minute + 30*time.Second, "12m"},
		{4*time.Hour + 12*time.Minute, "4h12m"}, {26 * time.Hour, "26h"}, {47*time.Hour + 59*time.Minute, "47h59m"},
		{76 * time.Hour, "3d4h"}, {14 * 24 * time.Hour, "14d"},
	} {
		if got := Age(tc.d); got != tc.want {
			t.Errorf("Age(%s): got %q, want %q", tc.d, got, tc.want)
		}
	}
}

// scenario is a vault with a bit of everything, for the golden files.
func scenario() Status {
	host05 := job("host05", "host05data/jail")
	host05.SourceDatasets = append(host05.SourceDatasets, "host05data/vm")
	host05.Target = "rust10/Backups/host05"
	host05.Exclude = []string{"host05data/jail/tmp"}
	host06 := job("host06", "host06data/vm")
	host07 := job("host07", "host07data/jail")
	host07.RPO, host07.RPOCritical = 2*time.Hour, 6*time.Hour
	offline := conf.Job{Name: "offline", MediaSigners: []string{"lab"}, SourceDatasets: []string{"lab/data"},
		Target: "rust10/Backups/offline", RPO: 8 * 24 * time.Hour, RPOCritical: 15 * 24 * time.Hour}
	host08 := job("host08", "host08data/jail")
	sn := conf.Job{Name: "sn", MediaSigners: []string{"host09"}, SourceDatasets: []string{"host09data/fs"},
		Target: "rust10/Backups/sn", RPO: 8 * 24 * time.Hour, RPOCritical: 15 * 24 * time.Hour}

	run := ago(2 * time.Hour)
	states := map[string]*JobState{
		"host05": {Job: "host05", LastRun: run, LastExit: 3, Datasets: map[string]*DatasetState{
			"host05data/jail": okState("rust10/Backups/host05/jail", run),
			"host05data/jail/drive.client": {Target: "rust10/Backups/host05/jail/drive.client", Outcome: "ok", LastAttempt: run, LastSuccess: run,
				Newest: "2026-11-27_01.00.00--1w", LastBytes: 6_400_000},
			"host05data/jail/www": {Target: "rust10/Backups/host05/jail/www", Outcome: "source-empty", LastAttempt: run,
				LastSuccess: ago(30 * time.Hour), Newest: "2026-11-23_00.00.00--1w", Vanished: 3},
			"host05data/jail/tmp": okState("rust10/Backups/host05/jail/tmp", ago(400*time.Hour)),
			"host05data/vm/fs.client": {Target: "rust10/Backups/host05/vm/fs.client", Outcome: "conflict", LastAttempt: run,
				LastSuccess: ago(76 * time.Hour), Newest: "2026-11-24_00.00.00--1w",
				Error: "diverged: the target has snapshots after the newest common one (@2026-11-24_00.00.00--1w): @2026-11-24_12.00.00--1d",
				Hint:  "vault resolve host05 host05data/vm/fs.client --archive"},
			"host05data/vm/new": {Target: "rust10/Backups/host05/vm/new", Outcome: "needs-bootstrap", LastAttempt: run,
				Error: "new on the source: its first full receive runs as root", Hint: "vault bootstrap host05"},
		}},
		"host06": {Job: "host06", LastRun: ago(30 * time.Minute), LastExit: 1, Error: "cannot connect to backup@host06:22: dial tcp 10.0.0.6:22: connect: no route to host",
			Datasets: map[string]*DatasetState{
				"host06data/vm": {Target: "rust10/Backups/host06/vm", Outcome: "ok", LastAttempt: ago(28 * time.Hour), LastSuccess: ago(28 * time.Hour),
					Newest: "2026-11-26_00.00.00--1w", LastBytes: 123, Anomaly: &Anomaly{At: ago(28 * time.Hour), Bytes: 5 << 30, Median: 4 << 20,
						Detail: "an incremental of 5368709120 bytes, 1280x the median 4194304 of the last 8"}},
			}},
		"host07": {Job: "host07", LastRun: ago(1 * time.Hour), LastExit: 1, Error: `host key for "host07" does not match the pinned one`,
			Datasets: map[string]*DatasetState{}},
		// Imported an hour ago from an export whose data is ten days old.
		"sn": {Job: "sn", LastRun: ago(time.Hour), Datasets: map[string]*DatasetState{
			"host09data/fs": {Target: "rust10/Backups/sn/fs", Outcome: "ok", LastAttempt: ago(time.Hour), LastSuccess: ago(time.Hour),
				DataTime: ago(10 * 24 * time.Hour), Newest: "2026-11-17_03.15.00--1w", LastBytes: 20 << 20},
		}},
	}
	s := Evaluate(config(host05, host06, host07, offline, host08, sn), states, now)
	s.MarkUnreadable("host08", errors.New(`cannot load state "jobs/host08" from /var/lib/vault/jobs/host08.json: json: unknown field "bogus"`))
	var es []zfs.Entry
	for _, l := range []string{
		"rust10/Backups/host05\t9000000\t-",
		"rust10/Backups/host05/jail\t8000000\t-",
		"rust10/Backups/host05/jail@2026-11-27_01.00.00--1w\t0\t1",
		"rust10/Backups/host05/jail/drive.client\t7000000\t-",
		"rust10/Backups/host05/jail/drive.client@2026-11-26_01.00.00--1w\t65536\t0",
		"rust10/Backups/host05/jail/drive.client@2026-11-27_01.00.00--1w\t0\t1",
		"rust10/Backups/host05/jail/www\t200000\t-",
		"rust10/Backups/host05/jail/www@2026-11-23_00.00.00--1w\t0\t0",
	} {
		e, err := zfs.ParseList(strings.NewReader(l+"\n"), []zfs.Column{zfs.ColName, zfs.ColUsed, zfs.ColUserRefs})
		if err != nil {
			panic(err)
		}
		es = append(es, e...)
	}
	s.SetHoldings("host05", es)
	// rust10 lost a disk and resilvers onto its replacement, 84% full, scrubbed 20 days ago.
	l, st := healthyPool()
	l.Health, l.Capacity, l.Allocated, l.Free = "DEGRADED", 84, 840, 160
	st.State, st.Vdevs[0].State, st.Vdevs[1].State = "DEGRADED", "DEGRADED", "DEGRADED"
	st.Status = "One or more devices is currently being resilvered. The pool will continue to function, possibly in a degraded state."
	st.Action = "Wait for the resilver to complete."
	st.Scans = []zpool.Scan{{Kind: zpool.ScanResilver, State: zpool.ScanRunning, Start: ago(2 * time.Hour), Processed: "31.6G", Percent: 7.51}}
	s.SetPools(zpool.Health{Pools: []zpool.Pool{l}, Statuses: []zpool.Status{st}}, nil, defaultPoolThresholds)
	return s
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to write the golden files")
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestGoldenTable(t *testing.T) {
	s := scenario()
	for _, tc := range []struct {
		name string
		tty  bool
	}{{"status-plain.txt", false}, {"status-tty.txt", true}} {
		var b bytes.Buffer
		require.NoError(t, s.WriteTable(&b, tc.tty))
		golden(t, tc.name, b.Bytes())
	}
}

func TestGoldenJSON(t *testing.T) {
	b, err := scenario().JSON()
	require.NoError(t, err)
	golden(t, "status.json", b)

	// The JSON reads back strictly into the same shape, levels included.
	var back struct {
		Time    time.Time
		Summary Summary
		Jobs    []JobStatus
		Pools   []PoolStatus
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&back))
	if back.Summary != scenario().Summary() {
		t.Errorf("summary through JSON: got %+v, want %+v", back.Summary, scenario().Summary())
	}
}

func TestSummary(t *testing.T) {
	got := scenario().Summary()
	want := Summary{Level: LevelCrit, Jobs: 6, Datasets: 7, Pools: 1, OK: 2, Warn: 4, Crit: 3, Unknown: 2}
	if got != want {
		t.Errorf("summary: got %+v, want %+v", got, want)
	}
}

func TestStatusShowsTheProtection(t *testing.T) {
	st := Status{Time: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}
	var without strings.Builder
	require.NoError(t, st.WriteTable(&without, false))
	assert.NotContains(t, without.String(), "protection")

	st.Protection = &Protection{Level: "append-only", ZFS: "2.4.4", Detail: "append-only (OpenZFS 2.4.4): no destroy"}
	var with strings.Builder
	require.NoError(t, st.WriteTable(&with, false))
	assert.Contains(t, with.String(), "\nprotection append-only (OpenZFS 2.4.4): no destroy\n")
	b, err := st.JSON()
	require.NoError(t, err)
	assert.Contains(t, string(b), `"protection": {
    "level": "append-only",
    "zfs": "2.4.4",
    "detail": "append-only (OpenZFS 2.4.4): no destroy"
  }`)
}
