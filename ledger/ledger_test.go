package ledger

import (
	"hash/fnv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// The job's target in every test; snapshots are written below it.
const root = "v/j"

// t0 is when the ledgers of the tests were taken.
var t0 = time.Date(2026, 12, 1, 1, 15, 0, 0, time.UTC)

// snaps parses a listing written as "fs@a fs@b=7 fs/c@x": each a snapshot below root, with the
// GUID after '=' or, by default, one derived from its name (so the same name is the same
// snapshot in the ledger and the listing unless a GUID says otherwise).
func snaps(t *testing.T, s string) []Snapshot {
	t.Helper()
	var out []Snapshot
	for _, f := range strings.Fields(s) {
		n, g, hasGUID := strings.Cut(f, "=")
		name, err := zfs.ParseSnapshot(root + "/" + n)
		if err != nil {
			t.Fatal(err)
		}
		var guid uint64
		if hasGUID {
			if guid, err = strconv.ParseUint(g, 10, 64); err != nil {
				t.Fatal(err)
			}
		} else {
			h := fnv.New64a()
			h.Write([]byte(n))
			guid = h.Sum64()
		}
		out = append(out, Snapshot{Name: name, GUID: guid})
	}
	return out
}

// prune is the journal record of vault prune destroying shorts (comma-separated) in root/ds,
// with the GUIDs given (none: a record of a vault before GUIDs were journalled).
func prune(job, ds string, at time.Time, shorts string, guids ...uint64) state.Record {
	r := state.Record{Time: at, Kind: state.KindPrune, Job: job, Dataset: root + "/" + ds, Outcome: state.OutcomeOK,
		Details: map[string]string{DetailDestroyed: shorts}}
	if len(guids) > 0 {
		var g []string
		for _, n := range guids {
			g = append(g, strconv.FormatUint(n, 10))
		}
		r.Details[DetailDestroyedGUIDs] = strings.Join(g, ",")
	}
	return r
}

// describe renders erasures as "fs@a fs@b>fs@c" (b renamed to c), names without the root.
func describe(es []Erasure) string {
	var out []string
	for _, e := range es {
		s := strings.TrimPrefix(e.Name.String(), root+"/")
		if !e.RenamedTo.IsZero() {
			s += ">" + strings.TrimPrefix(e.RenamedTo.String(), root+"/")
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestCompare(t *testing.T) {
	later := t0.Add(time.Hour)
	for _, tc := range []struct {
		name        string
		ledger, now string
		journal     []state.Record
		want        string
	}{
		{name: "nothing changed", ledger: "fs@1 fs@2 fs@3", now: "fs@1 fs@2 fs@3"},
		{name: "new snapshots are not erasures", ledger: "fs@1", now: "fs@1 fs@2 fs/new@1"},
		{name: "an empty ledger finds nothing", ledger: "", now: "fs@1 fs@2"},
		{name: "an empty ledger and an empty tree", ledger: "", now: ""},
		{name: "receive -F from an old snapshot: every newer one erased",
			ledger: "fs@1 fs@2 fs@3 fs@4 fs@5", now: "fs@1 fs@2 fs@5=99", want: "fs@3 fs@4 fs@5"},
		{name: "destroyed by prune, by name (a record without GUIDs)",
			ledger: "fs@1 fs@2 fs@3", now: "fs@3", journal: []state.Record{prune("j", "fs", later, "1,2")}},
		{name: "destroyed by prune, by GUID",
			ledger: "fs@1=11 fs@2=12 fs@3=13", now: "fs@3=13", journal: []state.Record{prune("j", "fs", later, "1,2", 11, 12)}},
		{name: "prune took some, the rest erased",
			ledger: "fs@1 fs@2 fs@3 fs@4", now: "fs@4", journal: []state.Record{prune("j", "fs", later, "1")}, want: "fs@2 fs@3"},
		{name: "a prune record at the ledger's very time counts",
			ledger: "fs@1 fs@2", now: "fs@2", journal: []state.Record{prune("j", "fs", t0, "1")}},
		{name: "prune records older than the ledger account for nothing",
			ledger: "fs@1 fs@2", now: "fs@2", journal: []state.Record{prune("j", "fs", t0.Add(-time.Second), "1")}, want: "fs@1"},
		{name: "prune records of another job account for nothing",
			ledger: "fs@1 fs@2", now: "fs@2", journal: []state.Record{prune("k", "fs", later, "1")}, want: "fs@1"},
		{name: "prune records of another dataset account for nothing",
			ledger: "fs@1 other@1", now: "fs@1", journal: []state.Record{prune("j", "fs", later, "1")}, want: "other@1"},
		{name: "a GUID pruned in another dataset accounts for nothing here",
			ledger: "fs@1=7 copy@1=7", now: "fs@1=7", journal: []state.Record{prune("j", "fs", later, "1", 7)}, want: "copy@1"},
		{name: "records of other kinds account for nothing",
			ledger: "fs@1 fs@2", now: "fs@2",
			journal: []state.Record{{Time: later, Kind: state.KindPullStep, Job: "j", Dataset: root + "/fs", Outcome: state.OutcomeOK,
				Details: map[string]string{DetailDestroyed: "1"}}},
			want: "fs@1"},
		{name: "a name taken again and pruned: the GUID tells the old one was erased",
			ledger: "fs@1=11 fs@2=12", now: "fs@2=12", journal: []state.Record{prune("j", "fs", later, "1", 21)}, want: "fs@1"},
		{name: "the same name with another GUID: the old one erased, the new one new",
			ledger: "fs@1=11 fs@2=12", now: "fs@1=31 fs@2=12", want: "fs@1"},
		{name: "a dataset gone entirely: all its snapshots",
			ledger: "fs@1 fs@2 fs/child@1 fs/child@2 other@1", now: "other@1", journal: []state.Record{prune("j", "fs", later, "1")},
			want: "fs/child@1 fs/child@2 fs@2"},
		{name: "the whole tree gone", ledger: "fs@1 other@1", now: "", want: "fs@1 other@1"},
		{name: "a snapshot renamed", ledger: "fs@1 fs@2=7", now: "fs@1 fs@keep=7", want: "fs@2>fs@keep"},
		{name: "a dataset renamed within the tree", ledger: "fs@1=1 fs@2=2", now: "moved@1=1 moved@2=2", want: "fs@1>moved@1 fs@2>moved@2"},
		{name: "renamed, then pruned under its new name by name: still a rename",
			ledger: "fs@1=7", now: "fs@x=7", journal: []state.Record{prune("j", "fs", later, "1")}, want: "fs@1>fs@x"},
		{name: "pruned by GUID while a copy with that GUID is new elsewhere: pruned",
			ledger: "fs@1=7", now: "copy@1=7", journal: []state.Record{prune("j", "fs", later, "1", 7)}},
		{name: "two copies of one GUID, one renamed", ledger: "a@1=7 b@1=7", now: "a@1=7 b@2=7", want: "b@1>b@2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := zfs.ParseDataset(root)
			prev := Ledger{Job: "j", Root: r, Taken: t0, Snapshots: snaps(t, tc.ledger)}
			got := describe(Compare(prev, snaps(t, tc.now), tc.journal))
			if got != tc.want {
				t.Errorf("got erased %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompareIgnoresOrder(t *testing.T) {
	r, _ := zfs.ParseDataset(root)
	prev := Ledger{Job: "j", Root: r, Taken: t0, Snapshots: snaps(t, "fs@3 fs@1 b@9 fs@2")}
	got := describe(Compare(prev, snaps(t, "fs@2"), nil))
	if want := "b@9 fs@1 fs@3"; got != want {
		t.Errorf("got %q, want %q, in name order", got, want)
	}
}

func TestDescribe(t *testing.T) {
	fs, _ := zfs.ParseDataset(root + "/fs")
	var es []Erasure
	for _, s := range snaps(t, "fs@1 fs@2 fs/child@1") {
		es = append(es, Erasure{Name: s.Name, GUID: s.GUID})
	}
	renamed := snaps(t, "fs@3 fs@x")
	es = append(es, Erasure{Name: renamed[0].Name, RenamedTo: renamed[1].Name})
	for _, tc := range []struct {
		max  int
		want string
	}{
		{10, "@1, @2, v/j/fs/child@1, @3 (renamed to @x)"},
		{4, "@1, @2, v/j/fs/child@1, @3 (renamed to @x)"},
		{2, "@1, @2 and 2 more"},
		{0, " and 4 more"},
	} {
		if got := Describe(es, fs, tc.max); got != tc.want {
			t.Errorf("Describe(max %d): got %q, want %q", tc.max, got, tc.want)
		}
	}
}

func TestWithout(t *testing.T) {
	r, _ := zfs.ParseDataset(root)
	l := Ledger{Job: "j", Root: r, Snapshots: snaps(t, "fs@1 fs/child@1 fsx@1 other@1")}
	fs, _ := zfs.ParseDataset(root + "/fs")
	got, n := l.Without(fs)
	if n != 2 || len(got.Snapshots) != 2 || got.Snapshots[0].Name.String() != "v/j/fsx@1" || len(l.Snapshots) != 4 {
		t.Errorf("Without(fs): dropped %d, kept %+v (the original now %d)", n, got.Snapshots, len(l.Snapshots))
	}
}
