package props

import (
	"testing"

	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ds(t testing.TB, s string) zfs.Dataset {
	d, err := zfs.ParseDataset(s)
	require.NoError(t, err)
	return d
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name, value string
		ok          bool
	}{
		{"compression", "zstd-3", true},
		{"recordsize", "1048576", true},
		{"atime", "off", true},
		{"com.example:role", "web server, front", true},
		{"com.example:empty", "", true},
		{"mountpoint", "/etc", false},
		{"canmount", "on", false},
		{"setuid", "on", false},
		{"exec", "on", false},
		{"sharenfs", "rw", false},
		{"keylocation", "file:///k", false},
		{"encryption", "aes-256-gcm", false},
		{"compression", "", false},
		{"compression", "lz4 x", false},
		{"compression", "lz4\n", false},
		{"com.example:x", "a\x1bb", false},
		{"com.example:x", "\xff", false},
		{"Com.example:x", "v", false},
		{":x", "v", false},
		{"com.example:x", string(make([]byte, MaxValue+1)), false},
	} {
		err := Check(c.name, c.value)
		assert.Equal(t, c.ok, err == nil, "%s=%q: %v", c.name, c.value, err)
	}
}

func TestParse(t *testing.T) {
	want := []zfs.Dataset{ds(t, "tank/vm")}
	out := "tank/vm\tcompression\tzstd\n" +
		"tank/vm\tcom.example:note\twith\ttabs\n" +
		"tank/vm/disk0\tmountpoint\t/mnt\n" +
		"tank/vm/disk0\tlogbias\tthroughput\n"
	got, skipped, err := Parse([]byte(out), want)
	require.NoError(t, err)
	assert.Equal(t, map[zfs.Dataset]Set{
		ds(t, "tank/vm"):       {"compression": "zstd"},
		ds(t, "tank/vm/disk0"): {"logbias": "throughput"},
	}, got)
	assert.Len(t, skipped, 2) // the value with tabs, the mountpoint

	for _, bad := range []string{
		"tank/other\tcompression\tlz4\n",            // not asked for
		"tank/vmx\tcompression\tlz4\n",              // not below tank/vm by components
		"tank/vm\tcompression\n",                    // two fields
		"tank/vm\tatime\toff\n\n",                   // an empty line
		"tank/vm\tatime\toff\ntank/vm\tatime\ton\n", // twice
		"-tank/vm\tatime\toff\n",
	} {
		_, _, err := Parse([]byte(bad), want)
		assert.Error(t, err, "%q", bad)
	}
	got, _, err = Parse(nil, want)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestParseBoundsPerDataset(t *testing.T) {
	out := ""
	for i := range MaxPerDataset + 3 {
		out += "tank/vm\tcom.example:p" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\tv\n"
	}
	got, skipped, err := Parse([]byte(out), []zfs.Dataset{ds(t, "tank/vm")})
	require.NoError(t, err)
	assert.Len(t, got[ds(t, "tank/vm")], MaxPerDataset)
	assert.Len(t, skipped, 3)
}

func TestReceiveArgs(t *testing.T) {
	assert.Equal(t, []string{"-o", "atime=off", "-o", "com.example:x=a b", "-o", "compression=lz4"},
		Set{"compression": "lz4", "atime": "off", "com.example:x": "a b"}.ReceiveArgs())
	assert.Nil(t, Set{}.ReceiveArgs())
}

func TestRecordAndLoad(t *testing.T) {
	st, err := state.Open(t.TempDir(), -1, -1)
	require.NoError(t, err)
	defer st.Close()
	k, err := Load(st, "j")
	require.NoError(t, err)
	assert.Empty(t, k.Datasets)

	require.NoError(t, Record(st, "j", map[zfs.Dataset]Set{ds(t, "p/a"): {"atime": "off"}, ds(t, "p/b"): nil}))
	require.NoError(t, Record(st, "j", map[zfs.Dataset]Set{ds(t, "p/b"): {"compression": "lz4"}}))
	k, err = Load(st, "j")
	require.NoError(t, err)
	s, ok := k.Of(ds(t, "p/a"))
	assert.True(t, ok)
	assert.Equal(t, Set{"atime": "off"}, s)
	s, _ = k.Of(ds(t, "p/b"))
	assert.Equal(t, Set{"compression": "lz4"}, s)
	_, ok = k.Of(ds(t, "p/c"))
	assert.False(t, ok)

	// A record edited to hold a property a restore must not set is refused, not used.
	require.NoError(t, st.Save("props/j", Kept{Job: "j", Datasets: map[string]Set{"p/a": {"mountpoint": "/"}}}))
	_, err = Load(st, "j")
	assert.ErrorContains(t, err, "mountpoint")
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("tank/vm\tcompression\tzstd\ntank/vm/d\tcom.x:y\tz\n"))
	f.Add([]byte("tank/vm\tatime\n"))
	f.Add([]byte(""))
	want := []zfs.Dataset{ds(f, "tank/vm")}
	f.Fuzz(func(t *testing.T, out []byte) {
		got, _, err := Parse(out, want)
		if err != nil {
			return
		}
		for d, s := range got {
			if !d.HasPrefix(want[0]) {
				t.Fatalf("kept %s, not below tank/vm", d)
			}
			if err := s.Check(); err != nil {
				t.Fatalf("kept what Check refuses: %v", err)
			}
		}
	})
}
