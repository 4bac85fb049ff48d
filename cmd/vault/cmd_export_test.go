//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

// exportZFS answers the zfs commands vault export runs before its send: the guid and
// encryption of the snapshot, and the dry run's estimate of the stream (size bytes).
type exportZFS struct{ size int64 }

func (f exportZFS) Run(_ context.Context, c zfs.Cmd) error {
	a := c.Argv[1:]
	switch {
	case a[0] == "get" && a[5] == "guid":
		fmt.Fprintf(c.Stdout, "%s\tguid\t4242\t-\n", a[6])
	case a[0] == "get" && a[5] == "encryption":
		fmt.Fprintf(c.Stdout, "%s\tencryption\toff\tdefault\n", a[6])
	case a[0] == "send" && slices.Contains(a, "-n"):
		fmt.Fprintf(c.Stdout, "full\t%s\t%d\nsize\t%d\n", a[len(a)-1], f.size, f.size)
	default:
		return fmt.Errorf("unexpected zfs %q", a)
	}
	return nil
}

// Start is the send: size bytes.
func (f exportZFS) Start(_ context.Context, c zfs.Cmd) (zfs.Process, error) {
	if c.Argv[1] != "send" {
		return nil, fmt.Errorf("unexpected zfs %q", c.Argv[1:])
	}
	return sendProc{io.LimitReader(zeros{}, f.size)}, nil
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

type sendProc struct{ r io.Reader }

func (p sendProc) Stdout() io.Reader { return p.r }
func (p sendProc) Wait() error       { return nil }
func (p sendProc) Abort() error      { return nil }

// openPty gives a pseudo-terminal: what is written to tty is read from master.
func openPty(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err, "a pseudo-terminal for the progress display")
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	return m, s
}

// runExportTo exports a 3 MiB stream with errw as stderr.
func runExportTo(t *testing.T, errw io.Writer) *sneakernet.Manifest {
	t.Helper()
	const size = 3 << 20
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	key, err := sneakernet.GenerateSigningKey()
	require.NoError(t, err)
	snap, err := zfs.ParseSnapshot("pool/fs@a")
	require.NoError(t, err)
	o := sneakernet.ExportOptions{Dir: t.TempDir(), Name: "x", Host: "h", Recipients: []age.Recipient{id.Recipient()}, SigningKey: key}
	s := &stdio{out: io.Discard, err: errw, getenv: func(string) string { return "" }}
	f := exportZFS{size: size}
	m, err := exportSnapshot(context.Background(), s, &zfs.ZFS{Bin: "/sbin/zfs", Exec: f}, f, snap, zfs.Snapshot{}, false, o)
	require.NoError(t, err)
	require.Equal(t, int64(size), m.StreamBytes)
	return m
}

// On a terminal, vault export shows its progress against zfs's estimate (the total, 3.1 MB in
// the bar's decimal units, is known before the stream ends); elsewhere nothing.
func TestExportShowsProgressOnATerminal(t *testing.T) {
	master, tty := openPty(t)
	defer master.Close()
	seen := make(chan string)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO once the terminal is closed
		seen <- string(b)
	}()
	runExportTo(t, tty)
	tty.Close()
	screen := <-seen
	for _, want := range []string{"export a", "100%", "(3.0/3.0 MiB"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal lacks %q; it shows %q", want, screen)
		}
	}

	var notTTY bytes.Buffer
	runExportTo(t, &notTTY)
	if notTTY.Len() != 0 {
		t.Errorf("stderr not a terminal: got %q, want nothing", notTTY.String())
	}
}
