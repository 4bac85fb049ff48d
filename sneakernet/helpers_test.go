package sneakernet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/zfs"
)

// Fixed test identities (generated once with age.GenerateX25519Identity).
var testIdentities = []string{
	"AGE-SECRET-KEY-137TZ28Q2M0XD5GWTMRTDYJGA5DSRL3FMCYFNKKKFSH973VCNS0VSGE22VD",
	"AGE-SECRET-KEY-1LPDW6WZWR5V9FKSC98KGLTVCGZAJSX48DPKZ3ARPZPN8JHT9MEGQAFV404",
	"AGE-SECRET-KEY-1PWALCVPPRVWDV4T793744YJLXKU5U9Z2Q43K7N73UG2A7CJL2ZLQ3YN87Z",
}

func testIdentity(t testing.TB, i int) *age.X25519Identity {
	t.Helper()
	id, err := age.ParseX25519Identity(testIdentities[i])
	require.NoError(t, err)
	return id
}

// testSigningKey returns a deterministic signing key; different seeds make different keys.
func testSigningKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// pinned trusts exactly the given keys, named host1, host2, ...
func pinned(keys ...ed25519.PrivateKey) TrustFunc {
	return func(k ed25519.PublicKey) (string, bool) {
		for i, p := range keys {
			if k.Equal(p.Public()) {
				return "host" + string(rune('1'+i)), true
			}
		}
		return "", false
	}
}

func mustSnap(t testing.TB, s string) zfs.Snapshot {
	t.Helper()
	v, err := zfs.ParseSnapshot(s)
	require.NoError(t, err)
	return v
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	r.Read(b)
	return b
}

var testCreated = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// baseOptions returns export options for dir with small sizes: 1 KiB segments, 3 KiB volumes.
func baseOptions(t testing.TB, dir string) ExportOptions {
	return ExportOptions{
		Dir:          dir,
		Name:         "host05-tank_data-b",
		SegmentSize:  MinSegmentSize,
		VolumeSize:   3 * MinSegmentSize,
		Recipients:   []age.Recipient{testIdentity(t, 0).Recipient()},
		SigningKey:   testSigningKey(1),
		Host:         "host05",
		FromSnapshot: mustSnap(t, "tank/data@a"),
		FromGUID:     1111,
		ToSnapshot:   mustSnap(t, "tank/data@b"),
		ToGUID:       18446744073709551615, // the largest guid, which a float would round
		Created:      testCreated.Add(123 * time.Millisecond).In(time.FixedZone("CET", 3600)),
	}
}

// exported is an export on disk and the stream it holds.
type exported struct {
	dir  string
	o    ExportOptions
	m    *Manifest
	data []byte
}

func (e *exported) path(name string) string { return filepath.Join(e.dir, name) }

func (e *exported) vol(n int) string { return e.path(e.m.Volumes[n-1].File) }

func (e *exported) manifestName() string { return e.o.Name + ".manifest" }

// read verifies the export's manifest trusting the test signing key 1.
func (e *exported) read(t testing.TB) *Signed {
	t.Helper()
	s, err := ReadManifest(testMedia(t, e.dir), e.manifestName(), pinned(testSigningKey(1)))
	require.NoError(t, err)
	return s
}

// doExport writes an export of data with the options change makes to the base options.
func doExport(t testing.TB, data []byte, change func(*ExportOptions)) *exported {
	t.Helper()
	e := &exported{dir: t.TempDir(), data: data}
	e.o = baseOptions(t, e.dir)
	if change != nil {
		change(&e.o)
	}
	m, err := Export(context.Background(), bytes.NewReader(data), e.o)
	require.NoError(t, err)
	e.m = m
	return e
}

// testMedia opens dir as media, closed when the test ends.
func testMedia(t testing.TB, dir string) *Media {
	t.Helper()
	m, err := OpenMedia(dir)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// recorder is an io.Writer that keeps what it is given, like zfs receive's stdin.
type recorder struct{ bytes.Buffer }

// importTo imports e with ids into a recorder, reading the manifest first.
func (e *exported) importTo(t testing.TB, ids ...age.Identity) (*recorder, int64, error) {
	t.Helper()
	s, err := ReadManifest(testMedia(t, e.dir), e.manifestName(), pinned(testSigningKey(1)))
	if err != nil {
		return &recorder{}, 0, err
	}
	var out recorder
	n, err := Import(context.Background(), s, testMedia(t, e.dir), ids, &out)
	return &out, n, err
}

// requireHeldBack asserts that out got only a prefix of data and not its last HoldBack bytes.
func requireHeldBack(t testing.TB, out []byte, data []byte) {
	t.Helper()
	require.True(t, bytes.HasPrefix(data, out), "the importer wrote bytes that are not the stream's")
	require.LessOrEqual(t, len(out), max(0, len(data)-HoldBack), "the importer wrote part of the held-back tail")
}

// dirNames returns the names of the files in dir, sorted.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// resign rewrites e's manifest as data, signed by key.
func (e *exported) resign(t testing.TB, data []byte, key ed25519.PrivateKey) {
	t.Helper()
	require.NoError(t, os.WriteFile(e.path(e.manifestName()), data, 0o644))
	require.NoError(t, os.WriteFile(e.path(e.manifestName()+SigSuffix), signManifest(key, data), 0o644))
}

// remarshal changes e's manifest with change, re-encodes it (without validation) and signs
// it with key.
func (e *exported) remarshal(t testing.TB, key ed25519.PrivateKey, change func(*Manifest)) {
	t.Helper()
	m := e.m.Clone()
	change(&m)
	m.Signer = conf.FormatSignerKey(key.Public().(ed25519.PublicKey))
	data, err := m.Marshal()
	require.NoError(t, err)
	e.resign(t, data, key)
}

// checkGoldenManifest validates and signs m, compares its encoding with testdata/name (written
// with -update), reads that back through ReadManifest and returns it: a golden test of an
// optional field's encoding.
func checkGoldenManifest(t *testing.T, m *Manifest, name string) *Signed {
	t.Helper()
	require.NoError(t, m.validate())
	data, err := m.Marshal()
	require.NoError(t, err)
	mpath := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(mpath, data, 0o644))
		require.NoError(t, os.WriteFile(mpath+SigSuffix, signManifest(testSigningKey(1), data), 0o644))
	}
	want, err := os.ReadFile(mpath)
	require.NoError(t, err)
	require.Equal(t, string(want), string(data), "manifest encoding changed; run go test -update if that is intended")
	s, err := ReadManifest(testMedia(t, "testdata"), name, pinned(testSigningKey(1)))
	require.NoError(t, err)
	require.Equal(t, *m, s.Manifest())
	return s
}
