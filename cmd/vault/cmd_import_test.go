//go:build unix

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

// TestImportRefusesSpecialFiles runs vault import on media whose manifest is a named pipe,
// a symbolic link or empty: each is refused at once, in one line naming the file, before any
// zfs command (the configured zfs does not exist).
func TestImportRefusesSpecialFiles(t *testing.T) {
	v := newVaultDir(t, "")
	cfg, err := os.ReadFile(v.config)
	require.NoError(t, err)
	cfg = append([]byte("age_identity = \""+filepath.Join(v.dir, "vault.age")+"\"\n"), cfg...)
	require.NoError(t, os.WriteFile(v.config, cfg, 0o600))
	media := filepath.Join(v.dir, "media")
	require.NoError(t, os.Mkdir(media, 0o755))
	const name = "host05-tank-a.manifest"
	manifest := filepath.Join(media, name)

	for _, tt := range []struct {
		name string
		make func()
		want string
	}{
		{"named pipe", func() { require.NoError(t, syscall.Mkfifo(manifest, 0o644)) },
			"manifest " + name + " is a named pipe (FIFO), not a regular file: the media is not a vault export"},
		{"symlink to /dev/zero", func() { require.NoError(t, os.Symlink("/dev/zero", manifest)) },
			"manifest " + name + " is a symbolic link, not a regular file: the media is not a vault export"},
		{"empty", func() { require.NoError(t, os.WriteFile(manifest, nil, 0o644)) },
			"manifest " + name + " is empty: not a vault export manifest; copy it again from the export media"},
		{"null", func() { require.NoError(t, os.WriteFile(manifest, []byte("null\n"), 0o644)) },
			"manifest " + name + " is not a vault export manifest: it is JSON null, not an object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.RemoveAll(manifest))
			tt.make()
			type res struct {
				code        int
				out, errOut string
			}
			done := make(chan res, 1)
			go func() {
				code, out, errOut := runVault("import", "-c", v.config, manifest)
				done <- res{code, out, errOut}
			}()
			select {
			case r := <-done:
				require.Equal(t, exitFailure, r.code, "stderr: %s", r.errOut)
				require.Empty(t, r.out)
				require.Equal(t, "vault import: refused "+manifest+": "+tt.want+"\n", r.errOut)
			case <-time.After(5 * time.Second):
				t.Fatal("vault import still runs after 5s: it blocked on the media")
			}
		})
	}
}

// TestUntilDone: a step that reads the media and does not return (a failing device) does not
// keep the command past a signal.
func TestUntilDone(t *testing.T) {
	v, err := untilDone(context.Background(), func() (int, error) { return 7, nil })
	require.NoError(t, err)
	require.Equal(t, 7, v)

	boom := errors.New("boom")
	_, err = untilDone(context.Background(), func() (int, error) { return 0, boom })
	require.ErrorIs(t, err, boom)

	ctx, cancel := context.WithCancelCause(context.Background())
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := untilDone(ctx, func() (int, error) {
			close(started)
			<-release
			return 1, nil
		})
		done <- err
	}()
	<-started
	cancel(errors.New("interrupt signal received"))
	select {
	case err := <-done:
		require.EqualError(t, err, "stopped: interrupt signal received")
	case <-time.After(5 * time.Second):
		t.Fatal("untilDone did not return after its context ended")
	}

	// An ended context runs nothing.
	ran := false
	_, err = untilDone(ctx, func() (int, error) { ran = true; return 0, nil })
	require.Error(t, err)
	require.False(t, ran)
}

// zfsGet answers every command with out, or fails with err, and records the arguments.
type zfsGet struct {
	out  string
	err  error
	argv []string
}

func (z *zfsGet) Run(_ context.Context, c zfs.Cmd) error {
	z.argv = c.Argv[1:]
	if z.err != nil {
		return z.err
	}
	_, err := io.WriteString(c.Stdout, z.out)
	return err
}

func TestSnapshotCreation(t *testing.T) {
	snap, err := zfs.ParseSnapshot("rust10/Backups/sn/fs@2026-11-24_00.00.00--1m")
	require.NoError(t, err)
	for _, tt := range []struct {
		name, out string
		err       error
		want      time.Time
		wantErr   string
	}{
		{"seconds", "rust10/Backups/sn/fs@2026-11-24_00.00.00--1m\tcreation\t1764547200\t-\n", nil, time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), ""},
		{"not parseable (no -p)", "rust10/Backups/sn/fs@2026-11-24_00.00.00--1m\tcreation\tMon Dec  1 00:00 2025\t-\n", nil, time.Time{}, "is not seconds since the epoch"},
		{"a dash", "rust10/Backups/sn/fs@2026-11-24_00.00.00--1m\tcreation\t-\t-\n", nil, time.Time{}, "is not seconds since the epoch"},
		{"no line", "", nil, time.Time{}, "0 lines, want 1"},
		{"two lines", "rust10/Backups/sn/fs@2026-11-24_00.00.00--1m\tcreation\t1\t-\nrust10/Backups/sn/fs@2026-11-24_00.00.00--1m\tcreation\t2\t-\n", nil, time.Time{}, "2 lines, want 1"},
		{"zfs fails", "", errors.New("exit status 1"), time.Time{}, "exit status 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &zfsGet{out: tt.out, err: tt.err}
			got, err := snapshotCreation(context.Background(), &zfs.ZFS{Bin: "/sbin/zfs", Exec: f}, snap)
			require.Equal(t, []string{"get", "-H", "-p", "-o", "name,property,value,source", "creation", snap.String()}, f.argv)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
