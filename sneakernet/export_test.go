package sneakernet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

// failingReader gives n bytes of data, then fails.
type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// faultyDir wraps the real directory and fails the way a full disk or a bad stick does.
type faultyDir struct {
	exportDir
	failCreate string // fail creating the file with this name
	writeLimit int64  // fail writes after this many bytes in all (0: no limit)
	written    int64
}

func (d *faultyDir) create(name string) (exportFile, error) {
	if name == d.failCreate {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EROFS}
	}
	f, err := d.exportDir.create(name)
	if err != nil {
		return nil, err
	}
	return &faultyFile{exportFile: f, d: d}, nil
}

type faultyFile struct {
	exportFile
	d *faultyDir
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if f.d.writeLimit > 0 && f.d.written+int64(len(p)) > f.d.writeLimit {
		k := f.d.writeLimit - f.d.written
		n, _ := f.exportFile.Write(p[:k])
		f.d.written += int64(n)
		return n, syscall.ENOSPC
	}
	n, err := f.exportFile.Write(p)
	f.d.written += int64(n)
	return n, err
}

// exportWith runs an export of data through a faultyDir set up by fault.
func exportWith(t *testing.T, stream io.Reader, fault func(*faultyDir)) (string, error) {
	t.Helper()
	dir := t.TempDir()
	o := baseOptions(t, dir)
	tmpl, err := o.check()
	require.NoError(t, err)
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	d := &faultyDir{exportDir: rootDir{root}}
	fault(d)
	x, err := newExporter(o, tmpl, d)
	require.NoError(t, err)
	_, err = x.copyAndCommit(context.Background(), stream)
	return dir, err
}

func TestExportFailureLeavesNothing(t *testing.T) {
	data := randomBytes(20_000, 5)
	name := "host05-tank_data-b"
	// Fill the disk in the manifest: after the volumes and the signature file.
	probe := doExport(t, data, nil)
	sig, err := os.ReadFile(probe.path(probe.manifestName() + SigSuffix))
	require.NoError(t, err)
	inManifest := probe.m.CiphertextBytes + int64(len(sig)) + 100
	tests := []struct {
		name   string
		stream io.Reader
		fault  func(*faultyDir)
		want   string
	}{
		{
			name:   "the stream fails halfway",
			stream: &failingReader{r: bytes.NewReader(data), n: 10_000, err: errors.New("zfs send: signal: killed")},
			fault:  func(*faultyDir) {},
			want:   "cannot export " + name + ": cannot read the stream: zfs send: signal: killed",
		},
		{
			name:   "the stream fails before its first byte",
			stream: &failingReader{r: bytes.NewReader(data), err: errors.New("dataset does not exist")},
			fault:  func(*faultyDir) {},
			want:   "cannot export " + name + ": cannot read the stream: dataset does not exist",
		},
		{
			name:   "the disk fills in the third volume",
			stream: bytes.NewReader(data),
			fault:  func(d *faultyDir) { d.writeLimit = 7000 },
			want:   "cannot export " + name + ": cannot write " + name + ".vol0003.partial: no space left on device",
		},
		{
			name:   "the disk fills writing the manifest",
			stream: bytes.NewReader(data),
			fault:  func(d *faultyDir) { d.writeLimit = inManifest },
			want:   "cannot export " + name + ": cannot write " + name + ".manifest.partial: no space left on device",
		},
		{
			name:   "the directory turns read-only before the manifest",
			stream: bytes.NewReader(data),
			fault:  func(d *faultyDir) { d.failCreate = name + ".manifest.partial" },
			want:   "cannot export " + name + ": cannot create " + name + ".manifest.partial: open " + name + ".manifest.partial: read-only file system",
		},
		{
			name:   "the directory is read-only",
			stream: bytes.NewReader(data),
			fault:  func(d *faultyDir) { d.failCreate = name + ".vol0001.partial" },
			want:   "cannot export " + name + ": cannot create " + name + ".vol0001.partial: open " + name + ".vol0001.partial: read-only file system",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := exportWith(t, tt.stream, tt.fault)
			require.EqualError(t, err, tt.want)
			require.Empty(t, dirNames(t, dir), "a failed export must leave no file")
		})
	}
}

func TestExportEmptyStream(t *testing.T) {
	dir := t.TempDir()
	_, err := Export(context.Background(), bytes.NewReader(nil), baseOptions(t, dir))
	require.ErrorIs(t, err, ErrEmptyStream)
	require.EqualError(t, err, "cannot export host05-tank_data-b: the stream is empty: zfs send wrote nothing")
	require.Empty(t, dirNames(t, dir))
}

// watchingReader checks, before each read, that the directory is still empty: nothing may
// be created before the stream's first byte.
type watchingReader struct {
	t     *testing.T
	dir   string
	r     io.Reader
	first bool
}

func (w *watchingReader) Read(p []byte) (int, error) {
	if !w.first {
		w.first = true
		require.Empty(w.t, dirNames(w.t, w.dir), "a file was created before the first byte of the stream")
	}
	return w.r.Read(p)
}

func TestExportCreatesNothingBeforeTheFirstByte(t *testing.T) {
	dir := t.TempDir()
	r := &watchingReader{t: t, dir: dir, r: bytes.NewReader([]byte("stream"))}
	_, err := Export(context.Background(), r, baseOptions(t, dir))
	require.NoError(t, err)
	require.True(t, r.first)
}

func TestExportCanceled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelingReader{r: bytes.NewReader(randomBytes(50_000, 1)), after: 5, cancel: cancel}
	_, err := Export(ctx, r, baseOptions(t, dir))
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, dirNames(t, dir))
}

type cancelingReader struct {
	r      io.Reader
	after  int
	cancel func()
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	if c.after--; c.after == 0 {
		c.cancel()
	}
	return c.r.Read(p[:min(len(p), 1000)])
}

func TestExportRefusesExistingFiles(t *testing.T) {
	for _, existing := range []string{
		"host05-tank_data-b.manifest",
		"host05-tank_data-b.manifest.sig",
		"host05-tank_data-b.manifest.partial",
		"host05-tank_data-b.vol0001",
		"host05-tank_data-b.vol0007",
		"host05-tank_data-b.vol0002.partial",
	} {
		t.Run(existing, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, existing), []byte("old"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "host05-tank_data-b.volume"), []byte("unrelated"), 0o644))
			_, err := Export(context.Background(), bytes.NewReader([]byte("x")), baseOptions(t, dir))
			require.EqualError(t, err, "cannot export host05-tank_data-b: "+existing+" is already in "+dir+": choose another name, or remove the old export first")
			require.ElementsMatch(t, []string{existing, "host05-tank_data-b.volume"}, dirNames(t, dir))
			b, err := os.ReadFile(filepath.Join(dir, existing))
			require.NoError(t, err)
			require.Equal(t, "old", string(b))
		})
	}
}

// A file that appears during the export is not replaced either.
func TestExportRefusesFileCreatedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	r := &failingReader{r: bytes.NewReader(randomBytes(20_000, 1)), n: 20_000, err: io.EOF}
	sneak := readerFunc(func(p []byte) (int, error) {
		n, err := r.Read(p[:min(len(p), 1000)])
		if r.n == 12_000 {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "host05-tank_data-b.vol0004"), []byte("new"), 0o644))
		}
		return n, err
	})
	_, err := Export(context.Background(), sneak, baseOptions(t, dir))
	require.ErrorContains(t, err, "host05-tank_data-b.vol0004 already exists; Export never replaces a file")
	require.Equal(t, []string{"host05-tank_data-b.vol0004"}, dirNames(t, dir))
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestExportReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only directories; TestExportFailureLeavesNothing injects the failure instead")
	}
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o555))
	defer os.Chmod(dir, 0o755)
	_, err := Export(context.Background(), bytes.NewReader([]byte("x")), baseOptions(t, dir))
	require.ErrorIs(t, err, os.ErrPermission)
	require.Empty(t, dirNames(t, dir))
}

func TestExportOptionsRefused(t *testing.T) {
	pass, err := age.NewScryptRecipient("x")
	require.NoError(t, err)
	tests := []struct {
		change func(*ExportOptions)
		want   string
	}{
		{func(o *ExportOptions) { o.Dir = "" }, "no output directory"},
		{func(o *ExportOptions) { o.Name = "../x" }, `export name: file name "../x" starts with '.'`},
		{func(o *ExportOptions) { o.Name = "a/b" }, `export name: file name "a/b" contains '/'`},
		{func(o *ExportOptions) { o.Name = strings.Repeat("a", 201) }, "is longer than 200 bytes"},
		{func(o *ExportOptions) { o.SegmentSize = 100 }, "segment size 100 is not between 1024 and 67108864"},
		{func(o *ExportOptions) { o.SegmentSize = 128 << 20 }, "segment size 134217728 is not between"},
		{func(o *ExportOptions) { o.VolumeSize = 1000 }, "volume size 1000 is smaller than the segment size 1024"},
		{func(o *ExportOptions) { o.SigningKey = nil }, "no signing key; create one with `vault keygen`"},
		{func(o *ExportOptions) {
			k := append(ed25519.PrivateKey(nil), o.SigningKey...)
			k[40] ^= 1
			o.SigningKey = k
		}, "the signing key is damaged"},
		{func(o *ExportOptions) { o.Recipients = nil }, "no recipients: give at least one age recipient"},
		{func(o *ExportOptions) { o.Recipients = append(o.Recipients, pass) }, "a passphrase can't be combined with other recipients"},
		{func(o *ExportOptions) { o.Recipients = append(o.Recipients, o.Recipients[0]) }, "is listed twice"},
		{func(o *ExportOptions) { o.Host = "" }, "host: missing"},
		{func(o *ExportOptions) { o.Host = "a b" }, `host: "a b" contains ' '`},
		{func(o *ExportOptions) { o.Created = time.Time{} }, "no creation time"},
		{func(o *ExportOptions) { o.ToSnapshot = zfs.Snapshot{} }, "dataset: missing"},
		{func(o *ExportOptions) { o.ToGUID = 0 }, "to_guid: missing"},
		{func(o *ExportOptions) { o.FromGUID = 0 }, "from_guid: missing for an incremental stream"},
		{func(o *ExportOptions) { o.FromSnapshot = zfs.Snapshot{} }, "from_guid: 1111 for a full stream, which has no source"},
		{func(o *ExportOptions) { o.FromSnapshot = mustSnap(t, "tank/other@a") }, `from_snapshot: "tank/other@a" is not a snapshot of dataset "tank/data"`},
		{func(o *ExportOptions) { o.FromSnapshot = o.ToSnapshot }, `from_snapshot: "tank/data@b" is also to_snapshot`},
		{func(o *ExportOptions) { o.FromGUID = o.ToGUID }, "from_guid: equals to_guid"},
		{func(o *ExportOptions) { o.Intermediates = []Intermediate{} }, ""},
		{func(o *ExportOptions) { o.Intermediates = []Intermediate{{mustSnap(t, "tank/data@a1"), 7}} }, ""},
		{func(o *ExportOptions) {
			o.FromSnapshot, o.FromGUID = zfs.Snapshot{}, 0
			o.Intermediates = []Intermediate{{mustSnap(t, "tank/data@a1"), 7}}
		}, "intermediates: set for a full stream"},
		{func(o *ExportOptions) { o.Intermediates = []Intermediate{{mustSnap(t, "tank/data@a1"), 0}} }, "intermediates[0].guid: missing"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		o := baseOptions(t, dir)
		tt.change(&o)
		_, err := Export(context.Background(), bytes.NewReader([]byte("x")), o)
		if tt.want == "" {
			require.NoError(t, err)
			continue
		}
		require.ErrorContains(t, err, tt.want)
		require.True(t, strings.HasPrefix(err.Error(), "cannot export: "), "got %q", err)
		require.Empty(t, dirNames(t, dir))
	}
}

// The way vault export uses an Exporter: the whole stream arrives, then zfs send exits
// non-zero (killed, or an I/O error on the source), and the export is aborted.
func TestExporterAbortAfterTheWholeStream(t *testing.T) {
	dir := t.TempDir()
	x, err := NewExporter(baseOptions(t, dir))
	require.NoError(t, err)
	require.Empty(t, dirNames(t, dir), "NewExporter creates nothing")
	_, err = io.Copy(x, bytes.NewReader(randomBytes(10_000, 1)))
	require.NoError(t, err)
	require.NotEmpty(t, dirNames(t, dir))
	for _, n := range dirNames(t, dir) {
		require.True(t, strings.HasSuffix(n, ".partial"), "%s: before Commit every file is .partial", n)
	}
	require.NoError(t, x.Abort())
	require.Empty(t, dirNames(t, dir))
	require.NoError(t, x.Abort(), "Abort twice")
	_, err = x.Write([]byte("x"))
	require.Error(t, err)
	_, err = x.Commit()
	require.EqualError(t, err, "cannot export: Commit after Commit or Abort")
}

func TestExporterCommitAfterFailedWrite(t *testing.T) {
	dir := t.TempDir()
	o := baseOptions(t, dir)
	tmpl, err := o.check()
	require.NoError(t, err)
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	x, err := newExporter(o, tmpl, &faultyDir{exportDir: rootDir{root}, writeLimit: 5000})
	require.NoError(t, err)
	_, err = x.Write(randomBytes(200_000, 1)) // age writes whole 64 KiB chunks
	require.ErrorContains(t, err, "no space left on device")
	// A caller that ignores the Write error still cannot commit.
	_, err = x.Commit()
	require.ErrorContains(t, err, "no space left on device")
	require.Empty(t, dirNames(t, dir))
}

func TestExporterCommitTwice(t *testing.T) {
	dir := t.TempDir()
	x, err := NewExporter(baseOptions(t, dir))
	require.NoError(t, err)
	_, err = x.Write([]byte("stream"))
	require.NoError(t, err)
	m, err := x.Commit()
	require.NoError(t, err)
	require.Equal(t, int64(6), m.StreamBytes)
	_, err = x.Commit()
	require.Error(t, err)
	require.NoError(t, x.Abort(), "Abort after Commit does nothing")
	require.Len(t, dirNames(t, dir), 3)
}
