package prunework

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/belltech/vault/zfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustDS(t testing.TB, s string) zfs.Dataset {
	d, err := zfs.ParseDataset(s)
	require.NoError(t, err)
	return d
}

func TestAckDir(t *testing.T) {
	assert.Equal(t, "/var/lib/vault-acks", AckDir("/var/lib/vault/"))
}

func TestAcksRoundTrip(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("writing acknowledgements needs root")
	}
	dir := filepath.Join(t.TempDir(), "state-acks")
	root := mustDS(t, "rust10/Backups/j")
	got, err := LoadAcks(dir, "j", root)
	require.NoError(t, err)
	assert.Empty(t, got, "no directory: nothing acknowledged")

	n, err := AddAcks(dir, "j", map[zfs.Dataset][]uint64{mustDS(t, "rust10/Backups/j/fs"): {7, 9}, mustDS(t, "rust10/Other"): {5}})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = AddAcks(dir, "j", map[zfs.Dataset][]uint64{mustDS(t, "rust10/Backups/j/fs"): {9, 11}})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	got, err = LoadAcks(dir, "j", root)
	require.NoError(t, err)
	assert.Equal(t, map[zfs.Dataset]map[uint64]bool{mustDS(t, "rust10/Backups/j/fs"): {7: true, 9: true, 11: true}}, got,
		"only the job's tree, every GUID")
	fi, err := os.Stat(filepath.Join(dir, "j.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	// A file or directory someone else could have written is refused, not read.
	require.NoError(t, os.Chmod(filepath.Join(dir, "j.json"), 0o666))
	_, err = LoadAcks(dir, "j", root)
	assert.ErrorContains(t, err, "not root's alone")
	require.NoError(t, os.Chmod(filepath.Join(dir, "j.json"), 0o644))
	require.NoError(t, os.Chown(filepath.Join(dir, "j.json"), 1000, 1000))
	_, err = LoadAcks(dir, "j", root)
	assert.ErrorContains(t, err, "uid 1000")
	require.NoError(t, os.Chown(filepath.Join(dir, "j.json"), 0, 0))
	require.NoError(t, os.Chown(dir, 1000, 1000))
	_, err = LoadAcks(dir, "j", root)
	assert.ErrorContains(t, err, "not root's alone")
	require.NoError(t, os.Chown(dir, 0, 0))

	// A symbolic link in place of the file is not followed.
	require.NoError(t, os.Rename(filepath.Join(dir, "j.json"), filepath.Join(dir, "real")))
	require.NoError(t, os.Symlink("real", filepath.Join(dir, "j.json")))
	_, err = LoadAcks(dir, "j", root)
	assert.Error(t, err)

	// Another job's file under this job's name is refused.
	require.NoError(t, os.Remove(filepath.Join(dir, "j.json")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "j.json"), []byte(`{"job":"k","lies":{}}`), 0o644))
	_, err = LoadAcks(dir, "j", root)
	assert.ErrorContains(t, err, `for job "k"`)
}

func TestDecodeAcks(t *testing.T) {
	for _, bad := range []string{
		``, `{}`, `{"job":"j","lies":{"-x":["1"]}}`, `{"job":"j","lies":{"p/a":["01"]}}`,
		`{"job":"j","lies":{"p/a":["0"]}}`, `{"job":"j","lies":{"p/a":["x"]}}`,
		`{"job":"j","lies":{"p/a":[1]}}`, `{"job":"j","lies":{},"more":1}`, `{"job":"j","lies":{}} {}`,
		`{"job":"j","lies":{"p/a":["18446744073709551616"]}}`,
	} {
		_, err := decodeAcks([]byte(bad))
		assert.Error(t, err, "%s", bad)
	}
	d, err := decodeAcks([]byte(`{"job":"j","lies":{"p/a":["18446744073709551615","3"]}}`))
	require.NoError(t, err)
	assert.Equal(t, map[uint64]bool{18446744073709551615: true, 3: true}, d.parsed[mustDS(t, "p/a")])
}

func FuzzDecodeAcks(f *testing.F) {
	f.Add([]byte(`{"job":"j","lies":{"p/a":["12","3"]}}`))
	f.Add([]byte(`{"job":"j","lies":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeAcks(b)
		if err != nil {
			return
		}
		for ds, m := range d.parsed {
			if ds.IsZero() {
				t.Fatal("an empty dataset name accepted")
			}
			if m[0] {
				t.Fatal("GUID 0 accepted")
			}
		}
	})
}
