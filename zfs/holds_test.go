package zfs

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseHolds(t *testing.T) {
	// OpenZFS 2.1 prints the C locale's strftime("%a %b %e %H:%M %Y");
	// 2.2 and later print unix seconds with -p.
	out := "tank/a@2024-11-26_05.04.00--2w\tvault:drive.client\tTue Nov 26 05:04 2024\n" +
		"tank/a@2024-11-26_05.04.00--2w\tzrepl_last\tTue Nov  5 14:03 2024\n" +
		"tank/My Docs@snap 1\ttag with\ttab\t1732597440\n"
	holds, err := ParseHolds(strings.NewReader(out))
	require.NoError(t, err)
	want := []Hold{
		{mustSnapshot(t, "tank/a@2024-11-26_05.04.00--2w"), "vault:drive.client", time.Date(2024, 11, 26, 5, 4, 0, 0, time.UTC)},
		{mustSnapshot(t, "tank/a@2024-11-26_05.04.00--2w"), "zrepl_last", time.Date(2024, 11, 5, 14, 3, 0, 0, time.UTC)},
		{mustSnapshot(t, "tank/My Docs@snap 1"), "tag with\ttab", time.Unix(1732597440, 0).UTC()},
	}
	require.Len(t, holds, len(want))
	for i := range want {
		if holds[i] != want[i] {
			t.Errorf("hold %d = %+v, want %+v", i, holds[i], want[i])
		}
	}

	empty, err := ParseHolds(strings.NewReader(""))
	if err != nil || len(empty) != 0 {
		t.Errorf("ParseHolds(\"\") = %v, %v; want no holds", empty, err)
	}
}

func TestParseHoldsErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"tank@a\ttag\n", `line 1 "tank@a\ttag": 2 fields, want 3`},
		{"tank@a\n", "1 fields, want 3"},
		{"tank/a\ttag\t1\n", `invalid snapshot name "tank/a"`},
		{"-tank@a\ttag\t1\n", "starts with '-'"},
		{"tank@a\t\t1\n", "empty tag"},
		{"tank@a\ttag\t\n", `bad timestamp ""`},
		{"tank@a\ttag\tDi Nov 26 05:04 2024\n", "bad timestamp"},
		{"tank@a\ttag\t2024-11-26\n", "bad timestamp"},
		{"tank@a\ttag\t99999999999999999999\n", "bad timestamp"},
		{"tank@a\ttag\t1\n\n", `line 2 ""`},
	}
	for _, c := range cases {
		_, err := ParseHolds(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "cannot parse zfs holds output: line ") {
			t.Errorf("ParseHolds(%q): got error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

func TestCheckTag(t *testing.T) {
	for _, tag := range []string{"vault:drive.client", "a", "with space", "x-", strings.Repeat("t", MaxTagLen), "a,b", "#1"} {
		if err := CheckTag(tag); err != nil {
			t.Errorf("CheckTag(%q) = %v, want nil", tag, err)
		}
	}
	bad := []struct{ tag, want string }{
		{"", "empty"},
		{"-r", "starts with '-'"},
		{".snap", "starts with '.'"},
		{"a\tb", "not printable ASCII"},
		{"a\nb", "not printable ASCII"},
		{"é", "not printable ASCII"},
		{strings.Repeat("t", MaxTagLen+1), "256 bytes long"},
	}
	for _, c := range bad {
		err := CheckTag(c.tag)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "invalid hold tag ") {
			t.Errorf("CheckTag(%q) = %v, want an error containing %q", c.tag, err, c.want)
		}
	}
}

func TestParseProperties(t *testing.T) {
	out := "tank/a\tmountpoint\t/tank/a\tdefault\n" +
		"tank/a\tvault:note\tvalue with\ttab\tlocal\n" +
		"tank/a@s\tused\t4096\t-\n" +
		"tank/a/b c\tcompression\tlz4\tinherited from tank/a\n" +
		"tank/a\tvault:empty\t\tlocal\n"
	props, err := ParseProperties(strings.NewReader(out))
	require.NoError(t, err)
	want := []Property{
		{"tank/a", "mountpoint", "/tank/a", "default"},
		{"tank/a", "vault:note", "value with\ttab", "local"},
		{"tank/a@s", "used", "4096", "-"},
		{"tank/a/b c", "compression", "lz4", "inherited from tank/a"},
		{"tank/a", "vault:empty", "", "local"},
	}
	require.Equal(t, want, props)

	bad := []struct{ in, want string }{
		{"tank\tused\t1\n", "3 fields, want 4"},
		{"tank\tused\n", "2 fields, want 4"},
		{"-tank\tused\t1\tlocal\n", "starts with '-'"},
		{"tank@\tused\t1\tlocal\n", "invalid snapshot name"},
		{"tank#\tused\t1\tlocal\n", "invalid bookmark name"},
		{"tank\t\t1\tlocal\n", "empty property name"},
		{"tank\tused\t1\t\n", "empty source"},
	}
	for _, c := range bad {
		_, err := ParseProperties(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "cannot parse zfs get output: line 1 ") {
			t.Errorf("ParseProperties(%q): got error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

func FuzzParseHolds(f *testing.F) {
	f.Add([]byte("tank/a@s\tvault:x\tTue Nov 26 05:04 2024\n"))
	f.Add([]byte("tank/a@s\tvault:x\t1732597440\n"))
	f.Add([]byte("tank/a@s\ta\tb\t1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		holds, err := ParseHolds(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, h := range holds {
			if _, err := ParseSnapshot(h.Snapshot.String()); err != nil || h.Tag == "" {
				t.Fatalf("accepted hold %+v: %v", h, err)
			}
		}
	})
}

// testdata/holds/NAME.txt is zfs holds output captured in the lab, one file per OpenZFS release
// and flag set (TestLabHoldsGoldens with VAULT_LAB_CAPTURE=1); NAME.golden is what ParseHolds
// makes of it (go test ./zfs -update rewrites it).
func TestParseHoldsGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "holds", "*.txt"))
	require.NoError(t, err)
	for _, txt := range files {
		base := strings.TrimSuffix(txt, ".txt")
		t.Run(filepath.Base(base), func(t *testing.T) {
			out, err := os.ReadFile(txt)
			require.NoError(t, err)
			holds, err := ParseHolds(bytes.NewReader(out))
			require.NoError(t, err)
			require.Len(t, holds, strings.Count(string(out), "\n"))
			got, err := json.MarshalIndent(holds, "", "\t")
			require.NoError(t, err)
			got = append(got, '\n')
			if *update {
				require.NoError(t, os.WriteFile(base+".golden", got, 0o644))
			}
			want, err := os.ReadFile(base + ".golden")
			require.NoError(t, err, "no golden: run go test ./zfs -update")
			require.Equal(t, string(want), string(got))
		})
	}
}
