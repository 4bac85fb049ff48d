package zfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ZFS runs zfs subcommands through an Executor. Its methods take only
// validated names, build the argv with the argv builders below (pure, and
// tested without zfs), run it and parse the output.
type ZFS struct {
	// Bin is the absolute path of zfs on the host Exec runs on, such as
	// "/sbin/zfs" (FreeBSD) or "/usr/sbin/zfs" (Debian).
	Bin  string
	Exec Executor
}

// List runs one `zfs list -H -p -o <cols> -t <types> [-r] root...` for all
// roots and parses its output. A root that does not exist makes the command,
// and so List, fail.
func (z *ZFS) List(ctx context.Context, roots []Dataset, recursive bool, types []Type, cols []Column) ([]Entry, error) {
	argv, err := z.listArgv(roots, recursive, types, cols)
	if err != nil {
		return nil, fmt.Errorf("cannot list: %w", err)
	}
	out, err := z.output(ctx, argv)
	if err != nil {
		return nil, err
	}
	return ParseList(out, cols)
}

func (z *ZFS) listArgv(roots []Dataset, recursive bool, types []Type, cols []Column) ([]string, error) {
	if err := checkColumns(cols); err != nil {
		return nil, err
	}
	if len(types) == 0 {
		return nil, errors.New("no types")
	}
	ts := make([]string, len(types))
	for i, t := range types {
		if !t.valid() {
			return nil, fmt.Errorf("unknown type %q", t)
		}
		ts[i] = string(t)
	}
	if len(roots) == 0 {
		return nil, errors.New("no datasets")
	}
	argv, err := z.argv("list", "-H", "-p", "-o", joinColumns(cols), "-t", strings.Join(ts, ","))
	if err != nil {
		return nil, err
	}
	if recursive {
		argv = append(argv, "-r")
	}
	return appendNames(argv, roots)
}

// Get runs `zfs get -H -p -o name,property,value,source <props> <targets>`
// and parses its output.
func (z *ZFS) Get(ctx context.Context, props []string, targets ...Name) ([]Property, error) {
	argv, err := z.getArgv(props, targets)
	if err != nil {
		return nil, fmt.Errorf("cannot get properties: %w", err)
	}
	out, err := z.output(ctx, argv)
	if err != nil {
		return nil, err
	}
	return ParseProperties(out)
}

func (z *ZFS) getArgv(props []string, targets []Name) ([]string, error) {
	if len(props) == 0 {
		return nil, errors.New("no properties")
	}
	for _, p := range props {
		if err := CheckPropertyName(p); err != nil {
			return nil, err
		}
	}
	if len(targets) == 0 {
		return nil, errors.New("no datasets")
	}
	argv, err := z.argv("get", "-H", "-p", "-o", "name,property,value,source", strings.Join(props, ","))
	if err != nil {
		return nil, err
	}
	return appendNames(argv, targets)
}

// Available runs `zfs get -H -p ... available DS` and returns the bytes ds and its children may
// still take. OpenZFS computes it as the least of what every ancestor's quota leaves and the
// pool's free space less its slop (dsl_dir_space_available), and of what ds's own refquota
// leaves (dsl_get_available): one number covers quota, refquota and a full pool.
func (z *ZFS) Available(ctx context.Context, ds Dataset) (int64, error) {
	props, err := z.Get(ctx, []string{"available"}, ds)
	if err != nil {
		return 0, err
	}
	return parseAvailable(props, ds)
}

func parseAvailable(props []Property, ds Dataset) (int64, error) {
	if len(props) != 1 || props[0].Name != ds.String() || props[0].Property != "available" {
		return 0, fmt.Errorf("zfs get available %s printed %d lines, want one for it", ds, len(props))
	}
	n, err := strconv.ParseInt(props[0].Value, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("zfs get available %s printed %q, not a number of bytes", ds, props[0].Value)
	}
	return n, nil
}

// Holds runs `zfs holds -H <snaps>` and parses its output. It does not pass
// -p, which OpenZFS 2.1 lacks; see [Hold.Time].
func (z *ZFS) Holds(ctx context.Context, snaps []Snapshot) ([]Hold, error) {
	argv, err := z.holdsArgv(snaps)
	if err != nil {
		return nil, fmt.Errorf("cannot list holds: %w", err)
	}
	out, err := z.output(ctx, argv)
	if err != nil {
		return nil, err
	}
	return ParseHolds(out)
}

func (z *ZFS) holdsArgv(snaps []Snapshot) ([]string, error) {
	if len(snaps) == 0 {
		return nil, errors.New("no snapshots")
	}
	argv, err := z.argv("holds", "-H")
	if err != nil {
		return nil, err
	}
	return appendNames(argv, snaps)
}

// Hold runs `zfs hold <tag> <snaps>`: it adds the hold tag to each snapshot.
func (z *ZFS) Hold(ctx context.Context, tag string, snaps ...Snapshot) error {
	argv, err := z.tagArgv("hold", tag, snaps)
	if err != nil {
		return fmt.Errorf("cannot hold: %w", err)
	}
	return z.run(ctx, argv)
}

// Release runs `zfs release <tag> <snaps>`: it removes the hold tag from
// each snapshot. zfs fails if a snapshot has no such hold.
func (z *ZFS) Release(ctx context.Context, tag string, snaps ...Snapshot) error {
	argv, err := z.tagArgv("release", tag, snaps)
	if err != nil {
		return fmt.Errorf("cannot release: %w", err)
	}
	return z.run(ctx, argv)
}

func (z *ZFS) tagArgv(sub, tag string, snaps []Snapshot) ([]string, error) {
	if err := CheckTag(tag); err != nil {
		return nil, err
	}
	if len(snaps) == 0 {
		return nil, errors.New("no snapshots")
	}
	argv, err := z.argv(sub, tag)
	if err != nil {
		return nil, err
	}
	return appendNames(argv, snaps)
}

// Snapshot runs `zfs snapshot <snap>...`: zfs takes all the snapshots in one transaction, so a
// VM's dataset and its zvols are captured at the same instant.
func (z *ZFS) Snapshot(ctx context.Context, snaps ...Snapshot) error {
	argv, err := z.snapshotArgv(snaps)
	if err != nil {
		return fmt.Errorf("cannot snapshot: %w", err)
	}
	return z.run(ctx, argv)
}

func (z *ZFS) snapshotArgv(snaps []Snapshot) ([]string, error) {
	if len(snaps) == 0 {
		return nil, errors.New("no snapshot named")
	}
	argv, err := z.argv("snapshot")
	if err != nil {
		return nil, err
	}
	return appendNames(argv, snaps)
}

// DestroySnapshots destroys the snapshots of ds named by shorts with one
// `zfs destroy ds@a,b,c`, which zfs carries out as a single operation. Each
// short name is validated like [Dataset.Snapshot], so none can smuggle in
// zfs's '%' range syntax or a ','. Duplicates are dropped; no shorts is a
// no-op.
func (z *ZFS) DestroySnapshots(ctx context.Context, ds Dataset, shorts []string) error {
	argv, err := z.destroySnapshotsArgv(ds, shorts)
	if err != nil {
		return fmt.Errorf("cannot destroy snapshots of %q: %w", ds.String(), err)
	}
	if argv == nil {
		return nil
	}
	return z.run(ctx, argv)
}

func (z *ZFS) destroySnapshotsArgv(ds Dataset, shorts []string) ([]string, error) {
	if ds.IsZero() {
		return nil, errors.New("no dataset")
	}
	if len(shorts) == 0 {
		return nil, nil
	}
	seen := make(map[string]bool, len(shorts))
	list := make([]string, 0, len(shorts))
	for _, s := range shorts {
		if _, err := ds.Snapshot(s); err != nil {
			return nil, err
		}
		if !seen[s] {
			seen[s] = true
			list = append(list, s)
		}
	}
	return z.argv("destroy", ds.String()+"@"+strings.Join(list, ","))
}

// DestroyEmpty runs `zfs destroy <ds>`, without -r: zfs refuses a dataset that has children or
// snapshots, so it can only take away a dataset that holds nothing of its own history. Import
// uses it to undo the parents it created for a receive that failed.
func (z *ZFS) DestroyEmpty(ctx context.Context, ds Dataset) error {
	if ds.IsZero() {
		return errors.New("cannot destroy: no dataset")
	}
	argv, err := z.argv("destroy", ds.String())
	if err != nil {
		return err
	}
	return z.run(ctx, argv)
}

// Create runs `zfs create [-o prop=value]... <ds>`, with the properties in
// name order.
func (z *ZFS) Create(ctx context.Context, ds Dataset, props map[string]string) error {
	argv, err := z.createArgv(ds, props)
	if err != nil {
		return fmt.Errorf("cannot create %q: %w", ds.String(), err)
	}
	return z.run(ctx, argv)
}

// CreateAll runs `zfs create -p [-o prop=value]... <ds>`: missing ancestors are created too
// (with default properties; the -o ones apply to ds).
func (z *ZFS) CreateAll(ctx context.Context, ds Dataset, props map[string]string) error {
	argv, err := z.createArgv(ds, props, "-p")
	if err != nil {
		return fmt.Errorf("cannot create %q: %w", ds.String(), err)
	}
	return z.run(ctx, argv)
}

func (z *ZFS) createArgv(ds Dataset, props map[string]string, flags ...string) ([]string, error) {
	argv, err := z.argv(append([]string{"create"}, flags...)...)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := CheckPropertyName(name); err != nil {
			return nil, err
		}
		if err := checkPropertyValue(name, props[name]); err != nil {
			return nil, err
		}
		argv = append(argv, "-o", name+"="+props[name])
	}
	return appendNames(argv, []Dataset{ds})
}

// Set runs `zfs set prop=value DATASET`.
func (z *ZFS) Set(ctx context.Context, ds Dataset, prop, value string) error {
	if err := CheckPropertyName(prop); err != nil {
		return err
	}
	if err := checkPropertyValue(prop, value); err != nil {
		return err
	}
	argv, err := z.argv("set", prop+"="+value, ds.String())
	if err != nil {
		return err
	}
	return z.run(ctx, argv)
}

// Rename runs `zfs rename FROM TO` (never -f: a busy dataset stays where it is).
func (z *ZFS) Rename(ctx context.Context, from, to Dataset) error {
	if from.IsZero() || to.IsZero() {
		return errors.New("cannot rename: a name is missing")
	}
	argv, err := z.argv("rename", from.String(), to.String())
	if err != nil {
		return err
	}
	return z.run(ctx, argv)
}

// Clone runs `zfs clone [-o prop=value]... SNAP DATASET`.
func (z *ZFS) Clone(ctx context.Context, snap Snapshot, ds Dataset, props map[string]string) error {
	if snap.IsZero() {
		return errors.New("cannot clone: no snapshot")
	}
	argv, err := z.createArgv(ds, props)
	if err != nil {
		return fmt.Errorf("cannot clone %q: %w", snap.String(), err)
	}
	// createArgv gives zfs create [-o]... DS; a clone is zfs clone [-o]... SNAP DS.
	argv[1] = "clone"
	argv = append(argv[:len(argv)-1], snap.String(), ds.String())
	return z.run(ctx, argv)
}

// argv starts an argv with the zfs binary and args.
func (z *ZFS) argv(args ...string) ([]string, error) {
	if !path.IsAbs(z.Bin) {
		return nil, fmt.Errorf("zfs binary path %q is not absolute", z.Bin)
	}
	return append([]string{z.Bin}, args...), nil
}

// appendNames appends names to argv, refusing zero ones.
func appendNames[N Name](argv []string, names []N) ([]string, error) {
	for _, n := range names {
		if any(n) == nil {
			return nil, errors.New("nil name")
		}
		s := n.String()
		if s == "" {
			return nil, errors.New("empty name")
		}
		argv = append(argv, s)
	}
	return argv, nil
}

func (z *ZFS) run(ctx context.Context, argv []string) error {
	if z.Exec == nil {
		return errors.New("cannot run zfs: no executor")
	}
	return z.Exec.Run(ctx, Cmd{Argv: argv})
}

// output runs argv and returns its standard output.
func (z *ZFS) output(ctx context.Context, argv []string) (*bytes.Buffer, error) {
	var out bytes.Buffer
	if z.Exec == nil {
		return nil, errors.New("cannot run zfs: no executor")
	}
	if err := z.Exec.Run(ctx, Cmd{Argv: argv, Stdout: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
