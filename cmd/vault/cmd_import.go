package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"time"

	"filippo.io/age"
	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "import", summary: "verify, decrypt and receive an export from media, all or nothing: on the vault, or anywhere with --to (-I exports: see --help)", run: runImport})
}

const importUsage = `usage: vault import [-c FILE] [-v] [--verify-only] [--passphrase-file FILE | --ask-passphrase] MANIFEST
       vault import --to POOL/PATH --signer-key vault-ed25519:... (--identity FILE | --passphrase-file FILE | --ask-passphrase) [--no-properties] [--verify-only] [--zfs PATH] MANIFEST`

func runImport(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "import", importUsage,
		"\nOn the vault, with its configuration: checks the manifest's signature against the signers it\npins and that the signer may export the dataset (a tree export of several datasets goes with\n--to; one of a single dataset is taken like a full export), maps it to its media job's target,\nchecks the base is on the target and the snapshot is not (a replay is \"already imported\", exit\n0), then reads the media once: every segment is verified before it is decrypted, and zfs\nreceive gets the stream's end only when everything verified. Any failure leaves the target as\nit was, except with an -I export (vault export -I): zfs receive keeps each of its snapshots as\nit arrives, so a failure part-way leaves those received before it (vault import says which, and\nimporting the export again carries on from them). Run --verify-only first to find a bad medium\nbefore anything is received.\n\n--verify-only checks a medium completely (signature, signer, every segment, decryption to the\nend) and receives nothing: no zfs command runs. A break-glass passphrase (--passphrase-file or\n--ask-passphrase) decrypts with the export's NAME.breakglass.age instead of age_identity.",
		importToHelp)
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE` (not with --to)")
	verbose := fs.Bool("v", false, "log each step")
	verifyOnly := fs.Bool("verify-only", false, "verify and decrypt the whole export, receive nothing")
	var pass passphraseFlags
	pass.register(fs, "(instead of age_identity or --identity)")
	to := importToFlags{pass: &pass}
	to.register(fs)
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("name one MANIFEST; %s", importUsage)
	}
	if err := pass.check(); err != nil {
		return err
	}
	if err := to.check(fs); err != nil {
		return err
	}
	if to.to != "" {
		to.verifyOnly = *verifyOnly
		return runImportTo(ctx, s, to, fs.Arg(0))
	}
	c, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if c.AgeIdentity == "" && !pass.set() {
		return &exitError{code: exitUsage, err: errNoIdentity}
	}
	passphrase, err := pass.read(s, false)
	if err != nil {
		return err
	}
	media, name, err := openManifestDir(fs.Arg(0))
	if err != nil {
		return err
	}
	defer media.Close()
	im := &importRun{s: s, c: c, arg: fs.Arg(0), media: media, passphrase: passphrase}
	// 1. Who signed it, may they export this dataset, and where does it land?
	if err := im.admit(ctx, name); err != nil {
		return err
	}
	if *verifyOnly {
		ids, err := untilDone(ctx, func() ([]age.Identity, error) { return importIdentities(c, im.signed, media, passphrase) })
		if err != nil {
			return fmt.Errorf("refused %s: %w", im.arg, err)
		}
		return verifyExport(ctx, s, im.arg, im.signed, media, ids, im.dest.Signer, im.dest.Target)
	}
	local := &zfs.Local{Log: consoleLogger(s, *verbose).Named("zfs")}
	im.local, im.z = local, &zfs.ZFS{Bin: c.ZFSBinary, Exec: local}
	return im.receive(ctx)
}

// importRun is one vault import onto the vault, into a media job's target.
type importRun struct {
	s          *stdio
	c          *conf.Config
	arg        string // the MANIFEST as named
	media      *sneakernet.Media
	passphrase string
	local      *zfs.Local
	z          *zfs.ZFS

	signed *sneakernet.Signed
	m      sneakernet.Manifest
	dest   operate.Destination
	start  time.Time // when the stream started
}

// admit reads the manifest, checking its signature against the signers the configuration
// pins, and decides whether the export may come in and where (operate.Admit).
func (im *importRun) admit(ctx context.Context, name string) error {
	trusted := operate.TrustedSigners(im.c)
	signed, err := untilDone(ctx, func() (*sneakernet.Signed, error) { return sneakernet.ReadManifest(im.media, name, trusted) })
	if err != nil {
		return fmt.Errorf("refused %s: %w", im.arg, err)
	}
	im.signed, im.m = signed, signed.Manifest()
	if im.dest, err = operate.Admit(im.c, &im.m, signed.Signer()); err != nil {
		return fmt.Errorf("refused %s: %w", im.arg, err)
	}
	return nil
}

// receive checks the export against what its target holds, then verifies, decrypts and
// receives it in one pass, and records it.
func (im *importRun) receive(ctx context.Context) error {
	s, m, target := im.s, &im.m, im.dest.Target
	// 2. Does it fit what the target holds?
	h, err := operate.ListHoldings(ctx, im.z, target)
	if err != nil {
		return err
	}
	fit, err := operate.FitTarget(m, target, h)
	if err != nil {
		return fmt.Errorf("refused %s: %w", im.arg, err)
	}
	if fit.Already != "" {
		fmt.Fprintf(s.out, "already imported: %s is on %s as %s\n", m.ToSnapshot, target, fit.Already)
		return nil
	}
	// 3. What can be checked before a receive starts: volumes, first segment, identity.
	ids, err := untilDone(ctx, func() ([]age.Identity, error) { return importIdentities(im.c, im.signed, im.media, im.passphrase) })
	if err != nil {
		return fmt.Errorf("refused %s: %w", im.arg, err)
	}
	if err := preflight(ctx, im.signed, im.media, ids); err != nil {
		return fmt.Errorf("refused %s: %w", im.arg, err)
	}
	// An -I export is not all or nothing: say so before the receive starts.
	for _, line := range []string{intermediatesCaveat(im.arg, m, target.String()), alreadyLanded(im.arg, fit.Landed, target)} {
		if line != "" {
			fmt.Fprintf(s.err, "vault import: %s\n", line)
		}
	}
	// 4. One pass: verify, decrypt, receive.
	pj, err := operate.PullerJob(im.c, im.dest.Job)
	if err != nil {
		return err
	}
	n, err := im.stream(ctx, pj, h, ids)
	if err != nil {
		return err
	}
	return im.finish(ctx, pj, h, n)
}

// stream is the receive: the stream verified and decrypted into zfs receive. It is not
// resumable: on any failure nothing of it stays, but the snapshots of an -I export that were
// complete before it, and the parents it created are taken away again.
func (im *importRun) stream(ctx context.Context, pj *puller.Job, h operate.Holdings, ids []age.Identity) (int64, error) {
	s, z, m, target := im.s, im.z, &im.m, im.dest.Target
	// Every receive overrides what the stream could carry and the vault never wants (see
	// puller.ReceiveProps): the import runs as root, so a property in the stream would take
	// effect. A new target's type is not known before the stream arrives: the first receive
	// sets what holds for both types and the rest is set right after (-u: nothing is mounted
	// in between).
	recv := zfs.ReceiveOptions{Target: target, NotResumable: true}
	recv.Set, recv.Exclude = puller.ReceiveProps(pj, h.Type)
	cmd, err := z.ReceiveCmd(recv)
	if err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	cmd.Stdin = pr
	// The parents a new target needs are created now, as late as can be, and taken away again
	// if the import fails: a failed import leaves the pool as it was.
	created, err := createParents(ctx, s, z, target, h.Exists)
	if err != nil {
		return 0, err
	}
	p, err := im.local.Start(context.WithoutCancel(ctx), cmd)
	if err != nil {
		undoCreated(s, z, created)
		return 0, err
	}
	puller.WatchReceive(p, pr)
	// A signal ends the import even while a write to zfs receive blocks (a receive that stalls
	// stops reading): the pipe is closed under the writer, which then fails at once.
	defer context.AfterFunc(ctx, func() { pw.CloseWithError(context.Cause(ctx)) })()
	var counter atomic.Int64
	im.start = time.Now()
	stop := showBytes(s, "import "+m.ToSnapshot.Short(), m.StreamBytes, &counter)
	n, ierr := sneakernet.Import(ctx, im.signed, im.media, ids, &countWriter{w: pw, n: &counter})
	stop()
	if ierr != nil {
		pw.CloseWithError(ierr)
		_ = p.Abort()
		undoCreated(s, z, created)
		return 0, fmt.Errorf("%s: %w", whatStayed(z, "refused "+im.arg, m, target), ierr)
	}
	pw.Close()
	if err := p.Wait(); err != nil {
		undoCreated(s, z, created)
		return 0, fmt.Errorf("%s: %w", whatStayed(z, "zfs receive failed", m, target), err)
	}
	return n, nil
}

// finish is what follows a receive: the properties checked, the new snapshot held like a
// pulled one (the old base released), and the import recorded with the age of its data.
func (im *importRun) finish(ctx context.Context, pj *puller.Job, h operate.Holdings, n int64) error {
	s, z, m, target, job, start := im.s, im.z, im.m, im.dest.Target, im.dest.Job, im.start
	for _, warn := range receivedProps(ctx, z, pj, target, h.Type) {
		fmt.Fprintf(s.err, "vault import: warning: %s\n", warn)
	}
	// 5. Hold the new snapshot like a pulled one, and release the old base.
	newSnap, err := target.Snapshot(m.ToSnapshot.Short())
	if err != nil {
		return err
	}
	tag := pj.HoldTag()
	if err := z.Hold(ctx, tag, newSnap); err != nil {
		fmt.Fprintf(s.err, "vault import: warning: cannot hold %s: %v\n", newSnap, err)
	} else if m.FromGUID != 0 {
		if old, err := zfs.ParseSnapshot(h.Have[m.FromGUID]); err == nil {
			_ = z.Release(ctx, tag, old)
		}
	}
	// 6. How old is what arrived? The status counts the copy's age from its data, not from now.
	creation, cerr := snapshotCreation(ctx, z, newSnap)
	now := time.Now()
	data, warns := report.ImportDataTime(m.Created, creation, cerr, now)
	if w := report.StaleImport(im.arg, data, now, job.Name, job.RPO); w != "" {
		warns = append(warns, w)
	}
	for _, w := range warns {
		fmt.Fprintf(s.err, "vault import: warning: %s\n", w)
	}
	if err := journalImport(im.c, job.Name, target, m, n, time.Since(start), data); err != nil {
		fmt.Fprintf(s.err, "vault import: warning: cannot record the import: %v; vault status will not show it\n", err)
	}
	fmt.Fprintf(s.out, "imported %s from %s (signed by %s) into %s: %s in %s; its data is from %s, %s old\n", m.ToSnapshot, im.arg, im.dest.Signer, newSnap,
		bytefmt.IEC(n), time.Since(start).Round(100*time.Millisecond), data.Format("2006-01-02 15:04:05 UTC"), report.Age(max(now.Sub(data), 0)))
	return nil
}

// importIdentities returns what decrypts the export: the identity that the break-glass
// passphrase opens, if one was given, or the vault's age_identity.
func importIdentities(c *conf.Config, signed *sneakernet.Signed, media *sneakernet.Media, passphrase string) ([]age.Identity, error) {
	if passphrase != "" {
		return sneakernet.BreakGlassIdentities(signed, media, passphrase)
	}
	ids, err := sneakernet.ReadIdentityFile(c.AgeIdentity)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return ids, nil
}

// verifyExport reads the whole export as an import does, writing the stream nowhere: every
// segment checked against the signed manifest, the age payload authenticated to its end, the
// length right. It runs no zfs command.
func verifyExport(ctx context.Context, s *stdio, arg string, signed *sneakernet.Signed, media *sneakernet.Media, ids []age.Identity, signer string, target zfs.Dataset) error {
	m := signed.Manifest()
	if err := preflight(ctx, signed, media, ids); err != nil {
		return fmt.Errorf("refused %s: %w", arg, err)
	}
	var counter atomic.Int64
	start := time.Now()
	stop := showBytes(s, "verify "+m.ToSnapshot.Short(), m.StreamBytes, &counter)
	n, err := sneakernet.Import(ctx, signed, media, ids, &countWriter{w: io.Discard, n: &counter})
	stop()
	if err != nil {
		return fmt.Errorf("refused %s: %w", arg, err)
	}
	d := time.Since(start)
	fmt.Fprintf(s.out, "%s holds %s\n", arg, describeStream(&m))
	fmt.Fprintf(s.out, "verified %s (signed by %s): %d volume(s), %s of stream decrypted and authenticated in %s (%s/s); nothing received (it would go to %s)\n",
		arg, signer, len(m.Volumes), bytefmt.IEC(n), d.Round(100*time.Millisecond), bytefmt.IEC(int64(float64(n)/max(d.Seconds(), 1e-3))), target)
	return nil
}

// untilDone returns what f returns, or the context's error as soon as ctx ends if f has not
// returned by then. The steps before the stream (the manifest, the break-glass file, the
// preflight) read the media without a context; a read of a failing device can hang in the
// kernel, and a signal must still end vault import. These steps write nothing, so leaving
// one behind, until the process exits, is safe. (sneakernet.Import returns on its own when
// ctx ends.)
func untilDone[T any](ctx context.Context, f func() (T, error)) (T, error) {
	var zero T
	if ctx.Err() != nil {
		return zero, fmt.Errorf("stopped: %w", context.Cause(ctx))
	}
	type result struct {
		v   T
		err error
	}
	c := make(chan result, 1)
	go func() {
		v, err := f()
		c <- result{v, err}
	}()
	select {
	case r := <-c:
		return r.v, r.err
	case <-ctx.Done():
		return zero, fmt.Errorf("stopped: %w", context.Cause(ctx))
	}
}

func preflight(ctx context.Context, signed *sneakernet.Signed, media *sneakernet.Media, ids []age.Identity) error {
	_, err := untilDone(ctx, func() (struct{}, error) { return struct{}{}, sneakernet.Preflight(signed, media, ids) })
	return err
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// showBytes prints progress (bytes, rate, ETA) on a terminal until stopped.
func showBytes(s *stdio, what string, total int64, n *atomic.Int64) func() {
	if !isTerminal(s, s.err) {
		return func() {}
	}
	return drawProgress(s.err, what, total, n)
}

// journalImport records the import in the journal and as the media job's "pull", whose copy's
// data was made at data (report.ImportDataTime). An error means nothing was recorded.
func journalImport(c *conf.Config, job string, target zfs.Dataset, m sneakernet.Manifest, n int64, d time.Duration, data time.Time) error {
	store, err := openStateForConsole(c)
	if err != nil {
		return err
	}
	defer store.Close()
	j, err := store.OpenJournal()
	if err != nil {
		return err
	}
	defer j.Close()
	_ = j.Append(state.Record{Time: time.Now(), Kind: state.KindImport, Job: job, Dataset: m.Dataset.String(),
		Outcome: state.OutcomeOK, Bytes: n, DurationMS: d.Milliseconds(),
		Details: map[string]string{"snapshot": m.ToSnapshot.String(), "host": m.Host, "data_time": data.UTC().Format(time.RFC3339)}})
	// The import is the media job's "pull": its state says when the copy was last good.
	r := &puller.Report{Job: job, Started: time.Now().Add(-d), Duration: d, Datasets: []puller.DatasetReport{{
		Source: m.Dataset, Target: target, Outcome: puller.OK, Bytes: n, Newest: m.ToSnapshot.Short(), DataTime: data,
		Steps: []puller.StepReport{{Kind: importKind(m), To: m.ToSnapshot.Short(), Bytes: n}}}}}
	operate.NewRecords(store, j, hclog.NewNullLogger()).Record(c, r)
	return nil
}

func importKind(m sneakernet.Manifest) puller.StepKind {
	if m.FromGUID == 0 {
		return puller.Full
	}
	return puller.Incremental
}

// openManifestDir opens the directory of the manifest at path as the media, and returns the
// manifest's name in it. Every file of the export is opened through media: in that directory
// only, never through a symbolic link, never blocking, regular files only.
func openManifestDir(path string) (*sneakernet.Media, string, error) {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	media, err := sneakernet.OpenMedia(dir)
	if err != nil {
		return nil, "", &exitError{code: exitUsage, err: fmt.Errorf("cannot open the media directory: %w", err)}
	}
	return media, name, nil
}
