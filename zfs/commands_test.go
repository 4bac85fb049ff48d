package zfs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var testZFS = &ZFS{Bin: "/sbin/zfs"}

func TestListArgv(t *testing.T) {
	roots := []Dataset{mustDataset(t, "host05data/jail"), mustDataset(t, "host05data/My VMs")}
	cols := []Column{ColName, ColGUID, ColCreateTXG, ColCreation}
	types := []Type{TypeFilesystem, TypeVolume, TypeSnapshot}
	argv, err := testZFS.listArgv(roots, true, types, cols)
	require.NoError(t, err)
	want := []string{"/sbin/zfs", "list", "-H", "-p", "-o", "name,guid,createtxg,creation",
		"-t", "filesystem,volume,snapshot", "-r", "host05data/jail", "host05data/My VMs"}
	if !slices.Equal(argv, want) {
		t.Errorf("listArgv = %q\nwant       %q", argv, want)
	}
	argv, err = testZFS.listArgv(roots[:1], false, []Type{TypeBookmark}, []Column{ColName})
	require.NoError(t, err)
	want = []string{"/sbin/zfs", "list", "-H", "-p", "-o", "name", "-t", "bookmark", "host05data/jail"}
	if !slices.Equal(argv, want) {
		t.Errorf("listArgv = %q\nwant       %q", argv, want)
	}

	bad := []struct {
		name  string
		z     *ZFS
		roots []Dataset
		types []Type
		cols  []Column
		want  string
	}{
		{"no roots", testZFS, nil, types, cols, "no datasets"},
		{"zero root", testZFS, []Dataset{{}}, types, cols, "empty name"},
		{"no types", testZFS, roots, nil, cols, "no types"},
		{"bad type", testZFS, roots, []Type{"all"}, cols, `unknown type "all"`},
		{"no name column", testZFS, roots, types, []Column{ColGUID}, "no name column"},
		{"unknown column", testZFS, roots, types, []Column{ColName, "name,mountpoint"}, "unknown column"},
		{"relative binary", &ZFS{Bin: "zfs"}, roots, types, cols, `zfs binary path "zfs" is not absolute`},
	}
	for _, c := range bad {
		if argv, err := c.z.listArgv(c.roots, true, c.types, c.cols); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: listArgv = %q, %v; want error containing %q", c.name, argv, err, c.want)
		}
	}
}

func TestGetArgv(t *testing.T) {
	argv, err := testZFS.getArgv([]string{"receive_resume_token", "vault:job"},
		[]Name{mustDataset(t, "tank/a"), mustSnapshot(t, "tank/a@s")})
	require.NoError(t, err)
	want := []string{"/sbin/zfs", "get", "-H", "-p", "-o", "name,property,value,source",
		"receive_resume_token,vault:job", "tank/a", "tank/a@s"}
	if !slices.Equal(argv, want) {
		t.Errorf("getArgv = %q\nwant      %q", argv, want)
	}
	for _, c := range []struct {
		props   []string
		targets []Name
		want    string
	}{
		{nil, []Name{mustDataset(t, "tank")}, "no properties"},
		{[]string{"used"}, nil, "no datasets"},
		{[]string{"used"}, []Name{nil}, "nil name"},
		{[]string{"used"}, []Name{Snapshot{}}, "empty name"},
		{[]string{"-H"}, []Name{mustDataset(t, "tank")}, "starts with '-'"},
		{[]string{"used,name"}, []Name{mustDataset(t, "tank")}, "invalid character ','"},
		{[]string{"Used"}, []Name{mustDataset(t, "tank")}, "invalid character 'U'"},
		{[]string{""}, []Name{mustDataset(t, "tank")}, "empty"},
	} {
		if argv, err := testZFS.getArgv(c.props, c.targets); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("getArgv(%q, %v) = %q, %v; want error containing %q", c.props, c.targets, argv, err, c.want)
		}
	}
}

func TestHoldArgv(t *testing.T) {
	snaps := []Snapshot{mustSnapshot(t, "tank/a@s1"), mustSnapshot(t, "tank/b c@s 2")}
	argv, err := testZFS.holdsArgv(snaps)
	require.NoError(t, err)
	if want := []string{"/sbin/zfs", "holds", "-H", "tank/a@s1", "tank/b c@s 2"}; !slices.Equal(argv, want) {
		t.Errorf("holdsArgv = %q, want %q", argv, want)
	}
	for _, sub := range []string{"hold", "release"} {
		argv, err := testZFS.tagArgv(sub, "vault:drive.client", snaps)
		require.NoError(t, err)
		if want := []string{"/sbin/zfs", sub, "vault:drive.client", "tank/a@s1", "tank/b c@s 2"}; !slices.Equal(argv, want) {
			t.Errorf("tagArgv(%s) = %q, want %q", sub, argv, want)
		}
		for _, c := range []struct {
			tag   string
			snaps []Snapshot
			want  string
		}{
			{"-r", snaps, "starts with '-'"},
			{"", snaps, "empty"},
			{"ok", nil, "no snapshots"},
			{"ok", []Snapshot{{}}, "empty name"},
		} {
			if argv, err := testZFS.tagArgv(sub, c.tag, c.snaps); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("tagArgv(%s, %q, %q) = %q, %v; want error containing %q", sub, c.tag, c.snaps, argv, err, c.want)
			}
		}
	}
	if _, err := testZFS.holdsArgv(nil); err == nil {
		t.Error("holdsArgv(nil): got no error, want one")
	}
}

func TestSnapshotArgv(t *testing.T) {
	argv, err := testZFS.snapshotArgv([]Snapshot{mustSnapshot(t, "tank/a@2024-11-26_05.04.00--2w")})
	require.NoError(t, err)
	if want := []string{"/sbin/zfs", "snapshot", "tank/a@2024-11-26_05.04.00--2w"}; !slices.Equal(argv, want) {
		t.Errorf("snapshotArgv = %q, want %q", argv, want)
	}
	argv, err = testZFS.snapshotArgv([]Snapshot{mustSnapshot(t, "tank/vm@x"), mustSnapshot(t, "tank/vm/disk0@x")})
	require.NoError(t, err)
	if want := []string{"/sbin/zfs", "snapshot", "tank/vm@x", "tank/vm/disk0@x"}; !slices.Equal(argv, want) {
		t.Errorf("snapshotArgv = %q, want %q", argv, want)
	}
	for _, bad := range [][]Snapshot{nil, {{}}} {
		if _, err := testZFS.snapshotArgv(bad); err == nil {
			t.Errorf("snapshotArgv(%v): got no error, want one", bad)
		}
	}
}

func TestDestroySnapshotsArgv(t *testing.T) {
	ds := mustDataset(t, "tank/My Docs")
	argv, err := testZFS.destroySnapshotsArgv(ds, []string{"a", "b 2", "a", "2024-11-26_05.04.00--2w"})
	require.NoError(t, err)
	if want := []string{"/sbin/zfs", "destroy", "tank/My Docs@a,b 2,2024-11-26_05.04.00--2w"}; !slices.Equal(argv, want) {
		t.Errorf("destroySnapshotsArgv = %q, want %q", argv, want)
	}
	argv, err = testZFS.destroySnapshotsArgv(ds, nil)
	if err != nil || argv != nil {
		t.Errorf("destroySnapshotsArgv(no shorts) = %q, %v; want nothing to run", argv, err)
	}
	for _, c := range []struct {
		shorts []string
		want   string
	}{
		{[]string{"a%b"}, "contains '%'"}, // zfs would read a%b as a range
		{[]string{"a,b"}, "invalid character ','"},
		{[]string{"ok", "-n"}, "starts with '-'"},
		{[]string{""}, "is empty"},
		{[]string{"a@b"}, "invalid character '@'"},
		{[]string{"a/b"}, "invalid character '/'"},
		{[]string{strings.Repeat("s", 250)}, "bytes long"},
	} {
		if argv, err := testZFS.destroySnapshotsArgv(ds, c.shorts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("destroySnapshotsArgv(%q) = %q, %v; want error containing %q", c.shorts, argv, err, c.want)
		}
	}
	if _, err := testZFS.destroySnapshotsArgv(Dataset{}, []string{"a"}); err == nil {
		t.Error("destroySnapshotsArgv(zero dataset): got no error, want one")
	}
}

func TestCreateArgv(t *testing.T) {
	argv, err := testZFS.createArgv(mustDataset(t, "rust10/Backups/host05"),
		map[string]string{"readonly": "on", "canmount": "noauto", "vault:note": "made by vault -x"})
	require.NoError(t, err)
	want := []string{"/sbin/zfs", "create", "-o", "canmount=noauto", "-o", "readonly=on",
		"-o", "vault:note=made by vault -x", "rust10/Backups/host05"}
	if !slices.Equal(argv, want) {
		t.Errorf("createArgv = %q\nwant         %q", argv, want)
	}
	argv, err = testZFS.createArgv(mustDataset(t, "tank/a"), nil)
	require.NoError(t, err)
	if want := []string{"/sbin/zfs", "create", "tank/a"}; !slices.Equal(argv, want) {
		t.Errorf("createArgv = %q, want %q", argv, want)
	}
	for _, c := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"-o": "x"}, "starts with '-'"},
		{map[string]string{"a=b": "x"}, "invalid character '='"},
		{map[string]string{"vault:note": "a\nb"}, `control character '\n'`},
		{map[string]string{"vault:note": strings.Repeat("v", MaxPropValueLen+1)}, "bytes long"},
	} {
		if argv, err := testZFS.createArgv(mustDataset(t, "tank/a"), c.props); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("createArgv(%q) = %q, %v; want error containing %q", c.props, argv, err, c.want)
		}
	}
	if _, err := testZFS.createArgv(Dataset{}, nil); err == nil {
		t.Error("createArgv(zero dataset): got no error, want one")
	}
}

// fakeExec records the commands it is given and answers with canned output.
type fakeExec struct {
	argvs  [][]string
	stdout string
	err    error
}

func (f *fakeExec) Run(_ context.Context, c Cmd) error {
	f.argvs = append(f.argvs, c.Argv)
	if c.Stdout != nil {
		if _, err := c.Stdout.Write([]byte(f.stdout)); err != nil {
			return err
		}
	}
	return f.err
}

func TestZFSRunsThroughExecutor(t *testing.T) {
	ctx := context.Background()
	fx := &fakeExec{stdout: "tank/a\t42\ntank/a@s\t43\n"}
	z := &ZFS{Bin: "/usr/sbin/zfs", Exec: fx}
	entries, err := z.List(ctx, []Dataset{mustDataset(t, "tank/a")}, true, []Type{TypeFilesystem, TypeSnapshot}, []Column{ColName, ColGUID})
	require.NoError(t, err)
	if len(entries) != 2 || entries[1].GUID != 43 {
		t.Errorf("List = %+v, want two entries", entries)
	}

	fx.stdout = "tank/a@s\tvault:x\t1732597440\n"
	holds, err := z.Holds(ctx, []Snapshot{mustSnapshot(t, "tank/a@s")})
	require.NoError(t, err)
	if len(holds) != 1 || holds[0].Tag != "vault:x" {
		t.Errorf("Holds = %+v, want one vault:x hold", holds)
	}

	fx.stdout = "tank/a\tused\t4096\t-\n"
	props, err := z.Get(ctx, []string{"used"}, mustDataset(t, "tank/a"))
	require.NoError(t, err)
	if len(props) != 1 || props[0].Value != "4096" {
		t.Errorf("Get = %+v, want used=4096", props)
	}

	require.NoError(t, z.Hold(ctx, "vault:x", mustSnapshot(t, "tank/a@s")))
	require.NoError(t, z.Release(ctx, "vault:x", mustSnapshot(t, "tank/a@s")))
	require.NoError(t, z.Snapshot(ctx, mustSnapshot(t, "tank/a@t")))
	require.NoError(t, z.DestroySnapshots(ctx, mustDataset(t, "tank/a"), []string{"s", "t"}))
	require.NoError(t, z.DestroySnapshots(ctx, mustDataset(t, "tank/a"), nil))
	require.NoError(t, z.Create(ctx, mustDataset(t, "tank/b"), nil))
	subs := make([]string, len(fx.argvs))
	for i, a := range fx.argvs {
		subs[i] = a[1]
	}
	if want := []string{"list", "holds", "get", "hold", "release", "snapshot", "destroy", "create"}; !slices.Equal(subs, want) {
		t.Errorf("ran %q, want %q (and nothing for an empty destroy)", subs, want)
	}

	// Errors from the executor come back unchanged; bad output is a parse error.
	boom := &ExitError{Argv: []string{"/usr/sbin/zfs", "list"}, Code: 1, Stderr: "cannot open 'tank/a': dataset does not exist\n"}
	fx.err = boom
	_, err = z.List(ctx, []Dataset{mustDataset(t, "tank/a")}, false, []Type{TypeFilesystem}, []Column{ColName})
	if !errors.Is(err, boom) {
		t.Errorf("List with a failing zfs = %v, want the ExitError", err)
	}
	fx.err = nil
	fx.stdout = "tank/a\tnot-a-guid\n"
	_, err = z.List(ctx, []Dataset{mustDataset(t, "tank/a")}, false, []Type{TypeFilesystem}, []Column{ColName, ColGUID})
	if err == nil || !strings.Contains(err.Error(), `line 1 "tank/a\tnot-a-guid"`) {
		t.Errorf("List with bad output = %v, want a parse error quoting the line", err)
	}
	if err := (&ZFS{Bin: "/sbin/zfs"}).Snapshot(ctx, mustSnapshot(t, "tank/a@s")); err == nil {
		t.Error("ZFS without an executor: got no error, want one")
	}
}

func TestAvailable(t *testing.T) {
	ctx := context.Background()
	ds := mustDataset(t, "rust10/Backups/host05")
	cases := []struct {
		name, stdout string
		want         int64
		wantErr      string
	}{
		{"bytes", "rust10/Backups/host05\tavailable\t838860800\t-\n", 838860800, ""},
		{"none left", "rust10/Backups/host05\tavailable\t0\t-\n", 0, ""},
		{"not a number", "rust10/Backups/host05\tavailable\t800M\t-\n", 0, `printed "800M"`},
		{"negative", "rust10/Backups/host05\tavailable\t-5\t-\n", 0, `printed "-5"`},
		{"another dataset", "rust10/Backups\tavailable\t5\t-\n", 0, "want one for it"},
		{"another property", "rust10/Backups/host05\tused\t5\t-\n", 0, "want one for it"},
		{"no line", "", 0, "printed 0 lines"},
	}
	for _, c := range cases {
		fx := &fakeExec{stdout: c.stdout}
		z := &ZFS{Bin: "/sbin/zfs", Exec: fx}
		got, err := z.Available(ctx, ds)
		switch {
		case c.wantErr == "" && (err != nil || got != c.want):
			t.Errorf("%s: Available = %d, %v; want %d", c.name, got, err, c.want)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: Available = %d, %v; want an error containing %q", c.name, got, err, c.wantErr)
		}
		want := []string{"/sbin/zfs", "get", "-H", "-p", "-o", "name,property,value,source", "available", "rust10/Backups/host05"}
		if len(fx.argvs) != 1 || !slices.Equal(fx.argvs[0], want) {
			t.Errorf("%s: ran %q, want %q", c.name, fx.argvs, want)
		}
	}
}
