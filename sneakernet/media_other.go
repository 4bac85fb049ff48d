//go:build !unix

package sneakernet

import (
	"io/fs"
	"os"
	"path/filepath"
)

// vault runs on Linux and FreeBSD. Elsewhere the media directory is read without the
// guarantees of media_unix.go: an open cannot be made non-blocking here, and only the
// look at the name before the open and the type of the open file are checked.

func openDir(dir string) (*os.File, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		d.Close()
		if err == nil {
			err = &fs.PathError{Op: "open", Path: dir, Err: fs.ErrInvalid}
		}
		return nil, err
	}
	return d, nil
}

func openInDir(dir *os.File, name string) (*os.File, error) {
	p := filepath.Join(dir.Name(), name)
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Name: name, Kind: kindOf(fi.Mode())}
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = &NotRegularError{Name: name, Kind: kindOf(fi.Mode())}
		}
		return nil, err
	}
	return f, nil
}
