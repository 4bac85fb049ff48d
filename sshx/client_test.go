package sshx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

func TestRunOutputAndStatus(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	var out bytes.Buffer
	err := c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/echo", "hello"}, Stdout: &out})
	require.NoError(t, err)
	if got, want := out.String(), "hello\n"; got != want {
		t.Errorf("got output %q, want %q", got, want)
	}
}

func TestRunExitError(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	err := c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/sh", "-c", "echo out; echo oops >&2; exit 3"}})
	var xe *zfs.ExitError
	require.ErrorAs(t, err, &xe)
	if xe.Code != 3 || xe.Signal != "" {
		t.Errorf("got code %d signal %q, want 3 and none", xe.Code, xe.Signal)
	}
	if got, want := xe.Stderr, "oops\n"; got != want {
		t.Errorf("got stderr %q, want %q", got, want)
	}
	if !strings.Contains(err.Error(), "exit status 3: oops") {
		t.Errorf("got error %q, want the status and stderr in it", err)
	}
}

func TestRunStderrBounded(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	// 1 MiB of stderr: the head and tail are kept, 64 KiB in all.
	err := c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/sh", "-c",
		"echo first >&2; head -c 1048576 /dev/zero | tr '\\0' x >&2; echo; echo last >&2; exit 1"}})
	var xe *zfs.ExitError
	require.ErrorAs(t, err, &xe)
	if len(xe.Stderr) > stderrLimit+100 {
		t.Errorf("got %d bytes of stderr, want at most about %d", len(xe.Stderr), stderrLimit)
	}
	if !strings.HasPrefix(xe.Stderr, "first\n") || !strings.HasSuffix(xe.Stderr, "last\n") ||
		!strings.Contains(xe.Stderr, "bytes of stderr omitted") {
		t.Errorf("got stderr without its head, tail or omission note: %.80q...", xe.Stderr)
	}
}

func TestArgvThroughRemoteShell(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	args := []string{
		"plain", "two words", "it's", `"double"`, `back\slash`, "$HOME", "`id`", "$(id)",
		"a;b", "a|b", "a&b", "*", "?", "[x]", "~", "#hash", "", "  ", "=eq", "%job", "tank/ds@snap-1",
		"ünïcode", "{a,b}", "<in", ">out",
	}
	var out bytes.Buffer
	argv := append([]string{"/usr/bin/printf", `%s\n`}, args...)
	require.NoError(t, c.Run(context.Background(), zfs.Cmd{Argv: argv, Stdout: &out}))
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Equal(t, args, got, "the arguments must arrive intact")
}

func TestRelativeBinaryRefused(t *testing.T) {
	c := &Client{}
	err := c.Run(context.Background(), zfs.Cmd{Argv: []string{"zfs", "list"}})
	require.ErrorContains(t, err, "not absolute")
	err = c.Run(context.Background(), zfs.Cmd{Argv: []string{"/sbin/zfs", "a\nb"}})
	require.ErrorContains(t, err, "cannot quote")
}

func TestConcurrentSessions(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	// More than MaxSessions: the extra ones wait for a free session. Each command marks its
	// start in dir and waits until MaxSessions have started: with sessions one at a time the
	// first would wait forever (the context ends it), so no clock decides the result.
	const n = MaxSessions + 5
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	outs := make([]bytes.Buffer, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = c.Run(ctx, zfs.Cmd{
				Argv: []string{"/bin/sh", "-c", `: >"$1/$0"; while [ "$(ls "$1" | wc -l)" -lt "$2" ]; do sleep 0.05; done; echo $0`,
					fmt.Sprint(i), dir, fmt.Sprint(MaxSessions)},
				Stdout: &outs[i],
			})
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "command %d (did %d sessions not run at once?)", i, MaxSessions)
		if got, want := outs[i].String(), fmt.Sprintf("%d\n", i); got != want {
			t.Errorf("command %d: got %q, want %q", i, got, want)
		}
	}
}

func TestStdinStreaming(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	const size = 64 << 20
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(data)
	want := sha256.Sum256(data)

	t.Run("Run", func(t *testing.T) {
		h := sha256.New()
		err := c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/cat"}, Stdin: bytes.NewReader(data), Stdout: h})
		require.NoError(t, err)
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Errorf("got sha256 %x, want %x", got, want)
		}
	})
	t.Run("Start", func(t *testing.T) {
		pr, pw := io.Pipe()
		p, err := c.Start(context.Background(), zfs.Cmd{Argv: []string{"/bin/cat"}, Stdin: pr})
		require.NoError(t, err)
		go func() {
			_, _ = pw.Write(data)
			_ = pw.Close()
		}()
		h := sha256.New()
		n, err := io.Copy(h, p.Stdout())
		require.NoError(t, err)
		require.NoError(t, p.Wait())
		if got := h.Sum(nil); n != size || !bytes.Equal(got, want[:]) {
			t.Errorf("got %d bytes with sha256 %x, want %d with %x", n, got, size, want)
		}
	})
	t.Run("RemoteChecksum", func(t *testing.T) {
		var out bytes.Buffer
		err := c.Run(context.Background(), zfs.Cmd{Argv: []string{"/usr/bin/sha256sum"}, Stdin: bytes.NewReader(data), Stdout: &out})
		require.NoError(t, err)
		if got, want := strings.Fields(out.String())[0], fmt.Sprintf("%x", want); got != want {
			t.Errorf("got remote sha256 %s, want %s", got, want)
		}
	})
}

// failingReader returns some data and then an error.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

func TestStdinReadErrorIsNotEOF(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	// A failing input must not reach the command as a clean end of input:
	// here, wc would print a count and exit 0.
	var out bytes.Buffer
	err := c.Run(context.Background(), zfs.Cmd{
		Argv:  []string{"/bin/sh", "-c", "wc -c; sleep 5"},
		Stdin: &failingReader{n: 1 << 20}, Stdout: &out,
	})
	require.ErrorContains(t, err, "disk on fire")
	if out.Len() > 0 {
		t.Errorf("got output %q: the command saw end of input", out.String())
	}
}

func TestStdoutWriteErrorKills(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	start := time.Now()
	err := c.Run(context.Background(), zfs.Cmd{
		Argv:   []string{"/bin/sh", "-c", "head -c 100000000 /dev/zero; sleep 20"},
		Stdout: errWriter{},
	})
	require.ErrorContains(t, err, "cannot write its output: receiver gone")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s, want the command killed at once", d)
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("receiver gone") }

func TestCancel(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	err := c.Run(ctx, zfs.Cmd{Argv: []string{"/bin/sleep", "30"}})
	d := time.Since(start)
	require.ErrorIs(t, err, context.Canceled)
	if d > 3*time.Second {
		t.Errorf("returned after %s, want promptly after the cancel", d)
	}
	t.Logf("cancelled after %s: %v", d, err)
	// The connection is still good.
	require.NoError(t, c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/true"}}))
}

func TestStartAbort(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	p, err := c.Start(context.Background(), zfs.Cmd{Argv: []string{"/bin/sh", "-c", "yes"}})
	require.NoError(t, err)
	buf := make([]byte, 1000)
	_, err = io.ReadFull(p.Stdout(), buf)
	require.NoError(t, err)
	start := time.Now()
	err = p.Abort()
	require.Error(t, err)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("abort took %s", d)
	}
	t.Logf("abort: %v", err)
	require.Equal(t, err, p.Wait(), "Wait after Abort returns the same error")
}

func TestClosedClient(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/sleep", "30"}}) }()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, c.Close())
	err := <-done
	require.ErrorIs(t, err, ErrConnectionLost)
	require.ErrorContains(t, err, "the client closed it")
	err = c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/true"}})
	require.ErrorIs(t, err, ErrConnectionLost)
}

func TestIOTimeoutClosesStalledCommand(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	cfg.IOTimeout = time.Second
	cfg.Keepalive = 200 * time.Millisecond // answered all along: they do not count
	c := dial(t, cfg)
	start := time.Now()
	err := c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/sleep", "30"}})
	d := time.Since(start)
	require.ErrorIs(t, err, ErrConnectionLost)
	require.ErrorContains(t, err, "I/O timeout 1s")
	if d < time.Second || d > 5*time.Second {
		t.Errorf("failed after %s, want about 1s", d)
	}
	t.Logf("after %s: %v", d, err)
}

func TestIOTimeoutIsIdlenessNotTotalTime(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	cfg.IOTimeout = 2 * time.Second
	c := dial(t, cfg)
	// 4.5s in all, a line every 0.3s: never idle for 2s.
	var out bytes.Buffer
	err := c.Run(context.Background(), zfs.Cmd{
		Argv:   []string{"/bin/sh", "-c", "for i in $(seq 15); do echo $i; sleep 0.3; done"},
		Stdout: &out,
	})
	require.NoError(t, err)
	// An idle connection, with no command running, is not closed either.
	time.Sleep(cfg.IOTimeout + 500*time.Millisecond)
	require.NoError(t, c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/true"}}))
}

func TestKeepaliveKeepsSilentCommand(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	cfg.IOTimeout = 0
	cfg.Keepalive = 100 * time.Millisecond
	c := dial(t, cfg)
	// Silent for 20 keepalive intervals, and answered all along.
	require.NoError(t, c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/sleep", "2"}}))
}

func TestKeepaliveDetectsDeadPeer(t *testing.T) {
	s := startSSHD(t)
	proxy := startProxy(t, s.Port)
	cfg := s.config()
	cfg.Port = proxy.Port
	cfg.IOTimeout = 0
	cfg.Keepalive = 200 * time.Millisecond
	// The proxy's port is another known_hosts entry.
	cfg.KnownHostsFile = t.TempDir() + "/known_hosts"
	writeKnownHosts(t, cfg.KnownHostsFile, fmt.Sprintf("[127.0.0.1]:%d", proxy.Port), s.HostKeys["ssh-ed25519"])
	c := dial(t, cfg)
	time.AfterFunc(500*time.Millisecond, proxy.Freeze)
	start := time.Now()
	err := c.Run(context.Background(), zfs.Cmd{Argv: []string{"/bin/sleep", "30"}})
	d := time.Since(start)
	require.ErrorIs(t, err, ErrConnectionLost)
	require.ErrorContains(t, err, "no reply to keepalives")
	if d > 3*time.Second {
		t.Errorf("failed after %s, want about 0.5s + 3 x 0.2s", d)
	}
	t.Logf("after %s: %v", d, err)
}

func TestStreamCutIsNotEOF(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	p, err := c.Start(context.Background(), zfs.Cmd{Argv: []string{"/bin/sh", "-c", "yes"}})
	require.NoError(t, err)
	time.AfterFunc(300*time.Millisecond, func() { c.Close() })
	n, err := io.Copy(io.Discard, p.Stdout())
	require.ErrorIs(t, err, ErrConnectionLost, "after %d bytes", n)
	require.ErrorIs(t, p.Wait(), ErrConnectionLost)
}
