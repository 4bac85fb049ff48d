//go:build unix

package sneakernet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"
)

// promptly is how long a refusal may take before the test calls it a hang.
const promptly = 5 * time.Second

// within runs f and returns its error, failing the test if f has not returned within
// promptly: a regression that blocks on a named pipe hangs the test no longer than that.
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(promptly):
		t.Fatalf("still blocked after %v: a file on the media was opened in a way that waits (a named pipe?)", promptly)
		return nil
	}
}

// importFrom runs what vault import does with the media in dir: read the manifest, open the
// break-glass file if passphrase, preflight, import.
func importFrom(e *exported, passphrase bool) error {
	media, err := OpenMedia(e.dir)
	if err != nil {
		return err
	}
	defer media.Close()
	s, err := ReadManifest(media, e.manifestName(), pinned(testSigningKey(1)))
	if err != nil {
		return err
	}
	ids := []age.Identity{}
	if passphrase {
		bg, err := BreakGlassIdentities(s, media, testPassphrase)
		if err != nil {
			return err
		}
		ids = append(ids, bg...)
	} else {
		id, err := age.ParseX25519Identity(testIdentities[0])
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := Preflight(s, media, ids); err != nil {
		return err
	}
	_, err = Import(context.Background(), s, media, ids, io.Discard)
	return err
}

// TestMediaSpecialFiles puts a named pipe, a symbolic link or a directory where each file
// of an export should be, and checks that the import refuses it at once, naming the file
// and what it is.
func TestMediaSpecialFiles(t *testing.T) {
	data := randomBytes(20_000, 11)
	const tail = ", not a regular file: the media is not a vault export"
	targets := []struct {
		name       string
		file       func(e *exported) string
		subject    func(e *exported) string // how the error names the file
		passphrase bool
	}{
		{"manifest", func(e *exported) string { return e.manifestName() },
			func(e *exported) string { return "manifest " + e.manifestName() }, false},
		{"signature", func(e *exported) string { return e.manifestName() + SigSuffix },
			func(e *exported) string { return "signature file " + e.manifestName() + SigSuffix }, false},
		{"first volume", func(e *exported) string { return e.m.Volumes[0].File },
			func(e *exported) string {
				return fmt.Sprintf("volume 1 of %d (%s)", len(e.m.Volumes), e.m.Volumes[0].File)
			}, false},
		{"last volume", func(e *exported) string { return e.m.Volumes[len(e.m.Volumes)-1].File },
			func(e *exported) string {
				n := len(e.m.Volumes)
				return fmt.Sprintf("volume %d of %d (%s)", n, n, e.m.Volumes[n-1].File)
			}, false},
		{"break-glass file", func(e *exported) string { return e.m.BreakGlass.File },
			func(e *exported) string { return "break-glass file " + e.m.BreakGlass.File }, false},
		{"break-glass file, with the passphrase", func(e *exported) string { return e.m.BreakGlass.File },
			func(e *exported) string { return "break-glass file " + e.m.BreakGlass.File }, true},
	}
	kinds := []struct {
		name string
		// make puts something else at path, a file of the export (moved away first).
		make func(t *testing.T, e *exported, path string)
		kind string
	}{
		{"named pipe", func(t *testing.T, e *exported, path string) {
			require.NoError(t, syscall.Mkfifo(path, 0o644))
		}, "a named pipe (FIFO)"},
		{"symlink to a named pipe in the directory", func(t *testing.T, e *exported, path string) {
			fifo := e.path("a-pipe")
			require.NoError(t, syscall.Mkfifo(fifo, 0o644))
			require.NoError(t, os.Symlink("a-pipe", path))
		}, "a symbolic link"},
		{"symlink to a named pipe outside", func(t *testing.T, e *exported, path string) {
			fifo := filepath.Join(t.TempDir(), "pipe")
			require.NoError(t, syscall.Mkfifo(fifo, 0o644))
			require.NoError(t, os.Symlink(fifo, path))
		}, "a symbolic link"},
		{"symlink to /dev/zero", func(t *testing.T, e *exported, path string) {
			require.NoError(t, os.Symlink("/dev/zero", path))
		}, "a symbolic link"},
		{"symlink to the right file outside", func(t *testing.T, e *exported, path string) {
			outside := filepath.Join(t.TempDir(), filepath.Base(path))
			require.NoError(t, os.Rename(path+".orig", outside))
			require.NoError(t, os.Symlink(outside, path))
		}, "a symbolic link"},
		{"symlink to the right file inside", func(t *testing.T, e *exported, path string) {
			require.NoError(t, os.Symlink(filepath.Base(path)+".orig", path))
		}, "a symbolic link"},
		{"directory", func(t *testing.T, e *exported, path string) {
			require.NoError(t, os.Mkdir(path, 0o755))
		}, "a directory"},
	}
	for _, tt := range targets {
		for _, k := range kinds {
			t.Run(tt.name+"/"+k.name, func(t *testing.T) {
				e := withBreakGlass(t, data)
				require.Greater(t, len(e.m.Volumes), 2)
				path := e.path(tt.file(e))
				require.NoError(t, os.Rename(path, path+".orig"))
				k.make(t, e, path)
				start := time.Now()
				err := within(t, func() error { return importFrom(e, tt.passphrase) })
				require.EqualError(t, err, tt.subject(e)+" is "+k.kind+tail)
				var nr *NotRegularError
				require.ErrorAs(t, err, &nr)
				require.Equal(t, filepath.Base(path), nr.Name)
				if strings.Contains(tt.name, "volume") {
					var ve *VolumeError
					require.ErrorAs(t, err, &ve)
					require.Equal(t, NotRegular, ve.Reason)
				}
				require.Less(t, time.Since(start), promptly)
			})
		}
	}

	// And the export, untouched, imports.
	e := withBreakGlass(t, data)
	require.NoError(t, within(t, func() error { return importFrom(e, false) }))
	require.NoError(t, within(t, func() error { return importFrom(e, true) }))
}

// TestMediaSwappedAfterTheLook swaps a volume for a named pipe or a symbolic link between
// open's look at the name and the open itself: the check on the open descriptor refuses it.
func TestMediaSwappedAfterTheLook(t *testing.T) {
	for _, tt := range []struct {
		name string
		swap func(t *testing.T, e *exported, path string)
		kind string
	}{
		{"named pipe", func(t *testing.T, e *exported, path string) {
			require.NoError(t, os.Remove(path))
			require.NoError(t, syscall.Mkfifo(path, 0o644))
		}, "a named pipe (FIFO)"},
		{"symlink to /dev/zero", func(t *testing.T, e *exported, path string) {
			require.NoError(t, os.Remove(path))
			require.NoError(t, os.Symlink("/dev/zero", path))
		}, "a symbolic link"},
		{"directory", func(t *testing.T, e *exported, path string) {
			require.NoError(t, os.Remove(path))
			require.NoError(t, os.Mkdir(path, 0o755))
		}, "a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := refusalExport(t)
			s := e.read(t)
			media := testMedia(t, e.dir)
			target := e.m.Volumes[4].File
			swapped := false
			testHookBeforeOpen = func(name string) {
				if name == target && !swapped {
					swapped = true
					tt.swap(t, e, e.path(name))
				}
			}
			defer func() { testHookBeforeOpen = nil }()
			var out recorder
			err := within(t, func() error {
				_, err := Import(context.Background(), s, media, []age.Identity{testIdentity(t, 0)}, &out)
				return err
			})
			require.True(t, swapped)
			wantVolumeError(5, NotRegular)(t, e, err)
			require.EqualError(t, err, "volume 5 of 7 (host05-tank_data-b.vol0005) is "+tt.kind+", not a regular file: the media is not a vault export")
			require.Zero(t, out.Len())
		})
	}
}

func TestMediaOpen(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
	m := testMedia(t, dir)

	f, err := m.open("file", "f")
	require.NoError(t, err)
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Equal(t, "x", string(b))
	require.NoError(t, f.Close())

	for _, name := range []string{"", ".", "..", "../f", "sub/f", "/etc/passwd", "f\x00"} {
		_, err := m.open("file", name)
		require.ErrorIs(t, err, fs.ErrInvalid, "%q", name)
	}
	_, err = m.open("file", "missing")
	require.ErrorIs(t, err, fs.ErrNotExist)

	// A name that is not an export's file name is quoted, so the message stays one line.
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "a\nb"), 0o644))
	err = within(t, func() error { _, err := m.open("file", "a\nb"); return err })
	require.EqualError(t, err, `file "a\nb" is a named pipe (FIFO), not a regular file: the media is not a vault export`)

	// A named pipe as the media directory is refused at once too.
	err = within(t, func() error { _, err := OpenMedia(filepath.Join(dir, "pipe")); return err })
	require.ErrorIs(t, err, syscall.ENOTDIR)

	// Media without a directory (the zero value) opens nothing.
	_, err = (&Media{}).open("file", "f")
	require.Error(t, err)

	// A test's fake file system gets the same type check.
	fake := &Media{fsys: fstest.MapFS{"p": &fstest.MapFile{Mode: fs.ModeNamedPipe}}}
	_, err = fake.open("volume", "p")
	require.EqualError(t, err, "volume p is a named pipe (FIFO), not a regular file: the media is not a vault export")
}

// TestReadManifestNotAManifest: empty files, JSON that is not an object, an object without
// the format field, and not JSON at all are each refused with one line naming the file,
// whether or not the signature fits.
func TestReadManifestNotAManifest(t *testing.T) {
	for _, tt := range []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "manifest host05-tank_data-b.manifest is empty: not a vault export manifest; copy it again from the export media"},
		{"white space", " \n", "manifest host05-tank_data-b.manifest holds only white space: not a vault export manifest; copy it again from the export media"},
		{"null", "null\n", "manifest host05-tank_data-b.manifest is not a vault export manifest: it is JSON null, not an object"},
		{"array", "[]\n", "manifest host05-tank_data-b.manifest is not a vault export manifest: it is a JSON array, not an object"},
		{"empty object", "{}\n", `manifest host05-tank_data-b.manifest is not a vault export manifest: it is not a JSON object that starts with the "format" field, as every manifest does`},
		{"another object", `{"name": "x"}`, `manifest host05-tank_data-b.manifest is not a vault export manifest: it is not a JSON object that starts with the "format" field, as every manifest does`},
		{"not JSON", "PK\x03\x04", "manifest host05-tank_data-b.manifest is not a vault export manifest: it is not a JSON object"},
	} {
		for _, signed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/signed=%v", tt.name, signed), func(t *testing.T) {
				e := doExport(t, []byte("data"), nil)
				if signed {
					e.resign(t, []byte(tt.data), testSigningKey(1))
				} else {
					require.NoError(t, os.WriteFile(e.path(e.manifestName()), []byte(tt.data), 0o644))
				}
				_, err := ReadManifest(testMedia(t, e.dir), e.manifestName(), pinned(testSigningKey(1)))
				require.EqualError(t, err, tt.want)
				require.ErrorIs(t, err, ErrNotManifest)
				require.NotContains(t, err.Error(), "EOF")
			})
		}
	}
}

// blockingFS serves an export's files, but reads of the file it names block until release
// is closed: a read of a failing device that no context ends.
type blockingFS struct {
	fs.FS
	name    string
	blocked chan struct{} // closed when a read has blocked
	release chan struct{}
}

type blockingFile struct {
	fs.File
	fs *blockingFS
}

func (b *blockingFS) Open(name string) (fs.File, error) {
	f, err := b.FS.Open(name)
	if err != nil || name != b.name {
		return f, err
	}
	return &blockingFile{File: f, fs: b}, nil
}

func (f *blockingFile) Read(p []byte) (int, error) {
	select {
	case <-f.fs.blocked:
	default:
		close(f.fs.blocked)
	}
	<-f.fs.release
	return 0, errors.New("released")
}

// TestImportCanceledWhileAReadBlocks cancels an import whose read of a volume does not
// return: Import returns promptly all the same, with the context's error.
func TestImportCanceledWhileAReadBlocks(t *testing.T) {
	e := refusalExport(t)
	s := e.read(t)
	b := &blockingFS{FS: os.DirFS(e.dir), name: e.m.Volumes[2].File, blocked: make(chan struct{}), release: make(chan struct{})}
	defer close(b.release)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out recorder
	done := make(chan error, 1)
	go func() {
		_, err := Import(ctx, s, &Media{fsys: b}, []age.Identity{testIdentity(t, 0)}, &out)
		done <- err
	}()
	select {
	case <-b.blocked:
	case err := <-done:
		t.Fatalf("Import returned before it read volume 3: %v", err)
	case <-time.After(promptly):
		t.Fatal("Import never read volume 3")
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), stopGrace+time.Second)
	case <-time.After(promptly):
		t.Fatalf("Import did not return %v after its context was canceled while a read blocked", promptly)
	}
	requireHeldBack(t, out.Bytes(), e.data)
}
