//go:build linux || freebsd

package control

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
)

// The peer check is tested from a child: the test binary runs itself again as root with helperEnv
// set to a socket path, and only TestHelperCall. The child drops to nobody itself, then calls, and
// prints what it got. (Starting the child as nobody through SysProcAttr.Credential would not do:
// the go tool builds the test binary in a 0700 directory, which nobody cannot exec from.)

const (
	helperEnv = "VAULT_CONTROL_HELPER" // the socket path
	nobody    = 65534
)

func TestHelperCall(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return // not a child
	}
	// Ordered as in privdrop: groups, then group, then user; then make sure.
	if err := syscall.Setgroups(nil); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setgid(nobody); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setuid(nobody); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != nobody || syscall.Setuid(0) == nil {
		t.Fatalf("still privileged after the drop: euid %d", os.Geteuid())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var peer Peer
	err := Call(ctx, path, Request{Op: "echo"}, &peer)
	fmt.Printf("RESULT uid=%d err=%v\n", peer.UID, err)
}

// childCall runs TestHelperCall against path and returns its RESULT line.
func childCall(t *testing.T, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperCall$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.Bytes())
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if r, ok := strings.CutPrefix(line, "RESULT "); ok {
			return r
		}
	}
	t.Fatalf("child printed no result:\n%s\nstderr:\n%s", out, stderr.Bytes())
	return ""
}

func TestPeerCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user (CI runs as root)")
	}
	// peerEcho answers with the peer, as the server saw it.
	peerEcho := func(ctx context.Context, peer Peer, req Request) (any, error) { return peer, nil }

	for _, tc := range []struct {
		name  string
		allow []int
		chmod bool // open the socket to all, so that only the peer check stands in the way
		want  string
	}{
		{"refused by the peer check", []int{1234}, true, "uid=0 err=daemon: permission denied: uid 65534 is not root or the vault user"},
		{"allowed", []int{1234, nobody}, true, "uid=65534 err=<nil>"},
		{"refused by the socket's mode", []int{nobody}, false, "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A directory nobody can search, beside a 0755 /tmp-like parent.
			dir, err := os.MkdirTemp("", "vc")
			require.NoError(t, err)
			t.Cleanup(func() { os.RemoveAll(dir) })
			require.NoError(t, os.Chmod(dir, 0o755))
			path := filepath.Join(dir, "control.sock")

			var logs bytes.Buffer
			s := &Server{Path: path, AllowUIDs: tc.allow, Handler: peerEcho, Log: testLogger(&logs)}
			require.NoError(t, s.Listen())
			if tc.chmod {
				require.NoError(t, os.Chmod(path, 0o666)) // the test's doing; Listen makes it 0600
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx) }()
			got := childCall(t, path)
			cancel()
			require.NoError(t, <-done)

			if !strings.Contains(got, tc.want) {
				t.Errorf("child: got %q, want it to contain %q", got, tc.want)
			}
			refused := strings.Contains(logs.String(), "refused a control connection")
			if wantLog := tc.name == "refused by the peer check"; refused != wantLog {
				t.Errorf("log of a refusal: got %v, want %v; log:\n%s", refused, wantLog, logs.String())
			}
		})
	}
}

func testLogger(w io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: w, Level: hclog.Debug})
}
