package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLockPidAndRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFile)
	l, err := AcquireLock(path)
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if got, want := string(b), fmt.Sprintf("%d\n", os.Getpid()); got != want {
		t.Errorf("got lock file %q, want %q", got, want)
	}

	// flock(2) locks conflict between open files even within one process.
	_, err = AcquireLock(path)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.PID != os.Getpid() || locked.Path != path {
		t.Fatalf("second AcquireLock: got %v, want a LockedError with pid %d", err, os.Getpid())
	}

	require.NoError(t, l.Release())
	require.NoError(t, l.Release()) // twice is fine
	l, err = AcquireLock(path)
	require.NoError(t, err)
	require.NoError(t, l.Release())
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the lock file must stay: %v", err)
	}
}

func TestLockedErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  LockedError
		want string
	}{
		{LockedError{Path: "/var/db/vault/vault.lock", PID: 4242}, "another vault (pid 4242) holds /var/db/vault/vault.lock"},
		{LockedError{Path: "/x.lock"}, "another vault (pid unknown) holds /x.lock"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestLockHeldByAnotherProcess: a child holds the lock; the parent is refused with the child's pid;
// once the child is killed, the kernel has dropped the lock and the parent gets it.
func TestLockHeldByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFile)
	c, line := startHelper(t, "lock "+path)
	pidText, ok := strings.CutPrefix(line, "locked ")
	require.True(t, ok, "helper said %q", line)
	pid, err := strconv.Atoi(pidText)
	require.NoError(t, err)
	require.Equal(t, c.cmd.Process.Pid, pid)

	_, err = AcquireLock(path)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.PID != pid {
		t.Fatalf("got %v, want a LockedError with the child's pid %d", err, pid)
	}
	if want := fmt.Sprintf("another vault (pid %d) holds %s", pid, path); err.Error() != want {
		t.Errorf("got message %q, want %q", err, want)
	}

	require.NoError(t, c.cmd.Process.Kill())
	_ = c.cmd.Wait()
	l, err := AcquireLock(path)
	if err != nil {
		t.Fatalf("AcquireLock after the holder died: %v", err)
	}
	require.NoError(t, l.Release())
}

// TestLockReleasedByChild: a holder that releases clears its pid from the file.
func TestLockReleasedByChild(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFile)
	c, _ := startHelper(t, "lock "+path)
	require.NoError(t, c.stdin.Close())
	require.NoError(t, c.cmd.Wait())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if len(b) != 0 {
		t.Errorf("got lock file %q after release, want it empty", b)
	}
	l, err := AcquireLock(path)
	require.NoError(t, err)
	require.NoError(t, l.Release())
}

func TestLockRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	path := filepath.Join(dir, LockFile)
	require.NoError(t, os.Symlink(target, path))
	if l, err := AcquireLock(path); err == nil {
		l.Release()
		t.Fatalf("AcquireLock through a symlink: got no error, want one")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the symlink's target was created: %v", err)
	}
}
