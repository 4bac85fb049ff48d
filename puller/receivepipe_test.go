package puller

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

// These tests check runStep's plumbing between a send's output and a receive's input with a
// real child process standing in for zfs receive (this test binary, re-executed): the bytes
// arrive whole, and a receive that dies early fails the step at once instead of hanging. What
// zfs receive does with a stream is the lab's business.

const helperEnv = "VAULT_PULLER_TEST_RECEIVER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "count": // read stdin to the end, print how many bytes
		n, err := io.Copy(io.Discard, os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, n) // stderr is what Local keeps
		os.Exit(7)                 // a distinctive status carries the count out in the error
	case "refuse": // read nothing, fail like a receive refused at once
		fmt.Fprintln(os.Stderr, "cannot receive: permission denied")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// streamSource is a send whose output is n bytes of a pattern.
type streamSource struct {
	n       int64
	aborted bool
}

func (s *streamSource) Start(context.Context, zfs.Cmd) (zfs.Process, error) {
	return &streamProc{s: s, r: io.LimitReader(patternReader{}, s.n)}, nil
}

type streamProc struct {
	s *streamSource
	r io.Reader
}

func (p *streamProc) Stdout() io.Reader { return p.r }
func (p *streamProc) Wait() error       { return nil }
func (p *streamProc) Abort() error      { p.s.aborted = true; return fmt.Errorf("send aborted") }

type patternReader struct{}

func (patternReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(i)
	}
	return len(b), nil
}

func pipeTestPuller(t *testing.T, mode string, src *streamSource) (*Puller, DatasetPlan, *Job) {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	local := &zfs.Local{Env: []string{helperEnv + "=" + mode}}
	// The step's space check asks the source for an estimate and the vault for its space:
	// the fake answers that it fits.
	sizes := &fakeSide{estimates: map[string]int64{"pool/src@2026-11-26_00.00.00--1w": src.n}, available: map[string]int64{"vault/src": 1 << 50}}
	p := &Puller{
		Source: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: sizes}, Starter: src},
		Target: Side{ZFS: &zfs.ZFS{Bin: self, Exec: sizes}, Starter: local},
	}
	from, err := zfs.ParseSnapshot("pool/src@2026-11-25_00.00.00--1w")
	require.NoError(t, err)
	to, err := zfs.ParseSnapshot("pool/src@2026-11-26_00.00.00--1w")
	require.NoError(t, err)
	srcDS, err := zfs.ParseDataset("pool/src")
	require.NoError(t, err)
	dst, err := zfs.ParseDataset("vault/src")
	require.NoError(t, err)
	dp := DatasetPlan{Source: srcDS, Target: dst, Type: zfs.TypeFilesystem, TargetExists: true,
		Steps: []Step{{Kind: Incremental, From: &SnapRef{Name: from, GUID: 1}, To: SnapRef{Name: to, GUID: 2}}}}
	return p, dp, &Job{Name: "t"}
}

func TestRunStepDeliversTheWholeStream(t *testing.T) {
	const n = 200<<20 + 12345 // many chunks and a partial one
	src := &streamSource{n: n}
	p, dp, job := pipeTestPuller(t, "count", src)
	sr, err := p.runStep(context.Background(), job, dp, dp.Steps[0])
	// The stand-in exits 7 with the count on stderr, so the step fails with it.
	require.Error(t, err)
	require.Contains(t, err.Error(), "receive failed")
	require.Contains(t, err.Error(), "exit status 7: "+strconv.Itoa(n))
	require.Equal(t, int64(n), sr.Bytes)
	require.Equal(t, int64(n), sr.Estimated, "the space check estimated the stream")
	require.Empty(t, sr.Warning)
	require.False(t, src.aborted, "the send ran to its end")
}

func TestRunStepFailsAtOnceWhenTheReceiveDies(t *testing.T) {
	src := &streamSource{n: 1 << 40} // far more than any buffer: only the receive's death ends it
	p, dp, job := pipeTestPuller(t, "refuse", src)
	done := make(chan error, 1)
	go func() {
		_, err := p.runStep(context.Background(), job, dp, dp.Steps[0])
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		require.True(t, strings.HasPrefix(err.Error(), "receive failed: "), "got %v", err)
		require.Contains(t, err.Error(), "permission denied")
		require.True(t, src.aborted, "the send was aborted")
	case <-time.After(30 * time.Second):
		t.Fatal("runStep still copying 30 s after the receive exited")
	}
}
