package state

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/gofrs/flock"
)

// Lock is the instance lock: an flock(2) on a file that holds the holder's pid. The kernel drops
// the lock when the holder dies, however it dies, so a stale file never blocks a new start. The
// file is never removed (removing it would let two processes lock two different files).
type Lock struct {
	path string
	fl   *flock.Flock
	pid  *os.File // the same file, open for writing the pid; cleared on Release
}

// LockedError says another process holds the lock.
type LockedError struct {
	Path string
	PID  int // 0 if the holder has not written its pid (yet)
}

func (e *LockedError) Error() string {
	pid := "unknown"
	if e.PID > 0 {
		pid = strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("another vault (pid %s) holds %s", pid, e.Path)
}

// AcquireLock takes the lock at path without waiting, creating the file if needed, and writes the
// pid of this process into it. If another process holds it, the error is a *LockedError with that
// process's pid.
func AcquireLock(path string) (*Lock, error) {
	// O_NOFOLLOW: a symbolic link planted in the state directory must not make root create or
	// open a file elsewhere.
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|syscall.O_NOFOLLOW), flock.SetPermissions(0o644))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("cannot take the lock %s: %w", path, err)
	}
	if !ok {
		return nil, &LockedError{Path: path, PID: readPID(path)}
	}
	l := &Lock{path: path, fl: fl}
	if err := l.writePID(); err != nil {
		l.Release()
		return nil, fmt.Errorf("cannot take the lock %s: %w", path, err)
	}
	return l, nil
}

// writePID writes this process's pid into the lock file, through a second descriptor checked to
// be the very file that is locked, a plain file with no other name.
func (l *Lock) writePID() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	locked, err := l.fl.Stat()
	if err != nil {
		f.Close()
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !os.SameFile(fi, locked):
		err = errors.New("the lock file was replaced while being locked")
	case !fi.Mode().IsRegular():
		err = errors.New("not a regular file")
	case !ok || st.Nlink != 1:
		err = errors.New("the lock file has other hard links; refusing to write through them")
	}
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return err
	}
	l.pid = f
	return nil
}

// readPID reads the holder's pid from the lock file; 0 when it cannot.
func readPID(path string) int {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Release clears the pid and drops the lock. It may be called more than once.
func (l *Lock) Release() error {
	var err error
	if l.pid != nil {
		err = l.pid.Truncate(0)
		if cerr := l.pid.Close(); err == nil {
			err = cerr
		}
		l.pid = nil
	}
	if uerr := l.fl.Unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("cannot release the lock %s: %w", l.path, err)
	}
	return nil
}
