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
	d, _ := ParseAllow(out, "backup", mustDataset(t, "rust10/Backups"))
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
