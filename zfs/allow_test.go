package zfs

import (
	"slices"
	"strings"
	"testing"
)

func TestParseAllow(t *testing.T) {
	out := "---- Permissions on rust10/Backups/host05 ---------------------------\n" +
		"Local permissions:\n\tuser backup snapshot\n" +
		"---- Permissions on rust10/Backups ------------------------------------\n" +
		"Permission sets:\n\t@pruner destroy,mount\n" +
		"Create time permissions:\n\tdestroy\n" +
		"Local+Descendent permissions:\n\tuser backup create,mount,receive\n\tuser other destroy\n\tgroup wheel hold\n" +
		"Descendent permissions:\n\tuser backup hold,release\n" +
		"---- Permissions on rust10 -------------------------------------------\n" +
		"Local permissions:\n\tuser backup rollback\n" +
		"Local+Descendent permissions:\n\teveryone userprop\n"
	tests := []struct {
		ds   string
		want string
	}{
		{"rust10/Backups/host05", "create,hold,mount,receive,release,snapshot"},
		{"rust10/Backups", "create,mount,receive"},
		{"rust10/Backups/host05/jail", "create,hold,mount,receive,release"},
		{"rust10", "rollback"},
	}
	for _, tt := range tests {
		d, err := ParseAllow(out, "backup", mustDataset(t, tt.ds))
		if err != nil {
			t.Fatalf("%s: %v", tt.ds, err)
		}
		if got := strings.Join(d.Perms, ","); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.ds, got, tt.want)
		}
	}
	// Where each permission comes from: below rust10/Backups, receive is set there, snapshot on
	// the dataset itself; rollback on rust10 is Local, so it does not reach down.
	d, _ := ParseAllow(out, "backup", mustDataset(t, "rust10/Backups/host05"))
	if got := d.From["receive"]; len(got) != 1 || got[0].String() != "rust10/Backups" {
		t.Errorf("From[receive] = %v, want [rust10/Backups]", got)
	}
	if got := d.From["snapshot"]; len(got) != 1 || got[0].String() != "rust10/Backups/host05" {
		t.Errorf("From[snapshot] = %v, want [rust10/Backups/host05]", got)
	}
	if _, ok := d.From["rollback"]; ok {
		t.Errorf("From[rollback] = %v, want none", d.From["rollback"])
	}
	if got := d.Held([]string{"destroy", "receive", "rollback", "hold"}); !slices.Equal(got, []string{"receive", "hold"}) {
		t.Errorf("Held = %q, want [receive hold]", got)
	}
	d, _ = ParseAllow(out, "backup", mustDataset(t, "rust10/Backups"))
	if got := d.Missing([]string{"receive", "destroy", "mount"}); !slices.Equal(got, []string{"destroy"}) {
		t.Errorf("Missing = %q, want [destroy]", got)
	}
	for _, bad := range []string{
		"\tuser backup create\n",
		"---- Permissions on -bad ----\n",
		"garbage\n",
		"---- Permissions on rust10 ----\nLocal permissions:\n\tuser\n",
	} {
		if _, err := ParseAllow(bad, "backup", mustDataset(t, "rust10")); err == nil {
			t.Errorf("ParseAllow(%q): got no error, want one", bad)
		}
	}
}

func TestAllowArgv(t *testing.T) {
	argv, err := testZFS.allowArgv("backup", []string{"receive", "create"}, mustDataset(t, "rust10/Backups"))
	if err != nil || !slices.Equal(argv, []string{"/sbin/zfs", "allow", "-u", "backup", "receive,create", "rust10/Backups"}) {
		t.Errorf("allowArgv = %q, %v", argv, err)
	}
	for _, u := range []string{"", "-u", "a b", "root;x", strings.Repeat("a", 33)} {
		if _, err := testZFS.allowArgv(u, []string{"receive"}, mustDataset(t, "rust10")); err == nil {
			t.Errorf("allowArgv(user %q): got no error, want one", u)
		}
	}
	if _, err := testZFS.allowArgv("backup", []string{"receive,destroy"}, mustDataset(t, "rust10")); err == nil {
		t.Errorf("allowArgv with a comma inside a permission: got no error, want one")
	}
}

func FuzzParseAllow(f *testing.F) {
	f.Add("---- Permissions on rust10 ----\nLocal+Descendent permissions:\n\tuser backup create,mount\n")
	f.Fuzz(func(t *testing.T, out string) {
		d, err := ParseAllow(out, "backup", Dataset{name: "rust10/x"})
		if err == nil && !slices.IsSorted(d.Perms) {
			t.Fatalf("perms not sorted: %q", d.Perms)
		}
	})
}

func TestUnallowArgv(t *testing.T) {
	fx := &fakeExec{}
	z := &ZFS{Bin: "/sbin/zfs", Exec: fx}
	if err := z.Unallow(t.Context(), "backup", []string{"destroy", "receive"}, mustDataset(t, "rust10/Backups/host05")); err != nil || len(fx.argvs) != 1 {
		t.Fatalf("Unallow: %v, ran %q", err, fx.argvs)
	}
	if got := fx.argvs[0]; !slices.Equal(got, []string{"/sbin/zfs", "unallow", "-u", "backup", "destroy,receive", "rust10/Backups/host05"}) {
		t.Errorf("Unallow ran %q", got)
	}
	if err := z.Unallow(t.Context(), "backup", nil, mustDataset(t, "rust10")); err == nil {
		t.Errorf("Unallow of nothing: no error")
	}
}
