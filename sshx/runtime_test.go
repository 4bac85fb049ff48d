package sshx

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStreamProcs(t *testing.T) {
	require.Equal(t, 1, streamProcs(0))
	require.Equal(t, 1, streamProcs(1))
	require.Equal(t, min(2, runtime.NumCPU()), streamProcs(2))
	require.Equal(t, runtime.NumCPU(), streamProcs(1000))
}

// gcPercent reads the current GC target.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestTuneRuntimeSetsAndRestores(t *testing.T) {
	procs, gc := runtime.GOMAXPROCS(0), gcPercent()
	restore := TuneRuntime(1, func(string) string { return "" })
	require.Equal(t, 1, runtime.GOMAXPROCS(0))
	require.Equal(t, GCPercent, gcPercent())
	restore()
	require.Equal(t, procs, runtime.GOMAXPROCS(0))
	require.Equal(t, gc, gcPercent())
}

func TestTuneRuntimeLeavesWhatTheEnvironmentSets(t *testing.T) {
	procs, gc := runtime.GOMAXPROCS(0), gcPercent()
	env := map[string]string{"GOGC": "150", "GOMAXPROCS": "7"}
	restore := TuneRuntime(1, func(k string) string { return env[k] })
	defer restore()
	require.Equal(t, procs, runtime.GOMAXPROCS(0))
	require.Equal(t, gc, gcPercent())
}
