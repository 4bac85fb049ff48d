package sshx

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/belltech/vault/zfs"
)

// BenchmarkTransportVsOpenSSH moves VAULT_BENCH_SSH_GIB GiB (default 2) of
// `head -c N /dev/zero` from sshd on 127.0.0.1 to /dev/null, once with
// vault's client and once with OpenSSH's ssh(1), with the same cipher, and
// reports both throughputs and their ratio (vault / OpenSSH; the target is
// >= 1.0), and the CPU time each client spent per GiB, which is steadier
// than throughput on a shared machine. Each side is timed from connect to
// the last byte and exit. The two alternate each iteration (-benchtime=3x
// for three pairs):
//
//	go test -run '^$' -bench TransportVsOpenSSH -benchtime=3x ./sshx/
//
// The Go runtime's settings weigh on the result (see the package
// documentation): vault's client runs with TuneRuntime's GC target and
// GOMAXPROCS for one stream, as vault pull does, unless GOGC or GOMAXPROCS
// is set.
func BenchmarkTransportVsOpenSSH(b *testing.B) {
	gib := 2.0
	if s := os.Getenv("VAULT_BENCH_SSH_GIB"); s != "" {
		var err error
		if gib, err = strconv.ParseFloat(s, 64); err != nil || gib <= 0 {
			b.Fatalf("VAULT_BENCH_SSH_GIB=%q: want a positive number of GiB", s)
		}
	}
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		b.Skip("needs OpenSSH's ssh client to compare with")
	}
	s := startSSHD(b)
	benchCipher := cipherOrder().Ciphers[0] // vault's choice on this CPU; OpenSSH is told to use it too
	n := int64(gib * (1 << 30))
	remote := []string{"/usr/bin/head", "-c", strconv.FormatInt(n, 10), "/dev/zero"}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()

	var cv, co time.Duration // CPU time (user+system) of each client
	vault := func() time.Duration {
		r0 := cpuSelf()
		defer func() { cv += cpuSelf() - r0 }()
		start := time.Now()
		c, err := Dial(context.Background(), s.config())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cw := &countWriter{w: io.Discard}
		if err := c.Run(context.Background(), zfs.Cmd{Argv: remote, Stdout: cw}); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		if cw.n != n {
			b.Fatalf("vault moved %d bytes, want %d", cw.n, n)
		}
		return d
	}
	openssh := func() time.Duration {
		cmd := exec.Command(sshBin, "-F", "/dev/null", "-T", "-x", "-a",
			"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", s.Identity,
			"-o", "UserKnownHostsFile="+s.KnownHosts, "-o", "StrictHostKeyChecking=yes",
			"-o", "Ciphers="+benchCipher, "-o", "Compression=no", "-o", "ControlMaster=no", "-o", "ControlPath=none",
			"-p", strconv.Itoa(s.Port), "-l", "root", "127.0.0.1", "head -c "+strconv.FormatInt(n, 10)+" /dev/zero")
		cmd.Stdout = devNull // ssh writes straight to /dev/null, as vault's client writes to io.Discard
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("ssh: %v: %s", err, stderr.String())
		}
		co += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return time.Since(start)
	}

	// Measure the transport as vault pull runs it: its GC target and one P for one stream,
	// unless GOGC and GOMAXPROCS say.
	defer TuneRuntime(1, os.Getenv)()
	var tv, to time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			tv += vault()
			to += openssh()
		} else {
			to += openssh()
			tv += vault()
		}
	}
	b.StopTimer()
	mbps := func(d time.Duration) float64 { return float64(n) * float64(b.N) / d.Seconds() / 1e6 }
	vm, om := mbps(tv), mbps(to)
	b.ReportMetric(vm, "vault-MB/s")
	b.ReportMetric(om, "openssh-MB/s")
	b.ReportMetric(vm/om, "ratio")
	b.ReportMetric(0, "ns/op")
	cpu := func(d time.Duration) float64 { return d.Seconds() / (gib * float64(b.N)) }
	b.ReportMetric(cpu(cv), "vault-cpu-s/GiB")
	b.ReportMetric(cpu(co), "openssh-cpu-s/GiB")
	b.Logf("%.2f GiB x %d, cipher %s: vault %.0f MB/s, OpenSSH %.0f MB/s, ratio %.2f; "+
		"client CPU per GiB: vault %.2fs, OpenSSH %.2fs",
		gib, b.N, benchCipher, vm, om, vm/om, cpu(cv), cpu(co))
}

// cpuSelf is this process's CPU time so far, user and system.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}
