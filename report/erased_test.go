package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/ledger"
	"github.com/belltech/vault/zfs"
)

// erasures makes erasures of full names; "a>b" is a renamed to b.
func erasures(t *testing.T, names ...string) []ledger.Erasure {
	t.Helper()
	var out []ledger.Erasure
	for _, n := range names {
		from, to, renamed := strings.Cut(n, ">")
		s, err := zfs.ParseSnapshot(from)
		require.NoError(t, err)
		e := ledger.Erasure{Name: s, GUID: uint64(len(out) + 1)}
		if renamed {
			e.RenamedTo, err = zfs.ParseSnapshot(to)
			require.NoError(t, err)
		}
		out = append(out, e)
	}
	return out
}

// erasedState is a job j with datasets p (target v/j/p) and p/a (v/j/p/a), pulled at now.
func erasedState() *JobState {
	return &JobState{Job: "j", LastRun: now, Datasets: map[string]*DatasetState{
		"p":   okState("v/j/p", now),
		"p/a": okState("v/j/p/a", now),
	}}
}

func TestRaiseErased(t *testing.T) {
	var many []string
	for i := range 13 {
		many = append(many, fmt.Sprintf("v/j/p/a@%02d", i))
	}
	for _, tc := range []struct {
		name   string
		erased []string
		want   map[string]string // by source: the alarm's detail
	}{
		{name: "nothing erased", want: map[string]string{}},
		{name: "snapshots of one dataset", erased: []string{"v/j/p/a@1", "v/j/p/a@2"},
			want: map[string]string{"p/a": "2 snapshot(s) erased from the vault, not by vault prune: @1, @2"}},
		{name: "a child the state does not know counts against its parent", erased: []string{"v/j/p/x@1"},
			want: map[string]string{"p": "1 snapshot(s) erased from the vault, not by vault prune: v/j/p/x@1"}},
		{name: "below no dataset: against every one", erased: []string{"v/j@1"},
			want: map[string]string{
				"p":   "1 snapshot(s) erased from the vault, not by vault prune: v/j@1",
				"p/a": "1 snapshot(s) erased from the vault, not by vault prune: v/j@1"}},
		{name: "renamed", erased: []string{"v/j/p@1>v/j/p@keep", "v/j/p@2"},
			want: map[string]string{"p": "1 snapshot(s) erased from the vault, not by vault prune: @2; " +
				"1 snapshot(s) renamed on the vault, which vault never does: @1 (renamed to @keep)"}},
		{name: "ten named, the rest counted", erased: many,
			want: map[string]string{"p/a": "13 snapshot(s) erased from the vault, not by vault prune: @00, @01, @02, @03, @04, @05, @06, @07, @08, @09 and 3 more"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := erasedState()
			at := now.Add(time.Minute)
			got := RaiseErased(s, at, erasures(t, tc.erased...))
			gotBy := map[string]string{}
			for _, a := range got {
				gotBy[a.Source] = a.Detail
				if a.Target != s.Datasets[a.Source].Target {
					t.Errorf("%s: alarm target %q, want %q", a.Source, a.Target, s.Datasets[a.Source].Target)
				}
			}
			if len(gotBy) != len(tc.want) {
				t.Errorf("alarms on %v, want on %v", gotBy, tc.want)
			}
			for src, want := range tc.want {
				if gotBy[src] != want {
					t.Errorf("%s: detail %q, want %q", src, gotBy[src], want)
				}
				an := s.Datasets[src].Anomaly
				if an == nil || an.Kind != AlarmErased || an.Detail != want || !an.At.Equal(at) {
					t.Errorf("%s: anomaly %+v, want the erased alarm", src, an)
				}
				f := Freezes(s, "j")[ds(t, s.Datasets[src].Target)]
				if f == nil || !strings.Contains(f.Reason, "erased-snapshots alarm") || !strings.Contains(f.Reason, "vault ack j "+src) {
					t.Errorf("%s: freeze %+v, want the erased alarm and the ack command", src, f)
				}
			}
			for src, d := range s.Datasets {
				if _, raised := tc.want[src]; !raised && d.Anomaly != nil {
					t.Errorf("%s: an alarm it should not have: %+v", src, d.Anomaly)
				}
			}
			if got := Ack(s, ""); len(got) != len(tc.want) || len(Freezes(s, "j")) != 0 {
				t.Errorf("ack lifted %q; freezes left %v", got, Freezes(s, "j"))
			}
		})
	}
}

// The erased alarm names the finding even when another alarm was up first; the other's details
// stay for vault ack.
func TestErasedIsTheGravestKind(t *testing.T) {
	s := erasedState()
	s.Datasets["p/a"].Anomaly = &Anomaly{At: now, Kind: AlarmLies, Lies: []uint64{7}, Detail: "1 snapshot name(s) lie"}
	RaiseErased(s, now, erasures(t, "v/j/p/a@1"))
	a := s.Datasets["p/a"].Anomaly
	if a.Kind != AlarmErased || !slices.Equal(a.Lies, []uint64{7}) || !strings.Contains(a.Detail, "lie") || !strings.Contains(a.Detail, "@1") {
		t.Errorf("erased over lying names: %+v", a)
	}
	// And a later alarm of another kind does not take its name.
	s.Datasets["p/a"].raise(Anomaly{At: now, Kind: AlarmSourceLost, Detail: "the source lost 5 of the 8 snapshots"})
	if a := s.Datasets["p/a"].Anomaly; a.Kind != AlarmErased || !strings.Contains(a.Detail, "source lost") {
		t.Errorf("source lost after erased: %+v", a)
	}
}

// What the operator and the monitors see: CRIT with its kind, the names, who to ask and the ack
// command, in status, its JSON, vault check and the textfile; a dataset no longer in the job is
// shown while its copy's alarm is up, and only then.
func TestStatusShowsErased(t *testing.T) {
	j := job("j", "p")
	j.Exclude = []string{"p/retired"}
	st := erasedState()
	st.Datasets["p/a"].Target = "rust10/Backups/j/p/a"
	st.Datasets["p/retired"] = okState("rust10/Backups/j/p/retired", now)
	st.Datasets["q/other"] = okState("rust10/Backups/j/other", now) // not in the job, no alarm
	RaiseErased(st, now.Add(-time.Hour), erasures(t, "rust10/Backups/j/p/a@2026-11-20_00.00.00--1w", "rust10/Backups/j/p/retired@old"))
	s := Evaluate(config(j), map[string]*JobState{"j": st}, now)
	var shown []string
	for _, d := range s.Jobs[0].Datasets {
		shown = append(shown, d.Dataset)
		if d.Dataset == "p/retired" && (d.Level != LevelCrit || slices.Contains(kinds(d.Findings), KindNotInLastRun)) {
			t.Errorf("the retired dataset's copy: %s %q", d.Level, kinds(d.Findings))
		}
	}
	if !slices.Equal(shown, []string{"p", "p/a", "p/retired"}) {
		t.Errorf("datasets shown %q, want p, p/a and the retired one whose copy lost snapshots", shown)
	}
	var b bytes.Buffer
	require.NoError(t, s.WriteTable(&b, false))
	for _, want := range []string{
		"CRIT     j    p/a",
		"erased-snapshots alarm since 2026-11-27 02:15 UTC (1 snapshot(s) erased from the vault, not by vault prune: @2026-11-20_00.00.00--1w): " +
			"pruning frozen; after finding out who erased them (zpool history -il rust10: a zfs receive -F, rollback, destroy, or promote of a clone): vault ack j p/a",
		"vault ack j p/retired",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, b.String())
		}
	}
	js, err := s.JSON()
	require.NoError(t, err)
	var back struct{ Jobs []JobStatus }
	require.NoError(t, json.Unmarshal(js, &back))
	d := back.Jobs[0].Datasets[1]
	if d.Dataset != "p/a" || d.Level != LevelCrit || d.Findings[0].Kind != KindErased || d.Anomaly == nil || d.Anomaly.Kind != AlarmErased || d.PruneFreeze == "" {
		t.Errorf("JSON of p/a: %+v", d)
	}
	line, code := CheckLine(s, 0, 0)
	if code != int(LevelCrit) || !strings.HasPrefix(line, "VAULT CRITICAL - j p/a: erased-snapshots alarm") {
		t.Errorf("vault check: %q exit %d", line, code)
	}
	var prom bytes.Buffer
	require.NoError(t, WritePrometheus(&prom, s))
	for _, want := range []string{
		`vault_dataset_state{vault_job="j",dataset="p/a",target="rust10/Backups/j/p/a"} 2`,
		`vault_dataset_prune_frozen{vault_job="j",dataset="p/a",target="rust10/Backups/j/p/a"} 1`,
		`vault_dataset_state{vault_job="j",dataset="p/retired",target="rust10/Backups/j/p/retired"} 2`,
	} {
		if !strings.Contains(prom.String(), want) {
			t.Errorf("the textfile lacks %q:\n%s", want, prom.String())
		}
	}
	// Acknowledged: the retired dataset leaves the status again.
	Ack(st, "")
	s = Evaluate(config(j), map[string]*JobState{"j": st}, now)
	if len(s.Jobs[0].Datasets) != 2 || s.Jobs[0].Level != LevelOK {
		t.Errorf("after ack: %s, %d datasets", s.Jobs[0].Level, len(s.Jobs[0].Datasets))
	}
}
