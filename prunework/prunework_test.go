package prunework

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/zfs"
)

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		name, line, bad string
	}{
		{"a prune", `{"op":"prune","job":"host05"}`, ""},
		{"a dry run with freezes", `{"op":"prune","job":"host05","dry":true,"freezes":{"rust10/Backups/host05/jail":"last pull failed"}}`, ""},
		{"an abort", `{"op":"abort","job":"host05","target":"rust10/Backups/host05/jail"}`, ""},
		{"no clock from the daemon", `{"op":"prune","job":"host05","now":"2099-01-01T00:00:00Z"}`, "unknown field"},
		{"no rules from the daemon", `{"op":"prune","job":"host05","rules":{"min_keep":0}}`, "unknown field"},
		{"an unknown op", `{"op":"destroy","job":"host05"}`, "unknown op"},
		{"no job", `{"op":"prune"}`, "job name"},
		{"a long job", `{"op":"prune","job":"` + strings.Repeat("j", 65) + `"}`, "job name"},
		{"a freeze of a bad name", `{"op":"prune","job":"j","freezes":{"-rf /":"x"}}`, "freeze of"},
		{"a long reason", `{"op":"prune","job":"j","freezes":{"rust10/a":"` + strings.Repeat("x", 513) + `"}}`, "reason longer"},
		{"abort without a target", `{"op":"abort","job":"j"}`, "target"},
		{"abort of a snapshot", `{"op":"abort","job":"j","target":"rust10/a@s"}`, "target"},
		{"abort with a dry run", `{"op":"abort","job":"j","dry":true,"target":"rust10/a"}`, "target only"},
		{"prune with a target", `{"op":"prune","job":"j","target":"rust10/a"}`, "no target"},
		{"two values", `{"op":"prune","job":"j"} {"op":"prune","job":"k"}`, "more than one"},
		{"not JSON", `prune host05`, "prune request"},
		{"not UTF-8", "{\"op\":\"prune\",\"job\":\"\xff\"}", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tc.line))
			if tc.bad == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.bad)
		})
	}
}

func TestGuardKeepsToTheJobsTarget(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"op":"prune","job":"j","freezes":{"rust10/B/j":"a","rust10/B/j/x":"b","rust10/B/jx":"c","rust10/B/k":"d"}}`))
	require.NoError(t, err)
	root, _ := zfs.ParseDataset("rust10/B/j")
	g := r.Guard(root)
	var got []string
	for ds, f := range g.Freezes {
		got = append(got, ds.String()+"="+f.Reason)
	}
	require.ElementsMatch(t, []string{"rust10/B/j=a", "rust10/B/j/x=b"}, got)
}

func TestResultsRoundTrip(t *testing.T) {
	ds, _ := zfs.ParseDataset("rust10/B/j")
	s1, _ := zfs.ParseSnapshot("rust10/B/j@2026-11-01_00.00.00--1w")
	s2, _ := zfs.ParseSnapshot("rust10/B/j@2026-11-20_00.00.00--1w")
	in := []prune.Result{{
		Plan: prune.DatasetPlan{Dataset: ds, Verdicts: []prune.Verdict{
			{Snapshot: prune.Snapshot{Name: s1, GUID: 1, CreateTXG: 10}, Destroy: true, Reason: "destroy: ttl", Rule: "ttl"},
			{Snapshot: prune.Snapshot{Name: s2, GUID: 2, CreateTXG: 20}, Reason: "kept: newest", Rule: "newest"},
		}, Lies: []prune.Lie{{Snapshot: s2, GUID: 2, Why: "named later"}}},
		Destroyed: []zfs.Snapshot{s1},
		Err:       errors.New("zfs destroy: permission denied"),
	}}
	line, err := json.Marshal(FromResults("j", in))
	require.NoError(t, err)
	var resp Response
	require.NoError(t, json.Unmarshal(line, &resp))
	out := resp.PruneResults()
	require.Len(t, out, 1)
	require.Equal(t, in[0].Plan, out[0].Plan)
	require.Equal(t, in[0].Destroyed, out[0].Destroyed)
	require.EqualError(t, out[0].Err, "zfs destroy: permission denied")
}

// The daemon's side is the one an attacker may hold: whatever it sends, a request that decodes
// names a known op and a job, and freezes and a target that are dataset names.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"op":"prune","job":"host05","dry":true,"freezes":{"rust10/Backups/host05/jail":"x"}}`))
	f.Add([]byte(`{"op":"abort","job":"host05","target":"rust10/Backups/host05/jail"}`))
	f.Add([]byte(`{"op":"prune","job":"j","now":"2099-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := DecodeRequest(line)
		if err != nil {
			return
		}
		if r.Op != OpPrune && r.Op != OpAbort || r.Job == "" || len(r.Job) > maxJob {
			t.Fatalf("accepted %q as %+v", line, r)
		}
		for ds := range r.Freezes {
			if _, err := zfs.ParseDataset(ds); err != nil {
				t.Fatalf("accepted freeze %q", ds)
			}
		}
		if r.Op == OpAbort {
			if _, err := zfs.ParseDataset(r.Target); err != nil {
				t.Fatalf("accepted target %q", r.Target)
			}
		}
	})
}
