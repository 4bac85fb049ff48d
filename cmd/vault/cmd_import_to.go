package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

// importToHelp is the part of vault import -h about --to.
const importToHelp = `
Anywhere, with --to (a host being restored, which has the vault binary and no configuration;
none is read, not even the default): receives a tree export (vault restore export: a dataset
and its descendants) as the new dataset POOL/PATH and below. The manifest must be signed by
--signer-key, the vault's public key (vault keygen --signing printed it); --identity FILE
or the break-glass passphrase decrypts it. Every check of the configured import applies.
POOL/PATH must not exist and its parent must. Each dataset is received with zfs receive -u
(nothing mounts), excluding what could mount, share, run setuid or reserve space, and with
the properties the source had set (-o, each checked; --no-properties leaves them out). All
or nothing: on any failure, or a signal, every dataset the import created is destroyed.
With --verify-only, the medium is checked as above and no zfs command runs.`

// importToFlags are the flags of vault import --to, which reads no configuration.
type importToFlags struct {
	to, signerKey, identity, zfsBin string
	noProps, verifyOnly             bool
	pass                            *passphraseFlags
}

func (f *importToFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.to, "to", "", "with no configuration: receive a tree export as the new dataset `POOL/PATH` and below")
	fs.StringVar(&f.signerKey, "signer-key", "", "with --to: the exporting vault's public `KEY` (vault-ed25519:...), which must have signed the manifest")
	fs.StringVar(&f.identity, "identity", "", "with --to: the age identity `FILE` that decrypts the export")
	fs.BoolVar(&f.noProps, "no-properties", false, "with --to: do not set the properties the export carries")
	fs.StringVar(&f.zfsBin, "zfs", "/sbin/zfs", "with --to: the zfs binary")
}

// check refuses the flags that go only with --to without it, and those that do not go with it.
func (f *importToFlags) check(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if f.to != "" {
		if given["c"] || given["v"] {
			return usageErrorf("--to reads no configuration: leave out -c and -v")
		}
		if f.signerKey == "" {
			return usageErrorf("--to needs --signer-key, the public key that signed the export; %s", importUsage)
		}
		return nil
	}
	for _, name := range []string{"signer-key", "identity", "no-properties", "zfs"} {
		if given[name] {
			return usageErrorf("--%s goes with --to; without it vault import takes the configuration's signers and age_identity", name)
		}
	}
	return nil
}

// treeStep is one receive of an import --to: a member's stream into its new dataset.
type treeStep struct {
	Snapshot zfs.Snapshot // as the export names it
	Recv     zfs.ReceiveOptions
}

// planImportTo plans the receives of a tree export into to: one per member, parents first, each
// a new dataset below to (to itself for the root), received -u, not resumable, with the floor's
// exclusions (nothing from the stream mounts, shares, runs setuid or reserves space) and, unless
// noProps, the member's properties with -o, each checked again. Without the vault's
// readonly=on and canmount=noauto: the copy is meant for use. No -F ever. It does no I/O.
func planImportTo(m *sneakernet.Manifest, to zfs.Dataset, noProps bool) ([]treeStep, error) {
	if !m.IsTree() {
		return nil, fmt.Errorf("it is a single-dataset export (%s), which vault import takes on the vault with its configuration; vault import --to takes a tree export (%s, made by vault restore export)", m.Format, sneakernet.FormatTree)
	}
	targets, err := sneakernet.MemberTargets(m, to)
	if err != nil {
		return nil, err
	}
	steps := make([]treeStep, len(m.Members))
	for i, x := range m.Members {
		r := zfs.ReceiveOptions{Target: targets[i], Exclude: puller.FloorExclude(), NotResumable: true}
		if !noProps {
			if err := x.Properties.Check(); err != nil {
				return nil, fmt.Errorf("%s: %w", x.Snapshot, err)
			}
			for _, k := range slices.Sorted(maps.Keys(x.Properties)) {
				r.Set = append(r.Set, zfs.PropSetting{Name: k, Value: x.Properties[k]})
			}
		}
		steps[i] = treeStep{Snapshot: x.Snapshot, Recv: r}
	}
	return steps, nil
}

// runImportTo is vault import --to: a tree export received below a new dataset on any host,
// with the signer's key and the decryption key given on the command line and no configuration.
func runImportTo(ctx context.Context, s *stdio, f importToFlags, arg string) error {
	to, err := zfs.ParseDataset(f.to)
	if err != nil {
		return usageErrorf("--to: %v", err)
	}
	parent, ok := to.Parent()
	if !ok {
		return usageErrorf("--to %s is a pool; name a new dataset POOL/PATH whose parent exists", to)
	}
	key, err := conf.ParseSignerKey(f.signerKey)
	if err != nil {
		return usageErrorf("--signer-key: %v (give the key vault keygen --signing printed, vault-ed25519:...)", err)
	}
	if (f.identity != "") == f.pass.set() {
		return usageErrorf("give one way to decrypt: --identity FILE (an age identity) or the export's break-glass passphrase (--passphrase-file FILE or --ask-passphrase)")
	}
	passphrase, err := f.pass.read(s, false)
	if err != nil {
		return err
	}
	media, name, err := openManifestDir(arg)
	if err != nil {
		return err
	}
	defer media.Close()
	trusted := func(pub ed25519.PublicKey) (string, bool) { return "--signer-key", pub.Equal(key) }
	signed, err := untilDone(ctx, func() (*sneakernet.Signed, error) { return sneakernet.ReadManifest(media, name, trusted) })
	var unpinned *sneakernet.UnpinnedSignerError
	if errors.As(err, &unpinned) {
		return fmt.Errorf("refused %s: it is signed by %s, not by the --signer-key %s: the media is not the vault's export, or the key is not the vault's", arg, conf.FormatSignerKey(unpinned.Key), f.signerKey)
	}
	if err != nil {
		return fmt.Errorf("refused %s: %w", arg, err)
	}
	m := signed.Manifest()
	steps, err := planImportTo(&m, to, f.noProps)
	if err != nil {
		return fmt.Errorf("refused %s: %w", arg, err)
	}
	ids, err := untilDone(ctx, func() ([]age.Identity, error) {
		if passphrase != "" {
			return sneakernet.BreakGlassIdentities(signed, media, passphrase)
		}
		return sneakernet.ReadIdentityFile(f.identity)
	})
	if err != nil {
		return fmt.Errorf("refused %s: %w", arg, err)
	}
	if f.verifyOnly {
		return verifyExport(ctx, s, arg, signed, media, ids, "--signer-key", to)
	}
	z := &zfs.ZFS{Bin: f.zfsBin, Exec: &zfs.Local{}}
	if err := checkNewTarget(ctx, z, to, parent); err != nil {
		return fmt.Errorf("refused %s: %w", arg, err)
	}
	if err := preflight(ctx, signed, media, ids); err != nil {
		return fmt.Errorf("refused %s: %w", arg, err)
	}
	start := time.Now()
	n, err := receiveTree(ctx, s, z, signed, media, ids, steps)
	if err != nil {
		undoTree(s, z, steps)
		return fmt.Errorf("refused %s, nothing left of it on the pool: %w", arg, err)
	}
	fmt.Fprintf(s.out, "imported %s (%d dataset(s), signed by %s) into %s: %s in %s\n", m.ToSnapshot, len(steps), conf.FormatSignerKey(key), to,
		bytefmt.IEC(n), time.Since(start).Round(100*time.Millisecond))
	if !f.noProps {
		fmt.Fprintf(s.out, "the properties the source had set are set again; nothing is mounted: zfs mount -a, or rename %s into place first\n", to)
	}
	return nil
}

// checkNewTarget refuses a target that exists or whose parent does not.
func checkNewTarget(ctx context.Context, z *zfs.ZFS, to, parent zfs.Dataset) error {
	cols := []zfs.Column{zfs.ColName}
	types := []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume}
	_, err := z.List(ctx, []zfs.Dataset{to}, false, types, cols)
	switch {
	case err == nil:
		return fmt.Errorf("%s exists; vault import --to receives into a new dataset and never replaces one: choose another name, or rename %s away", to, to)
	case !zfs.IsNotExist(err):
		return fmt.Errorf("cannot check for %s: %w", to, err)
	}
	_, err = z.List(ctx, []zfs.Dataset{parent}, false, []zfs.Type{zfs.TypeFilesystem}, cols)
	switch {
	case zfs.IsNotExist(err):
		return fmt.Errorf("%s does not exist (or is not a filesystem); create it first (zfs create %s), or choose another --to", parent, parent)
	case err != nil:
		return fmt.Errorf("cannot check for %s: %w", parent, err)
	}
	return nil
}

// receiveTree reads the export once and gives each member's stream to its own zfs receive, in
// order. It returns the plaintext's length; on error the caller undoes what was received.
func receiveTree(ctx context.Context, s *stdio, z *zfs.ZFS, signed *sneakernet.Signed, media *sneakernet.Media, ids []age.Identity, steps []treeStep) (int64, error) {
	m := signed.Manifest()
	var cur *memberReceive
	defer func() {
		if cur != nil && !cur.done {
			cur.abort(errors.New("import failed"))
		}
	}()
	mw, err := sneakernet.NewMemberWriter(&m, func(i int) (io.WriteCloser, error) {
		r, err := startReceive(ctx, z, steps[i].Recv)
		if err != nil {
			return nil, err
		}
		cur = r
		return r, nil
	})
	if err != nil {
		return 0, err
	}
	var counter atomic.Int64
	stop := showBytes(s, "import "+m.ToSnapshot.Short(), m.StreamBytes, &counter)
	n, err := sneakernet.Import(ctx, signed, media, ids, &countWriter{w: mw, n: &counter})
	stop()
	if err == nil {
		err = mw.Finish()
	}
	return n, err
}

// memberReceive is one zfs receive of a tree import: an io.WriteCloser for its stream, whose
// Close waits for the receive to end.
type memberReceive struct {
	pw     *io.PipeWriter
	p      zfs.Process
	stopFn func() bool
	done   bool // Close waited for it
}

func startReceive(ctx context.Context, z *zfs.ZFS, o zfs.ReceiveOptions) (*memberReceive, error) {
	cmd, err := z.ReceiveCmd(o)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	cmd.Stdin = pr
	p, err := (&zfs.Local{}).Start(context.WithoutCancel(ctx), cmd)
	if err != nil {
		return nil, err
	}
	puller.WatchReceive(p, pr)
	// A signal ends the import even while a write to zfs receive blocks.
	stopFn := context.AfterFunc(ctx, func() { pw.CloseWithError(context.Cause(ctx)) })
	return &memberReceive{pw: pw, p: p, stopFn: stopFn}, nil
}

func (r *memberReceive) Write(b []byte) (int, error) { return r.pw.Write(b) }

// Close ends the stream and waits for zfs receive: nil only if it received the whole stream.
func (r *memberReceive) Close() error {
	r.done = true
	r.stopFn()
	r.pw.Close()
	return r.p.Wait()
}

func (r *memberReceive) abort(err error) {
	r.stopFn()
	r.pw.CloseWithError(err)
	_ = r.p.Abort()
}

// undoTree takes away, children first, every dataset of steps that exists: those the import
// received before it failed, and what a receive that was killed has not yet cleaned up (zfs
// receive ends its killed ioctl on its own, possibly after the wrapper we waited for: a busy
// dataset is tried again for a few seconds). Each was new (the target did not exist): a dataset
// and its one snapshot are destroyed without -r; one that gained anything else meanwhile is
// named instead.
func undoTree(s *stdio, z *zfs.ZFS, steps []treeStep) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := len(steps) - 1; i >= 0; i-- {
		d := steps[i].Recv.Target
		var err error
		for try := 0; try < 20; try++ {
			if err = undoOne(ctx, z, d, steps[i].Snapshot.Short()); err == nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			fmt.Fprintf(s.err, "vault import: warning: cannot take away %s, received by this failed import: %v (zfs destroy -r %s)\n", d, err, d)
		}
	}
}

// undoOne destroys d's snapshot short, if it has it, and then d, if d exists.
func undoOne(ctx context.Context, z *zfs.ZFS, d zfs.Dataset, short string) error {
	entries, err := z.List(ctx, []zfs.Dataset{d}, true, []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume, zfs.TypeSnapshot}, []zfs.Column{zfs.ColName})
	if zfs.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if sn, ok := e.Snapshot(); ok && sn.Dataset() == d && sn.Short() == short {
			if err := z.DestroySnapshots(ctx, d, []string{short}); err != nil {
				return err
			}
		}
	}
	return z.DestroyEmpty(ctx, d)
}
