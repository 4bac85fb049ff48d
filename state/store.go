package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// File names inside the state directory.
const (
	LockFile    = "vault.lock"
	JournalFile = "journal.jsonl"
)

const (
	dirPerm  os.FileMode = 0o750
	filePerm os.FileMode = 0o640
)

// Store is the state directory. Everything it writes stays inside Dir: names cannot climb out, and
// neither can symbolic links planted inside it.
type Store struct {
	Dir string

	root     *os.Root
	uid, gid int // owner given to what a root process creates; -1: leave it to root
}

// Open opens the state directory dir, creating it (mode 0750) if needed. A process running as root
// (the daemon before it drops privileges, a console command) makes dir, and every file and
// directory it later creates in it, owned by uid:gid, the daemon's user, so the unprivileged
// daemon can go on writing them. uid -1 leaves ownership alone.
func Open(dir string, uid, gid int) (*Store, error) {
	if dir == "" {
		return nil, errors.New("cannot open the state directory: no directory configured")
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("cannot create the state directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open the state directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("cannot open the state directory %s: not a directory", dir)
	}
	s := &Store{Dir: dir, uid: uid, gid: gid}
	if os.Geteuid() == 0 && uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("cannot give the state directory to uid %d: %w", uid, err)
		}
		if err := os.Chmod(dir, dirPerm); err != nil {
			return nil, fmt.Errorf("cannot open the state directory: %w", err)
		}
	}
	if s.root, err = os.OpenRoot(dir); err != nil {
		return nil, fmt.Errorf("cannot open the state directory: %w", err)
	}
	return s, nil
}

// Close releases the directory handle.
func (s *Store) Close() error { return s.root.Close() }

// owner is who new files and directories go to: uid:gid while running as root, nobody (-1)
// otherwise: an unprivileged process owns what it creates.
func (s *Store) owner() (int, int) {
	if os.Geteuid() == 0 && s.uid >= 0 {
		return s.uid, s.gid
	}
	return -1, -1
}

// nameRE is one component of a state file name: job names and dataset name components fit.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:+-]*$`)

// fileName maps a state name ("jobs/drive.client") to its file ("jobs/drive.client.json").
// Components start with a letter, digit or underscore, which keeps names apart from dot files
// (temporary files among them) and from "..".
func fileName(name string) (string, error) {
	if name == "" || len(name) > 1024 {
		return "", fmt.Errorf("invalid state name %q", name)
	}
	for _, c := range strings.Split(name, "/") {
		if !nameRE.MatchString(c) {
			return "", fmt.Errorf("invalid state name %q: bad component %q", name, c)
		}
	}
	return name + ".json", nil
}

// Load decodes the state file name into v. It reports false, and leaves v alone, when there is no
// such file yet. Decoding is strict: unknown fields and trailing data are errors.
func (s *Store) Load(name string, v any) (bool, error) {
	file, err := fileName(name)
	if err != nil {
		return false, err
	}
	b, err := s.root.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot load state %q: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false, fmt.Errorf("cannot load state %q from %s: %w", name, filepath.Join(s.Dir, file), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, fmt.Errorf("cannot load state %q from %s: trailing data after the JSON value", name, filepath.Join(s.Dir, file))
	}
	return true, nil
}

// Save writes v as the state file name, atomically (see WriteFileAtomic), creating the
// directories the name needs.
func (s *Store) Save(name string, v any) error {
	file, err := fileName(name)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		return fmt.Errorf("cannot save state %q: %w", name, err)
	}
	if err := s.mkdirs(path.Dir(file)); err != nil {
		return fmt.Errorf("cannot save state %q: %w", name, err)
	}
	uid, gid := s.owner()
	return writeAtomic(s.root, file, append(b, '\n'), filePerm, uid, gid)
}

// mkdirs creates dir and its parents inside the store, each given to the store's owner and made
// durable in its parent.
func (s *Store) mkdirs(dir string) error {
	if dir == "." {
		return nil
	}
	if err := s.mkdirs(path.Dir(dir)); err != nil {
		return err
	}
	err := s.root.Mkdir(dir, dirPerm)
	if errors.Is(err, fs.ErrExist) {
		fi, err := s.root.Stat(dir)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", filepath.Join(s.Dir, dir))
		}
		return nil
	}
	if err != nil {
		return err
	}
	if uid, gid := s.owner(); uid >= 0 {
		if err := s.root.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	return syncDir(s.root, path.Dir(dir))
}

// tempRE matches renameio's temporary files: "." + the target's name + digits.
var tempRE = regexp.MustCompile(`^\..+\.json[0-9]+$`)

// RemoveStaleTemp removes the temporary files that writes cut short by a crash left behind, and
// returns how many it removed. Call it only while holding the instance lock, or it could remove
// the temporary file of a write in progress.
func (s *Store) RemoveStaleTemp() (int, error) {
	n := 0
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && tempRE.MatchString(d.Name()) {
			if err := s.root.Remove(p); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("cannot remove stale temporary files from %s: %w", s.Dir, err)
	}
	return n, nil
}
