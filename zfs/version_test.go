package zfs

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      Versions
		bad       string
	}{
		{"Debian 13 backports", "zfs-2.4.4-1~bpo13+1\nzfs-kmod-2.4.4-1~bpo13+1\n", Versions{Version{2, 4, 4}, Version{2, 4, 4}}, ""},
		{"Debian 12", "zfs-2.1.11-1+deb12u1\nzfs-kmod-2.1.11-1+deb12u1\n", Versions{Version{2, 1, 11}, Version{2, 1, 11}}, ""},
		{"FreeBSD", "zfs-2.2.0-FreeBSD_g95785196f\nzfs-kmod-2.2.0-FreeBSD_g95785196f\n", Versions{Version{2, 2, 0}, Version{2, 2, 0}}, ""},
		{"userland newer than the module", "zfs-2.4.0-1\nzfs-kmod-2.3.2-2~bpo12+2\n", Versions{Version{2, 4, 0}, Version{2, 3, 2}}, ""},
		{"no suffix", "zfs-2.3.1\nzfs-kmod-2.3.1\n", Versions{Version{2, 3, 1}, Version{2, 3, 1}}, ""},
		{"module not loaded", "zfs-2.3.1-1\n", Versions{}, "kernel module loaded"},
		{"nothing", "", Versions{}, "no zfs-X.Y.Z line"},
		{"an error message", "The ZFS modules are not loaded.\n", Versions{}, "want zfs-X.Y.Z"},
		{"two numbers", "zfs-2.3-1\nzfs-kmod-2.3-1\n", Versions{}, "not X.Y.Z"},
		{"a letter", "zfs-2.3.x\nzfs-kmod-2.3.1\n", Versions{}, "not X.Y.Z"},
		{"a sign", "zfs-2.+3.1\nzfs-kmod-2.3.1\n", Versions{}, "not X.Y.Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseVersion(tc.out)
			if tc.bad != "" {
				require.ErrorContains(t, err, tc.bad)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestVersionAtLeast(t *testing.T) {
	require.True(t, Version{2, 4, 0}.AppendOnlyReceive())
	require.True(t, Version{3, 0, 0}.AppendOnlyReceive())
	require.False(t, Version{2, 3, 99}.AppendOnlyReceive())
	require.False(t, Version{1, 9, 0}.AppendOnlyReceive())
	require.Equal(t, "2.3.2", Version{2, 3, 2}.String())
}

func FuzzParseVersion(f *testing.F) {
	f.Add("zfs-2.4.4-1~bpo13+1\nzfs-kmod-2.4.4-1~bpo13+1\n")
	f.Add("zfs-2.2.0-FreeBSD_g95785196f\nzfs-kmod-2.2.0-FreeBSD_g95785196f\n")
	f.Add("zfs-2.3.1\n")
	f.Fuzz(func(t *testing.T, out string) {
		vs, err := ParseVersion(out)
		if err != nil {
			return
		}
		for _, v := range []Version{vs.Userland, vs.Kernel} {
			if v.Major < 0 || v.Minor < 0 || v.Patch < 0 || v.Major > 9999 || v.Minor > 9999 || v.Patch > 9999 {
				t.Fatalf("%q parsed to %v", out, vs)
			}
		}
	})
}
