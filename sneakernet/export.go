package sneakernet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/props"
	"github.com/belltech/vault/zfs"
)

// ExportOptions describes one export. Zero sizes take the defaults.
type ExportOptions struct {
	// Dir is the directory the files go to; it must exist. Name is their base name: the
	// export is NAME.manifest, NAME.manifest.sig and NAME.vol0001, NAME.vol0002, ...
	Dir  string
	Name string

	VolumeSize  int64 // bytes; DefaultVolumeSize if 0. At least SegmentSize.
	SegmentSize int64 // bytes; DefaultSegmentSize if 0.

	// Recipients are *age.X25519Recipient or *age.HybridRecipient values, or a single
	// *age.ScryptRecipient: age allows a passphrase only as the one recipient of a file.
	Recipients []age.Recipient
	// SigningKey is the exporting host's key; it signs the manifest.
	SigningKey ed25519.PrivateKey

	// Passphrase, if not empty, adds a break-glass way in that needs only the age command
	// line: a fresh X25519 identity is made for this export, its recipient is added to the
	// stream's, and the identity is written to NAME.breakglass.age, encrypted with the
	// passphrase (an age scrypt recipient). `age -d NAME.breakglass.age >id` then opens the
	// volumes. The identity exists nowhere else and is never reused.
	Passphrase string
	// scryptWorkFactor is for tests, which cannot wait for age's default; 0 is the default.
	scryptWorkFactor int

	// What the stream is, recorded in the manifest. At most one of FromSnapshot and
	// FromBookmark is set; FromGUID is its guid.
	Host         string
	FromSnapshot zfs.Snapshot
	FromBookmark zfs.Bookmark
	FromGUID     uint64
	ToSnapshot   zfs.Snapshot
	ToGUID       uint64
	Raw          bool
	Created      time.Time // the caller's now; recorded in UTC, whole seconds
	// Intermediates are the snapshots strictly between the source and ToSnapshot, oldest
	// first, for a zfs send -I stream; empty for -i and full streams.
	Intermediates []Intermediate
	// Members make a tree export (format FormatTree): the root (ToSnapshot, path "") first,
	// then its descendants, parents before children, their StreamBytes left 0. The caller
	// writes the members' streams one after the other and calls [Exporter.EndMember] after
	// each; Commit records the lengths.
	Members []Member
}

// ErrEmptyStream is wrapped by the error of Commit (or Export) for a stream without a single
// byte.
var ErrEmptyStream = errors.New("the stream is empty: zfs send wrote nothing")

// partialSuffix marks a file that is still being written. Only NAME.manifest makes an export
// complete, and it is written last: the stream's length is known only at its end.
const partialSuffix = ".partial"

// Exporter writes one export. Write it the stream, then Commit if the stream is complete
// (for zfs send: after its exit status said so), or Abort; one of them must be called, to
// finish or remove the files and release the directory. An Exporter is not safe for
// concurrent use; to stop one from another goroutine, end the stream (kill zfs send), let
// the Write return, then Abort.
//
// Nothing is created before the first byte of the stream. Volumes are written as
// NAME.volNNNN.partial, each created when its first byte is ready and synced when full.
// Commit renames them, then writes the signature and last the manifest, each to a .partial
// file that is synced and renamed, and syncs the directory. Abort, and any failure of
// Commit, remove every file created, manifest first, so a failed export never leaves a
// manifest; a crash leaves only .partial files, or volumes without a manifest. An export
// never replaces a file.
type Exporter struct {
	o       ExportOptions
	m       *Manifest // the fields known up front
	d       exportDir
	closeFn func() error // closes d

	w          *volumeWriter
	recipients []age.Recipient // o.Recipients and the break-glass identity's, if any
	breakGlass []byte          // the contents of NAME.breakglass.age, or nil
	enc        io.WriteCloser  // the age writer, from the first byte on
	plain      int64
	memberEnd  int64 // plain at the end of the last member ended
	members    int   // members ended
	err        error // sticky: a failed Write fails Commit
	done       bool  // committed or aborted
}

// NewExporter validates o and checks that o.Dir holds no file of an export called o.Name.
// It creates no file.
func NewExporter(o ExportOptions) (*Exporter, error) {
	tmpl, err := o.check()
	if err != nil {
		return nil, fmt.Errorf("cannot export: %w", err)
	}
	root, err := os.OpenRoot(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("cannot export: %w", err)
	}
	x, err := newExporter(o, tmpl, rootDir{root})
	if err != nil {
		root.Close()
		return nil, err
	}
	x.closeFn = root.Close
	return x, nil
}

func newExporter(o ExportOptions, m *Manifest, d exportDir) (*Exporter, error) {
	names, err := d.list()
	if err != nil {
		return nil, fmt.Errorf("cannot export %s: %w", o.Name, err)
	}
	for _, n := range names {
		if isExportFile(o.Name, n) {
			return nil, fmt.Errorf("cannot export %s: %s is already in %s: choose another name, or remove the old export first", o.Name, n, o.Dir)
		}
	}
	x := &Exporter{
		o: o, m: m, d: d, recipients: o.Recipients,
		w: &volumeWriter{d: d, base: o.Name, segSize: o.SegmentSize, volSegs: int(o.VolumeSize / o.SegmentSize)},
	}
	if o.Passphrase != "" {
		if err := x.makeBreakGlass(); err != nil {
			return nil, fmt.Errorf("cannot export %s: %w", o.Name, err)
		}
	}
	return x, nil
}

// makeBreakGlass makes the export's break-glass identity, adds its recipient to the
// stream's and to the manifest, and encrypts it with the passphrase. Nothing is written yet:
// Commit writes the file, before the manifest that lists it.
func (x *Exporter) makeBreakGlass() error {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	sr, err := age.NewScryptRecipient(x.o.Passphrase)
	if err != nil {
		return fmt.Errorf("break-glass passphrase: %w", err)
	}
	if x.o.scryptWorkFactor != 0 {
		sr.SetWorkFactor(x.o.scryptWorkFactor)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, sr)
	if err != nil {
		return err
	}
	if _, err := w.Write(MarshalIdentity(id, x.m.Created)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	rcpt := id.Recipient()
	rs := append(slices.Clone(x.m.Recipients), rcpt.String())
	if err := checkRecipientList(rs); err != nil {
		return err
	}
	x.m.Recipients = rs
	x.recipients = append(slices.Clone(x.o.Recipients), rcpt)
	sum := sha256.Sum256(buf.Bytes())
	x.m.BreakGlass = &BreakGlass{File: x.o.Name + breakGlassSuffix, Bytes: int64(buf.Len()),
		SHA256: hex.EncodeToString(sum[:]), Recipient: rcpt.String()}
	x.breakGlass = buf.Bytes()
	return nil
}

// Write encrypts p into the volumes.
func (x *Exporter) Write(p []byte) (int, error) {
	if x.err != nil {
		return 0, x.err
	}
	if x.done {
		return 0, errors.New("cannot export: Write after Commit or Abort")
	}
	if len(p) == 0 {
		return 0, nil
	}
	if x.enc == nil {
		enc, err := age.Encrypt(x.w, x.recipients...)
		if err != nil {
			return 0, x.fail(err)
		}
		x.enc = enc
	}
	n, err := x.enc.Write(p)
	x.plain += int64(n)
	if err != nil {
		return n, x.fail(err)
	}
	return n, nil
}

// fail records the first error, preferring the volume writer's own to age's wrapping of it.
func (x *Exporter) fail(err error) error {
	if x.w.err != nil {
		err = x.w.err
	}
	x.err = fmt.Errorf("cannot export %s: %w", x.o.Name, err)
	return x.err
}

// EndMember records that the stream of the next member of a tree export is complete: every
// byte written since the previous EndMember (or the start) is that member's.
func (x *Exporter) EndMember() error {
	switch {
	case x.err != nil:
		return x.err
	case x.done:
		return errors.New("cannot export: EndMember after Commit or Abort")
	case x.members == len(x.m.Members):
		return fmt.Errorf("cannot export %s: every member's stream has ended already", x.o.Name)
	case x.plain == x.memberEnd:
		return x.fail(fmt.Errorf("%s: %w", x.m.Members[x.members].Snapshot, ErrEmptyStream))
	}
	x.m.Members[x.members].StreamBytes = x.plain - x.memberEnd
	x.memberEnd = x.plain
	x.members++
	return nil
}

// Commit ends the stream and completes the export: the last volume, the signature and the
// manifest. It returns the manifest written. On failure it removes every file created.
func (x *Exporter) Commit() (_ *Manifest, err error) {
	if x.done {
		return nil, errors.New("cannot export: Commit after Commit or Abort")
	}
	defer func() {
		if err != nil {
			if aerr := x.Abort(); aerr != nil {
				err = errors.Join(err, aerr)
			}
		}
	}()
	if x.err != nil {
		return nil, x.err
	}
	if x.enc == nil {
		return nil, fmt.Errorf("cannot export %s: %w", x.o.Name, ErrEmptyStream)
	}
	if x.m.IsTree() && x.members != len(x.m.Members) {
		return nil, fmt.Errorf("cannot export %s: %d of %d members' streams ended", x.o.Name, x.members, len(x.m.Members))
	}
	if err := x.enc.Close(); err != nil {
		return nil, x.fail(err)
	}
	if err := x.commit(); err != nil {
		return nil, fmt.Errorf("cannot export %s: %w", x.o.Name, err)
	}
	x.done = true
	if x.closeFn != nil {
		x.closeFn()
	}
	return x.m, nil
}

func (x *Exporter) commit() error {
	w, m := x.w, x.m
	if err := w.finish(); err != nil {
		return err
	}
	m.StreamBytes = x.plain
	m.CiphertextBytes = w.total
	m.Segments = w.segments
	m.Volumes = w.volumes
	if err := m.validate(); err != nil {
		return fmt.Errorf("internal error: the manifest written would not import: %w", err)
	}
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	sig := signManifest(x.o.SigningKey, data)
	manifestName := x.o.Name + ".manifest"
	for i := range w.volumes {
		if err := w.commit(w.volumes[i].File); err != nil {
			return err
		}
	}
	if x.breakGlass != nil {
		if err := w.writeFile(m.BreakGlass.File, x.breakGlass); err != nil {
			return err
		}
	}
	if err := w.writeFile(manifestName+SigSuffix, sig); err != nil {
		return err
	}
	if err := w.writeFile(manifestName, data); err != nil {
		return err
	}
	if err := x.d.sync(); err != nil {
		return fmt.Errorf("cannot sync %s: %w", x.o.Dir, err)
	}
	return nil
}

// Abort removes every file the export created. It does nothing after a successful Commit,
// and may be called more than once.
func (x *Exporter) Abort() error {
	if x.done {
		return nil
	}
	x.done = true
	if x.err == nil {
		x.err = errors.New("cannot export: aborted")
	}
	err := x.w.cleanup()
	if x.closeFn != nil {
		x.closeFn()
	}
	return err
}

// Export writes stream to an export with an [Exporter] and commits it when stream returns
// io.EOF, or aborts it on any error, including ctx ending. stream's EOF must mean that the
// stream is complete: that is not so for zfs send's stdout, which a killed zfs send simply
// closes. For zfs send, use an Exporter and Commit only after zfs send has exited 0.
func Export(ctx context.Context, stream io.Reader, o ExportOptions) (*Manifest, error) {
	x, err := NewExporter(o)
	if err != nil {
		return nil, err
	}
	return x.copyAndCommit(ctx, stream)
}

func (x *Exporter) copyAndCommit(ctx context.Context, stream io.Reader) (*Manifest, error) {
	src := &ctxReader{ctx: ctx, r: stream}
	if _, err := io.CopyBuffer(x, src, make([]byte, 64<<10)); err != nil {
		if src.err != nil {
			err = fmt.Errorf("cannot export %s: cannot read the stream: %w", x.o.Name, src.err)
		}
		if aerr := x.Abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return nil, err
	}
	return x.Commit()
}

// check validates o, fills in the defaults and returns the manifest fields known up front.
func (o *ExportOptions) check() (*Manifest, error) {
	if o.Dir == "" {
		return nil, errors.New("no output directory")
	}
	if err := checkBaseName(o.Name); err != nil {
		return nil, fmt.Errorf("export name: %w", err)
	}
	if len(o.Name) > maxNameLen {
		return nil, fmt.Errorf("export name %s is longer than %d bytes", quoteTrunc(o.Name, 60), maxNameLen)
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.VolumeSize == 0 {
		o.VolumeSize = DefaultVolumeSize
	}
	if o.SegmentSize < MinSegmentSize || o.SegmentSize > MaxSegmentSize {
		return nil, fmt.Errorf("segment size %d is not between %d and %d", o.SegmentSize, MinSegmentSize, MaxSegmentSize)
	}
	if o.VolumeSize < o.SegmentSize {
		return nil, fmt.Errorf("volume size %d is smaller than the segment size %d", o.VolumeSize, o.SegmentSize)
	}
	if len(o.SigningKey) != ed25519.PrivateKeySize {
		return nil, errors.New("no signing key; create one with `vault keygen`")
	}
	if !ed25519.NewKeyFromSeed(o.SigningKey.Seed()).Equal(o.SigningKey) {
		return nil, errors.New("the signing key is damaged: its public half does not match its seed")
	}
	if o.Passphrase != "" && len(o.Passphrase) < MinPassphraseLen {
		return nil, fmt.Errorf("the break-glass passphrase is %d bytes; use at least %d (several random words): it alone guards the media", len(o.Passphrase), MinPassphraseLen)
	}
	rs, err := recipientStrings(o.Recipients)
	if err != nil {
		return nil, err
	}
	var ds zfs.Dataset
	if !o.ToSnapshot.IsZero() {
		ds = o.ToSnapshot.Dataset()
	}
	m := &Manifest{
		Format:       Format,
		Created:      o.Created.UTC().Truncate(time.Second),
		Host:         o.Host,
		Dataset:      ds,
		FromSnapshot: o.FromSnapshot,
		FromBookmark: o.FromBookmark,
		FromGUID:     o.FromGUID,
		ToSnapshot:   o.ToSnapshot,
		ToGUID:       o.ToGUID,
		Raw:          o.Raw,
		SegmentSize:  o.SegmentSize,
		Recipients:   rs,
		Signer:       conf.FormatSignerKey(o.SigningKey.Public().(ed25519.PublicKey)),
	}
	if len(o.Intermediates) > 0 {
		m.Intermediates = slices.Clone(o.Intermediates)
	}
	if len(o.Members) > 0 {
		m.Format = FormatTree
		m.Members = slices.Clone(o.Members)
		for i := range m.Members {
			m.Members[i].StreamBytes = 0
			m.Members[i].Properties = maps.Clone(m.Members[i].Properties)
			if m.Members[i].Properties == nil {
				m.Members[i].Properties = props.Set{}
			}
		}
	}
	if o.Created.IsZero() {
		return nil, errors.New("no creation time")
	}
	if err := m.validateMeta(); err != nil {
		// Name the problem by its manifest field, without calling the options a manifest.
		return nil, errors.New(strings.TrimPrefix(err.Error(), ErrInvalidManifest.Error()+": "))
	}
	return m, nil
}

func recipientStrings(rs []age.Recipient) ([]string, error) {
	if len(rs) == 0 {
		return nil, errors.New("no recipients: give at least one age recipient")
	}
	var out []string
	for i, r := range rs {
		switch r := r.(type) {
		case *age.X25519Recipient:
			out = append(out, r.String())
		case *age.HybridRecipient:
			out = append(out, r.String())
		case *age.ScryptRecipient:
			if len(rs) != 1 {
				return nil, errors.New("a passphrase can't be combined with other recipients (age allows a passphrase only as a file's one recipient); for break-glass access, set a break-glass passphrase instead (vault export --passphrase-file), which protects a recipient of its own")
			}
			out = append(out, PassphraseRecipient)
		default:
			return nil, fmt.Errorf("recipient #%d: unsupported recipient type %T", i, r)
		}
	}
	if err := checkRecipientList(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ctxReader stops reading when ctx ends and keeps the read error.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}
