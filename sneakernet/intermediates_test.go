package sneakernet

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

// withIntermediates makes the example manifest a -I stream carrying two snapshots before
// to_snapshot.
func withIntermediates(t testing.TB, m *Manifest) {
	m.Intermediates = []Intermediate{
		{Snapshot: mustSnap(t, "tank/data@auto-2025-03-03T12"), GUID: 1111111111111111111},
		{Snapshot: mustSnap(t, "tank/data@auto-2025-03-03T18"), GUID: 2222222222222222222},
	}
}

func TestManifestIntermediatesInvalid(t *testing.T) {
	for i, tt := range []struct {
		change func(*Manifest)
		want   string
	}{
		{func(m *Manifest) {}, ""},
		{func(m *Manifest) { m.Intermediates = m.Intermediates[:1] }, ""},
		{func(m *Manifest) {
			b, _ := zfs.ParseBookmark("tank/data#auto-2025-03-03")
			m.FromSnapshot, m.FromBookmark = zfs.Snapshot{}, b
		}, ""},
		{func(m *Manifest) { m.Intermediates = []Intermediate{} }, "intermediates: empty"},
		{func(m *Manifest) { m.FromSnapshot, m.FromGUID = zfs.Snapshot{}, 0 }, "intermediates: set for a full stream"},
		{func(m *Manifest) { m.Intermediates[1].Snapshot = zfs.Snapshot{} }, "intermediates[1].snapshot: missing"},
		{func(m *Manifest) { m.Intermediates[1].Snapshot = mustSnap(t, "tank/other@x") },
			`intermediates[1].snapshot: "tank/other@x" is not a snapshot of dataset "tank/data"`},
		{func(m *Manifest) { m.Intermediates[1].Snapshot = mustSnap(t, "tank/data/child@x") },
			`intermediates[1].snapshot: "tank/data/child@x" is not a snapshot of dataset "tank/data"`},
		{func(m *Manifest) { m.Intermediates[0].Snapshot = m.ToSnapshot }, `intermediates[0].snapshot: "tank/data@auto-2025-03-04" is to_snapshot`},
		{func(m *Manifest) { m.Intermediates[0].Snapshot = m.FromSnapshot }, `intermediates[0].snapshot: "tank/data@auto-2025-03-03" is from_snapshot`},
		{func(m *Manifest) { m.Intermediates[1].Snapshot = m.Intermediates[0].Snapshot },
			`intermediates[1].snapshot: "tank/data@auto-2025-03-03T12" is already intermediates[0]`},
		{func(m *Manifest) { m.Intermediates[1].GUID = 0 }, "intermediates[1].guid: missing"},
		{func(m *Manifest) { m.Intermediates[1].GUID = m.ToGUID }, "intermediates[1].guid: equals to_guid"},
		{func(m *Manifest) { m.Intermediates[0].GUID = m.FromGUID }, "intermediates[0].guid: equals from_guid"},
		{func(m *Manifest) { m.Intermediates[1].GUID = m.Intermediates[0].GUID },
			"intermediates[1].guid: 1111111111111111111 is already intermediates[0]'s"},
		{func(m *Manifest) {
			m.Intermediates = nil
			for i := range MaxIntermediates + 1 {
				m.Intermediates = append(m.Intermediates, Intermediate{mustSnap(t, fmt.Sprintf("tank/data@s%d", i)), uint64(i + 1)})
			}
		}, "intermediates: 10001 snapshots are more than the 10000 allowed"},
	} {
		m := exampleManifest(t)
		withIntermediates(t, m)
		tt.change(m)
		err := m.validate()
		if tt.want == "" {
			require.NoError(t, err, "case %d", i)
			continue
		}
		require.ErrorIs(t, err, ErrInvalidManifest, "case %d", i)
		require.ErrorContains(t, err, tt.want, "case %d", i)
	}
}

// TestManifestIntermediatesFit: the largest manifest the limits allow, with MaxIntermediates
// snapshots of the longest names, is within MaxManifestSize, so an importer reads what an
// exporter may write.
func TestManifestIntermediatesFit(t *testing.T) {
	m := exampleManifest(t)
	long := func(i int) string { // a dataset and snapshot name of 255 bytes together
		return fmt.Sprintf("%s@%0*d", m.Dataset, 255-len(m.Dataset.String())-1, i)
	}
	for i := range MaxIntermediates {
		m.Intermediates = append(m.Intermediates, Intermediate{mustSnap(t, long(i)), ^uint64(0) - uint64(i)})
	}
	m.Segments = make([]string, MaxSegments)
	for i := range m.Segments {
		m.Segments[i] = "0000000000000000000000000000000000000000000000000000000000000000"
	}
	m.Volumes = make([]Volume, MaxVolumes)
	for i := range m.Volumes {
		m.Volumes[i] = Volume{File: fmt.Sprintf("%0200d.vol%04d", 0, i+1), Bytes: 1 << 62, FirstSegment: 1 << 20, Segments: 1 << 20}
	}
	data, err := m.Marshal()
	require.NoError(t, err)
	require.Less(t, len(data), MaxManifestSize, "the limits allow a manifest longer than MaxManifestSize")
}

// TestManifestGoldenIntermediates pins the optional intermediates field, next to the manifest
// without it (TestManifestGolden), which must stay as older versions wrote it.
func TestManifestGoldenIntermediates(t *testing.T) {
	m := exampleManifest(t)
	withIntermediates(t, m)
	s := checkGoldenManifest(t, m, "example-intermediates.manifest")
	// Manifest returns a copy: changing it does not change the verified one.
	c := s.Manifest()
	c.Intermediates[0].GUID = 1
	require.EqualValues(t, uint64(1111111111111111111), s.Manifest().Intermediates[0].GUID)

	// Without the field, the manifest is the one older versions wrote.
	old, err := os.ReadFile(filepath.Join("testdata", "example.manifest"))
	require.NoError(t, err)
	require.NotContains(t, string(old), "intermediates")
}

// TestExportIntermediatesRoundTrip: the intermediates given to the exporter are in the signed
// manifest the importer reads, and the stream imports as any other.
func TestExportIntermediatesRoundTrip(t *testing.T) {
	xs := []Intermediate{{mustSnap(t, "tank/data@a1"), 7}, {mustSnap(t, "tank/data@a2"), 8}}
	data := randomBytes(5000, 3)
	e := doExport(t, data, func(o *ExportOptions) { o.Intermediates = xs })
	require.Equal(t, xs, e.m.Intermediates)
	xs[0].GUID = 9 // the exporter kept its own copy
	s, err := ReadManifest(testMedia(t, e.dir), e.manifestName(), pinned(testSigningKey(1)))
	require.NoError(t, err)
	require.Equal(t, []Intermediate{{mustSnap(t, "tank/data@a1"), 7}, {mustSnap(t, "tank/data@a2"), 8}}, s.Manifest().Intermediates)
	got, _, err := e.importTo(t, testIdentity(t, 0))
	require.NoError(t, err)
	require.Equal(t, data, got.Bytes())

	// Without intermediates the field is absent, as before.
	plain := doExport(t, data, nil)
	b, err := os.ReadFile(plain.path(plain.manifestName()))
	require.NoError(t, err)
	require.NotContains(t, string(b), "intermediates")
}
