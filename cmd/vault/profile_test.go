package main

import (
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStartCPUProfileWritesAProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	stop := startCPUProfile(path)
	sum := 0
	for i := range 1_000_000 {
		sum += i
	}
	_ = sum
	stop()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotEmpty(t, b, "the profile is empty")
	require.Equal(t, []byte{0x1f, 0x8b}, b[:2], "a pprof profile is gzipped")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestStartCPUProfileUnwritableRunsWithout(t *testing.T) {
	stop := startCPUProfile(filepath.Join(t.TempDir(), "no", "such", "dir", "cpu.prof"))
	stop()
	// No profile is left running: another one can start.
	f, err := os.CreateTemp(t.TempDir(), "p")
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, pprof.StartCPUProfile(f))
	pprof.StopCPUProfile()
}

func TestStartCPUProfileUnsetDoesNothing(t *testing.T) {
	startCPUProfile("")()
}
