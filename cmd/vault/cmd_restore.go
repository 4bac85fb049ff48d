package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "restore", summary: "export a held snapshot to media for a restore, send it to a host, or clone it for inspection", run: runRestore})
}

const restoreUsage = `usage: vault restore export [-c FILE] --to DIR --signing-key FILE --recipient AGE1... [--passphrase-file FILE | --ask-passphrase] [--no-children | --from SNAP [-I] --no-children] JOB DATASET@SNAP
       vault restore clone [-c FILE] JOB DATASET@SNAP
` + restoreSendUsage

func runRestore(ctx context.Context, s *stdio, args []string) error {
	if len(args) == 0 {
		return usageErrorf("%s", restoreUsage)
	}
	switch args[0] {
	case "export":
		return runRestoreExport(ctx, s, args[1:])
	case "clone":
		return runRestoreClone(ctx, s, args[1:])
	case "send":
		return runRestoreSend(ctx, s, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(s.out, restoreUsage)
		return nil
	}
	return usageErrorf("unknown subcommand %q; %s", args[0], restoreUsage)
}

// vaultSnapshot resolves JOB DATASET@SNAP, where DATASET is the source's name or the vault's,
// to the snapshot the vault holds.
func vaultSnapshot(c *conf.Config, jobName, arg string) (*conf.Job, zfs.Snapshot, error) {
	j, err := namedJob(c, jobName)
	if err != nil {
		return nil, zfs.Snapshot{}, err
	}
	snap, err := zfs.ParseSnapshot(arg)
	if err != nil {
		return nil, zfs.Snapshot{}, usageErrorf("%v", err)
	}
	ds := snap.Dataset().String()
	if t, ok := j.TargetFor(ds); ok {
		ds = t
	} else if !(ds == j.Target || strings.HasPrefix(ds, j.Target+"/")) {
		return nil, zfs.Snapshot{}, usageErrorf("%q is neither a source dataset of job %q nor under its target %q", snap.Dataset(), j.Name, j.Target)
	}
	d, err := zfs.ParseDataset(ds)
	if err != nil {
		return nil, zfs.Snapshot{}, err
	}
	vs, err := d.Snapshot(snap.Short())
	return j, vs, err
}

func runRestoreExport(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "restore export", restoreUsage,
		restoreExportHelp,
		breakGlassHelp)
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	var rcpts recipients
	dir := fs.String("to", "", "the `DIR`ectory on the media")
	keyFile := fs.String("signing-key", "", "the vault's signing key `FILE` (vault keygen --signing)")
	fs.Var(&rcpts, "recipient", "an age `RECIPIENT` to encrypt to; repeat for several")
	from := fs.String("from", "", "incremental source `SNAP` (short name), which the restored host has")
	intermediates := fs.Bool("I", false, "with --from, include every snapshot in between")
	noChildren := fs.Bool("no-children", false, "export DATASET alone, without its descendants")
	volSize := fs.String("volume-size", "", "largest volume (default just under 4 GiB)")
	var pass passphraseFlags
	pass.register(fs, "(at least 12 characters)")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 2 || *dir == "" || *keyFile == "" || len(rcpts) == 0 {
		return usageErrorf("%s", restoreUsage)
	}
	if err := pass.check(); err != nil {
		return err
	}
	c, err := loadConfig(*path)
	if err != nil {
		return err
	}
	j, snap, err := vaultSnapshot(c, fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	if *intermediates && *from == "" {
		return usageErrorf("-I needs --from")
	}
	var fromSnap zfs.Snapshot
	if *from != "" {
		if fromSnap, err = snap.Dataset().Snapshot(strings.TrimPrefix(*from, "@")); err != nil {
			return usageErrorf("--from: %v", err)
		}
	}
	o, err := mediaOptions(s, rcpts, *keyFile, *volSize, &pass)
	if err != nil {
		return err
	}
	o.Dir, o.Name = *dir, exportName(snap)
	o.Host, _ = os.Hostname()
	local := &zfs.Local{}
	z := &zfs.ZFS{Bin: c.ZFSBinary, Exec: local}
	var m *sneakernet.Manifest
	if fromSnap.IsZero() {
		// A full export is a tree export (format 2, with the kept properties), of one dataset
		// with --no-children.
		members, err := treeMembers(ctx, s, z, c, j, snap, *noChildren)
		if err != nil {
			return err
		}
		if m, err = exportTree(ctx, s, z, local, members, o); err != nil {
			return err
		}
	} else {
		if !*noChildren {
			if err := refuseChildren(ctx, z, snap.Dataset()); err != nil {
				return err
			}
		}
		if m, err = exportSnapshot(ctx, s, z, local, snap, fromSnap, *intermediates, o); err != nil {
			return err
		}
	}
	printExported(s, snap, *dir, o.Name, m)
	return nil
}

// restoreExportHelp is the text of vault restore export -h after its usage line.
const restoreExportHelp = `
Writes a snapshot the vault holds to media in the sneakernet format (age-encrypted to the
recipients, signed with --signing-key, the vault's own key from vault keygen --signing), for
vault import --to on the host being restored, which needs no vault configuration there.

By default the export carries DATASET and every dataset below it on the vault (a VM and its
zvols), each of which must have the snapshot, with the properties the source had set on each
(vault import --to sets them again unless --no-properties). --no-children exports DATASET
alone. --from SNAP makes an incremental of DATASET alone (so it needs --no-children when
DATASET has children), in the single-dataset format that vault import with a configuration
takes.`

// refuseChildren refuses an incremental restore export of a dataset that has children: --from
// exports one dataset, and says so.
func refuseChildren(ctx context.Context, z *zfs.ZFS, ds zfs.Dataset) error {
	entries, err := z.List(ctx, []zfs.Dataset{ds}, true, []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume}, []zfs.Column{zfs.ColName})
	if err != nil {
		return fmt.Errorf("cannot list %s: %w", ds, err)
	}
	if len(entries) > 1 {
		return usageErrorf("%s has %d datasets below it, and --from exports one dataset: add --no-children to export %s alone, or leave out --from for a full export of the whole tree", ds, len(entries)-1, ds)
	}
	return nil
}

func runRestoreClone(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "restore clone", restoreUsage,
		"\nclone makes a read-only clone of a snapshot the vault holds under POOL/Recovery, named\nafter the dataset and the snapshot, and prints how to inspect, keep or discard it. The\nvault's copy and its snapshots are not changed. Run it as root.")
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf("%s", restoreUsage)
	}
	c, err := loadConfig(*path)
	if err != nil {
		return err
	}
	j, snap, err := vaultSnapshot(c, fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	pool, err := zfs.ParseDataset(snap.Dataset().Pool())
	if err != nil {
		return err
	}
	recovery, err := pool.Child("Recovery")
	if err != nil {
		return err
	}
	// One clone per snapshot, named after it: a second clone of the same snapshot is refused
	// (naming the first) rather than piling up timestamped copies.
	leaf := strings.NewReplacer("/", "_", " ", "_").Replace(strings.TrimPrefix(snap.Dataset().String(), pool.String()+"/"))
	clone, err := recovery.Child(leaf + "-" + snap.Short())
	if err != nil {
		return usageErrorf("cannot name the clone of %s: %v", snap, err)
	}
	z := &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{}}
	// Everything is checked before anything is created: the snapshot, the clone's name.
	props, err := z.Get(ctx, []string{"type"}, snap.Dataset())
	if err == nil {
		_, err = z.Get(ctx, []string{"type"}, snap)
	}
	if zfs.IsNotExist(err) {
		return usageErrorf("the vault holds no snapshot %s (job %q); `vault snapshots -c %s %s` lists what it holds", snap, j.Name, *path, j.Name)
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", snap, err)
	}
	if len(props) != 1 {
		return fmt.Errorf("cannot read the type of %s: %d answers", snap.Dataset(), len(props))
	}
	isVolume := props[0].Value == string(zfs.TypeVolume)
	if _, err := z.Get(ctx, []string{"type"}, clone); err == nil {
		return usageErrorf("%s already exists: inspect it, or `zfs destroy %s` first to clone %s afresh", clone, clone, snap)
	} else if !zfs.IsNotExist(err) {
		return fmt.Errorf("cannot check for %s: %w", clone, err)
	}
	if _, err := z.Get(ctx, []string{"type"}, recovery); zfs.IsNotExist(err) {
		if err := z.Create(ctx, recovery, map[string]string{"canmount": "off"}); err != nil {
			return fmt.Errorf("cannot create %s: %w", recovery, err)
		}
	} else if err != nil {
		return fmt.Errorf("cannot check for %s: %w", recovery, err)
	}
	// noauto: nothing is mounted behind the operator's back (nor fails to be, for a dataset
	// whose key is not loaded); they mount it to look.
	cloneProps := map[string]string{"readonly": "on"}
	if !isVolume {
		cloneProps["canmount"] = "noauto"
	}
	if err := z.Clone(ctx, snap, clone, cloneProps); err != nil {
		return fmt.Errorf("cannot clone %s: %w", snap, err)
	}
	printCloneHints(s.out, snap, clone, isVolume)
	return nil
}

// printCloneHints says what was cloned and how to inspect, discard, keep or promote it.
func printCloneHints(w io.Writer, snap zfs.Snapshot, clone zfs.Dataset, isVolume bool) {
	fmt.Fprintf(w, "cloned %s to %s (read-only; the snapshot cannot be pruned while the clone exists)\n", snap, clone)
	if isVolume {
		fmt.Fprintf(w, "inspect it:  the volume is /dev/zvol/%s\n", clone)
	} else {
		fmt.Fprintf(w, "inspect it:  zfs mount %s   (it mounts at its mountpoint: zfs get mountpoint %s)\n", clone, clone)
	}
	fmt.Fprintf(w, "discard it:  zfs destroy %s\n", clone)
	fmt.Fprintf(w, "keep a copy: zfs send %s | zfs receive POOL/NEW   (independent; the vault's copy keeps its snapshots)\n", snap)
	fmt.Fprintf(w, "or promote:  zfs promote %s && zfs set readonly=off %s  (this moves %s and every older snapshot out of the vault's copy into the clone: vault reports them erased, CRIT; zfs promote %s moves them back, then vault ack)\n", clone, clone, snap, snap.Dataset())
}
