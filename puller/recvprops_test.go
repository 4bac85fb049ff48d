package puller

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

func TestReceiveProps(t *testing.T) {
	defaults := &Job{ReceiveSet: []zfs.PropSetting{{Name: "canmount", Value: "noauto"}, {Name: "readonly", Value: "on"}}, ReceiveExclude: []string{"atime"}}
	own := &Job{ReceiveSet: []zfs.PropSetting{{Name: "compression", Value: "zstd"}, {Name: "mountpoint", Value: "/backups/x"}, {Name: "recordsize", Value: "1M"}},
		ReceiveExclude: []string{"canmount", "snapdev"}}
	const floorFS = "mountpoint sharenfs sharesmb setuid copies dedup reservation refreservation"
	for _, tc := range []struct {
		name     string
		job      *Job
		typ      zfs.Type
		set, out string
		after    string
	}{
		{"the defaults on a filesystem", defaults, zfs.TypeFilesystem,
			"canmount=noauto readonly=on", "atime " + floorFS, "canmount=noauto"},
		{"the defaults on a volume: nothing a volume lacks", defaults, zfs.TypeVolume,
			"readonly=on", "copies dedup reservation refreservation snapdev volmode", ""},
		{"the defaults, type unknown: canmount excluded now, set after; every exclusion", defaults, "",
			"readonly=on", "canmount atime " + floorFS + " snapdev volmode", ""},
		{"an empty job still gets the floor", &Job{}, zfs.TypeFilesystem,
			"canmount=noauto readonly=on", floorFS, "canmount=noauto"},
		{"what the job names wins over the floor", own, zfs.TypeFilesystem,
			"compression=zstd mountpoint=/backups/x recordsize=1M readonly=on", "canmount sharenfs sharesmb setuid copies dedup reservation refreservation", "mountpoint=/backups/x recordsize=1M"},
		{"what the job names, on a volume", own, zfs.TypeVolume,
			"compression=zstd readonly=on", "snapdev copies dedup reservation refreservation volmode", ""},
		{"what the job names, type unknown", own, "",
			"compression=zstd readonly=on", "mountpoint recordsize canmount snapdev sharenfs sharesmb setuid copies dedup reservation refreservation volmode", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, exclude := ReceiveProps(tc.job, tc.typ)
			var got []string
			for _, s := range set {
				got = append(got, s.Name+"="+s.Value)
			}
			require.Equal(t, tc.set, strings.Join(got, " "))
			require.Equal(t, tc.out, strings.Join(exclude, " "))
			for _, s := range set {
				require.NotContains(t, exclude, s.Name, "-o and -x of one property fail the receive")
			}
			if tc.typ != "" {
				got = nil
				for _, s := range ReceivePropsAfter(tc.job, tc.typ) {
					got = append(got, s.Name+"="+s.Value)
				}
				require.Equal(t, tc.after, strings.Join(got, " "))
			}
		})
	}
}

// The receive command carries the floor for either type (the puller passes it on every step).
func TestReceiveCmdCarriesTheFloor(t *testing.T) {
	z := &zfs.ZFS{Bin: "/sbin/zfs"}
	target, _ := zfs.ParseDataset("rust10/B/x")
	for _, typ := range []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume} {
		set, exclude := ReceiveProps(&Job{}, typ)
		cmd, err := z.ReceiveCmd(zfs.ReceiveOptions{Target: target, Set: set, Exclude: exclude})
		require.NoError(t, err)
		argv := strings.Join(cmd.Argv, " ")
		require.Contains(t, argv, "-o readonly=on")
		require.Contains(t, argv, "-x refreservation")
		if typ == zfs.TypeFilesystem {
			require.Contains(t, argv, "-o canmount=noauto")
			require.Contains(t, argv, "-x mountpoint -x sharenfs -x sharesmb")
		} else {
			require.NotContains(t, argv, "canmount")
			require.NotContains(t, argv, "mountpoint")
		}
	}
}
