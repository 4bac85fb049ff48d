package sneakernet

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
)

// HoldBack is how many bytes at the end of the stream, at least, Import withholds from its
// writer until every segment has verified, every volume had exactly its size, age
// authenticated the final chunk and the stream had the manifest's length. A zfs stream's END
// record is its last 312 bytes; without it zfs receive commits nothing. Import writes in
// pieces of HoldBack bytes.
const HoldBack = 1 << 20

// Reason says what is wrong with a volume.
type Reason int

const (
	Missing    Reason = iota + 1 // the file is not there
	NotRegular                   // the file is a directory, device, pipe, ...
	Truncated                    // shorter than the manifest says
	ExtraBytes                   // longer than the manifest says
	Swapped                      // holds another volume's data
	Corrupt                      // a segment's hash does not match the manifest
	ReadFailed                   // reading the file failed
)

var reasonText = map[Reason]string{
	Missing: "missing", NotRegular: "not a regular file", Truncated: "truncated",
	ExtraBytes: "extra bytes", Swapped: "swapped", Corrupt: "corrupt", ReadFailed: "read failed",
}

func (r Reason) String() string {
	if s, ok := reasonText[r]; ok {
		return s
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// VolumeError is returned by Import for a volume it refuses.
type VolumeError struct {
	File    string // the volume's file name
	Volume  int    // its number, 1-based
	Volumes int    // how many the export has
	Reason  Reason
	Segment int   // Corrupt: index of the first segment that does not match
	Offset  int64 // Corrupt: where that segment starts in the volume
	Size    int64 // Truncated, ExtraBytes: the file's size
	Want    int64 // Truncated, ExtraBytes: the size in the manifest
	Other   int   // Swapped: the number of the volume whose data the file holds
	Err     error // ReadFailed, NotRegular: the underlying error
}

func (e *VolumeError) Error() string {
	v := fmt.Sprintf("volume %d of %d (%s)", e.Volume, e.Volumes, e.File)
	switch e.Reason {
	case Missing:
		return v + " is missing: copy it from the export media into the directory of the manifest"
	case NotRegular:
		var nr *NotRegularError
		if errors.As(e.Err, &nr) {
			return v + " is " + nr.Kind + ", not a regular file: the media is not a vault export"
		}
		return v + " is not a regular file"
	case Truncated:
		return fmt.Sprintf("%s is truncated: %d bytes, the manifest says %d; copy it again from the export media", v, e.Size, e.Want)
	case ExtraBytes:
		return fmt.Sprintf("%s is %d bytes, longer than the %d the manifest says: something was added to it after the export", v, e.Size, e.Want)
	case Swapped:
		return fmt.Sprintf("%s holds the data of volume %d: the volume files were renamed or swapped; give each its name from the export", v, e.Other)
	case Corrupt:
		return fmt.Sprintf("%s is corrupt: the segment at byte %d (segment %d of the export) does not match the signed manifest; copy it again from the export media", v, e.Offset, e.Segment)
	case ReadFailed:
		return fmt.Sprintf("cannot read %s: %v", v, e.Err)
	}
	return fmt.Sprintf("%s: %v", v, e.Reason)
}

func (e *VolumeError) Unwrap() error { return e.Err }

// ErrWrongIdentity is wrapped by Import's error when none of the identities can decrypt the
// export.
var ErrWrongIdentity = errors.New("none of the age identities can decrypt this export")

// Import reads the volumes of s from media in one pass, verifies each segment against the
// signed manifest before any byte of it is decrypted, decrypts with ids and writes the zfs
// stream to out, which is typically zfs receive's stdin. It returns the number of bytes
// written to out, which is the manifest's StreamBytes when the error is nil.
//
// The last [HoldBack] bytes of the stream reach out only once everything has verified: on
// any error they have not, so a zfs receive reading out never sees the stream's END record
// and commits nothing. The caller must then abort the receive (kill it, or close its stdin
// and let it fail). Import does not return while out.Write blocks; if ctx ends, the caller
// must unblock it (kill zfs receive).
//
// Before it reads any data Import checks that every volume is there with its size. It opens
// volumes by their names in the manifest, which [VerifyManifest] has checked are plain base
// names, through media, which reads only regular files in its directory.
//
// Import returns soon after ctx ends, with ctx's error, even if a read of the media is stuck
// (a failing device): the goroutine that reads then closes its volume when the read returns.
func Import(ctx context.Context, s *Signed, media *Media, ids []age.Identity, out io.Writer) (int64, error) {
	if s == nil {
		return 0, errors.New("cannot import: no verified manifest")
	}
	if len(ids) == 0 {
		return 0, errors.New("cannot import: no age identities")
	}
	if media == nil {
		return 0, errors.New("cannot import: no media")
	}
	m := &s.m
	im := &importer{m: m, media: media, hashes: decodeHashes(m)}
	for i := range m.Volumes {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("cannot import: %w", err)
		}
		if err := im.preflight(i); err != nil {
			return 0, err
		}
	}
	if err := checkBreakGlass(m, media); err != nil {
		return 0, err
	}

	v := newVerifier(ctx, im)
	defer v.stop()
	r, err := age.Decrypt(v, ids...)
	if err != nil {
		if verr := v.failure(); verr != nil {
			return 0, verr
		}
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			to := strings.Join(m.Recipients, ", ")
			if to == PassphraseRecipient {
				to = "a passphrase"
			}
			return 0, fmt.Errorf("%w: it is encrypted to %s; check the vault's age_identity: %w",
				ErrWrongIdentity, to, err)
		}
		return 0, fmt.Errorf("cannot decrypt: %w", err)
	}
	return copyHoldingBack(out, r, v, m.StreamBytes)
}

// copyHoldingBack copies the plaintext from r to out, keeping at least the last HoldBack
// bytes until r has ended cleanly, v has verified everything and the length is want.
//
// It fills two buffers of HoldBack bytes in turn and writes one only when the other is full,
// so the bytes not yet written are always at least HoldBack (between one and two buffers),
// and nothing has to be moved to keep them.
func copyHoldingBack(out io.Writer, r io.Reader, v *verifier, want int64) (int64, error) {
	bufs := [2][]byte{make([]byte, HoldBack), make([]byte, HoldBack)}
	cur, n := 0, 0    // filling bufs[cur][:n]
	pending := false  // bufs[1-cur] is full and not written
	var written int64 // bytes given to out
	var plain int64   // bytes decrypted
	write := func(b []byte) error {
		if _, err := out.Write(b); err != nil {
			return fmt.Errorf("cannot write the stream: %w", err)
		}
		written += int64(len(b))
		return nil
	}
	for {
		k, err := r.Read(bufs[cur][n:])
		n += k
		plain += int64(k)
		if plain > want {
			return written, fmt.Errorf("cannot import: the stream is longer than the %d bytes the manifest says", want)
		}
		if n == HoldBack {
			if pending {
				if err := write(bufs[1-cur]); err != nil {
					return written, err
				}
			}
			pending, cur, n = true, 1-cur, 0
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if verr := v.failure(); verr != nil {
				return written, verr
			}
			return written, fmt.Errorf("cannot decrypt: %w", err)
		}
	}
	// age has authenticated the final chunk and seen EOF from v, which v gives only after
	// every segment of every volume has verified and no volume had a byte too many.
	if !v.complete() {
		return written, errors.New("cannot import: internal error: decryption ended before the last volume was verified")
	}
	if plain != want {
		return written, fmt.Errorf("cannot import: the stream is %d bytes, the manifest says %d", plain, want)
	}
	if pending {
		if err := write(bufs[1-cur]); err != nil {
			return written, err
		}
	}
	if err := write(bufs[cur][:n]); err != nil {
		return written, err
	}
	return written, nil
}

// importer reads and checks volumes.
type importer struct {
	m      *Manifest
	media  *Media
	hashes [][32]byte

	indexOnce sync.Once
	index     map[[32]byte]int // segment hash to index, built on the first mismatch
}

func (im *importer) volErr(i int, r Reason) *VolumeError {
	return &VolumeError{File: im.m.Volumes[i].File, Volume: i + 1, Volumes: len(im.m.Volumes), Reason: r}
}

// open opens volume i and checks its size.
func (im *importer) open(i int) (fs.File, error) {
	v := im.m.Volumes[i]
	f, err := im.media.open("", v.File)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, im.volErr(i, Missing)
	}
	var nr *NotRegularError
	if errors.As(err, &nr) {
		e := im.volErr(i, NotRegular)
		e.Err = nr
		return nil, e
	}
	if err != nil {
		e := im.volErr(i, ReadFailed)
		e.Err = err
		return nil, e
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		e := im.volErr(i, ReadFailed)
		e.Err = err
		return nil, e
	}
	if size := fi.Size(); size != v.Bytes {
		r := Truncated
		if size > v.Bytes {
			r = ExtraBytes
		}
		e := im.volErr(i, r)
		e.Size, e.Want = size, v.Bytes
		if other := im.whose(f, size); other >= 0 && other != i {
			e = im.volErr(i, Swapped)
			e.Other = other + 1
		}
		f.Close()
		return nil, e
	}
	return f, nil
}

// preflight checks that volume i is there with its size, before any data is read.
func (im *importer) preflight(i int) error {
	f, err := im.open(i)
	if err != nil {
		return err
	}
	return f.Close()
}

// whose reads the first segment of a volume file of the wrong size and returns the index of
// the volume whose data it is, or -1.
func (im *importer) whose(f fs.File, size int64) int {
	buf := make([]byte, min(size, im.m.SegmentSize))
	if _, err := io.ReadFull(f, buf); err != nil {
		return -1
	}
	return im.volumeOf(sha256.Sum256(buf), true)
}

// volumeOf returns the index of the volume that holds the segment with hash h (only as its
// first segment if first), or -1.
func (im *importer) volumeOf(h [32]byte, first bool) int {
	// The reader goroutine (a volume that changed size) and Read (a hash mismatch) both
	// look here.
	im.indexOnce.Do(func() {
		im.index = make(map[[32]byte]int, len(im.hashes))
		for i := len(im.hashes) - 1; i >= 0; i-- {
			im.index[im.hashes[i]] = i
		}
	})
	seg, ok := im.index[h]
	if !ok {
		return -1
	}
	for i, v := range im.m.Volumes {
		if seg >= v.FirstSegment && seg < v.FirstSegment+v.Segments {
			if first && seg != v.FirstSegment {
				return -1
			}
			return i
		}
	}
	return -1
}

// job is one segment on its way through the verifier: read into buf, then hashed by a
// worker, which closes done. A job with err ends the data: io.EOF after the last segment of
// a complete export, or the reason the reader stopped.
type job struct {
	buf  []byte
	vol  int   // volume index
	seg  int   // segment index
	off  int64 // where the segment starts in its volume
	ok   bool  // the hash matched; set before done is closed
	done chan struct{}
	err  error
}

// verifier is the io.Reader age decrypts from. One goroutine reads the volumes in order, a
// segment at a time, into a small pool of segment buffers; hash workers check each segment
// against the manifest; Read hands out a segment's bytes only once its hash has matched,
// and in order. Reading, hashing and decrypting overlap, and the pool bounds the memory.
type verifier struct {
	ctx   context.Context
	im    *importer
	order chan *job   // every job, in segment order, for Read
	work  chan *job   // jobs to hash
	free  chan []byte // buffers not in use
	quit  chan struct{}
	wg    sync.WaitGroup

	cur    *job // the job Read is handing out
	unread []byte
	err    error // io.EOF at a clean end
}

// segmentBudget is what the verifier's buffers may take, beyond the minimum of three (one
// being read, one hashed, one decrypted).
const segmentBudget = 64 << 20

// pipelineSize returns how many segment buffers and hash workers to use.
func pipelineSize(segSize int64, segments int) (buffers, workers int) {
	workers = min(max(runtime.GOMAXPROCS(0)-1, 1), 4)
	buffers = min(workers+3, max(3, int(segmentBudget/segSize)), segments)
	workers = max(1, min(workers, buffers-2))
	return buffers, workers
}

func newVerifier(ctx context.Context, im *importer) *verifier {
	buffers, workers := pipelineSize(im.m.SegmentSize, len(im.hashes))
	v := &verifier{
		ctx:   ctx,
		im:    im,
		order: make(chan *job, buffers+1),
		work:  make(chan *job, buffers),
		free:  make(chan []byte, buffers),
		quit:  make(chan struct{}),
	}
	size := min(im.m.SegmentSize, im.m.CiphertextBytes)
	for range buffers {
		v.free <- make([]byte, size)
	}
	v.wg.Add(1 + workers)
	for range workers {
		go func() {
			defer v.wg.Done()
			for j := range v.work {
				j.ok = sha256.Sum256(j.buf) == im.hashes[j.seg]
				close(j.done)
			}
		}()
	}
	go func() {
		defer v.wg.Done()
		defer close(v.work)
		err := im.read(ctx, v)
		if err == nil {
			err = io.EOF
		}
		done := make(chan struct{})
		close(done)
		v.order <- &job{err: err, done: done} // never blocks: order has room for every job
	}()
	return v
}

func (v *verifier) Read(p []byte) (int, error) {
	for len(v.unread) == 0 {
		if v.err != nil {
			return 0, v.err
		}
		if v.cur != nil {
			v.free <- v.cur.buf // never blocks: free has room for every buffer
			v.cur = nil
		}
		var j *job
		select {
		case j = <-v.order:
		case <-v.ctx.Done():
			// Normally the reader sees it too and queues its error; but it may be stuck
			// in a read of the media that no context ends.
			v.err = fmt.Errorf("cannot import: %w", v.ctx.Err())
			continue
		}
		<-j.done
		switch {
		case j.err != nil:
			v.err = j.err
		case !j.ok:
			v.err = v.im.mismatch(j.vol, j.seg, j.off, j.buf)
		default:
			v.cur, v.unread = j, j.buf
		}
	}
	n := copy(p, v.unread)
	v.unread = v.unread[n:]
	return n, nil
}

// failure returns the reader's or a hash's error if there was one; age wraps it otherwise.
func (v *verifier) failure() error {
	if v.err == io.EOF {
		return nil
	}
	return v.err
}

// complete reports whether every volume was read to its end and every segment verified.
func (v *verifier) complete() bool { return v.err == io.EOF && len(v.unread) == 0 }

// stopGrace is how long stop waits for the reader after the context ended.
const stopGrace = time.Second

// stop ends the reader and the workers and waits for them, so that no volume stays open;
// once the context has ended it waits only stopGrace, since the reader may be stuck in a
// read of the media (a failing device), which it finishes, closing its volume, on its own.
func (v *verifier) stop() {
	close(v.quit)
	done := make(chan struct{})
	go func() {
		v.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-v.ctx.Done():
		select {
		case <-done:
		case <-time.After(stopGrace):
		}
	}
}

var errStopped = errors.New("import stopped")

// read reads every volume in order and queues its segments for hashing and for Read.
func (im *importer) read(ctx context.Context, v *verifier) error {
	for i := range im.m.Volumes {
		if err := im.readVolume(ctx, v, i); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) readVolume(ctx context.Context, v *verifier, i int) error {
	f, err := im.open(i)
	if err != nil {
		return err
	}
	defer f.Close()
	vol := im.m.Volumes[i]
	var off int64
	for seg := vol.FirstSegment; seg < vol.FirstSegment+vol.Segments; seg++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cannot import: %w", err)
		}
		var buf []byte
		select {
		case buf = <-v.free:
		case <-v.quit:
			return errStopped
		case <-ctx.Done():
			return fmt.Errorf("cannot import: %w", ctx.Err())
		}
		buf = buf[:im.m.segmentLen(seg)]
		if n, err := io.ReadFull(f, buf); err != nil {
			return im.readErr(i, off+int64(n), err)
		}
		j := &job{buf: buf, vol: i, seg: seg, off: off, done: make(chan struct{})}
		// Neither blocks: there are no more jobs than buffers.
		v.order <- j
		v.work <- j
		off += int64(len(buf))
	}
	// The size was right when the volume was opened; it may have grown since.
	var one [1]byte
	switch n, err := io.ReadFull(f, one[:]); {
	case n > 0:
		e := im.volErr(i, ExtraBytes)
		e.Size, e.Want = vol.Bytes+1, vol.Bytes
		if fi, err := f.Stat(); err == nil && fi.Size() > vol.Bytes {
			e.Size = fi.Size()
		}
		return e
	case err != io.EOF:
		return im.readErr(i, off, err)
	}
	return nil
}

// readErr reports a read of volume i that failed after size bytes.
func (im *importer) readErr(i int, size int64, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		e := im.volErr(i, Truncated)
		e.Size, e.Want = size, im.m.Volumes[i].Bytes
		return e
	}
	e := im.volErr(i, ReadFailed)
	e.Err = err
	return e
}

func (im *importer) mismatch(i, seg int, off int64, buf []byte) error {
	vol := im.m.Volumes[i]
	if seg == vol.FirstSegment {
		if other := im.volumeOf(sha256.Sum256(buf), true); other >= 0 && other != i {
			e := im.volErr(i, Swapped)
			e.Other = other + 1
			return e
		}
	}
	e := im.volErr(i, Corrupt)
	e.Segment, e.Offset = seg, off
	return e
}
