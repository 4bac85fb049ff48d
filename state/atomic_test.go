package state

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/google/renameio/v2"
	"github.com/stretchr/testify/require"
)

// dirNames lists a directory, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "status.prom")
	old := syscall.Umask(0o077) // perm is applied as given, whatever the umask
	defer syscall.Umask(old)

	for _, content := range []string{"first\n", "second, longer than the first\n", "3\n"} {
		if err := WriteFileAtomic(path, []byte(content), 0o644); err != nil {
			t.Fatalf("WriteFileAtomic: %v", err)
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		if string(got) != content {
			t.Errorf("got content %q, want %q", got, content)
		}
		fi, err := os.Stat(path)
		require.NoError(t, err)
		if got := fi.Mode().Perm(); got != 0o644 {
			t.Errorf("got mode %v, want 0644", got)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"status.prom"}) {
			t.Errorf("got directory %v, want only status.prom (no temporary files)", got)
		}
	}
}

// TestWriteFileAtomicFailedRename: when the rename cannot happen, what was there stays, and the
// temporary file is gone.
func TestWriteFileAtomicFailedRename(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "state.json")
	require.NoError(t, os.Mkdir(target, 0o755)) // a non-empty directory cannot be renamed over
	require.NoError(t, os.WriteFile(filepath.Join(target, "keep"), []byte("old"), 0o644))

	if err := WriteFileAtomic(target, []byte("new"), 0o644); err == nil {
		t.Fatalf("WriteFileAtomic over a non-empty directory: got no error, want one")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"state.json"}) {
		t.Errorf("got directory %v, want only state.json (no temporary files)", got)
	}
	got, err := os.ReadFile(filepath.Join(target, "keep"))
	require.NoError(t, err)
	if string(got) != "old" {
		t.Errorf("got %q, want the old content", got)
	}
}

// TestCrashBeforeRename goes through the steps WriteFileAtomic takes and stops (as a crash would)
// after the temporary file is written and fsynced but before the rename: the old file is intact,
// and RemoveStaleTemp sweeps up the temporary file.
func TestCrashBeforeRename(t *testing.T) {
	s, err := Open(t.TempDir(), -1, -1)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Save("jobs/a", map[string]int{"seq": 1}))

	sub, err := s.root.OpenRoot("jobs")
	require.NoError(t, err)
	defer sub.Close()
	f, err := renameio.NewPendingFile("a.json", renameio.WithRoot(sub), renameio.WithStaticPermissions(filePerm))
	require.NoError(t, err)
	_, err = f.Write([]byte(`{"seq": 2`)) // half a record
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.File.Close()) // the crash: no rename, no cleanup

	var got map[string]int
	ok, err := s.Load("jobs/a", &got)
	if err != nil || !ok || got["seq"] != 1 {
		t.Fatalf("after a crash before the rename: got %v, %v, %v; want the old state seq 1", got, ok, err)
	}
	if names := dirNames(t, filepath.Join(s.Dir, "jobs")); len(names) != 2 {
		t.Fatalf("got %v, want a.json and one temporary file", names)
	}
	n, err := s.RemoveStaleTemp()
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemp: got %d, %v; want 1, nil", n, err)
	}
	if got := dirNames(t, filepath.Join(s.Dir, "jobs")); !slices.Equal(got, []string{"a.json"}) {
		t.Errorf("got %v, want only a.json", got)
	}
}

// TestWriteFileAtomicReplacesSymlink: a symbolic link at the target is replaced, never written
// through.
func TestWriteFileAtomicReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious"), 0o600))
	link := filepath.Join(dir, "state.json")
	require.NoError(t, os.Symlink(victim, link))

	require.NoError(t, WriteFileAtomic(link, []byte("{}\n"), 0o640))
	got, err := os.ReadFile(victim)
	require.NoError(t, err)
	if string(got) != "precious" {
		t.Errorf("the link's target was written: got %q", got)
	}
	fi, err := os.Lstat(link)
	require.NoError(t, err)
	if !fi.Mode().IsRegular() {
		t.Errorf("got mode %v at the target, want a regular file", fi.Mode())
	}
}
