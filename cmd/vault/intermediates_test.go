package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

// iExport is the manifest of `vault export --from a -I tank/d@e` on a host where tank/d has
// the snapshots a, b, c, d and e (guids 1 to 5).
func iExport(t *testing.T, n int) *sneakernet.Manifest {
	snap := func(s string) zfs.Snapshot {
		x, err := zfs.ParseSnapshot("tank/d@" + s)
		require.NoError(t, err)
		return x
	}
	m := &sneakernet.Manifest{FromSnapshot: snap("a"), FromGUID: 1, ToSnapshot: snap("e"), ToGUID: 5}
	for i := range n {
		m.Intermediates = append(m.Intermediates, sneakernet.Intermediate{Snapshot: snap(string(rune('b' + i))), GUID: uint64(2 + i)})
	}
	return m
}

func TestIntermediatesCaveat(t *testing.T) {
	require.Equal(t, "", intermediatesCaveat("m", iExport(t, 0), "pool/t"), "an export without intermediates is all or nothing")
	require.Equal(t, "/media/x.manifest is an -I export of 4 snapshots (b, c and d before e): if the import fails part-way, those received before the failure stay on pool/t (nothing is destroyed; importing the export again from intact media carries on from them)",
		intermediatesCaveat("/media/x.manifest", iExport(t, 3), "pool/t"))
	require.Equal(t, "x.manifest is an -I export of 2 snapshots (b before e): if the import fails part-way, those received before the failure stay on its target (nothing is destroyed; importing the export again from intact media carries on from them)",
		intermediatesCaveat("x.manifest", iExport(t, 1), "its target"))
}

func TestShortNames(t *testing.T) {
	xs := func(n int) []sneakernet.Intermediate {
		var out []sneakernet.Intermediate
		for i := range n {
			s, err := zfs.ParseSnapshot(fmt.Sprintf("tank/d@s%d", i))
			require.NoError(t, err)
			out = append(out, sneakernet.Intermediate{Snapshot: s, GUID: uint64(i + 1)})
		}
		return out
	}
	for n, want := range map[int]string{
		1:  "s0",
		2:  "s0 and s1",
		3:  "s0, s1 and s2",
		8:  "s0, s1, s2, s3, s4, s5, s6 and s7",
		9:  "s0, s1, s2, s3, s4, (2 more), s7 and s8",
		40: "s0, s1, s2, s3, s4, (33 more), s38 and s39",
	} {
		require.Equal(t, want, shortNames(xs(n)), "%d names", n)
	}
}

func TestDescribeStream(t *testing.T) {
	full := iExport(t, 0)
	full.FromSnapshot, full.FromGUID = zfs.Snapshot{}, 0
	bm := iExport(t, 0)
	b, err := zfs.ParseBookmark("tank/d#a")
	require.NoError(t, err)
	bm.FromSnapshot, bm.FromBookmark = zfs.Snapshot{}, b
	for _, tt := range []struct {
		m    *sneakernet.Manifest
		want string
	}{
		{full, "a full stream of tank/d@e"},
		{iExport(t, 0), "an incremental stream of tank/d@e from @a"},
		{bm, "an incremental stream of tank/d@e from #a"},
		{iExport(t, 3), "an -I stream of tank/d@e from @a with the 3 snapshots in between: b, c and d"},
	} {
		require.Equal(t, tt.want, describeStream(tt.m))
	}
}

// TestAlreadyLanded: the note before the receive of an -I export of which the target holds
// the first snapshots (which fit is operate.FitTarget's to say).
func TestAlreadyLanded(t *testing.T) {
	target, err := zfs.ParseDataset("pool/t")
	require.NoError(t, err)
	m := iExport(t, 3) // b(2), c(3), d(4) between a(1) and e(5)
	require.Equal(t, "", alreadyLanded("x.manifest", nil, target))
	require.Equal(t, "x.manifest: b and c of its snapshots are already on pool/t, from an earlier import that stopped part-way; zfs receive skips them",
		alreadyLanded("x.manifest", m.Intermediates[:2], target))
	require.Equal(t, "x.manifest: b of its snapshots is already on pool/t, from an earlier import that stopped part-way; zfs receive skips it",
		alreadyLanded("x.manifest", m.Intermediates[:1], target))
}

func TestFailedImport(t *testing.T) {
	target, err := zfs.ParseDataset("pool/t")
	require.NoError(t, err)
	m := iExport(t, 3)
	for _, tt := range []struct {
		landed  []sneakernet.Intermediate
		listErr error
		want    string
	}{
		{nil, nil, "refused x.manifest, nothing received"},
		{m.Intermediates[:1], nil, "refused x.manifest, but b of its 3 snapshots before e is on pool/t and stays (importing the export again from intact media carries on from them)"},
		{m.Intermediates[:2], nil, "refused x.manifest, but b and c of its 3 snapshots before e are on pool/t and stay (importing the export again from intact media carries on from them)"},
		{nil, errors.New("zfs list: signal: killed"), "refused x.manifest; of its snapshots b, c and d, those received before the failure stay on pool/t (cannot list them: zfs list: signal: killed)"},
	} {
		require.Equal(t, tt.want, failedImport("refused x.manifest", m, target, tt.landed, tt.listErr))
	}
}

// TestImportVerifyOnlyNamesIntermediates runs vault import --verify-only on an -I export
// (the stream is random bytes: verify-only runs no zfs command) and on a plain one: the first
// says what lies between, the second that it is a plain incremental.
func TestImportVerifyOnlyNamesIntermediates(t *testing.T) {
	dir := t.TempDir()
	key, err := sneakernet.GenerateSigningKey()
	require.NoError(t, err)
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	idFile := filepath.Join(dir, "vault.age")
	require.NoError(t, sneakernet.WriteKeyFile(idFile, sneakernet.MarshalIdentity(id, time.Now())))
	cfg := filepath.Join(dir, "vault.toml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`state_dir = %q
zfs_binary = %q
age_identity = %q

[[signer]]
name = "host09"
public_key = %q
datasets = ["tank/d"]

[[job]]
name = "sn"
media_signers = ["host09"]
source_datasets = ["tank/d"]
target = "pool/t"
rpo = "8d"
`, filepath.Join(dir, "state"), filepath.Join(dir, "no-zfs-here"), idFile, conf.FormatSignerKey(key.Public().(ed25519.PublicKey)))), 0o600))

	for _, tt := range []struct {
		name string
		n    int
		want string
	}{
		{"i", 3, "holds an -I stream of tank/d@e from @a with the 3 snapshots in between: b, c and d\n"},
		{"plain", 0, "holds an incremental stream of tank/d@e from @a\n"},
	} {
		m := iExport(t, tt.n)
		media := filepath.Join(dir, tt.name)
		require.NoError(t, os.Mkdir(media, 0o755))
		_, err := sneakernet.Export(context.Background(), strings.NewReader(strings.Repeat("stream ", 1000)), sneakernet.ExportOptions{
			Dir: media, Name: "x", Recipients: []age.Recipient{id.Recipient()}, SigningKey: key, Host: "host09",
			FromSnapshot: m.FromSnapshot, FromGUID: m.FromGUID, ToSnapshot: m.ToSnapshot, ToGUID: m.ToGUID,
			Intermediates: m.Intermediates, Created: time.Now(),
		})
		require.NoError(t, err)
		manifest := filepath.Join(media, "x.manifest")
		code, out, errOut := runVault("import", "-c", cfg, "--verify-only", manifest)
		require.Equal(t, 0, code, "stderr: %s", errOut)
		require.Contains(t, out, manifest+" "+tt.want)
		require.Contains(t, out, "verified "+manifest)
		require.NotContains(t, errOut, "-I export", "verify-only receives nothing, so it has nothing to warn of")
	}
}
