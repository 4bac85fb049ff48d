package sneakernet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/props"
	"github.com/belltech/vault/zfs"
)

// exampleTreeManifest is a valid tree manifest: tank/vm (a filesystem) and two zvols below it,
// one of them in a nested filesystem, with the example manifest's ciphertext.
func exampleTreeManifest(t testing.TB) *Manifest {
	m := exampleManifest(t)
	m.Format = FormatTree
	m.FromSnapshot, m.FromGUID = zfs.Snapshot{}, 0
	m.Dataset = mustSnap(t, "tank/vm@s1").Dataset()
	m.ToSnapshot = mustSnap(t, "tank/vm@s1")
	m.Members = []Member{
		{Path: "", Snapshot: m.ToSnapshot, GUID: m.ToGUID, Raw: true, StreamBytes: 60_000,
			Properties: props.Set{"compression": "zstd", "com.example:role": "vm host"}},
		{Path: "disk0", Snapshot: mustSnap(t, "tank/vm/disk0@s1"), GUID: 42, Raw: true, StreamBytes: 30_000, Properties: props.Set{}},
		{Path: "d", Snapshot: mustSnap(t, "tank/vm/d@s1"), GUID: 43, Raw: true, StreamBytes: 5_000, Properties: props.Set{}},
		{Path: "d/disk1", Snapshot: mustSnap(t, "tank/vm/d/disk1@s1"), GUID: 44, Raw: true, StreamBytes: 5_000,
			Properties: props.Set{"logbias": "throughput"}},
	}
	return m
}

func TestTreeManifestGolden(t *testing.T) {
	m := exampleTreeManifest(t)
	s := checkGoldenManifest(t, m, "example-tree.manifest")
	got := s.Manifest()
	require.True(t, got.IsTree())
	// The properties are encoded with sorted keys, as json.Marshal writes a map.
	data, err := m.Marshal()
	require.NoError(t, err)
	require.Less(t, bytes.Index(data, []byte(`"com.example:role"`)), bytes.Index(data, []byte(`"compression"`)))
}

func TestTreeManifestInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *Manifest)
		want   string
	}{
		{"no members", func(m *Manifest) { m.Members = nil }, "members: missing"},
		{"members in format 1", func(m *Manifest) { m.Format = Format }, "only a vault-sneakernet/2 manifest has them"},
		{"incremental", func(m *Manifest) {
			m.FromSnapshot, m.FromGUID = mustSnap(t, "tank/vm@s0"), 7
		}, "full streams only"},
		{"root not first", func(m *Manifest) { m.Members[0], m.Members[1] = m.Members[1], m.Members[0] }, "members[0].path"},
		{"child before parent", func(m *Manifest) { m.Members[2], m.Members[3] = m.Members[3], m.Members[2] }, "comes before its parent"},
		{"path twice", func(m *Manifest) {
			m.Members[2].Path = "disk0"
			m.Members[2].Snapshot = mustSnap(t, "tank/vm/disk0@s1")
		}, "already members[1]"},
		{"path escapes", func(m *Manifest) { m.Members[1].Path = "../x" }, "members[1].path"},
		{"empty component", func(m *Manifest) { m.Members[1].Path = "disk0/" }, "members[1].path"},
		{"snapshot elsewhere", func(m *Manifest) { m.Members[1].Snapshot = mustSnap(t, "tank/other@s1") }, "is not a snapshot of"},
		{"another snapshot name", func(m *Manifest) { m.Members[1].Snapshot = mustSnap(t, "tank/vm/disk0@s2") }, "not named like to_snapshot"},
		{"no guid", func(m *Manifest) { m.Members[1].GUID = 0 }, "members[1].guid: missing"},
		{"guid twice", func(m *Manifest) { m.Members[2].GUID = 42 }, "already members[1]'s"},
		{"root guid", func(m *Manifest) { m.Members[0].GUID = 99 }, "root's guid"},
		{"root raw", func(m *Manifest) { m.Members[0].Raw = false }, "root's guid and raw"},
		{"no properties", func(m *Manifest) { m.Members[1].Properties = nil }, "properties: missing"},
		{"hostile property", func(m *Manifest) { m.Members[1].Properties = props.Set{"mountpoint": "/etc"} }, "not one a restore sets again"},
		{"hostile value", func(m *Manifest) { m.Members[1].Properties = props.Set{"compression": "on,x"} }, "not a single word"},
		{"empty member stream", func(m *Manifest) { m.Members[1].StreamBytes = 0; m.Members[0].StreamBytes += 30_000 }, "not a stream length"},
		{"sizes do not add up", func(m *Manifest) { m.Members[1].StreamBytes++ }, "not stream_bytes 100000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := exampleTreeManifest(t)
			require.NoError(t, m.validate())
			tt.change(m)
			err := m.validate()
			require.ErrorIs(t, err, ErrInvalidManifest)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// An importer that knows only format 1 refuses a tree manifest with its "another version"
// error: simulated by the decoder's path for an unknown format.
func TestTreeManifestUnknownFormat(t *testing.T) {
	m := exampleTreeManifest(t)
	m.Format = "vault-sneakernet/3"
	data, err := m.Marshal()
	require.NoError(t, err)
	_, err = parseManifest(data)
	require.ErrorContains(t, err, "written by another version of vault")
}

func TestMemberTargets(t *testing.T) {
	m := exampleTreeManifest(t)
	to, err := zfs.ParseDataset("rpool/restored/vm")
	require.NoError(t, err)
	got, err := MemberTargets(m, to)
	require.NoError(t, err)
	var names []string
	for _, d := range got {
		names = append(names, d.String())
	}
	require.Equal(t, []string{"rpool/restored/vm", "rpool/restored/vm/disk0", "rpool/restored/vm/d", "rpool/restored/vm/d/disk1"}, names)

	long := strings.Repeat("x", zfs.MaxNameLen-len("tank/vm/disk0"))
	deep, _ := zfs.ParseDataset("rpool/" + long)
	_, err = MemberTargets(m, deep)
	require.ErrorContains(t, err, "cannot place tank/vm/d/disk1@s1")

	_, err = MemberTargets(exampleManifest(t), to)
	require.Error(t, err)
}

// memberSink records what a MemberWriter gives each member, like one zfs receive each.
type memberSink struct {
	got      [][]byte
	closed   []bool
	closeErr int // the member whose Close fails, or -1
}

type sinkWriter struct {
	s *memberSink
	i int
}

func (w sinkWriter) Write(p []byte) (int, error) {
	w.s.got[w.i] = append(w.s.got[w.i], p...)
	return len(p), nil
}

func (w sinkWriter) Close() error {
	w.s.closed[w.i] = true
	if w.i == w.s.closeErr {
		return errors.New("zfs receive failed")
	}
	return nil
}

func TestMemberWriter(t *testing.T) {
	sizes := []int64{5, 1, 7}
	m := &Manifest{Format: FormatTree}
	for _, n := range sizes {
		m.Members = append(m.Members, Member{StreamBytes: n})
	}
	stream := []byte("aaaaabccccccc")
	tests := []struct {
		name     string
		writes   []int // the plaintext cut into writes of these lengths
		closeErr int
		wantDone int
		wantErr  string
	}{
		{"one write", []int{13}, -1, 3, ""},
		{"byte by byte", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, -1, 3, ""},
		{"across boundaries", []int{4, 3, 6}, -1, 3, ""},
		{"cut short", []int{4, 3}, -1, 2, "ended in member 3 of 3"},
		{"cut in the middle of a member", []int{5}, -1, 1, "ended in member 2 of 3"},
		{"too long", []int{13, 1}, -1, 3, "longer than its members"},
		{"receive fails", []int{13}, 1, 1, "zfs receive failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &memberSink{got: make([][]byte, 3), closed: make([]bool, 3), closeErr: tt.closeErr}
			opened := 0
			mw, err := NewMemberWriter(m, func(i int) (io.WriteCloser, error) {
				require.Equal(t, opened, i, "members opened out of order")
				if i > 0 {
					require.True(t, sink.closed[i-1], "member %d opened before %d was closed", i, i-1)
				}
				opened++
				return sinkWriter{sink, i}, nil
			})
			require.NoError(t, err)
			data := append(slices0(stream), 'z')
			var werr error
			off := 0
			for _, n := range tt.writes {
				if _, werr = mw.Write(data[off : off+n]); werr != nil {
					break
				}
				off += n
			}
			if werr == nil {
				werr = mw.Finish()
			}
			if tt.wantErr == "" {
				require.NoError(t, werr)
			} else {
				require.ErrorContains(t, werr, tt.wantErr)
			}
			require.Equal(t, tt.wantDone, mw.Done())
			var start int64
			for i, n := range sizes {
				if i < mw.Done() {
					require.Equal(t, string(stream[start:start+n]), string(sink.got[i]), "member %d", i)
					require.True(t, sink.closed[i])
				}
				start += n
			}
		})
	}
}

func slices0(b []byte) []byte { return append([]byte(nil), b...) }

func treeOptions(t *testing.T, dir string) ExportOptions {
	o := baseOptions(t, dir)
	o.FromSnapshot, o.FromGUID = zfs.Snapshot{}, 0
	o.ToSnapshot = mustSnap(t, "tank/vm@s1")
	o.Members = []Member{
		{Path: "", Snapshot: o.ToSnapshot, GUID: o.ToGUID, Properties: props.Set{"compression": "lz4"}},
		{Path: "disk0", Snapshot: mustSnap(t, "tank/vm/disk0@s1"), GUID: 5},
		{Path: "disk0/x", Snapshot: mustSnap(t, "tank/vm/disk0/x@s1"), GUID: 6},
	}
	return o
}

// A member without a byte, or a Commit before every member's stream ended, fails the export
// and leaves nothing on the media.
func TestTreeExportRefused(t *testing.T) {
	dir := t.TempDir()
	x, err := NewExporter(treeOptions(t, dir))
	require.NoError(t, err)
	require.ErrorIs(t, x.EndMember(), ErrEmptyStream)
	require.NoError(t, x.Abort())

	x, err = NewExporter(treeOptions(t, dir))
	require.NoError(t, err)
	_, err = x.Write(randomBytes(3000, 1))
	require.NoError(t, err)
	require.NoError(t, x.EndMember())
	_, err = x.Write(randomBytes(30, 2))
	require.NoError(t, err)
	_, err = x.Commit()
	require.ErrorContains(t, err, "1 of 3 members' streams ended")
	require.Empty(t, dirNames(t, dir), "a failed commit leaves nothing")

	o := treeOptions(t, dir)
	o.Members[1].Properties = props.Set{"sharenfs": "on"}
	_, err = NewExporter(o)
	require.ErrorContains(t, err, "sharenfs")
}

// A tree export round trip: the members' streams written one after the other, the lengths
// recorded, the manifest signed and read back, and the plaintext split again.
func TestTreeExportRoundTrip(t *testing.T) {
	streams := [][]byte{randomBytes(3000, 1), randomBytes(1500, 2), randomBytes(2100, 3)}
	e := &exported{dir: t.TempDir()}
	e.o = treeOptions(t, e.dir)
	x, err := NewExporter(e.o)
	require.NoError(t, err)
	for _, s := range streams {
		_, err := x.Write(s)
		require.NoError(t, err)
		require.NoError(t, x.EndMember())
	}
	require.ErrorContains(t, x.EndMember(), "every member's stream has ended")
	e.m, err = x.Commit()
	require.NoError(t, err)
	s := e.read(t)
	m := s.Manifest()
	require.Equal(t, FormatTree, m.Format)
	require.Equal(t, []int64{3000, 1500, 2100}, []int64{m.Members[0].StreamBytes, m.Members[1].StreamBytes, m.Members[2].StreamBytes})
	require.Equal(t, props.Set{}, m.Members[1].Properties)

	sink := &memberSink{got: make([][]byte, 3), closed: make([]bool, 3), closeErr: -1}
	mw, err := NewMemberWriter(&m, func(i int) (io.WriteCloser, error) { return sinkWriter{sink, i}, nil })
	require.NoError(t, err)
	_, err = Import(context.Background(), s, testMedia(t, e.dir), []age.Identity{testIdentity(t, 0)}, mw)
	require.NoError(t, err)
	require.NoError(t, mw.Finish())
	for i := range streams {
		require.Equal(t, streams[i], sink.got[i])
	}
}
