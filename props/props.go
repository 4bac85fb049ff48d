// Package props keeps, for a restore, the properties a source host set locally on each dataset
// it backs up: the settings a restored dataset should get back (compression, recordsize, atime,
// user properties such as com.example:role), which vault's pulls do not carry (they send no -p)
// and never apply to the vault's own copy.
//
// The values come from a source host, which may be hostile: only the properties in [Restorable]
// and user properties are kept, each value checked, so a restore sets nothing that changes where
// or how a dataset mounts or who may run what from it (mountpoint, canmount, setuid, exec,
// devices, sharenfs, sharesmb, ...), and nothing that changes its encryption.
package props

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// Set is the properties of one dataset: name to value, as zfs get -p prints them.
type Set map[string]string

// Restorable are the native properties a restore sets again. Each is one a host's operator sets
// for the data's sake and that zfs receive -o takes on a new dataset.
var Restorable = []string{
	"aclinherit", "aclmode", "acltype", "atime", "checksum", "compression", "dnodesize",
	"logbias", "primarycache", "recordsize", "redundant_metadata", "relatime",
	"secondarycache", "snapdir", "sync", "xattr",
}

// Limits on what a source may have us keep.
const (
	// MaxPerDataset bounds the properties kept for one dataset.
	MaxPerDataset = 64
	// MaxValue bounds a value: zfs's limit for a user property (ZAP_MAXVALUELEN is 8 KiB with
	// its NUL), which is also far more than any native property's.
	MaxValue = 8191
	// MaxUserName is zfs's limit on a user property's name (ZAP_MAXNAMELEN 256 with its NUL).
	MaxUserName = 255
)

// Check reports whether name=value may be kept and set again by a restore: a property of
// [Restorable] or a user property (module:name), with a value of printable UTF-8 (no control
// characters) no longer than [MaxValue], and for native properties no spaces.
func Check(name, value string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if len(value) > MaxValue {
		return fmt.Errorf("property %s: value of %d bytes, more than %d", name, len(value), MaxValue)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("property %s: value is not UTF-8", name)
	}
	for _, r := range value {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("property %s: value has a control character", name)
		}
	}
	if !IsUser(name) && (value == "" || strings.ContainsAny(value, " ,=")) {
		return fmt.Errorf("property %s: value %q is not a single word", name, value)
	}
	return nil
}

func checkName(name string) error {
	if IsUser(name) {
		if len(name) > MaxUserName {
			return fmt.Errorf("user property name of %d bytes, more than %d", len(name), MaxUserName)
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == ':' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("user property %q: character %q not allowed (lowercase letters, digits, : . _ -)", name, c)
			}
		}
		if name[0] == ':' || name[0] == '-' {
			return fmt.Errorf("user property %q: must not start with %q", name, name[0])
		}
		return nil
	}
	if slices.Contains(Restorable, name) {
		return nil
	}
	return fmt.Errorf("property %q is not one a restore sets again", name)
}

// IsUser reports whether name is a user property's (it has a colon).
func IsUser(name string) bool { return strings.Contains(name, ":") }

// Check checks every property of s (see the package function Check), and their number.
func (s Set) Check() error {
	if len(s) > MaxPerDataset {
		return fmt.Errorf("%d properties, more than %d", len(s), MaxPerDataset)
	}
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if err := Check(k, s[k]); err != nil {
			return err
		}
	}
	return nil
}

// ReceiveArgs returns the -o NAME=VALUE arguments of zfs receive that set s, sorted by name.
func (s Set) ReceiveArgs() []string {
	var args []string
	for _, k := range slices.Sorted(maps.Keys(s)) {
		args = append(args, "-o", k+"="+s[k])
	}
	return args
}

// GetArgs are the arguments of the zfs get that reads a source's local properties, before the
// dataset names: zfs get -H -p -s local -o name,property,value -t filesystem,volume all [-r]
// DATASET... (the form vault serve allows). -t keeps snapshots out of a recursive get: zfs get
// -r lists them too, and a snapshot can have user properties of its own (zfs snapshot -o).
var GetArgs = []string{"get", "-H", "-p", "-s", "local", "-o", "name,property,value", "-t", "filesystem,volume", "all"}

// Parse reads the output of zfs get (GetArgs) run on the datasets want (and, with -r, their
// descendants: any dataset at or below one of want). It keeps the properties [Check] accepts
// and reports the others in skipped ("dataset: reason"), so the caller can log them; a line
// that is not name TAB property TAB value, or names a dataset outside want, is an error: the
// output as a whole is not trusted then.
func Parse(out []byte, want []zfs.Dataset) (got map[zfs.Dataset]Set, skipped []string, err error) {
	got = map[zfs.Dataset]Set{}
	for n, line := range bytes.Split(out, []byte("\n")) {
		if len(line) == 0 {
			if n == bytes.Count(out, []byte("\n")) {
				break // the end of the last line
			}
			return nil, nil, fmt.Errorf("zfs get: line %d is empty", n+1)
		}
		f := strings.SplitN(string(line), "\t", 3)
		if len(f) != 3 {
			return nil, nil, fmt.Errorf("zfs get: line %d: want name, property and value separated by tabs", n+1)
		}
		ds, err := zfs.ParseDataset(f[0])
		if err != nil {
			return nil, nil, fmt.Errorf("zfs get: line %d: %w", n+1, err)
		}
		if !under(ds, want) {
			return nil, nil, fmt.Errorf("zfs get: line %d: dataset %s was not asked for", n+1, ds)
		}
		if err := Check(f[1], f[2]); err != nil {
			skipped = append(skipped, ds.String()+": "+err.Error())
			continue
		}
		s := got[ds]
		if s == nil {
			s = Set{}
			got[ds] = s
		}
		if _, dup := s[f[1]]; dup {
			return nil, nil, fmt.Errorf("zfs get: line %d: property %s of %s listed twice", n+1, f[1], ds)
		}
		if len(s) == MaxPerDataset {
			skipped = append(skipped, fmt.Sprintf("%s: more than %d properties, %s and later ones not kept", ds, MaxPerDataset, f[1]))
			continue
		}
		s[f[1]] = f[2]
	}
	return got, skipped, nil
}

func under(ds zfs.Dataset, roots []zfs.Dataset) bool {
	for _, r := range roots {
		if ds.HasPrefix(r) {
			return true
		}
	}
	return false
}

// Kept is what a job's pulls recorded: each source dataset's properties, by the source's name.
type Kept struct {
	Job      string         `json:"job"`
	Datasets map[string]Set `json:"datasets"`
}

func stateName(job string) string { return "props/" + job }

// Load returns what the job's pulls recorded, or an empty Kept if nothing was.
func Load(store *state.Store, job string) (*Kept, error) {
	k := &Kept{Job: job, Datasets: map[string]Set{}}
	ok, err := store.Load(stateName(job), k)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &Kept{Job: job, Datasets: map[string]Set{}}, nil
	}
	if k.Job != job {
		return nil, fmt.Errorf("state %s names job %q, not %q", stateName(job), k.Job, job)
	}
	for ds, s := range k.Datasets {
		if err := s.Check(); err != nil {
			return nil, fmt.Errorf("state %s: %s: %w", stateName(job), ds, err)
		}
	}
	return k, nil
}

// Record replaces the properties of the datasets in got (by source name) in the job's record
// and saves it; datasets not in got keep what they had (a dataset whose listing failed this run
// keeps its last known properties). A dataset in got with no properties is recorded as such.
func Record(store *state.Store, job string, got map[zfs.Dataset]Set) error {
	k, err := Load(store, job)
	if err != nil {
		return err
	}
	for ds, s := range got {
		if s == nil {
			s = Set{}
		}
		k.Datasets[ds.String()] = s
	}
	return store.Save(stateName(job), k)
}

// Of returns the recorded properties of the source dataset ds, and false when none are recorded
// (a pull by a vault older than this record, or a source whose vault serve refused the zfs get).
func (k *Kept) Of(ds zfs.Dataset) (Set, bool) {
	s, ok := k.Datasets[ds.String()]
	return s, ok
}

// ErrNone is returned by callers that need properties and found none recorded.
var ErrNone = errors.New("no properties recorded")
