package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "restore", summary: "export a held snapshot to media for a restore, or clone it for inspection", run: runRestore})
}

const restoreUsage = `usage: vault restore export [-c FILE] --to DIR --signing-key FILE --recipient AGE1... [--from SNAP] [-I] JOB DATASET@SNAP
       vault restore clone [-c FILE] JOB DATASET@SNAP`

func runRestore(ctx context.Context, s *stdio, args []string) error {
	if len(args) == 0 {
		return usageErrorf("%s", restoreUsage)
	}
	switch args[0] {
	case "export":
		return runRestoreExport(ctx, s, args[1:])
	case "clone":
		return runRestoreClone(ctx, s, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(s.out, restoreUsage)
		return nil
	}
	return usageErrorf("unknown subcommand %q; %s", args[0], restoreUsage)
}

// vaultSnapshot resolves JOB DATASET@SNAP, where DATASET is the source's name or the vault's,
// to the snapshot the vault holds.
func vaultSnapshot(c *conf.Config, jobName, arg string) (*conf.Job, zfs.Snapshot, error) {
	j, ok := c.Job(jobName)
	if !ok {
		_, err := selectJobs(c, []string{jobName}, "")
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
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 2 || *dir == "" || *keyFile == "" || len(rcpts) == 0 {
		return usageErrorf("%s", restoreUsage)
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
	ageRcpts, key, vs, err := mediaOptions(rcpts, *keyFile, *volSize)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	name := strings.NewReplacer("/", "_", "@", "_", " ", "_", ":", "_").Replace(snap.String())
	local := &zfs.Local{}
	z := &zfs.ZFS{Bin: c.ZFSBinary, Exec: local}
	m, err := exportSnapshot(ctx, s, z, local, snap, fromSnap, *intermediates, sneakernet.ExportOptions{
		Dir: *dir, Name: name, VolumeSize: vs, Recipients: ageRcpts, SigningKey: key, Host: host})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "exported %s (%s of stream) to %s: %d volume(s) and %s.manifest\n", snap, humanBytes(m.StreamBytes), *dir, len(m.Volumes), name)
	return nil
}

func runRestoreClone(ctx context.Context, s *stdio, args []string) error {
	fs := flag.NewFlagSet("restore clone", flag.ContinueOnError)
	fs.SetOutput(s.err)
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
	_, snap, err := vaultSnapshot(c, fs.Arg(0), fs.Arg(1))
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
	leaf := strings.NewReplacer("/", "_", " ", "_").Replace(strings.TrimPrefix(snap.Dataset().String(), pool.String()+"/"))
	clone, err := recovery.Child(leaf + "-" + snap.Short() + "-" + time.Now().UTC().Format("20060102T150405Z"))
	if err != nil {
		return err
	}
	z := &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{}}
	if _, err := z.List(ctx, []zfs.Dataset{recovery}, false, []zfs.Type{zfs.TypeFilesystem}, []zfs.Column{zfs.ColName}); err != nil {
		if err := z.Create(ctx, recovery, map[string]string{"canmount": "off"}); err != nil {
			return fmt.Errorf("cannot create %s: %w", recovery, err)
		}
	}
	if err := z.Clone(ctx, snap, clone, map[string]string{"readonly": "on"}); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "cloned %s to %s (read-only; the snapshot stays held by its clone)\n", snap, clone)
	fmt.Fprintf(s.out, "inspect it:   zfs mount %s   (a volume appears as /dev/zvol/%s)\n", clone, clone)
	fmt.Fprintf(s.out, "discard it:  zfs destroy %s\n", clone)
	fmt.Fprintf(s.out, "keep it:     zfs set readonly=off %s && zfs promote %s, then zfs rename it where it belongs\n", clone, clone)
	return nil
}
