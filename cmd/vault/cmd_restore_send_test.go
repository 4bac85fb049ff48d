package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/zfs"
)

func TestSourceOfExcludes(t *testing.T) {
	j := &conf.Job{Target: "rust10/Backups/h5", SourceDatasets: []string{"host05data/vm", "tank/jails"}, Recursive: true,
		Exclude: []string{"host05data/vm/scratch"}}
	tests := []struct{ vault, want string }{
		{"rust10/Backups/h5/vm", "host05data/vm"},
		{"rust10/Backups/h5/vm/disk0", "host05data/vm/disk0"},
		{"rust10/Backups/h5/jails/www", "tank/jails/www"},
		{"rust10/Backups/h5/vm/scratch", ""},
		{"rust10/Backups/h5/vmx", ""},
		{"rust10/Backups/h5", ""},
	}
	for _, tt := range tests {
		d, err := zfs.ParseDataset(tt.vault)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if src, ok := sourceOf(j, d); ok {
			got = src.String()
		}
		if got != tt.want {
			t.Errorf("sourceOf(%q) = %q, want %q", tt.vault, got, tt.want)
		}
	}
}

func TestCheckRestoreIdentity(t *testing.T) {
	dir := t.TempDir()
	daemon, other := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "restore.key")
	for _, f := range []string{daemon, other} {
		if err := os.WriteFile(f, []byte("key"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(daemon, link); err != nil {
		t.Fatal(err)
	}
	c := &conf.Config{SSH: conf.SSH{Identity: daemon}}
	for _, f := range []string{daemon, link, dir + "/./id_ed25519"} {
		if err := checkRestoreIdentity(c, f); err == nil || !strings.Contains(err.Error(), "the daemon's key") {
			t.Errorf("checkRestoreIdentity(%q) = %v, want the daemon's key refused", f, err)
		}
	}
	if err := checkRestoreIdentity(c, other); err != nil {
		t.Errorf("checkRestoreIdentity(%q) = %v, want nil", other, err)
	}
	if err := checkRestoreIdentity(c, filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing identity file is accepted")
	}
}
