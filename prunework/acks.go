package prunework

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// Acknowledged lying names are a reason to destroy more (an acknowledged liar no longer
// freezes its dataset), so the prune worker cannot take them from the daemon, nor from the
// state directory the daemon's user owns. They live in an ack directory of root's beside it
// (AckDir): `vault ack`, run as root at the console, writes there what the prune planner
// itself finds lying in ZFS at that moment; the worker reads it, and trusts it only while the
// directory and the file are root's and nobody else may write them.

// AckDir is the directory of root's acknowledgements for the state directory stateDir: the
// same path with "-acks" after it (/var/lib/vault-acks for /var/lib/vault). It is beside the
// state directory, not in it: the daemon's user owns that one and could swap its entries.
func AckDir(stateDir string) string { return filepath.Clean(stateDir) + "-acks" }

// Acks are the lying snapshots the operator acknowledged for one job, by target dataset.
type Acks struct {
	Job string `json:"job"`
	// Lies maps a target dataset to the GUIDs (decimal strings) of its acknowledged liars.
	Lies map[string][]string `json:"lies"`
}

// maxAcksFile bounds the ack file: 100 000 GUIDs with their dataset names fit.
const maxAcksFile = 4 << 20

func ackFile(dir, job string) string { return filepath.Join(dir, job+".json") }

// LoadAcks reads the acknowledged liars of job from dir, by target dataset, keeping only the
// datasets at or below root. No file means none. The directory and the file must belong to
// root and be writable by nobody else (a file the daemon's user could have written is refused,
// not read); the file is read without following a symbolic link.
func LoadAcks(dir, job string, root zfs.Dataset) (map[zfs.Dataset]map[uint64]bool, error) {
	out := map[zfs.Dataset]map[uint64]bool{}
	if err := checkRootOnly(dir, true); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return out, nil
		}
		return nil, err
	}
	path := ackFile(dir, job)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the acknowledgements %s: %w", path, err)
	}
	defer f.Close()
	if err := checkRootOnlyFile(f, path); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxAcksFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the acknowledgements %s: %w", path, err)
	}
	if len(b) > maxAcksFile {
		return nil, fmt.Errorf("the acknowledgements %s: more than %d bytes", path, maxAcksFile)
	}
	a, err := decodeAcks(b)
	if err != nil {
		return nil, fmt.Errorf("the acknowledgements %s: %w", path, err)
	}
	if a.Job != job {
		return nil, fmt.Errorf("the acknowledgements %s are for job %q, not %q", path, a.Job, job)
	}
	for ds, guids := range a.parsed {
		if ds.HasPrefix(root) {
			out[ds] = guids
		}
	}
	return out, nil
}

// decoded is Acks with its names and GUIDs parsed.
type decoded struct {
	Acks
	parsed map[zfs.Dataset]map[uint64]bool
}

func decodeAcks(b []byte) (*decoded, error) {
	var a Acks
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	if a.Job == "" || len(a.Job) > maxJob {
		return nil, errors.New("no job name, or one too long")
	}
	d := &decoded{Acks: a, parsed: map[zfs.Dataset]map[uint64]bool{}}
	for name, guids := range a.Lies {
		ds, err := zfs.ParseDataset(name)
		if err != nil {
			return nil, err
		}
		m := map[uint64]bool{}
		for _, g := range guids {
			n, err := strconv.ParseUint(g, 10, 64)
			if err != nil || n == 0 || strconv.FormatUint(n, 10) != g {
				return nil, fmt.Errorf("%s: GUID %q is not a decimal number", ds, g)
			}
			m[n] = true
		}
		d.parsed[ds] = m
	}
	return d, nil
}

// AddAcks records, as root, the GUIDs in lies (by target dataset) as acknowledged for job in
// dir, beside those already there, creating dir (root's, mode 0755) and writing the file
// atomically (mode 0644: the worker's user reads it). It returns how many were new.
func AddAcks(dir, job string, lies map[zfs.Dataset][]uint64) (int, error) {
	if os.Geteuid() != 0 {
		return 0, errors.New("acknowledging lying names for the prune worker needs root: run vault ack as root")
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return 0, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if err := checkRootOnly(dir, true); err != nil {
		return 0, err
	}
	a := Acks{Job: job, Lies: map[string][]string{}}
	path := ackFile(dir, job)
	if b, err := os.ReadFile(path); err == nil {
		d, err := decodeAcks(b)
		if err != nil {
			return 0, fmt.Errorf("the acknowledgements %s: %w (move it away to start afresh)", path, err)
		}
		a.Lies = d.Lies
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("cannot read the acknowledgements %s: %w", path, err)
	}
	added := 0
	for _, ds := range slices.SortedFunc(maps.Keys(lies), func(x, y zfs.Dataset) int { return strings.Compare(x.String(), y.String()) }) {
		have := a.Lies[ds.String()]
		for _, g := range lies[ds] {
			s := strconv.FormatUint(g, 10)
			if g != 0 && !slices.Contains(have, s) {
				have = append(have, s)
				added++
			}
		}
		if len(have) > 0 {
			a.Lies[ds.String()] = have
		}
	}
	b, err := json.MarshalIndent(a, "", "\t")
	if err != nil {
		return 0, err
	}
	if err := state.WriteFileAtomic(path, append(b, '\n'), 0o644); err != nil {
		return 0, err
	}
	return added, nil
}

// checkRootOnly reports whether path is owned by root and not writable by group or others
// (and, with dir, a directory).
func checkRootOnly(path string, dir bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if dir && !fi.IsDir() {
		return fmt.Errorf("%s is not a directory: the acknowledgements of lying names live in a directory of root's", path)
	}
	return rootOnly(fi, path)
}

func checkRootOnlyFile(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot read the acknowledgements %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("the acknowledgements %s: not a regular file", path)
	}
	return rootOnly(fi, path)
}

func rootOnly(fi fs.FileInfo, path string) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("cannot tell who owns %s", path)
	}
	if st.Uid != 0 || fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is not root's alone (uid %d, mode %v): the prune worker takes acknowledgements only from root; chown root and chmod go-w it, or remove it", path, st.Uid, fi.Mode().Perm())
	}
	return nil
}
