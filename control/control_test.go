//go:build linux || freebsd

package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sockDir returns a fresh 0700 directory with a short path: socket paths are limited to 103 bytes.
func sockDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vc")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// self allows the test's own user, unless it is root, which is always allowed and so is tested so.
func self() []int {
	if euid := os.Geteuid(); euid != 0 {
		return []int{euid}
	}
	return nil
}

// echo answers "echo" with the peer and request, "fail" with an error, and "wait" when ctx ends.
func echo(ctx context.Context, peer Peer, req Request) (any, error) {
	switch req.Op {
	case "echo":
		return map[string]any{"peer": peer, "req": req}, nil
	case "nil":
		return nil, nil
	case "fail":
		return nil, fmt.Errorf("cannot pull %q: no such job", req.Jobs[0])
	case "wait":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, UnknownOp(req.Op)
}

// serve starts a listening, serving server at path; stopping it (or the test's end) cancels Serve,
// and the returned function waits for Serve and returns its error.
func serve(t *testing.T, path string, h Handler) (stop func() error) {
	t.Helper()
	s := &Server{Path: path, AllowUIDs: self(), Handler: h}
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			cancel()
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return within 5s of its context ending")
			}
			stopped = true
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func call(t *testing.T, path string, req Request, body any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return Call(ctx, path, req, body)
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(sockDir(t), "control.sock")
	serve(t, path, echo)

	fi, err := os.Lstat(path)
	require.NoError(t, err)
	if got := fi.Mode(); got != fs.ModeSocket|0o600 {
		t.Errorf("socket mode: got %s, want %s", got, fs.ModeSocket|0o600)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".control-*")); len(m) != 0 {
		t.Errorf("temporary directories left beside the socket: %v", m)
	}

	var got struct {
		Peer Peer
		Req  Request
	}
	req := Request{Op: "echo", Jobs: []string{"tank"}, Args: map[string]string{"now": "1"}}
	require.NoError(t, call(t, path, req, &got))
	if want := (Peer{UID: os.Geteuid(), GID: os.Getegid(), PID: os.Getpid()}); got.Peer != want {
		t.Errorf("peer: got %+v, want %+v", got.Peer, want)
	}
	if got.Req.Op != "echo" || len(got.Req.Jobs) != 1 || got.Req.Jobs[0] != "tank" || got.Req.Args["now"] != "1" {
		t.Errorf("request as the handler saw it: got %+v, want %+v", got.Req, req)
	}

	if err := call(t, path, Request{Op: "nil"}, &got); err != nil {
		t.Errorf("a handler returning nil: got %v, want no error", err)
	}
	if err := call(t, path, Request{Op: "echo"}, nil); err != nil {
		t.Errorf("a nil body: got %v, want no error", err)
	}

	err = call(t, path, Request{Op: "fail", Jobs: []string{"tank"}}, nil)
	var de *DaemonError
	if !errors.As(err, &de) || de.Msg != `cannot pull "tank": no such job` {
		t.Errorf("a handler's error: got %v, want a DaemonError with its message", err)
	}
	if IsUnknownOp(err) {
		t.Errorf("IsUnknownOp(%v): got true for a known op that failed", err)
	}

	// An op the daemon does not know, answered as every daemon always has: the console can tell.
	err = call(t, path, Request{Op: "transfers"}, nil)
	if !IsUnknownOp(err) {
		t.Errorf("IsUnknownOp(%v): got false for an op the daemon does not know", err)
	}
	if old := (&DaemonError{Msg: `unknown request "transfers"`}); !IsUnknownOp(old) {
		t.Errorf("IsUnknownOp does not recognise an older daemon's answer %q", old.Msg)
	}
}

// rawCall sends raw bytes on a fresh connection and returns the response.
func rawCall(t *testing.T, path string, data []byte) Response {
	t.Helper()
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go c.Write(data) // may block on a full buffer once the server stops reading
	var resp Response
	require.NoError(t, json.NewDecoder(c).Decode(&resp))
	return resp
}

func TestBadRequests(t *testing.T) {
	path := filepath.Join(sockDir(t), "control.sock")
	serve(t, path, echo)

	huge := fmt.Sprintf(`{"op":"echo","args":{"x":%q}}`, strings.Repeat("x", maxRequest))
	for _, tc := range []struct {
		name, data, want string
	}{
		{"oversized", huge, "bad request: larger than 65536 bytes"},
		{"unknown field", `{"op":"echo","force":true}` + "\n", `bad request: json: unknown field "force"`},
		{"no op", `{"jobs":["tank"]}`, "bad request: no op"},
		{"not json", "status\n", "bad request: invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawCall(t, path, []byte(tc.data))
			if resp.OK || !strings.HasPrefix(resp.Error, tc.want) {
				t.Errorf("got %+v, want an error starting %q", resp, tc.want)
			}
		})
	}

	// Call refuses to send an oversized request at all.
	err := call(t, path, Request{Op: "echo", Args: map[string]string{"x": strings.Repeat("x", maxRequest)}}, nil)
	if err == nil || !strings.Contains(err.Error(), "more than 65536") {
		t.Errorf("Call with an oversized request: got %v, want it refused", err)
	}
}

func TestListenRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the socket path
		want  string
	}{
		{"regular file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "control.sock")
			require.NoError(t, os.WriteFile(p, []byte("keep me"), 0o600))
			return p
		}, "exists and is not a socket"},
		{"directory", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "control.sock")
			require.NoError(t, os.Mkdir(p, 0o700))
			return p
		}, "exists and is not a socket"},
		{"symlink", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "control.sock")
			require.NoError(t, os.Symlink(filepath.Join(dir, "elsewhere"), p))
			return p
		}, "exists and is not a socket"},
		{"relative path", func(t *testing.T, dir string) string { return "control.sock" }, "must be absolute"},
		{"unclean path", func(t *testing.T, dir string) string { return dir + "/./control.sock" }, "must be absolute and clean"},
		{"world-writable directory", func(t *testing.T, dir string) string {
			require.NoError(t, os.Chmod(dir, 0o777))
			return filepath.Join(dir, "control.sock")
		}, "writable by group or others"},
		{"group-writable directory", func(t *testing.T, dir string) string {
			require.NoError(t, os.Chmod(dir, 0o770))
			return filepath.Join(dir, "control.sock")
		}, "writable by group or others"},
		{"missing directory", func(t *testing.T, dir string) string { return filepath.Join(dir, "nope", "control.sock") }, "no such file or directory"},
		{"long path", func(t *testing.T, dir string) string { return "/" + strings.Repeat("d", 90) + "/control.sock" }, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := sockDir(t)
			path := tc.setup(t, dir)
			before, _ := os.Lstat(path)
			s := &Server{Path: path, Handler: echo}
			err := s.Listen()
			if err == nil {
				s.Close()
				t.Fatalf("got no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
			if after, _ := os.Lstat(path); before != nil && (after == nil || !os.SameFile(before, after)) {
				t.Errorf("what was at the path was touched")
			}
			if m, _ := filepath.Glob(filepath.Join(dir, ".control-*")); len(m) != 0 {
				t.Errorf("temporary directories left: %v", m)
			}
		})
	}
}

// staleSocket leaves a socket at path that nobody listens on, as a killed daemon would.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.Equal(t, fs.ModeSocket, fi.Mode().Type())
}

func TestListenRemovesStaleSocket(t *testing.T) {
	path := filepath.Join(sockDir(t), "control.sock")
	staleSocket(t, path)
	serve(t, path, echo)
	if err := call(t, path, Request{Op: "echo"}, nil); err != nil {
		t.Errorf("call after replacing a stale socket: got %v, want no error", err)
	}
}

func TestListenRefusesSecondServer(t *testing.T) {
	path := filepath.Join(sockDir(t), "control.sock")
	serve(t, path, echo)

	s := &Server{Path: path, Handler: echo}
	err := s.Listen()
	if want := "another daemon is listening on " + path; err == nil || err.Error() != want {
		t.Errorf("second Listen: got %v, want %q", err, want)
	}
	if err := call(t, path, Request{Op: "echo"}, nil); err != nil {
		t.Errorf("the first server after the second was refused: got %v, want no error", err)
	}
}

func TestStop(t *testing.T) {
	path := filepath.Join(sockDir(t), "control.sock")
	started := make(chan struct{})
	stop := serve(t, path, func(ctx context.Context, peer Peer, req Request) (any, error) {
		close(started)
		return echo(ctx, peer, req)
	})

	// One client connected that never sends, one in a long handler: neither holds up the stop.
	// The server accepts them in this order, so the first is being read once the handler runs.
	idle, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer idle.Close()
	waited := make(chan error, 1)
	go func() { waited <- call(t, path, Request{Op: "wait"}, nil) }()
	<-started

	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("Serve: got %v, want nil", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Serve took %s to stop, want well under the 10s read timeout", d)
	}
	var de *DaemonError
	if err := <-waited; !errors.As(err, &de) || de.Msg != context.Canceled.Error() {
		t.Errorf("the waiting client: got %v, want the handler's %q", err, context.Canceled)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket after stop: got %v, want it removed", err)
	}
	if err := call(t, path, Request{Op: "echo"}, nil); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("call after stop: got %v, want ErrNoDaemon", err)
	}
}

func TestClose(t *testing.T) {
	dir := sockDir(t)
	path := filepath.Join(dir, "control.sock")
	s := &Server{Path: path, AllowUIDs: self(), Handler: echo}
	require.NoError(t, s.Listen())
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	require.NoError(t, call(t, path, Request{Op: "echo"}, nil))

	require.NoError(t, s.Close())
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after Close: got %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5s of Close")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket after Close: got %v, want it removed", err)
	}
	require.NoError(t, s.Close(), "a second Close")

	// Close leaves alone whatever has taken the path since.
	s = &Server{Path: path, Handler: echo}
	require.NoError(t, s.Listen())
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	require.NoError(t, s.Close())
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("another file at the path after Close: got %v, want it kept", err)
	}
}

func TestNoDaemon(t *testing.T) {
	dir := sockDir(t)
	stale := filepath.Join(dir, "stale.sock")
	staleSocket(t, stale)
	for _, path := range []string{filepath.Join(dir, "missing.sock"), stale} {
		if err := call(t, path, Request{Op: "echo"}, nil); !errors.Is(err, ErrNoDaemon) {
			t.Errorf("%s: got %v, want ErrNoDaemon", filepath.Base(path), err)
		}
	}
}
