package sshx

import (
	"runtime"
	"runtime/debug"
)

// GCPercent is the garbage-collection target (GOGC) for a process that moves streams over
// this transport. x/crypto/ssh allocates a fresh 32 KiB slice per packet; measured in
// BenchmarkTransportVsOpenSSH, the default target of 100 costs about a third of the
// throughput. A pull's live heap is mostly its stream buffer, so letting the heap grow to a
// few hundred MiB between collections is cheap.
const GCPercent = 400

// streamProcs is how many Ps (GOMAXPROCS) a process that moves streams at once over this
// transport runs with: one per stream, at most one per CPU. A stream is one serial chain (the
// connection's reader decrypts a packet, the channel hands it on, the copy writes it to zfs
// receive), so a second P does little for it but wake up, spin and sleep between packets, and
// that CPU is taken from sshd and zfs receive on the same machines. Measured with one stream
// on a 2-core machine (BenchmarkTransportVsOpenSSH): client CPU 0.85 s/GiB with 2 Ps, 0.64
// with 1, and throughput up from ~1.06 to ~1.25 GB/s; in the lab, a 256 MiB pull ~3 s
// faster.
func streamProcs(streams int) int { return max(1, min(streams, runtime.NumCPU())) }

// TuneRuntime sets the garbage-collection target and GOMAXPROCS for a process whose work is
// up to streams SSH streams at once; GOGC and GOMAXPROCS in the environment, when set
// (getenv), decide instead. vault pull, vault bootstrap and vault daemon call it. It returns
// a function that puts the previous settings back (for benchmarks).
func TuneRuntime(streams int, getenv func(string) string) (restore func()) {
	setGC, oldGC, oldProcs := getenv("GOGC") == "", 0, 0
	if setGC {
		oldGC = debug.SetGCPercent(GCPercent)
	}
	if getenv("GOMAXPROCS") == "" {
		oldProcs = runtime.GOMAXPROCS(streamProcs(streams))
	}
	return func() {
		if setGC {
			debug.SetGCPercent(oldGC)
		}
		if oldProcs != 0 {
			runtime.GOMAXPROCS(oldProcs)
		}
	}
}
