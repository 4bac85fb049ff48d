// Package restore sends the vault's copy of a dataset tree back to a host over SSH: `vault
// restore send`, an operator's action at the vault's console. Plan is pure: given what the vault
// holds and what the host already has under the target, it decides for each dataset what to
// send. Send lists both sides, plans and runs the plan with zfs send here and zfs receive there.
//
// A restore lands in a new dataset, never on an existing one: there is no -F, and a target that
// exists is refused unless the operator asks to finish a cut restore (Resume).
package restore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Snap is one snapshot: its short name and its guid.
type Snap struct {
	Short string
	GUID  uint64
}

// VaultDataset is one dataset of the vault's tree.
type VaultDataset struct {
	// Rel is the path relative to the tree's root: "" for the root, "vm/disk0" for a grandchild.
	Rel string
	// Encrypted datasets are sent raw (-w): their data never leaves the vault decrypted.
	Encrypted bool
	// Snapshots are oldest first.
	Snapshots []Snap
}

// HostDataset is one dataset under the host's target.
type HostDataset struct {
	// Snapshots are oldest first.
	Snapshots []Snap
	// Token is the receive_resume_token of a cut receive, "" if none.
	Token string
}

// Options are the operator's choices.
type Options struct {
	// Snap is the snapshot to restore, short name; "" means the root's newest.
	Snap string
	// NewestOnly sends Snap alone, as a full stream, rather than the history up to it.
	NewestOnly bool
	// Resume allows a target that exists: cut receives are resumed, complete datasets skipped.
	Resume bool
}

// Kind is what a step sends.
type Kind int

const (
	// Full is a full stream of To.
	Full Kind = iota
	// Incremental is -I From To (or -i with NewestOnly, where there is nothing in between to keep).
	Incremental
	// Resume is zfs send -t Token.
	Resume
)

func (k Kind) String() string {
	switch k {
	case Full:
		return "full"
	case Incremental:
		return "incremental"
	case Resume:
		return "resume"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Step is one zfs send | zfs receive.
type Step struct {
	Rel  string
	Kind Kind
	// From (Incremental) and To (Full, Incremental) are short snapshot names.
	From, To string
	// Intermediates selects -I over -i.
	Intermediates bool
	Token         string
	Raw           bool
}

func (s Step) String() string {
	name := s.Rel
	if name == "" {
		name = "."
	}
	switch s.Kind {
	case Resume:
		return name + ": resume a cut receive"
	case Incremental:
		flag := "-i"
		if s.Intermediates {
			flag = "-I"
		}
		return fmt.Sprintf("%s: incremental %s @%s @%s", name, flag, s.From, s.To)
	}
	return fmt.Sprintf("%s: full @%s", name, s.To)
}

// Plan is the steps in order (each parent's before its children's) and the datasets that are
// complete already.
type Plan struct {
	Snap  string
	Steps []Step
	// Done are the datasets the host holds up to Snap already (with Resume).
	Done []string
}

// ErrExists is a target that exists while Resume was not asked for.
var ErrExists = errors.New("the target exists")

// Conflict is a dataset the plan cannot restore without destroying something on the host.
type Conflict struct {
	Rel    string
	Reason string
}

func (c *Conflict) Error() string {
	name := c.Rel
	if name == "" {
		name = "the target"
	}
	return name + ": " + c.Reason
}

// MakePlan decides what to send for each dataset of the vault's tree (vault, the root first or
// anywhere: it is sorted) given the host's datasets under the target by Rel (empty: nothing
// there). It refuses a tree with no snapshot to restore, a child without Snap, an existing
// target without Resume, and a host dataset that has diverged from the vault's copy.
func MakePlan(vault []VaultDataset, host map[string]HostDataset, o Options) (*Plan, error) {
	tree := slices.Clone(vault)
	slices.SortFunc(tree, func(a, b VaultDataset) int { return compareRel(a.Rel, b.Rel) })
	if len(tree) == 0 || tree[0].Rel != "" {
		return nil, errors.New("the vault's listing has no root dataset")
	}
	snap := o.Snap
	if snap == "" {
		if len(tree[0].Snapshots) == 0 {
			return nil, errors.New("the vault holds no snapshot of the dataset")
		}
		snap = tree[0].Snapshots[len(tree[0].Snapshots)-1].Short
	}
	for _, d := range tree {
		if indexOf(d.Snapshots, snap) < 0 {
			if d.Rel == "" {
				return nil, fmt.Errorf("the vault holds no snapshot @%s of the dataset", snap)
			}
			return nil, &Conflict{Rel: d.Rel, Reason: fmt.Sprintf("the vault's copy has no snapshot @%s; "+
				"choose a snapshot every dataset of the tree has, or restore %s on its own", snap, d.Rel)}
		}
	}
	if _, ok := host[""]; len(host) > 0 && !ok {
		return nil, errors.New("the host's listing has datasets but not the target itself")
	}
	if len(host) > 0 && !o.Resume {
		return nil, ErrExists
	}
	p := &Plan{Snap: snap}
	for _, d := range tree {
		steps, done, err := planDataset(d, host, snap, o)
		if err != nil {
			return nil, err
		}
		if done {
			p.Done = append(p.Done, d.Rel)
		}
		p.Steps = append(p.Steps, steps...)
	}
	return p, nil
}

// planDataset plans one dataset; done means the host has it up to snap already.
func planDataset(d VaultDataset, host map[string]HostDataset, snap string, o Options) ([]Step, bool, error) {
	raw := d.Encrypted
	h, exists := host[d.Rel]
	if h.Token != "" {
		// What the token resumes is not known until it is done: the caller plans again after it.
		return []Step{{Rel: d.Rel, Kind: Resume, Token: h.Token, Raw: raw}}, false, nil
	}
	to := indexOf(d.Snapshots, snap)
	if !exists {
		if o.NewestOnly || to == 0 {
			return []Step{{Rel: d.Rel, Kind: Full, To: snap, Raw: raw}}, false, nil
		}
		oldest := d.Snapshots[0].Short
		return []Step{
			{Rel: d.Rel, Kind: Full, To: oldest, Raw: raw},
			{Rel: d.Rel, Kind: Incremental, From: oldest, To: snap, Intermediates: true, Raw: raw},
		}, false, nil
	}
	// The host's newest snapshot must be one of the vault's, at or before snap: anything else
	// means it was written to or got snapshots of its own, which a receive without -F refuses.
	if len(h.Snapshots) == 0 {
		return nil, false, &Conflict{Rel: d.Rel, Reason: "exists on the host with no snapshot and no resume token; " +
			"destroy it there (zfs destroy) and run again, or restore under a new name"}
	}
	newest := h.Snapshots[len(h.Snapshots)-1]
	at := indexOfGUID(d.Snapshots, newest.GUID)
	switch {
	case at < 0:
		return nil, false, &Conflict{Rel: d.Rel, Reason: fmt.Sprintf("the host's newest snapshot @%s is not one of the vault's "+
			"(the host's copy diverged); restore under a new name", newest.Short)}
	case at > to:
		return nil, false, &Conflict{Rel: d.Rel, Reason: fmt.Sprintf("the host has @%s, newer than @%s; "+
			"restore under a new name", newest.Short, snap)}
	case at == to:
		return nil, true, nil
	}
	return []Step{{Rel: d.Rel, Kind: Incremental, From: d.Snapshots[at].Short, To: snap, Intermediates: !o.NewestOnly, Raw: raw}}, false, nil
}

func indexOf(snaps []Snap, short string) int {
	return slices.IndexFunc(snaps, func(s Snap) bool { return s.Short == short })
}

func indexOfGUID(snaps []Snap, guid uint64) int {
	return slices.IndexFunc(snaps, func(s Snap) bool { return s.GUID == guid })
}

// compareRel orders relative paths parent first, then siblings by name.
func compareRel(a, b string) int {
	return slices.Compare(split(a), split(b))
}

func split(rel string) []string {
	if rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}
