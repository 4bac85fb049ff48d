package main

// What a receive onto the vault's pool needs around it, for vault import: the parents of a new
// target created and taken away again, the properties set and checked after it, what stayed of
// a failed -I receive, the creation time of what arrived.

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

// createParents creates the missing parents of a new target (exists false), and returns them
// for undoCreated.
func createParents(ctx context.Context, s *stdio, z *zfs.ZFS, target zfs.Dataset, exists bool) ([]zfs.Dataset, error) {
	parent, ok := target.Parent()
	if !ok || exists {
		return nil, nil
	}
	created, err := missingAncestors(ctx, z, parent)
	if err != nil {
		return nil, fmt.Errorf("cannot look for %s: %w", parent, err)
	}
	if len(created) > 0 {
		if err := z.CreateAll(ctx, parent, map[string]string{"canmount": "noauto"}); err != nil {
			undoCreated(s, z, created)
			return nil, fmt.Errorf("cannot create %s for the import: %w", parent, err)
		}
	}
	return created, nil
}

// snapshotCreation reads the creation time of a snapshot: zfs receive keeps the source's.
func snapshotCreation(ctx context.Context, z *zfs.ZFS, snap zfs.Snapshot) (time.Time, error) {
	props, err := z.Get(ctx, []string{"creation"}, snap)
	if err != nil {
		return time.Time{}, err
	}
	if len(props) != 1 || props[0].Property != "creation" {
		return time.Time{}, fmt.Errorf("zfs get creation %s: %d lines, want 1", snap, len(props))
	}
	secs, err := strconv.ParseInt(props[0].Value, 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}, fmt.Errorf("zfs get creation %s: %q is not seconds since the epoch", snap, props[0].Value)
	}
	return time.Unix(secs, 0).UTC(), nil
}

// whatStayed begins the error of a failed receive: head and, as far as a listing of the target
// tells, what stayed of the export there. Only the intermediate snapshots of an -I export can.
func whatStayed(z *zfs.ZFS, head string, m *sneakernet.Manifest, target zfs.Dataset) string {
	if len(m.Intermediates) == 0 {
		return head + ", nothing received"
	}
	// The import's context may have ended (a signal): the listing gets its own.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := operate.ListHoldings(ctx, z, target)
	return failedImport(head, m, target, operate.LandedIntermediates(m, h.Have), err)
}

// missingAncestors lists ds and those of its ancestors that do not exist, deepest first: what
// zfs create -p ds would create. The pool itself always exists.
func missingAncestors(ctx context.Context, z *zfs.ZFS, ds zfs.Dataset) ([]zfs.Dataset, error) {
	var missing []zfs.Dataset
	for d, ok := ds, true; ok; d, ok = d.Parent() {
		_, err := z.List(ctx, []zfs.Dataset{d}, false, []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume}, []zfs.Column{zfs.ColName})
		switch {
		case err == nil:
			return missing, nil
		case zfs.IsNotExist(err):
			missing = append(missing, d)
		default:
			return nil, err
		}
	}
	return missing, nil
}

// undoCreated destroys, deepest first, the parents an import created before it failed. zfs
// destroy without -r refuses one that has gained children or snapshots meanwhile; what cannot be
// destroyed is named for the operator.
func undoCreated(s *stdio, z *zfs.ZFS, created []zfs.Dataset) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, d := range created {
		if err := z.DestroyEmpty(ctx, d); err != nil {
			fmt.Fprintf(s.err, "vault import: warning: cannot take away %s, created for this import: %v (zfs destroy %s)\n", d, err, d)
			return
		}
	}
}

// datasetType reads the type of ds: filesystem or volume.
func datasetType(ctx context.Context, z *zfs.ZFS, ds zfs.Dataset) (zfs.Type, error) {
	props, err := z.Get(ctx, []string{"type"}, ds)
	if err != nil {
		return "", fmt.Errorf("cannot read the type of %s: %w", ds, err)
	}
	if len(props) != 1 || (props[0].Value != string(zfs.TypeFilesystem) && props[0].Value != string(zfs.TypeVolume)) {
		return "", fmt.Errorf("cannot read the type of %s: zfs get gave %d lines (%v)", ds, len(props), props)
	}
	return zfs.Type(props[0].Value), nil
}

// receivedProps finishes the properties of a receive: on a new target (typ "") it sets what the
// receive could not for the type that arrived, and on every target it reads back what the
// receive excluded. -x refreservation does not hold on an incremental (measured, see
// puller.ReceiveProps): a reservation that still came from the stream is set to none, here,
// where the vault's user could not; anything else that came from the stream is named.
func receivedProps(ctx context.Context, z *zfs.ZFS, j *puller.Job, target zfs.Dataset, typ zfs.Type) []string {
	if typ == "" {
		var err error
		if typ, err = datasetType(ctx, z, target); err != nil {
			return []string{err.Error() + "; its properties are not checked"}
		}
		for _, p := range puller.ReceivePropsAfter(j, typ) {
			if err := z.Set(ctx, target, p.Name, p.Value); err != nil {
				return []string{fmt.Sprintf("cannot set %s=%s on %s: %v", p.Name, p.Value, target, err)}
			}
		}
	}
	_, exclude := puller.ReceiveProps(j, typ)
	if len(exclude) == 0 {
		return nil
	}
	props, err := z.Get(ctx, exclude, target)
	if err != nil {
		return []string{fmt.Sprintf("cannot read back the properties the receive excluded on %s: %v", target, err)}
	}
	var warns []string
	for _, p := range props {
		if p.Source != "received" {
			continue
		}
		if p.Property == "reservation" || p.Property == "refreservation" {
			if err := z.Set(ctx, target, p.Property, "none"); err != nil {
				warns = append(warns, fmt.Sprintf("%s came from the stream as %s on %s and cannot be set to none: %v (zfs set %s=none %s)", p.Property, p.Value, target, err, p.Property, target))
			}
			continue
		}
		warns = append(warns, fmt.Sprintf("%s came from the stream as %s on %s although the receive excluded it (zfs set %s=... %s)", p.Property, p.Value, target, p.Property, target))
	}
	return warns
}
