package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "export", summary: "on an offline host: zfs send -> age -> volumes + a signed manifest, on media", run: runExport})
}

const exportUsage = "usage: vault export --to DIR --signing-key FILE --recipient AGE1... [--recipient ...] [--passphrase-file FILE | --ask-passphrase] [--from SNAP] [-I] [--name NAME] [--volume-size SIZE] [--host NAME] [--zfs PATH] DATASET@SNAP"

// breakGlassHelp explains the passphrase flags of both export commands.
const breakGlassHelp = "\nWith a break-glass passphrase (--passphrase-file or --ask-passphrase), the export also gets\nNAME.breakglass.age: a fresh age identity, one of the stream's recipients, encrypted with the\npassphrase. Without vault: `age -d NAME.breakglass.age >id` (asks for the passphrase), then\n`cat NAME.vol* | age -d -i id | zfs receive ...`; with vault: vault import --passphrase-file."

// recipients collects repeated --recipient flags.
type recipients []string

func (r *recipients) String() string     { return strings.Join(*r, ",") }
func (r *recipients) Set(s string) error { *r = append(*r, s); return nil }

func runExport(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "export", exportUsage,
		"\nOn a host with no network path to the vault: sends DATASET@SNAP (full, or incremental\nfrom --from), encrypts it to the age recipients, cuts it into volumes for the media in DIR\nand writes a manifest signed with the host's key. Needs no configuration and no daemon.\n\nWith -I the stream also carries every snapshot between --from and SNAP, and the manifest\nlists them. zfs receive keeps each one as it arrives, so unlike other exports its import is\nnot all or nothing: an import that fails part-way leaves the snapshots received before the\nfailure on the target (importing the export again from intact media carries on from them).",
		breakGlassHelp)
	var rcpts recipients
	dir := fs.String("to", "", "the `DIR`ectory on the media")
	keyFile := fs.String("signing-key", "", "the host's signing key `FILE` (vault keygen --signing)")
	fs.Var(&rcpts, "recipient", "an age `RECIPIENT` (age1...) to encrypt to; repeat for several")
	from := fs.String("from", "", "incremental source `SNAP` (name or DATASET@NAME)")
	intermediates := fs.Bool("I", false, "with --from, include every snapshot in between (-I)")
	name := fs.String("name", "", "base `NAME` of the files (default: DATASET_SNAP with / and @ replaced)")
	volSize := fs.String("volume-size", "", "largest volume, e.g. 4000MiB (default just under 4 GiB, for FAT32)")
	host := fs.String("host", "", "the host `NAME` recorded in the manifest (default: the hostname)")
	zfsBin := fs.String("zfs", "/sbin/zfs", "the zfs binary")
	var pass passphraseFlags
	pass.register(fs, "(at least 12 characters)")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("name one DATASET@SNAP to export; %s", exportUsage)
	}
	if err := pass.check(); err != nil {
		return err
	}
	snap, err := zfs.ParseSnapshot(fs.Arg(0))
	if err != nil {
		return usageErrorf("%v", err)
	}
	var fromSnap zfs.Snapshot
	if *from != "" {
		f := *from
		if !strings.Contains(f, "@") {
			f = snap.Dataset().String() + "@" + strings.TrimPrefix(f, "@")
		}
		if fromSnap, err = zfs.ParseSnapshot(f); err != nil {
			return usageErrorf("--from: %v", err)
		}
	}
	if *intermediates && fromSnap.IsZero() {
		return usageErrorf("-I needs --from")
	}
	if *dir == "" || *keyFile == "" || len(rcpts) == 0 {
		return usageErrorf("--to, --signing-key and at least one --recipient are needed; %s", exportUsage)
	}
	o, err := mediaOptions(s, rcpts, *keyFile, *volSize, &pass)
	if err != nil {
		return err
	}
	if *host == "" {
		*host, _ = os.Hostname()
	}
	if *name == "" {
		*name = exportName(snap)
	}
	o.Dir, o.Name, o.Host = *dir, *name, *host
	local := &zfs.Local{}
	z := &zfs.ZFS{Bin: *zfsBin, Exec: local}
	m, err := exportSnapshot(ctx, s, z, local, snap, fromSnap, *intermediates, o)
	if err != nil {
		return err
	}
	printExported(s, snap, *dir, *name, m)
	return nil
}

func printExported(s *stdio, snap zfs.Snapshot, dir, name string, m *sneakernet.Manifest) {
	fmt.Fprintf(s.out, "exported %s (%s of stream) to %s: %d volume(s) and %s.manifest\n", snap, bytefmt.IEC(m.StreamBytes), dir, len(m.Volumes), name)
	if m.IsTree() {
		fmt.Fprintf(s.out, "a tree of %d dataset(s), for vault import --to POOL/PATH --signer-key %s on the host being restored\n", len(m.Members), m.Signer)
	}
	if line := intermediatesCaveat(name+".manifest", m, "its target"); line != "" {
		fmt.Fprintf(s.err, "vault export: %s\n", line)
	}
	if m.BreakGlass != nil {
		fmt.Fprintf(s.out, "break-glass: %s opens it with the passphrase alone: age -d %s >id; cat %s.vol* | age -d -i id | zfs receive ...\n", m.BreakGlass.File, m.BreakGlass.File, name)
	}
}

// mediaOptions reads what both vault export and vault restore export take: the age
// recipients, the signing key, the volume size and the break-glass passphrase, into the export
// options (the caller adds where, what name and which host).
func mediaOptions(s *stdio, rcpts []string, keyFile, volSize string, pass *passphraseFlags) (sneakernet.ExportOptions, error) {
	var o sneakernet.ExportOptions
	for _, r := range rcpts {
		x, err := age.ParseX25519Recipient(r)
		if err != nil {
			return o, usageErrorf("--recipient %q: %v", r, err)
		}
		o.Recipients = append(o.Recipients, x)
	}
	key, err := sneakernet.ReadSigningKeyFile(keyFile)
	if err != nil {
		return o, &exitError{code: exitUsage, err: err}
	}
	o.SigningKey = key
	if volSize != "" {
		vs, err := conf.ParseSize(volSize)
		if err != nil {
			return o, usageErrorf("--volume-size %q: %v", volSize, err)
		}
		o.VolumeSize = int64(vs)
	}
	if o.Passphrase, err = pass.read(s, true); err != nil {
		return o, err
	}
	return o, nil
}

// exportName is the default name of an export of snap: its full name, made a file name.
func exportName(snap zfs.Snapshot) string {
	return strings.NewReplacer("/", "_", "@", "_", " ", "_", ":", "_").Replace(snap.String())
}

// exportOptionsOf completes o with what the manifest says of the stream: the snapshots and
// their GUIDs, raw for an encrypted dataset, and the snapshots in between for an -I export.
func exportOptionsOf(ctx context.Context, z *zfs.ZFS, snap, from zfs.Snapshot, intermediates bool, o sneakernet.ExportOptions) (sneakernet.ExportOptions, error) {
	guid := func(n zfs.Name) (uint64, error) {
		props, err := z.Get(ctx, []string{"guid"}, n)
		if err != nil {
			return 0, err
		}
		if len(props) != 1 {
			return 0, fmt.Errorf("zfs get guid %s: %d answers", n, len(props))
		}
		return strconv.ParseUint(props[0].Value, 10, 64)
	}
	var err error
	if o.ToGUID, err = guid(snap); err != nil {
		return o, err
	}
	o.ToSnapshot = snap
	if !from.IsZero() {
		if o.FromGUID, err = guid(from); err != nil {
			return o, err
		}
		o.FromSnapshot = from
	}
	enc, err := z.Get(ctx, []string{"encryption"}, snap.Dataset())
	if err != nil {
		return o, err
	}
	o.Raw = len(enc) == 1 && enc[0].Value != "off" && enc[0].Value != "-"
	if intermediates {
		if o.Intermediates, err = sentBetween(ctx, z, from, snap); err != nil {
			return o, err
		}
	}
	return o, nil
}

// exportSnapshot sends snap (incremental from from, if set) through the sneakernet exporter.
// The export is committed only after zfs send exited 0: a send that dies early closes its
// output like a finished one.
func exportSnapshot(ctx context.Context, s *stdio, z *zfs.ZFS, st zfs.Starter, snap, from zfs.Snapshot, intermediates bool, o sneakernet.ExportOptions) (*sneakernet.Manifest, error) {
	o, err := exportOptionsOf(ctx, z, snap, from, intermediates, o)
	if err != nil {
		return nil, err
	}
	o.Created = time.Now()
	send := zfs.SendOptions{Snapshot: snap, FromSnapshot: from, Intermediates: intermediates, Raw: o.Raw}
	estimate := int64(-1) // zfs's estimate of the stream, for the progress display; -1: unknown
	if o.SegmentSize == 0 {
		// The manifest holds at most sneakernet.MaxSegments segments: a stream larger than that
		// many default segments (1 TiB) needs larger ones, chosen from zfs's estimate.
		est, err := z.SendSize(ctx, send)
		if err != nil {
			fmt.Fprintf(s.err, "vault export: warning: cannot estimate the stream's size (%v); a stream over %s will fail\n", err, bytefmt.IEC(sneakernet.MaxSegments*sneakernet.DefaultSegmentSize))
		} else {
			estimate = est
		}
		o.SegmentSize = sneakernet.SegmentSizeFor(est)
	}
	cmd, err := z.SendCmd(send)
	if err != nil {
		return nil, err
	}
	x, err := sneakernet.NewExporter(o)
	if err != nil {
		return nil, err
	}
	p, err := st.Start(ctx, cmd)
	if err != nil {
		_ = x.Abort()
		return nil, err
	}
	buf := make([]byte, 1<<20)
	var counter atomic.Int64
	stop := showBytes(s, "export "+snap.Short(), estimate, &counter)
	_, err = io.CopyBuffer(&countWriter{w: x, n: &counter}, p.Stdout(), buf)
	stop()
	if err != nil {
		_ = p.Abort()
		_ = x.Abort()
		return nil, fmt.Errorf("export failed, nothing left on the media: %w", err)
	}
	if err := p.Wait(); err != nil {
		_ = x.Abort()
		return nil, fmt.Errorf("zfs send failed, nothing left on the media: %w", err)
	}
	if intermediates {
		// The manifest lists what the stream carries: the snapshots in between, listed before
		// the send, must all still be there (one destroyed meanwhile is not in the stream).
		after, err := sentBetween(ctx, z, from, snap)
		if err == nil && !slices.Equal(after, o.Intermediates) {
			err = fmt.Errorf("the snapshots between %s and %s changed during the send; export again", from, snap)
		}
		if err != nil {
			_ = x.Abort()
			return nil, fmt.Errorf("nothing left on the media: %w", err)
		}
	}
	return x.Commit()
}

// sentBetween lists the snapshots that zfs send -I from snap carries before snap, oldest first.
func sentBetween(ctx context.Context, z *zfs.ZFS, from, snap zfs.Snapshot) ([]sneakernet.Intermediate, error) {
	entries, err := z.List(ctx, []zfs.Dataset{snap.Dataset()}, true, []zfs.Type{zfs.TypeSnapshot}, []zfs.Column{zfs.ColName, zfs.ColGUID, zfs.ColCreateTXG})
	if err != nil {
		return nil, fmt.Errorf("cannot list the snapshots of %s: %w", snap.Dataset(), err)
	}
	between, err := zfs.Intermediates(entries, from, snap)
	if err != nil {
		return nil, fmt.Errorf("cannot tell which snapshots -I sends: %w", err)
	}
	if len(between) > sneakernet.MaxIntermediates {
		return nil, fmt.Errorf("-I would send %d snapshots between %s and %s; an export holds at most %d: export in steps", len(between), from, snap, sneakernet.MaxIntermediates)
	}
	var xs []sneakernet.Intermediate
	for _, e := range between {
		sn, _ := e.Snapshot()
		xs = append(xs, sneakernet.Intermediate{Snapshot: sn, GUID: e.GUID})
	}
	return xs, nil
}
