package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/control"
	"github.com/belltech/vault/daemon"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
)

func TestStatusWatchFlags(t *testing.T) {
	v := newVaultDir(t, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--interval", "5s"}, "--interval goes with --watch"},
		{[]string{"--watch", "--interval", "500ms"}, "--interval 500ms: at least 1s"},
		{[]string{"--watch", "--json"}, "--watch draws the table for a person"},
	} {
		code, out, errOut := runVault(append([]string{"status", "-c", v.config}, tc.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("vault status %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer the watch loop writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// watchFrames runs the watch loop of v's configuration every interval until it has drawn n
// frames (at most 20 s), and returns them.
func watchFrames(t *testing.T, v *vaultDir, interval time.Duration, n int) []string {
	t.Helper()
	c, err := conf.Load(v.config)
	require.NoError(t, err)
	jobs, err := selectJobs(c, nil, "")
	require.NoError(t, err)
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- watchStatus(ctx, &stdio{out: out, err: out, getenv: func(string) string { return "" }}, c, jobs, interval)
	}()
	sep := strings.Repeat("-", report.WatchWidth) + "\n"
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(out.String(), sep) < n+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "the end of its context ends the watch without an error")
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end 10 s after its context")
	}
	frames := strings.Split(out.String(), sep)
	require.Empty(t, frames[0], "every frame starts with the line of dashes")
	require.GreaterOrEqual(t, len(frames)-1, n, "frames drawn:\n%s", out)
	for i, f := range frames[1:] {
		for _, l := range strings.Split(strings.TrimSuffix(f, "\n"), "\n") {
			if len(l) > report.WatchWidth {
				t.Errorf("frame %d: a line of %d columns: %q", i+1, len(l), l)
			}
		}
	}
	return frames[1 : n+1]
}

// A daemon with one stream running: the frames show it, with a rate from the daemon's counters.
func TestStatusWatchShowsTheDaemonsTransfers(t *testing.T) {
	v := newVaultDir(t, "")
	v.save(t, host05(time.Hour))
	c, err := conf.Load(v.config)
	require.NoError(t, err)
	store, err := state.Open(v.stateDir, -1, -1)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	t0 := time.Now().Add(-time.Hour)
	var mu sync.Mutex
	calls := 0
	serveStatus(t, v, func(_ context.Context, _ control.Peer, req control.Request) (any, error) {
		switch req.Op {
		case "status":
			return operate.ReadStates(store, c, req.Jobs), nil
		case "transfers":
			mu.Lock()
			defer mu.Unlock()
			calls++ // 10 MiB a second of the daemon's clock, 1 GiB estimated
			return transfersReply{Time: t0.Add(time.Duration(calls) * time.Second), Transfers: []puller.Transfer{{
				Job: "host05", Source: "host05data/jail/www", Target: "rust10/Backups/host05/jail/www", Kind: "incremental",
				Bytes: int64(calls) * 10 << 20, Total: 1 << 30, Started: t0}}}, nil
		}
		return nil, control.UnknownOp(req.Op)
	})
	frames := watchFrames(t, v, 50*time.Millisecond, 2)
	for i, want := range []string{
		"rust10/Backups/host05/jail/www  incr  10.0 MiB/1.0 GiB    0%  10.0 MiB/s   1m",
		"rust10/Backups/host05/jail/www  incr  20.0 MiB/1.0 GiB    1%  10.0 MiB/s   1m",
	} {
		if !strings.Contains(frames[i], "\nTRANSFERS\n") || !strings.Contains(frames[i], want+"\n") {
			t.Errorf("frame %d lacks the transfer line %q:\n%s", i+1, want, frames[i])
		}
		if !strings.Contains(frames[i], "OK       host05  host05data/jail/www") || !strings.Contains(frames[i], "CAP  R/W/CKSUM") {
			t.Errorf("frame %d lacks the datasets or the pools:\n%s", i+1, frames[i])
		}
	}
}

func TestStatusWatchWithoutTheTransfers(t *testing.T) {
	t.Run("no daemon", func(t *testing.T) {
		v := newVaultDir(t, "")
		v.save(t, host05(time.Hour))
		frame := watchFrames(t, v, 50*time.Millisecond, 1)[0]
		if !strings.Contains(frame, "\nTRANSFERS: daemon not reachable (no daemon is running)\n") || !strings.Contains(frame, "OK       host05  host05data/jail ") {
			t.Errorf("the frame without a daemon:\n%s", frame)
		}
	})
	t.Run("an older daemon", func(t *testing.T) {
		v := newVaultDir(t, "")
		v.save(t, host05(time.Hour))
		serveStatus(t, v, nil) // knows "status" only
		frame := watchFrames(t, v, 50*time.Millisecond, 1)[0]
		if !strings.Contains(frame, "\nTRANSFERS: the daemon is older than this vault and cannot list them: restart it\n") || !strings.Contains(frame, "OK       host05  host05data/jail ") {
			t.Errorf("the frame with an older daemon:\n%s", frame)
		}
	})
	t.Run("an idle daemon", func(t *testing.T) {
		v := newVaultDir(t, "")
		var idle daemon.Transfers // the daemon's registry, with nothing running
		serveStatus(t, v, func(ctx context.Context, p control.Peer, req control.Request) (any, error) {
			if req.Op == "transfers" {
				return transfersReply{Time: time.Now(), Transfers: idle.List()}, nil
			}
			return operate.States{}, nil
		})
		frame := watchFrames(t, v, 50*time.Millisecond, 1)[0]
		if !strings.Contains(frame, "\nTRANSFERS: none\n") {
			t.Errorf("the frame of an idle daemon:\n%s", frame)
		}
	})
}

// The watch ends with exit 0 when its context ends (main's, on SIGINT or SIGTERM).
func TestStatusWatchEndsCleanly(t *testing.T) {
	v := newVaultDir(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"status", "-c", v.config, "--watch", "--interval", "1s"}, &stdio{in: strings.NewReader(""), out: &out, err: &errOut, getenv: func(string) string { return "" }})
	if code != exitOK || errOut.Len() != 0 || strings.Count(out.String(), "\nTRANSFERS: ") != 1 {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut.String(), out.String())
	}
}

// The daemon's side: "transfers" lists what its registry holds, as JSON a console decodes;
// an op it does not know is answered so that a console can tell.
func TestHandleControlTransfers(t *testing.T) {
	var reg daemon.Transfers
	started := time.Now().Add(-time.Minute).Truncate(time.Second)
	var n atomic.Int64
	n.Store(123)
	end := reg.Begin(puller.Transfer{Job: "host05", Source: "host05data/jail", Target: "rust10/Backups/host05/jail", Kind: "full", Total: 1000, Started: started}, &n)
	defer end()
	res, err := handleControl(context.Background(), nil, nil, &reg, control.Peer{}, control.Request{Op: "transfers"})
	require.NoError(t, err)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	var got transfersReply
	require.NoError(t, json.Unmarshal(b, &got))
	want := puller.Transfer{Job: "host05", Source: "host05data/jail", Target: "rust10/Backups/host05/jail", Kind: "full", Bytes: 123, Total: 1000, Started: started}
	if len(got.Transfers) != 1 || !got.Transfers[0].Started.Equal(started) || got.Transfers[0].Started.IsZero() {
		t.Fatalf("transfers: got %+v, want %+v", got.Transfers, want)
	}
	got.Transfers[0].Started = started
	if got.Transfers[0] != want || got.Time.IsZero() {
		t.Errorf("transfers: got %+v at %v, want %+v at the daemon's time", got.Transfers[0], got.Time, want)
	}

	_, err = handleControl(context.Background(), nil, nil, &reg, control.Peer{}, control.Request{Op: "frobnicate"})
	if err == nil || err.Error() != `unknown request "frobnicate"` {
		t.Errorf("an unknown op: got %v, want the answer every daemon gives", err)
	}
}
