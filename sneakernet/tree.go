package sneakernet

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/belltech/vault/props"
	"github.com/belltech/vault/zfs"
)

// FormatTree is the version string of a tree export's manifest: one export that carries a
// dataset and its descendants, one full zfs send stream each, concatenated in the order of the
// manifest's members (parent first). Every field of [Format] keeps its meaning (dataset,
// to_snapshot, to_guid and raw are the root's; stream_bytes is the sum of the members'); the
// members field is added, and required. An importer that knows only [Format] refuses it as a
// format of another version, so no older vault receives the concatenation as one stream.
const FormatTree = "vault-sneakernet/2"

// MaxMembers bounds the datasets of a tree export.
const MaxMembers = 1000

// Member is one dataset of a tree export and its stream within the plaintext: the streams are
// concatenated in the order of the members, and each is exactly StreamBytes long.
type Member struct {
	// Path is the dataset's path below the manifest's dataset: "" for the root itself,
	// "disk0" or "a/b" for its descendants.
	Path     string       `json:"path"`
	Snapshot zfs.Snapshot `json:"snapshot"` // the snapshot sent: DATASET/PATH@SNAP
	GUID     uint64       `json:"guid,string"`
	Raw      bool         `json:"raw"`
	// StreamBytes is the exact length of this member's zfs send stream (plaintext).
	StreamBytes int64 `json:"stream_bytes"`
	// Properties are those the source host had set locally on the dataset, kept by the vault
	// (package props), which a restore sets again with zfs receive -o; {} for none. Each is
	// checked again by the importer, signature or not.
	Properties props.Set `json:"properties"`
}

// IsTree reports whether m is a tree export (format [FormatTree]).
func (m *Manifest) IsTree() bool { return m.Format == FormatTree }

// validateMembers checks the members of a tree manifest: full streams only, the root first and
// the same as the manifest's dataset, every other member below a member listed before it,
// each with the same snapshot name, its own guid, and properties that [props.Set.Check]
// accepts. With sizes, their stream lengths add up to stream_bytes (an exporter checks the
// rest before the stream starts).
func (m *Manifest) validateMembers(sizes bool) error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidManifest, field, fmt.Sprintf(format, args...))
	}
	if !m.IsTree() {
		if m.Members != nil {
			return bad("members", "set in a %s manifest; only a %s manifest has them", Format, FormatTree)
		}
		return nil
	}
	switch n := len(m.Members); {
	case n == 0:
		return bad("members", "missing; a tree export lists at least its root")
	case n > MaxMembers:
		return bad("members", "%d datasets are more than the %d allowed", n, MaxMembers)
	case m.FromGUID != 0 || m.Intermediates != nil:
		return bad("from_guid", "a tree export carries full streams only")
	}
	paths := make(map[string]int, len(m.Members))
	guids := make(map[uint64]int, len(m.Members))
	var total int64
	for i, x := range m.Members {
		p := fmt.Sprintf("members[%d]", i)
		if err := checkMemberPath(i, x.Path, paths); err != nil {
			return bad(p+".path", "%v", err)
		}
		want, err := memberDataset(m.Dataset, x.Path)
		if err != nil {
			return bad(p+".path", "%v", err)
		}
		switch {
		case x.Snapshot.IsZero():
			return bad(p+".snapshot", "missing")
		case x.Snapshot.Dataset() != want:
			return bad(p+".snapshot", "%q is not a snapshot of %q", x.Snapshot, want)
		case x.Snapshot.Short() != m.ToSnapshot.Short():
			return bad(p+".snapshot", "%q is not named like to_snapshot %q", x.Snapshot, m.ToSnapshot)
		case x.GUID == 0:
			return bad(p+".guid", "missing")
		case i == 0 && (x.GUID != m.ToGUID || x.Raw != m.Raw):
			return bad(p, "the root's guid and raw flag differ from to_guid and raw")
		case x.Properties == nil:
			return bad(p+".properties", "missing; {} for none")
		case sizes && x.StreamBytes < 1:
			return bad(p+".stream_bytes", "%d is not a stream length", x.StreamBytes)
		}
		if j, dup := guids[x.GUID]; dup {
			return bad(p+".guid", "%d is already members[%d]'s", x.GUID, j)
		}
		if err := x.Properties.Check(); err != nil {
			return bad(p+".properties", "%v", err)
		}
		paths[x.Path], guids[x.GUID] = i, i
		total += x.StreamBytes
	}
	if sizes && total != m.StreamBytes {
		return bad("members", "their streams make %d bytes, not stream_bytes %d", total, m.StreamBytes)
	}
	return nil
}

// checkMemberPath accepts member i's path: "" for the first member only; otherwise components
// a dataset name takes, none twice, whose parent path is an earlier member's.
func checkMemberPath(i int, path string, seen map[string]int) error {
	if i == 0 {
		if path != "" {
			return fmt.Errorf("%s; the first member is the root, whose path is empty", quoteTrunc(path, 60))
		}
		return nil
	}
	if path == "" {
		return errors.New("empty; only the first member is the root")
	}
	if j, dup := seen[path]; dup {
		return fmt.Errorf("%q is already members[%d]'s", path, j)
	}
	parent := ""
	if k := strings.LastIndexByte(path, '/'); k >= 0 {
		parent = path[:k]
	}
	if _, ok := seen[parent]; !ok {
		return fmt.Errorf("%s comes before its parent %q: a parent is listed before its children", quoteTrunc(path, 60), parent)
	}
	return nil
}

// memberDataset returns the dataset at path below root.
func memberDataset(root zfs.Dataset, path string) (zfs.Dataset, error) {
	d := root
	if path == "" {
		return d, nil
	}
	for _, c := range strings.Split(path, "/") {
		var err error
		if d, err = d.Child(c); err != nil {
			return zfs.Dataset{}, err
		}
	}
	return d, nil
}

// MemberTargets returns where each member of a tree manifest lands below to: to itself for the
// root, to/PATH for the others, in the manifest's order (parents first). It is the plan of an
// import with --to: names only, no I/O.
func MemberTargets(m *Manifest, to zfs.Dataset) ([]zfs.Dataset, error) {
	if !m.IsTree() {
		return nil, fmt.Errorf("a %s manifest has no members", m.Format)
	}
	out := make([]zfs.Dataset, len(m.Members))
	for i, x := range m.Members {
		d, err := memberDataset(to, x.Path)
		if err != nil {
			return nil, fmt.Errorf("cannot place %s below %s: %w", x.Snapshot, to, err)
		}
		out[i] = d
	}
	return out, nil
}

// MemberWriter splits the plaintext of a tree export into its members' streams: it gives each
// member exactly its StreamBytes, in order, to the writer that open returns for it, and closes
// that writer (for zfs receive: close its stdin and wait for it) as soon as the member's last
// byte is written, before it opens the next. A member whose stream is not exactly its length
// fails the receive that gets it: zfs receive refuses a stream cut short, and the next member's
// receive refuses a stream that does not begin with a BEGIN record.
type MemberWriter struct {
	members []Member
	open    func(i int) (io.WriteCloser, error)
	cur     int            // the member being written
	left    int64          // its bytes still to come
	w       io.WriteCloser // its writer, nil before its first byte
	err     error
}

// NewMemberWriter returns a MemberWriter for the members of the tree manifest m.
func NewMemberWriter(m *Manifest, open func(i int) (io.WriteCloser, error)) (*MemberWriter, error) {
	if !m.IsTree() || len(m.Members) == 0 {
		return nil, errors.New("not a tree export")
	}
	return &MemberWriter{members: m.Members, open: open, left: m.Members[0].StreamBytes}, nil
}

func (mw *MemberWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if mw.err != nil {
			return n, mw.err
		}
		if mw.cur == len(mw.members) {
			mw.err = fmt.Errorf("the stream is longer than its members' %d", len(mw.members))
			return n, mw.err
		}
		if mw.w == nil {
			if mw.w, mw.err = mw.open(mw.cur); mw.err != nil {
				return n, mw.err
			}
		}
		k := int(min(int64(len(p)), mw.left))
		w, err := mw.w.Write(p[:k])
		n += w
		mw.left -= int64(w)
		p = p[w:]
		if err != nil {
			mw.err = fmt.Errorf("%s: %w", mw.members[mw.cur].Snapshot, err)
			return n, mw.err
		}
		if mw.left == 0 {
			if err := mw.closeCurrent(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (mw *MemberWriter) closeCurrent() error {
	err := mw.w.Close()
	mw.w = nil
	if err != nil {
		mw.err = fmt.Errorf("%s: %w", mw.members[mw.cur].Snapshot, err)
		return mw.err
	}
	mw.cur++
	if mw.cur < len(mw.members) {
		mw.left = mw.members[mw.cur].StreamBytes
	}
	return nil
}

// Done returns how many members were written completely (and their writers closed without
// error).
func (mw *MemberWriter) Done() int { return mw.cur }

// Finish reports whether every member was written completely; call it after the plaintext
// ended.
func (mw *MemberWriter) Finish() error {
	if mw.err != nil {
		return mw.err
	}
	if mw.cur != len(mw.members) {
		return fmt.Errorf("the stream ended in member %d of %d (%s)", mw.cur+1, len(mw.members), mw.members[mw.cur].Snapshot)
	}
	return nil
}
