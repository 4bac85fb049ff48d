//go:build unix

package sneakernet

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

func openDir(dir string) (*os.File, error) {
	// O_DIRECTORY: the kernel refuses anything but a directory before opening it, so even
	// a named pipe given as the directory does not block.
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// mediaOpenFlags open a file on the media: read only; O_NONBLOCK, so that opening a named
// pipe returns at once instead of waiting for a writer; O_NOFOLLOW, so that a symbolic link
// is not followed (the open fails with ELOOP, EMLINK on FreeBSD); O_CLOEXEC, so that zfs
// receive inherits none of the media's files.
const mediaOpenFlags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC

// testHookBeforeOpen, if set, runs between the look at name and its open: tests swap the
// file there.
var testHookBeforeOpen func(name string)

// openInDir opens name, a single path element, in the directory dir.
//
// The confinement to the directory is openat(2) with dir's descriptor, a name without '/'
// (checked by Media.open; "." and ".." are refused there too) and O_NOFOLLOW: no path is
// resolved, so nothing outside the directory can be reached. (os.Root.OpenFile would keep
// O_NONBLOCK, but it follows a symbolic link that stays inside the root whatever the flags
// say, and the media may hold no link at all.)
//
// A look at the name first (fstatat, not following a link) keeps a device node or a named
// pipe from even being opened in the usual case (opening some devices does something).
// What decides is the fstat of the open descriptor: a file swapped after the look is
// refused all the same.
func openInDir(dir *os.File, name string) (*os.File, error) {
	rc, err := dir.SyscallConn()
	if err != nil {
		return nil, err
	}
	var f *os.File
	cerr := rc.Control(func(dfd uintptr) { f, err = openAt(int(dfd), name) })
	if cerr != nil {
		return nil, cerr
	}
	return f, err
}

func openAt(dfd int, name string) (*os.File, error) {
	var st unix.Stat_t
	if err := retryEINTR(func() error { return unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if t := fileType(uint32(st.Mode)); t != 0 {
		return nil, &NotRegularError{Name: name, Kind: kindOf(t)}
	}
	if testHookBeforeOpen != nil {
		testHookBeforeOpen(name)
	}
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.Openat(dfd, name, mediaOpenFlags, 0)
		return err
	})
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) {
		// O_NOFOLLOW met a symbolic link (Linux: ELOOP; FreeBSD: EMLINK).
		return nil, &NotRegularError{Name: name, Kind: kindOf(fs.ModeSymlink)}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if err := retryEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	if t := fileType(uint32(st.Mode)); t != 0 {
		unix.Close(fd)
		return nil, &NotRegularError{Name: name, Kind: kindOf(t)}
	}
	// A regular file: reads do not block, so O_NONBLOCK has done its work. Clear it, so
	// that the file is an ordinary blocking one to the os package.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fcntl", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// fileType returns the fs.FileMode type bits of a stat mode: 0 for a regular file.
func fileType(mode uint32) fs.FileMode {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFSOCK:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
