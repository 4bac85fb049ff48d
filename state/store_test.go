package state

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

type jobState struct {
	LastGood string   `json:"last_good"`
	Frozen   bool     `json:"frozen"`
	Datasets []string `json:"datasets"`
}

func TestStoreSaveLoad(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "vault"), -1, -1)
	require.NoError(t, err)
	defer s.Close()

	var got jobState
	ok, err := s.Load("jobs/drive.client", &got)
	if ok || err != nil {
		t.Fatalf("Load of a missing state: got %v, %v; want false, nil", ok, err)
	}
	want := jobState{LastGood: "2025-01-02_03.04.05--1m", Frozen: true, Datasets: []string{"host05data/jail/drive.client"}}
	require.NoError(t, s.Save("jobs/drive.client", want))
	ok, err = s.Load("jobs/drive.client", &got)
	if !ok || err != nil {
		t.Fatalf("Load: got %v, %v; want true, nil", ok, err)
	}
	if got.LastGood != want.LastGood || got.Frozen != want.Frozen || len(got.Datasets) != 1 {
		t.Errorf("got %+v, want %+v", got, want)
	}
	fi, err := os.Stat(filepath.Join(s.Dir, "jobs", "drive.client.json"))
	require.NoError(t, err)
	if got := fi.Mode().Perm(); got != filePerm {
		t.Errorf("got file mode %v, want %v", got, filePerm)
	}
	for _, d := range []string{s.Dir, filepath.Join(s.Dir, "jobs")} {
		fi, err := os.Stat(d)
		require.NoError(t, err)
		if got := fi.Mode().Perm(); got != dirPerm {
			t.Errorf("%s: got mode %v, want %v", d, got, dirPerm)
		}
	}
}

func TestStoreLoadStrict(t *testing.T) {
	s, err := Open(t.TempDir(), -1, -1)
	require.NoError(t, err)
	defer s.Close()
	for _, tc := range []struct{ name, content, wantErr string }{
		{"unknown", `{"last_good": "x", "colour": "red"}`, "unknown field"},
		{"trailing", `{"last_good": "x"} {}`, "trailing data"},
		{"torn", `{"last_good": "x`, "unexpected EOF"},
		{"type", `{"frozen": "yes"}`, "cannot unmarshal"},
	} {
		require.NoError(t, os.WriteFile(filepath.Join(s.Dir, tc.name+".json"), []byte(tc.content), 0o640))
		var v jobState
		_, err := s.Load(tc.name, &v)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestStoreNames(t *testing.T) {
	s, err := Open(t.TempDir(), -1, -1)
	require.NoError(t, err)
	defer s.Close()
	for _, name := range []string{"daemon", "jobs/drive.client", "datasets/rust10/Backups/host05:x", "a_b-c+d"} {
		if err := s.Save(name, 1); err != nil {
			t.Errorf("Save(%q): got %v, want no error", name, err)
		}
	}
	for _, name := range []string{"", "/abs", "../up", "jobs/../../up", "a//b", ".hidden", "jobs/.x", "-flag", "sp ace", "a/", "a\\b"} {
		if err := s.Save(name, 1); err == nil {
			t.Errorf("Save(%q): got no error, want an invalid name", name)
		}
	}
}

// TestStoreSymlinkEscape: a symbolic link planted in the state directory cannot lead a write out.
func TestStoreSymlinkEscape(t *testing.T) {
	outside := t.TempDir()
	s, err := Open(t.TempDir(), -1, -1)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, os.Symlink(outside, filepath.Join(s.Dir, "jobs")))
	if err := s.Save("jobs/x", 1); err == nil {
		t.Errorf("Save through a symlink out of the store: got no error, want one")
	}
	ents, err := os.ReadDir(outside)
	require.NoError(t, err)
	if len(ents) != 0 {
		t.Errorf("got %d files written outside the store, want none", len(ents))
	}
}

// TestStoreOwner: as root, the directory and everything created in it go to the daemon's user.
func TestStoreOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CI runs as root)")
	}
	const uid, gid = 64101, 64102
	s, err := Open(filepath.Join(t.TempDir(), "vault"), uid, gid)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Save("jobs/a", 1))
	j, err := s.OpenJournal()
	require.NoError(t, err)
	require.NoError(t, j.Close())
	for _, p := range []string{"", "jobs", "jobs/a.json", JournalFile} {
		fi, err := os.Stat(filepath.Join(s.Dir, p))
		require.NoError(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%q: got owner %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	if got := DefaultDir(); got != "/var/lib/vault" && got != "/var/db/vault" {
		t.Errorf("got %q, want /var/lib/vault or /var/db/vault", got)
	}
}
