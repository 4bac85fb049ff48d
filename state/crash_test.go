package state

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCrashAtAnyPoint mirrors the lab's "a kill -9 at random points of a run, repeated, never
// leaves a state file that fails to parse": a child saves a state file in a loop and is killed
// with SIGKILL at a random moment, 15 times; after each kill the file must load, strictly, with a
// payload that matches its checksum, and never go back to an older sequence number.
func TestCrashAtAnyPoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	last := 0
	for i := range 15 {
		c, line := startHelper(t, "save "+dir)
		require.Equal(t, "ready", line)
		time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
		require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
		_ = c.cmd.Wait()

		s, err := Open(dir, -1, -1)
		require.NoError(t, err)
		var st crashState
		ok, err := s.Load("crash", &st)
		s.Close()
		if err != nil || !ok {
			t.Fatalf("kill %d: the state file does not load: %v, %v", i, ok, err)
		}
		if !st.valid() {
			t.Fatalf("kill %d: seq %d: the payload does not match its checksum", i, st.Seq)
		}
		if st.Seq <= last {
			t.Fatalf("kill %d: got seq %d, want more than %d", i, st.Seq, last)
		}
		last = st.Seq
	}

	// Kills in the middle of a write strand temporary files; RemoveStaleTemp sweeps them.
	s, err := Open(dir, -1, -1)
	require.NoError(t, err)
	defer s.Close()
	n, err := s.RemoveStaleTemp()
	require.NoError(t, err)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if e.Name() != "crash.json" {
			t.Errorf("left in the state directory: %q", e.Name())
		}
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a temporary file survived RemoveStaleTemp (%d removed)", n)
		}
	}
	t.Logf("15 kills, last seq %d, %d stale temporary files removed", last, n)
}
