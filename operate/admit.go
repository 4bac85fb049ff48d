package operate

// The admission of an import onto the vault: whether an export, once its manifest's signature
// has been checked against the signers the configuration pins (sneakernet.ReadManifest with
// TrustedSigners), may land here, where, and whether it fits what its target holds. Pure: the
// caller reads the manifest and lists the target.

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

// RefusalKind names why an import is refused.
type RefusalKind int

const (
	// RefusedTree: a tree export of several datasets, which goes with vault import --to.
	RefusedTree RefusalKind = iota + 1
	// RefusedSignerConfig: the signer's datasets in the configuration do not parse.
	RefusedSignerConfig
	// RefusedSigner: the signer may not export the dataset.
	RefusedSigner
	// RefusedNoJob: no media job with the signer takes the dataset.
	RefusedNoJob
	// RefusedFullOverTarget: a full stream, and its target exists.
	RefusedFullOverTarget
	// RefusedNoTarget: an incremental, and its target does not exist.
	RefusedNoTarget
	// RefusedNoBase: the incremental's base is not on the target.
	RefusedNoBase
	// RefusedIntermediates: what the target holds would stop the receive of an -I export.
	RefusedIntermediates
	// RefusedNotNewest: the base is on the target but is not its newest snapshot.
	RefusedNotNewest
)

// Refusal is why an import is refused before anything is received: its kind, and the message
// for the operator (what to do in it).
type Refusal struct {
	Kind RefusalKind
	msg  string
	err  error // the cause, if any
}

func (r *Refusal) Error() string { return r.msg }

// Unwrap is the refusal's cause: the configuration's error for RefusedSignerConfig.
func (r *Refusal) Unwrap() error { return r.err }

func refuse(kind RefusalKind, format string, a ...any) *Refusal {
	return &Refusal{Kind: kind, msg: fmt.Sprintf(format, a...)}
}

// TrustedSigners is what sneakernet.ReadManifest checks a manifest's signature against: the
// signers the configuration pins, by key; it gives the signer's name.
func TrustedSigners(c *conf.Config) func(ed25519.PublicKey) (string, bool) {
	return func(pub ed25519.PublicKey) (string, bool) {
		for _, sg := range c.Signers {
			if sg.Key.Equal(pub) {
				return sg.Name, true
			}
		}
		return "", false
	}
}

// Destination is where an admitted export lands.
type Destination struct {
	Signer string
	Job    *conf.Job
	Target zfs.Dataset
}

// Admit decides, from the manifest that signer signed and the configuration alone, whether the
// export may come into a media job of this vault, and where it lands. A tree export of one
// dataset is that dataset's one full stream: a media job takes it like any full export (the
// properties it carries are for a restore, not for the vault's copy).
func Admit(c *conf.Config, m *sneakernet.Manifest, signer string) (Destination, error) {
	if m.IsTree() && len(m.Members) != 1 {
		return Destination{}, refuse(RefusedTree, "it is a tree export of %d datasets (vault restore export), which is imported with --to POOL/PATH --signer-key KEY, not into a media job", len(m.Members))
	}
	sg, ok := c.Signer(signer)
	if !ok {
		return Destination{}, refuse(RefusedSigner, "signer %q is not in the configuration", signer)
	}
	covered, err := coveredBy(m.Dataset, sg.Datasets)
	if err != nil {
		r := refuse(RefusedSignerConfig, "signer %q: %v; correct its datasets in the configuration", sg.Name, err)
		r.err = err
		return Destination{}, r
	}
	if !covered {
		return Destination{}, refuse(RefusedSigner, "signer %q may not export %q (its datasets are %s)", sg.Name, m.Dataset, quoted(sg.Datasets))
	}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		if !j.IsMedia() || !slices.Contains(j.MediaSigners, sg.Name) {
			continue
		}
		if t, ok := j.TargetFor(m.Dataset.String()); ok {
			td, err := zfs.ParseDataset(t)
			if err != nil {
				return Destination{}, err
			}
			return Destination{Signer: sg.Name, Job: j, Target: td}, nil
		}
	}
	return Destination{}, refuse(RefusedNoJob, "no media job with signer %q takes %q: add it to a job's source_datasets", sg.Name, m.Dataset)
}

// coveredBy reports whether ds is one of roots or lies below one; a bad root is an error.
func coveredBy(ds zfs.Dataset, roots []string) (bool, error) {
	for _, r := range roots {
		rd, err := zfs.ParseDataset(r)
		if err != nil {
			return false, err
		}
		if rd == ds || rd.IsAncestorOf(ds) {
			return true, nil
		}
	}
	return false, nil
}

// Holdings is what an import's target holds (ListHoldings).
type Holdings struct {
	// Exists is false when the target dataset does not exist.
	Exists bool
	// Have is the target's snapshots by GUID: their full names.
	Have map[uint64]string
	// Newest is the GUID of its newest snapshot.
	Newest uint64
	// Type is the target's type: filesystem or volume ("" when it does not exist).
	Type zfs.Type
}

// Fit is how an admitted export meets its target.
type Fit struct {
	// Already is the name the export's snapshot has on the target, if an import brought it
	// before (a replay: nothing to do); "" otherwise.
	Already string
	// Landed are the intermediate snapshots of an -I export that an earlier import left on
	// the target (LandedIntermediates).
	Landed []sneakernet.Intermediate
}

// FitTarget decides whether the export m can be received onto target, which holds h: a full
// stream only onto no dataset (the vault never forces a receive), an incremental only from the
// target's newest snapshot (the vault never rolls back) or from what an earlier import of the
// same -I export left.
func FitTarget(m *sneakernet.Manifest, target zfs.Dataset, h Holdings) (Fit, error) {
	if name, ok := h.Have[m.ToGUID]; ok {
		return Fit{Already: name}, nil
	}
	landed := LandedIntermediates(m, h.Have)
	switch {
	case m.FromGUID == 0 && h.Exists:
		return Fit{}, refuse(RefusedFullOverTarget, "a full stream of %s, but %s exists; the vault never forces a receive (rename the target away to start afresh)", m.Dataset, target)
	case m.FromGUID != 0 && !h.Exists:
		return Fit{}, refuse(RefusedNoTarget, "an incremental from %s, but %s does not exist; import the full export first", fromName(m), target)
	case m.FromGUID != 0:
		if _, ok := h.Have[m.FromGUID]; !ok {
			return Fit{}, refuse(RefusedNoBase, "its base %s (guid %d) is not on %s; import the exports in order", fromName(m), m.FromGUID, target)
		}
		if err := checkIntermediatesFit(m, target, h.Have, landed); err != nil {
			return Fit{}, err
		}
		// An -I export that an earlier import received in part continues from the last
		// snapshot it left: zfs receive skips those the target has.
		if h.Newest != m.FromGUID && (len(landed) == 0 || h.Newest != landed[len(landed)-1].GUID) {
			return Fit{}, refuse(RefusedNotNewest, "its base %s is on %s but not its newest snapshot (%s); the vault never rolls back", fromName(m), target, h.Have[h.Newest])
		}
	}
	return Fit{Landed: landed}, nil
}

func fromName(m *sneakernet.Manifest) string {
	if !m.FromSnapshot.IsZero() {
		return m.FromSnapshot.String()
	}
	return m.FromBookmark.String()
}

// LandedIntermediates returns the export's intermediate snapshots that the target holds (by
// guid; have maps guid to the full name, as ListHoldings lists them), in the export's order.
func LandedIntermediates(m *sneakernet.Manifest, have map[uint64]string) []sneakernet.Intermediate {
	var landed []sneakernet.Intermediate
	for _, x := range m.Intermediates {
		if _, ok := have[x.GUID]; ok {
			landed = append(landed, x)
		}
	}
	return landed
}

// checkIntermediatesFit refuses an -I export whose receive would fail part-way for what the
// target already holds, before anything is received. zfs receive of a -I package skips a
// snapshot whose name the target already has with the same guid (an earlier import of this
// export that failed part-way left it: libzfs's zfs_receive_one, "snap ... already exists;
// ignoring") and receives the rest, each from the one before; so what the target holds of the
// list must be its beginning, under the same names, and no snapshot the stream still brings may
// meet another snapshot by its name. landed is LandedIntermediates(m, have).
func checkIntermediatesFit(m *sneakernet.Manifest, target zfs.Dataset, have map[uint64]string, landed []sneakernet.Intermediate) error {
	for i, x := range landed {
		if want := m.Intermediates[i]; x != want {
			return refuse(RefusedIntermediates, "%s holds %s of the export's snapshots but not %s, which comes before it: zfs receive would stop there; make an export from the newest snapshot %s holds",
				target, x.Snapshot.Short(), want.Snapshot.Short(), target)
		}
		// zfs receive skips a snapshot it finds by its name, then checks the guid.
		if name := target.String() + "@" + x.Snapshot.Short(); have[x.GUID] != name {
			return refuse(RefusedIntermediates, "%s holds the export's snapshot %s as %s: zfs receive would stop there; rename it back to %s",
				target, x.Snapshot.Short(), have[x.GUID], name)
		}
	}
	byName := make(map[string]uint64, len(have))
	for guid, name := range have {
		if _, short, ok := strings.Cut(name, "@"); ok {
			byName[short] = guid
		}
	}
	for _, x := range m.Intermediates[len(landed):] {
		if guid, ok := byName[x.Snapshot.Short()]; ok && guid != x.GUID {
			return refuse(RefusedIntermediates, "the export brings %s, but %s already holds another snapshot by that name (guid %d, not %d): zfs receive would stop there; rename or destroy it first",
				x.Snapshot.Short(), target, guid, x.GUID)
		}
	}
	return nil
}

// quoted formats names for messages: "a", "b".
func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
