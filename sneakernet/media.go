package sneakernet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Media is the directory of an export as an import reads it. Whoever had the removable media
// may have written anything there, so every file an import reads (the manifest, its
// signature, the volumes, the break-glass file) is opened by one method, [Media.open]: it
// opens a name in the directory itself, never through a symbolic link and without blocking
// (a named pipe would block an ordinary open until a writer came), and gives back only a
// regular file, as fstat on the open descriptor says. Make one with [OpenMedia].
type Media struct {
	dir  *os.File // the directory, opened by OpenMedia
	path string   // as OpenMedia was given it, for messages
	// fsys serves the files instead of dir, for tests that fake what a file reads or
	// stats. It is opened by name, without open's flags; the type check after the open
	// is the same.
	fsys fs.FS
}

// OpenMedia opens the directory dir, which holds an export, for [ReadManifest],
// [Preflight], [BreakGlassIdentities] and [Import]. dir itself is the operator's choice and
// is opened as named (it may be a symbolic link to the mount point); the files in it are
// not. Close it when the import is done.
func OpenMedia(dir string) (*Media, error) {
	d, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	return &Media{dir: d, path: dir}, nil
}

// Close closes the directory.
func (m *Media) Close() error {
	if m.dir == nil {
		return nil
	}
	return m.dir.Close()
}

// NotRegularError is the error for a file on the media that is not a regular file: a named
// pipe, a symbolic link, a directory, a device or a socket. An export writes only regular
// files.
type NotRegularError struct {
	What string // what the import wanted, such as "manifest"; may be empty
	Name string // the file's name in the media directory
	Kind string // what it is: "a named pipe (FIFO)", "a symbolic link", ...
}

func (e *NotRegularError) Error() string {
	return strings.TrimSpace(e.What+" "+displayName(e.Name)) + " is " + e.Kind + ", not a regular file: the media is not a vault export"
}

// open opens the file name in the media directory for reading. It returns a regular file or
// an error: fs.ErrNotExist (in an *fs.PathError) for a missing file, a *NotRegularError
// for anything but a regular file, including a symbolic link wherever it points. It never
// blocks on a named pipe or opens a path outside the directory. what names the file in a
// *NotRegularError ("manifest", "signature file", ...).
//
// Every file an import reads from the media is opened here, and nowhere else.
func (m *Media) open(what, name string) (fs.File, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if m.fsys != nil {
		f, err := m.fsys.Open(name)
		if err != nil {
			return nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			f.Close()
			return nil, &NotRegularError{What: what, Name: name, Kind: kindOf(fi.Mode())}
		}
		return f, nil
	}
	if m.dir == nil {
		return nil, errors.New("media directory not open: use OpenMedia")
	}
	f, err := openInDir(m.dir, name)
	if err != nil {
		var nr *NotRegularError
		if errors.As(err, &nr) {
			nr.What = what
		}
		return nil, err
	}
	return f, nil
}

// kindOf says what a file of mode is, for a *NotRegularError.
func kindOf(mode fs.FileMode) string {
	switch t := mode.Type(); {
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeSocket != 0:
		return "a socket"
	default:
		return fmt.Sprintf("a special file (mode %v)", mode)
	}
}
