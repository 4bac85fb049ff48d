// Package state keeps what vault remembers between runs, in one directory: JSON state files
// replaced atomically, an append-only journal of runs, and the lock that keeps a second instance
// out. Every write survives a crash at any point: a reader finds the old content or the new, never
// a mix, and never a half-written file.
//
// Layout of the state directory (DefaultDir, or state_dir in the config):
//
//	vault.lock        the instance lock; holds the pid of the running vault
//	journal.jsonl     one JSON line per run step (see Record)
//	NAME.json         state files, NAME as given to Store.Save, e.g. jobs/drive.client.json
package state

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/renameio/v2"
)

// DefaultDir is the state directory when the config names none: /var/db/vault on FreeBSD (hier(7)),
// /var/lib/vault elsewhere (the FHS).
func DefaultDir() string {
	if runtime.GOOS == "freebsd" {
		return "/var/db/vault"
	}
	return "/var/lib/vault"
}

// WriteFileAtomic replaces path with data, or leaves it as it was: a temporary file in the same
// directory is written, fsynced, closed and renamed over path, then the directory is fsynced so
// the rename itself survives a crash. perm is applied exactly (no umask). On error the temporary
// file is removed. A crash at any point leaves the old file or the new one, and at worst a stale
// temporary file (".NAME" followed by digits; see Store.RemoveStaleTemp).
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer dir.Close()
	return writeAtomic(dir, filepath.Base(path), data, perm, -1, -1)
}

// writeAtomic does WriteFileAtomic for name inside root (which no name can escape, symbolic
// links included), and gives the new file to uid:gid when uid >= 0.
func writeAtomic(root *os.Root, name string, data []byte, perm os.FileMode, uid, gid int) error {
	path := filepath.Join(root.Name(), name)
	// The temporary file goes into name's own directory, never $TMPDIR: the rename must stay in
	// one directory of one file system, and a crash must not strand the file elsewhere. renameio
	// puts it at the top of the root it is given, so give it name's directory as the root.
	if dir := filepath.Dir(name); dir != "." {
		sub, err := root.OpenRoot(dir)
		if err != nil {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
		defer sub.Close()
		root, name = sub, filepath.Base(name)
	}
	f, err := renameio.NewPendingFile(name, renameio.WithRoot(root), renameio.WithStaticPermissions(perm))
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer func() { _ = f.Cleanup() }() // a no-op once the rename happened
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if uid >= 0 {
		if err := f.Chown(uid, gid); err != nil {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
	}
	// fsync, close, rename.
	if err := f.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	// fsync the directory: until then the rename may not survive a crash.
	if err := syncDir(root, "."); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// syncDir fsyncs the directory name inside root, making the creation, rename or removal of its
// entries durable.
func syncDir(root *os.Root, name string) error {
	d, err := root.Open(name)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("fsync %s: %w", d.Name(), err)
	}
	return d.Close()
}
