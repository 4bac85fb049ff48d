package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/props"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

// listing parses zfs list -H -p -o name,type,guid,encryption lines written "name type guid enc".
func listing(t *testing.T, lines ...string) []zfs.Entry {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.ReplaceAll(l, " ", "\t") + "\n")
	}
	es, err := zfs.ParseList(strings.NewReader(b.String()), []zfs.Column{zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColEncryption})
	require.NoError(t, err)
	return es
}

func TestPlanTree(t *testing.T) {
	root, err := zfs.ParseSnapshot("tank/B/vm@s1")
	require.NoError(t, err)
	full := []string{
		"tank/B/vm filesystem 1 off", "tank/B/vm@s0 snapshot 10 off", "tank/B/vm@s1 snapshot 11 off",
		"tank/B/vm/disk0 volume 2 aes-256-gcm", "tank/B/vm/disk0@s1 snapshot 21 aes-256-gcm",
		"tank/B/vm/a filesystem 3 off", "tank/B/vm/a@s1 snapshot 31 off",
		"tank/B/vm/a/b filesystem 4 off", "tank/B/vm/a/b@s1 snapshot 41 off",
		"tank/B/vm-other filesystem 5 off", "tank/B/vm-other@s1 snapshot 51 off",
	}
	tests := []struct {
		name       string
		lines      []string
		noChildren bool
		want       []string // path guid raw
		wantErr    string
	}{
		{"the tree, parents first", full, false, []string{" 11 false", "a 31 false", "a/b 41 false", "disk0 21 true"}, ""},
		{"no children", full, true, []string{" 11 false"}, ""},
		{"a child without the snapshot", append(full[:5:5], "tank/B/vm/a filesystem 3 off", "tank/B/vm/a@s0 snapshot 30 off"), false, nil,
			"tank/B/vm/a has no snapshot @s1: a tree export needs it on every dataset below tank/B/vm; export tank/B/vm@s1 alone with --no-children"},
		{"a child without the snapshot, --no-children", append(full[:5:5], "tank/B/vm/a filesystem 3 off"), true, []string{" 11 false"}, ""},
		{"no such snapshot", full[:2], false, nil, "the vault holds no snapshot tank/B/vm@s1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planTree(root, listing(t, tt.lines...), tt.noChildren)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var s []string
			for _, m := range got {
				s = append(s, fmt.Sprintf("%s %d %t", m.Path, m.GUID, m.Raw))
				require.Equal(t, root.Short(), m.Snap.Short())
			}
			require.Equal(t, tt.want, s)
		})
	}
}

func TestSourceOf(t *testing.T) {
	j := &conf.Job{Name: "tr", SourceDatasets: []string{"host05/vm", "host05/jail"}, Recursive: true, Target: "tank/B", Exclude: []string{"host05/vm/tmp"}}
	for vault, want := range map[string]string{
		"tank/B/vm": "host05/vm", "tank/B/vm/disk0": "host05/vm/disk0", "tank/B/jail/www": "host05/jail/www",
		"tank/B/vm/tmp": "", "tank/B/other": "", "tank/Bx/vm": "",
	} {
		d, err := zfs.ParseDataset(vault)
		require.NoError(t, err)
		got, ok := sourceOf(j, d)
		if want == "" {
			require.False(t, ok, "%s maps to %s", vault, got)
			continue
		}
		require.True(t, ok, vault)
		require.Equal(t, want, got.String())
	}
}

func TestPlanImportTo(t *testing.T) {
	snap := func(s string) zfs.Snapshot {
		v, err := zfs.ParseSnapshot(s)
		require.NoError(t, err)
		return v
	}
	m := &sneakernet.Manifest{Format: sneakernet.FormatTree, Members: []sneakernet.Member{
		{Path: "", Snapshot: snap("tank/B/vm@s1"), Properties: props.Set{"compression": "zstd", "com.example:role": "vm"}},
		{Path: "disk0", Snapshot: snap("tank/B/vm/disk0@s1"), Properties: props.Set{}},
	}}
	to, err := zfs.ParseDataset("rpool/new")
	require.NoError(t, err)
	z := &zfs.ZFS{Bin: "/sbin/zfs"}

	argv := func(noProps bool) []string {
		steps, err := planImportTo(m, to, noProps)
		require.NoError(t, err)
		require.Len(t, steps, 2)
		var out []string
		for _, s := range steps {
			c, err := z.ReceiveCmd(s.Recv)
			require.NoError(t, err)
			out = append(out, strings.Join(c.Argv, " "))
		}
		return out
	}
	x := "-x mountpoint -x sharenfs -x sharesmb -x setuid -x copies -x dedup -x reservation -x refreservation -x snapdev -x volmode"
	require.Equal(t, []string{
		"/sbin/zfs receive -u -o com.example:role=vm -o compression=zstd " + x + " rpool/new",
		"/sbin/zfs receive -u " + x + " rpool/new/disk0",
	}, argv(false))
	require.Equal(t, []string{"/sbin/zfs receive -u " + x + " rpool/new", "/sbin/zfs receive -u " + x + " rpool/new/disk0"}, argv(true))
	for _, a := range argv(false) {
		require.NotContains(t, a, " -F")
		require.NotContains(t, a, "readonly")
		require.NotContains(t, a, "canmount")
	}

	// A property that is not one a restore sets again is refused, signature or not.
	m.Members[1].Properties = props.Set{"mountpoint": "/etc"}
	_, err = planImportTo(m, to, false)
	require.ErrorContains(t, err, "tank/B/vm/disk0@s1")
	_, err = planImportTo(m, to, true)
	require.NoError(t, err, "--no-properties sets none")

	_, err = planImportTo(&sneakernet.Manifest{Format: sneakernet.Format}, to, false)
	require.ErrorContains(t, err, "single-dataset export")
}
