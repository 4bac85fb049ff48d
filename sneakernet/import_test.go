package sneakernet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	seg := int64(MinSegmentSize)
	pass, err := age.NewScryptRecipient("correct horse battery staple")
	require.NoError(t, err)
	pass.SetWorkFactor(4)
	passID, err := age.NewScryptIdentity("correct horse battery staple")
	require.NoError(t, err)

	one := []age.Recipient{testIdentity(t, 0).Recipient()}
	two := []age.Recipient{testIdentity(t, 0).Recipient(), testIdentity(t, 1).Recipient()}
	tests := []struct {
		name       string
		size       int
		volumeSize int64
		recipients []age.Recipient
		id         age.Identity
		volumes    int
	}{
		{"one byte", 1, 3 * seg, one, testIdentity(t, 0), 1},
		{"the age header fills a segment", int(seg), 3 * seg, one, testIdentity(t, 0), 1},
		{"one segment of ciphertext exactly", 0, 3 * seg, one, testIdentity(t, 0), 1}, // size set below
		{"one segment and a byte", 0, 3 * seg, one, testIdentity(t, 0), 1},
		{"volumes of one segment", 5000, seg, one, testIdentity(t, 0), 0},
		{"several volumes", 100_000, 3 * seg, one, testIdentity(t, 0), 0},
		{"volume size not a multiple of the segment size", 100_000, 3*seg + 100, one, testIdentity(t, 0), 0},
		{"more than the held-back tail", 3*HoldBack + 12345, 64 * seg, one, testIdentity(t, 0), 0},
		{"whole age chunks", 4 * 64 << 10, 64 * seg, one, testIdentity(t, 0), 0},
		{"two recipients, decrypted by the first", 70_000, 16 * seg, two, testIdentity(t, 0), 0},
		{"two recipients, decrypted by the second", 70_000, 16 * seg, two, testIdentity(t, 1), 0},
		{"passphrase", 70_000, 16 * seg, []age.Recipient{pass}, passID, 0},
	}
	// The ciphertext of a one-recipient export is the header (its length fixed for X25519),
	// a nonce, the plaintext and one tag per chunk: find the plaintext that fills a segment.
	probe := doExport(t, []byte{1}, nil)
	hdr := probe.m.CiphertextBytes - 1 - ageNonceLen - ageTag
	tests[2].size = int(seg - hdr - ageNonceLen - ageTag)
	tests[3].size = tests[2].size + 1

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := randomBytes(tt.size, uint64(i))
			e := doExport(t, data, func(o *ExportOptions) {
				o.VolumeSize = tt.volumeSize
				o.Recipients = tt.recipients
			})
			m := e.m
			require.Equal(t, int64(len(data)), m.StreamBytes)
			if tt.volumes != 0 {
				require.Len(t, m.Volumes, tt.volumes)
			}
			if i == 2 {
				require.Equal(t, seg, m.CiphertextBytes, "got ciphertext of %d bytes, want exactly a segment", m.CiphertextBytes)
			}
			if i == 3 {
				require.Len(t, m.Segments, 2)
			}
			perVolume := tt.volumeSize / seg
			for j, v := range m.Volumes {
				require.Equal(t, volumeName(e.o.Name, j+1), v.File)
				if j < len(m.Volumes)-1 {
					require.EqualValues(t, perVolume, v.Segments)
				}
				fi, err := os.Stat(e.vol(j + 1))
				require.NoError(t, err)
				require.Equal(t, v.Bytes, fi.Size())
			}

			out, n, err := e.importTo(t, tt.id)
			require.NoError(t, err)
			require.Equal(t, int64(len(data)), n)
			require.True(t, bytes.Equal(data, out.Bytes()), "imported stream differs from the exported one")

			// The volumes, concatenated, are one age file: the break-glass path with the age CLI.
			var all []byte
			for j := range m.Volumes {
				b, err := os.ReadFile(e.vol(j + 1))
				require.NoError(t, err)
				all = append(all, b...)
			}
			r, err := age.Decrypt(bytes.NewReader(all), tt.id)
			require.NoError(t, err)
			plain, err := io.ReadAll(r)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, plain))
		})
	}
}

func TestExportFiles(t *testing.T) {
	data := randomBytes(10_000, 1)
	e := doExport(t, data, nil)
	var want []string
	for i := range e.m.Volumes {
		want = append(want, volumeName(e.o.Name, i+1))
	}
	want = append(want, e.manifestName(), e.manifestName()+SigSuffix)
	require.ElementsMatch(t, want, dirNames(t, e.dir))

	m := e.m
	require.Equal(t, Format, m.Format)
	require.Equal(t, testCreated, m.Created, "created is UTC in whole seconds")
	require.Equal(t, "tank/data", m.Dataset.String())
	require.Equal(t, uint64(18446744073709551615), m.ToGUID)
	require.Equal(t, []string{testIdentity(t, 0).Recipient().String()}, m.Recipients)

	// What was written is what Export returned, and it verifies.
	s := e.read(t)
	require.Equal(t, *m, s.Manifest())
	require.Equal(t, "host1", s.Signer())
	require.True(t, s.SignerKey().Equal(testSigningKey(1).Public()))
	raw, err := os.ReadFile(e.path(e.manifestName()))
	require.NoError(t, err)
	require.Contains(t, string(raw), `"to_guid": "18446744073709551615"`, "guids are strings, safe from float rounding")
}

// refusalExport is a multi-volume export big enough that an importer writes part of the
// stream before it reaches a late volume: 3 MiB and a bit in 64 KiB segments, 512 KiB
// volumes, seven of them.
func refusalExport(t *testing.T) *exported {
	data := randomBytes(3<<20+200_000, 7)
	return doExport(t, data, func(o *ExportOptions) {
		o.SegmentSize = 64 << 10
		o.VolumeSize = 512 << 10
	})
}

func TestImportRefusals(t *testing.T) {
	tests := []struct {
		name string
		// break damages the export; it returns a substring of the wanted error.
		damage func(t *testing.T, e *exported) string
		check  func(t *testing.T, e *exported, err error)
		// late is set when the damage is found only after part of the stream was written.
		late bool
	}{
		{
			name: "flipped bit in volume 2",
			damage: func(t *testing.T, e *exported) string {
				flipBit(t, e.vol(2), 100_000)
				return "volume 2 of 7 (host05-tank_data-b.vol0002) is corrupt: the segment at byte 65536 (segment 9 of the export) does not match the signed manifest"
			},
			check: wantVolumeError(2, Corrupt),
		},
		{
			name: "flipped bit in the last volume",
			damage: func(t *testing.T, e *exported) string {
				flipBit(t, e.vol(7), 0)
				return "volume 7 of 7 (host05-tank_data-b.vol0007) is corrupt"
			},
			check: wantVolumeError(7, Corrupt),
			late:  true,
		},
		{
			name: "truncated last volume",
			damage: func(t *testing.T, e *exported) string {
				fi, err := os.Stat(e.vol(7))
				require.NoError(t, err)
				require.NoError(t, os.Truncate(e.vol(7), fi.Size()-1))
				return "volume 7 of 7 (host05-tank_data-b.vol0007) is truncated: 201015 bytes, the manifest says 201016; copy it again"
			},
			check: wantVolumeError(7, Truncated),
		},
		{
			name: "missing volume",
			damage: func(t *testing.T, e *exported) string {
				require.NoError(t, os.Remove(e.vol(4)))
				return "volume 4 of 7 (host05-tank_data-b.vol0004) is missing"
			},
			check: wantVolumeError(4, Missing),
		},
		{
			name: "volumes 2 and 3 swapped",
			damage: func(t *testing.T, e *exported) string {
				swap(t, e.vol(2), e.vol(3))
				return "volume 2 of 7 (host05-tank_data-b.vol0002) holds the data of volume 3: the volume files were renamed or swapped"
			},
			check: func(t *testing.T, e *exported, err error) {
				wantVolumeError(2, Swapped)(t, e, err)
				var ve *VolumeError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, 3, ve.Other)
			},
		},
		{
			name: "volumes 6 and 7 swapped (different sizes)",
			damage: func(t *testing.T, e *exported) string {
				swap(t, e.vol(6), e.vol(7))
				return "volume 6 of 7 (host05-tank_data-b.vol0006) holds the data of volume 7"
			},
			check: wantVolumeError(6, Swapped),
		},
		{
			name: "extra bytes appended to volume 3",
			damage: func(t *testing.T, e *exported) string {
				f, err := os.OpenFile(e.vol(3), os.O_WRONLY|os.O_APPEND, 0)
				require.NoError(t, err)
				_, err = f.Write([]byte("xyz"))
				require.NoError(t, err)
				require.NoError(t, f.Close())
				return "volume 3 of 7 (host05-tank_data-b.vol0003) is 524291 bytes, longer than the 524288 the manifest says: something was added to it after the export"
			},
			check: wantVolumeError(3, ExtraBytes),
		},
		{
			name: "manifest edited",
			damage: func(t *testing.T, e *exported) string {
				p := e.path(e.manifestName())
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				b = bytes.Replace(b, []byte(`"dataset": "tank/data"`), []byte(`"dataset": "tank/date"`), 1)
				require.NoError(t, os.WriteFile(p, b, 0o644))
				return "manifest signature does not verify: the manifest or its .sig file was changed after the export"
			},
			check: func(t *testing.T, e *exported, err error) { require.ErrorIs(t, err, ErrBadSignature) },
		},
		{
			name: "manifest signature from another export",
			damage: func(t *testing.T, e *exported) string {
				other := doExport(t, []byte("other"), nil)
				b, err := os.ReadFile(other.path(other.manifestName() + SigSuffix))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(e.path(e.manifestName()+SigSuffix), b, 0o644))
				return "manifest signature does not verify"
			},
			check: func(t *testing.T, e *exported, err error) { require.ErrorIs(t, err, ErrBadSignature) },
		},
		{
			name: "manifest re-signed by a key that is not pinned",
			damage: func(t *testing.T, e *exported) string {
				e.remarshal(t, testSigningKey(9), func(m *Manifest) { m.Host = "evil" })
				return "manifest is signed by vault-ed25519:/RckOFqgx1tk+3jNYC+h2ZH96/drE8WO1wLqyDXp9hg=, which is not a pinned signer; if that is the exporting host's key"
			},
			check: func(t *testing.T, e *exported, err error) {
				var ue *UnpinnedSignerError
				require.ErrorAs(t, err, &ue)
				require.True(t, ue.Key.Equal(testSigningKey(9).Public()))
			},
		},
		{
			name: "signature file missing",
			damage: func(t *testing.T, e *exported) string {
				require.NoError(t, os.Remove(e.path(e.manifestName()+SigSuffix)))
				return `cannot read "host05-tank_data-b.manifest.sig": open host05-tank_data-b.manifest.sig: no such file or directory; copy it from the export media together with the manifest`
			},
			check: func(t *testing.T, e *exported, err error) { require.ErrorIs(t, err, fs.ErrNotExist) },
		},
		{
			name: "volume file name with ../ in a validly signed manifest",
			damage: func(t *testing.T, e *exported) string {
				e.remarshal(t, testSigningKey(1), func(m *Manifest) { m.Volumes[1].File = "../etc/passwd" })
				return `invalid manifest: volumes[1].file: file name "../etc/passwd" starts with '.'`
			},
			check: func(t *testing.T, e *exported, err error) { require.ErrorIs(t, err, ErrInvalidManifest) },
		},
		{
			name: "volume file name with a slash in a validly signed manifest",
			damage: func(t *testing.T, e *exported) string {
				e.remarshal(t, testSigningKey(1), func(m *Manifest) { m.Volumes[1].File = "x/../../y" })
				return `invalid manifest: volumes[1].file: file name "x/../../y" contains '/'`
			},
			check: func(t *testing.T, e *exported, err error) { require.ErrorIs(t, err, ErrInvalidManifest) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := refusalExport(t)
			require.Len(t, e.m.Volumes, 7)
			want := tt.damage(t, e)
			out, n, err := e.importTo(t, testIdentity(t, 0))
			require.Error(t, err)
			require.Contains(t, err.Error(), want)
			tt.check(t, e, err)
			require.Equal(t, int64(out.Len()), n, "the count returned is what was written")
			requireHeldBack(t, out.Bytes(), e.data)
			if tt.late {
				require.NotZero(t, out.Len(), "verified data before the damage should have been written")
			} else {
				require.Zero(t, out.Len(), "the damage should have been found before any write")
			}
		})
	}
}

func wantVolumeError(vol int, r Reason) func(*testing.T, *exported, error) {
	return func(t *testing.T, e *exported, err error) {
		t.Helper()
		var ve *VolumeError
		require.ErrorAs(t, err, &ve)
		require.Equal(t, vol, ve.Volume, "volume")
		require.Equal(t, r, ve.Reason, "reason: got %v, want %v", ve.Reason, r)
	}
}

func flipBit(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[off] ^= 0x10
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func swap(t *testing.T, a, b string) {
	t.Helper()
	require.NoError(t, os.Rename(a, a+".tmp"))
	require.NoError(t, os.Rename(b, a))
	require.NoError(t, os.Rename(a+".tmp", b))
}

func TestImportWrongIdentity(t *testing.T) {
	e := refusalExport(t)
	out, _, err := e.importTo(t, testIdentity(t, 2))
	require.ErrorIs(t, err, ErrWrongIdentity)
	var nomatch *age.NoIdentityMatchError
	require.ErrorAs(t, err, &nomatch)
	require.Contains(t, err.Error(), "none of the age identities can decrypt this export: it is encrypted to "+testIdentity(t, 0).Recipient().String()+"; check the vault's age_identity")
	require.Zero(t, out.Len())

	// A passphrase is not an identity for an export to a recipient, and the reverse.
	pid, err := age.NewScryptIdentity("x")
	require.NoError(t, err)
	_, _, err = e.importTo(t, pid)
	require.ErrorIs(t, err, ErrWrongIdentity)
}

// lyingFS serves the files of an export, but the file it names is cut to keep bytes while
// its Stat still reports the size in the manifest: a volume that shrinks during the import.
type lyingFS struct {
	fs.FS
	name string
	keep int
}

type lyingFile struct {
	fs.File
	r    io.Reader
	size int64
}

type lyingInfo struct {
	fs.FileInfo
	size int64
}

func (i lyingInfo) Size() int64 { return i.size }

func (f *lyingFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *lyingFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	return lyingInfo{fi, f.size}, err
}

func (l lyingFS) Open(name string) (fs.File, error) {
	f, err := l.FS.Open(name)
	if err != nil || name != l.name {
		return f, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return &lyingFile{File: f, r: io.LimitReader(f, int64(l.keep)), size: fi.Size()}, nil
}

func TestImportVolumeShrinksDuringImport(t *testing.T) {
	e := refusalExport(t)
	s := e.read(t)
	media := &Media{fsys: lyingFS{FS: os.DirFS(e.dir), name: e.m.Volumes[6].File, keep: 5000}}
	var out recorder
	_, err := Import(context.Background(), s, media, []age.Identity{testIdentity(t, 0)}, &out)
	require.EqualError(t, err, "volume 7 of 7 (host05-tank_data-b.vol0007) is truncated: 5000 bytes, the manifest says 201016; copy it again from the export media")
	requireHeldBack(t, out.Bytes(), e.data)
	require.NotZero(t, out.Len())
}

func TestImportVolumeGrowsDuringImport(t *testing.T) {
	e := refusalExport(t)
	s := e.read(t)
	b, err := os.ReadFile(e.vol(7))
	require.NoError(t, err)
	media := fstest.MapFS{}
	for i := range e.m.Volumes {
		v, err := os.ReadFile(e.vol(i + 1))
		require.NoError(t, err)
		media[e.m.Volumes[i].File] = &fstest.MapFile{Data: v}
	}
	// fstest's Stat reports the real size; serve one that grows after the size check.
	media[e.m.Volumes[6].File] = &fstest.MapFile{Data: append(b, "more"...)}
	lie := sizeFS{MapFS: media, name: e.m.Volumes[6].File, size: int64(len(b))}
	var out recorder
	_, err = Import(context.Background(), s, &Media{fsys: lie}, []age.Identity{testIdentity(t, 0)}, &out)
	var ve *VolumeError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, ExtraBytes, ve.Reason)
	requireHeldBack(t, out.Bytes(), e.data)
}

// sizeFS reports size for name's Stat, whatever its contents.
type sizeFS struct {
	fstest.MapFS
	name string
	size int64
}

func (s sizeFS) Open(name string) (fs.File, error) {
	f, err := s.MapFS.Open(name)
	if err != nil || name != s.name {
		return f, err
	}
	return sizedFile{f, s.size}, nil
}

type sizedFile struct {
	fs.File
	size int64
}

func (f sizedFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	return lyingInfo{fi, f.size}, err
}

func TestImportNotRegular(t *testing.T) {
	e := refusalExport(t)
	require.NoError(t, os.Remove(e.vol(2)))
	require.NoError(t, os.Mkdir(e.vol(2), 0o755))
	out, _, err := e.importTo(t, testIdentity(t, 0))
	wantVolumeError(2, NotRegular)(t, e, err)
	require.Zero(t, out.Len())
}

func TestImportWriterFails(t *testing.T) {
	e := refusalExport(t)
	s := e.read(t)
	w := &failingWriter{after: 2 << 20}
	_, err := Import(context.Background(), s, testMedia(t, e.dir), []age.Identity{testIdentity(t, 0)}, w)
	require.ErrorContains(t, err, "cannot write the stream: broken pipe")
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		return 0, errors.New("broken pipe")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestImportCanceled(t *testing.T) {
	e := refusalExport(t)
	s := e.read(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelingWriter{cancel: cancel}
	_, err := Import(ctx, s, testMedia(t, e.dir), []age.Identity{testIdentity(t, 0)}, w)
	require.ErrorIs(t, err, context.Canceled)
	requireHeldBack(t, w.Bytes(), e.data)
}

// cancelingWriter cancels its context on the first write.
type cancelingWriter struct {
	recorder
	cancel func()
}

func (w *cancelingWriter) Write(p []byte) (int, error) {
	w.cancel()
	return w.recorder.Write(p)
}

func TestImportNeedsVerifiedManifest(t *testing.T) {
	_, err := Import(context.Background(), nil, &Media{fsys: fstest.MapFS{}}, []age.Identity{testIdentity(t, 0)}, io.Discard)
	require.EqualError(t, err, "cannot import: no verified manifest")
	e := doExport(t, []byte("x"), nil)
	_, err = Import(context.Background(), e.read(t), testMedia(t, e.dir), nil, io.Discard)
	require.EqualError(t, err, "cannot import: no age identities")
}

// TestImportMemoryBounded imports a 48 MiB single-volume export in 1 MiB segments and
// checks that the heap never held anything like a volume.
func TestImportMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 48 MiB")
	}
	data := randomBytes(48<<20, 3)
	e := doExport(t, data, func(o *ExportOptions) {
		o.SegmentSize = 1 << 20
		o.VolumeSize = 1 << 30
	})
	e.data, data = nil, nil
	s := e.read(t)
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	peak := measurePeakHeap(t, func() {
		_, err := Import(context.Background(), s, testMedia(t, e.dir), []age.Identity{testIdentity(t, 0)}, io.Discard)
		require.NoError(t, err)
	})
	t.Logf("peak heap above the baseline while importing 48 MiB in 1 MiB segments: %.1f MiB", float64(peak)/(1<<20))
	// Two segment buffers, the hold-back buffer and age's chunks: about 7 MiB, with slack
	// for the garbage collector. A volume in memory would be 48.
	require.Less(t, peak, uint64(24<<20))
}

// measurePeakHeap runs f and returns the largest HeapAlloc seen above the one before it,
// sampled every millisecond.
func measurePeakHeap(t testing.TB, f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	<-stopped
	return peak
}

func TestReasonString(t *testing.T) {
	require.Equal(t, "swapped", Swapped.String())
	require.Equal(t, "Reason(99)", Reason(99).String())
	require.True(t, strings.HasPrefix((&VolumeError{Reason: 99, File: "f", Volume: 1, Volumes: 1}).Error(), "volume 1 of 1 (f): "))
}

func TestPipelineSize(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tt := range []struct {
		procs    int
		segSize  int64
		segments int
		buffers  int
		workers  int
	}{
		{1, DefaultSegmentSize, 1000, 4, 1},
		{2, DefaultSegmentSize, 1000, 4, 1},
		{4, DefaultSegmentSize, 1000, 6, 3},
		{64, DefaultSegmentSize, 1000, 7, 4},
		{64, MaxSegmentSize, 1000, 3, 1},
		{64, 32 << 20, 1000, 3, 1},
		{64, 16 << 20, 1000, 4, 2},
		{8, DefaultSegmentSize, 2, 2, 1},
		{8, DefaultSegmentSize, 1, 1, 1},
	} {
		runtime.GOMAXPROCS(tt.procs)
		b, w := pipelineSize(tt.segSize, tt.segments)
		require.Equal(t, tt.buffers, b, "buffers for %+v", tt)
		require.Equal(t, tt.workers, w, "workers for %+v", tt)
	}
}

// A volume that is a symlink out of the media directory is not followed: it is refused as
// a symbolic link.
func TestImportSymlinkOutOfTheMedia(t *testing.T) {
	e := refusalExport(t)
	outside := filepath.Join(t.TempDir(), "elsewhere")
	require.NoError(t, os.Rename(e.vol(3), outside))
	require.NoError(t, os.Symlink(outside, e.vol(3)))
	var out recorder
	_, err := Import(context.Background(), e.read(t), testMedia(t, e.dir), []age.Identity{testIdentity(t, 0)}, &out)
	wantVolumeError(3, NotRegular)(t, e, err)
	require.EqualError(t, err, "volume 3 of 7 (host05-tank_data-b.vol0003) is a symbolic link, not a regular file: the media is not a vault export")
	require.Zero(t, out.Len())
}
