package operate

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

// mediaConfig is conf/testdata/valid/media-job.toml: signer host09 may export host09data,
// host09-2026 only host09data/vm; media job host09 takes host09data/vm and host09data/home.
func mediaConfig(t *testing.T) *conf.Config {
	t.Helper()
	c, err := conf.Load("../conf/testdata/valid/media-job.toml")
	require.NoError(t, err)
	return c
}

// export is the manifest of an export of dataset's @to (guid 100) from @from (guid 1; "" for a
// full stream), with the snapshots between them named (guids 2, 3, ...).
func export(t *testing.T, dataset, from, to string, between ...string) *sneakernet.Manifest {
	t.Helper()
	d, err := zfs.ParseDataset(dataset)
	require.NoError(t, err)
	at := func(name string) zfs.Snapshot {
		s, err := d.Snapshot(name)
		require.NoError(t, err)
		return s
	}
	m := &sneakernet.Manifest{Format: sneakernet.Format, Dataset: d, ToSnapshot: at(to), ToGUID: 100}
	if from != "" {
		m.FromSnapshot, m.FromGUID = at(from), 1
	}
	for i, name := range between {
		m.Intermediates = append(m.Intermediates, sneakernet.Intermediate{Snapshot: at(name), GUID: uint64(2 + i)})
	}
	return m
}

func TestAdmit(t *testing.T) {
	tree := func(members int) *sneakernet.Manifest {
		m := export(t, "host09data/vm", "", "s")
		m.Format = sneakernet.FormatTree
		for i := 0; i < members; i++ {
			m.Members = append(m.Members, sneakernet.Member{})
		}
		return m
	}
	for _, tt := range []struct {
		name       string
		m          *sneakernet.Manifest
		signer     string
		badRoot    bool // host09's datasets in the configuration do not parse
		wantTarget string
		wantKind   RefusalKind
		wantErr    string
	}{
		{"admitted", export(t, "host09data/vm", "a", "b"), "host09", false, "rust10/Backups/host09/vm", 0, ""},
		{"below a signer's root", export(t, "host09data/vm", "a", "b"), "host09-2026", false, "rust10/Backups/host09/vm", 0, ""},
		{"a tree export of one dataset", tree(1), "host09", false, "rust10/Backups/host09/vm", 0, ""},
		{"a tree export of two", tree(2), "host09", false, "", RefusedTree,
			"it is a tree export of 2 datasets (vault restore export), which is imported with --to POOL/PATH --signer-key KEY, not into a media job"},
		{"the signer's roots do not parse", export(t, "host09data/vm", "a", "b"), "host09", true, "", RefusedSignerConfig,
			`signer "host09": invalid dataset name "-x": pool name "-x" starts with '-'; correct its datasets in the configuration`},
		{"the signer may not export it", export(t, "host09data/home", "a", "b"), "host09-2026", false, "", RefusedSigner,
			`signer "host09-2026" may not export "host09data/home" (its datasets are "host09data/vm")`},
		{"a signer not configured", export(t, "host09data/vm", "a", "b"), "host10", false, "", RefusedSigner,
			`signer "host10" is not in the configuration`},
		{"no media job takes it", export(t, "host09data/db", "a", "b"), "host09", false, "", RefusedNoJob,
			`no media job with signer "host09" takes "host09data/db": add it to a job's source_datasets`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mediaConfig(t)
			if tt.badRoot {
				c.Signers[0].Datasets = []string{"-x"}
			}
			dest, err := Admit(c, tt.m, tt.signer)
			if tt.wantKind == 0 {
				require.NoError(t, err)
				if dest.Target.String() != tt.wantTarget || dest.Job.Name != "host09" || dest.Signer != tt.signer {
					t.Errorf("got %s into job %s by %s, want %s into host09 by %s", dest.Target, dest.Job.Name, dest.Signer, tt.wantTarget, tt.signer)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) || r.Kind != tt.wantKind {
				t.Fatalf("got %v, want a refusal of kind %d", err, tt.wantKind)
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestFitTarget(t *testing.T) {
	target, err := zfs.ParseDataset("pool/t")
	require.NoError(t, err)
	// have lists guid, name pairs of the target's snapshots, the newest last.
	have := func(pairs ...any) Holdings {
		h := Holdings{Exists: true, Have: map[uint64]string{}, Type: zfs.TypeFilesystem}
		for i := 0; i < len(pairs); i += 2 {
			guid := uint64(pairs[i].(int))
			h.Have[guid], h.Newest = "pool/t@"+pairs[i+1].(string), guid
		}
		return h
	}
	full := export(t, "tank/d", "", "e")
	incr := export(t, "tank/d", "a", "e")
	iExp := export(t, "tank/d", "a", "e", "b", "c", "d") // b(2), c(3), d(4) between a(1) and e(100)
	for _, tt := range []struct {
		name        string
		m           *sneakernet.Manifest
		h           Holdings
		wantAlready string
		wantLanded  int
		wantKind    RefusalKind
		wantErr     string
	}{
		{"a full stream onto nothing", full, Holdings{}, "", 0, 0, ""},
		{"an incremental from the newest", incr, have(7, "z", 1, "a"), "", 0, 0, ""},
		{"already imported", incr, have(1, "a", 100, "e"), "pool/t@e", 0, 0, ""},
		{"already imported, a full stream", full, have(100, "e"), "pool/t@e", 0, 0, ""},
		{"an -I export onto its base", iExp, have(1, "a"), "", 0, 0, ""},
		{"an -I export carried on", iExp, have(1, "a", 2, "b", 3, "c"), "", 2, 0, ""},
		{"all its intermediates landed", iExp, have(1, "a", 2, "b", 3, "c", 4, "d"), "", 3, 0, ""},
		{"a full stream onto a dataset", full, have(7, "z"), "", 0, RefusedFullOverTarget,
			"a full stream of tank/d, but pool/t exists; the vault never forces a receive (rename the target away to start afresh)"},
		{"a full stream onto an empty dataset", full, Holdings{Exists: true}, "", 0, RefusedFullOverTarget,
			"a full stream of tank/d, but pool/t exists; the vault never forces a receive (rename the target away to start afresh)"},
		{"an incremental onto nothing", incr, Holdings{}, "", 0, RefusedNoTarget,
			"an incremental from tank/d@a, but pool/t does not exist; import the full export first"},
		{"its base is not there", incr, have(7, "z"), "", 0, RefusedNoBase,
			"its base tank/d@a (guid 1) is not on pool/t; import the exports in order"},
		{"its base is not the newest", incr, have(1, "a", 7, "z"), "", 0, RefusedNotNewest,
			"its base tank/d@a is on pool/t but not its newest snapshot (pool/t@z); the vault never rolls back"},
		{"landed, then something newer", iExp, have(1, "a", 2, "b", 7, "z"), "", 0, RefusedNotNewest,
			"its base tank/d@a is on pool/t but not its newest snapshot (pool/t@z); the vault never rolls back"},
		{"a hole: b pruned after it landed", iExp, have(1, "a", 3, "c"), "", 0, RefusedIntermediates,
			"pool/t holds c of the export's snapshots but not b, which comes before it: zfs receive would stop there; make an export from the newest snapshot pool/t holds"},
		{"another snapshot by a name the stream brings", iExp, have(1, "a", 2, "b", 9, "c"), "", 0, RefusedIntermediates,
			"the export brings c, but pool/t already holds another snapshot by that name (guid 9, not 3): zfs receive would stop there; rename or destroy it first"},
		{"a landed snapshot renamed", iExp, have(1, "a", 2, "b-renamed"), "", 0, RefusedIntermediates,
			"pool/t holds the export's snapshot b as pool/t@b-renamed: zfs receive would stop there; rename it back to pool/t@b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := FitTarget(tt.m, target, tt.h)
			if tt.wantKind == 0 {
				require.NoError(t, err)
				if fit.Already != tt.wantAlready || len(fit.Landed) != tt.wantLanded {
					t.Errorf("got already %q, %d landed; want %q, %d", fit.Already, len(fit.Landed), tt.wantAlready, tt.wantLanded)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) || r.Kind != tt.wantKind {
				t.Fatalf("got %v, want a refusal of kind %d", err, tt.wantKind)
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}
