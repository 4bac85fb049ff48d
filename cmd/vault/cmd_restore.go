package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "restore", summary: "export a held snapshot to media for a restore, send it to a host, or clone it for inspection", run: runRestore})
}

const restoreUsage = `usage: vault restore export [-c FILE] --to DIR --signing-key FILE --recipient AGE1... [--passphrase-file FILE | --ask-passphrase] [--from SNAP] [-I] JOB DATASET@SNAP
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
	fs := flag.NewFlagSet("restore export", flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), restoreUsage)
		fmt.Fprintln(fs.Output(), "\nWrites a snapshot the vault holds to media in the sneakernet format (age-encrypted to the\nrecipients, signed with --signing-key), for vault import on the host being restored.")
		fmt.Fprintln(fs.Output(), breakGlassHelp)
		fs.PrintDefaults()
	}
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	var rcpts recipients
	dir := fs.String("to", "", "the `DIR`ectory on the media")
	keyFile := fs.String("signing-key", "", "the vault's signing key `FILE` (vault keygen --signing)")
	fs.Var(&rcpts, "recipient", "an age `RECIPIENT` to encrypt to; repeat for several")
	from := fs.String("from", "", "incremental source `SNAP` (short name), which the restored host has")
	intermediates := fs.Bool("I", false, "with --from, include every snapshot in between")
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
	_, snap, err := vaultSnapshot(c, fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
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
	m, err := exportSnapshot(ctx, s, z, local, snap, fromSnap, *intermediates, o)
	if err != nil {
		return err
	}
	printExported(s, snap, *dir, o.Name, m)
	return nil
}

func runRestoreClone(ctx context.Context, s *stdio, args []string) error {
	fs := flag.NewFlagSet("restore clone", flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), restoreUsage)
		fmt.Fprintln(fs.Output(), "\nclone makes a read-only clone of a snapshot the vault holds under POOL/Recovery, named\nafter the dataset and the snapshot, and prints how to inspect, keep or discard it. The\nvault's copy and its snapshots are not changed. Run it as root.")
		fs.PrintDefaults()
	}
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
	if isNotExist(err) {
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
	} else if !isNotExist(err) {
		return fmt.Errorf("cannot check for %s: %w", clone, err)
	}
	if _, err := z.Get(ctx, []string{"type"}, recovery); isNotExist(err) {
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
	fmt.Fprintf(s.out, "cloned %s to %s (read-only; the snapshot cannot be pruned while the clone exists)\n", snap, clone)
	if isVolume {
		fmt.Fprintf(s.out, "inspect it:  the volume is /dev/zvol/%s\n", clone)
	} else {
		fmt.Fprintf(s.out, "inspect it:  zfs mount %s   (it mounts at its mountpoint: zfs get mountpoint %s)\n", clone, clone)
	}
	fmt.Fprintf(s.out, "discard it:  zfs destroy %s\n", clone)
	fmt.Fprintf(s.out, "keep a copy: zfs send %s | zfs receive POOL/NEW   (independent; the vault's copy keeps its snapshots)\n", snap)
	fmt.Fprintf(s.out, "or promote:  zfs promote %s && zfs set readonly=off %s  (this moves %s and every older snapshot out of the vault's copy into the clone)\n", clone, clone, snap)
	return nil
}

// isNotExist reports whether err is zfs saying that a dataset or snapshot does not exist.
func isNotExist(err error) bool {
	var ee *zfs.ExitError
	return errors.As(err, &ee) && strings.Contains(ee.Stderr, "does not exist")
}
