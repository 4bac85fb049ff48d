package sneakernet

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
)

// benchExport writes an export of size pseudo-random bytes with the default segment size
// and 64 MiB volumes, without holding the stream in memory.
func benchExport(b *testing.B, size int64) *exported {
	b.Helper()
	e := &exported{dir: b.TempDir()}
	e.o = baseOptions(b, e.dir)
	e.o.SegmentSize = DefaultSegmentSize
	e.o.VolumeSize = 64 << 20
	src := io.LimitReader(rand.NewChaCha8([32]byte{42}), size)
	m, err := Export(context.Background(), src, e.o)
	if err != nil {
		b.Fatal(err)
	}
	e.m = m
	return e
}

// BenchmarkImport measures the import path, verify and decrypt, of a 256 MiB stream from
// files (in the page cache after the export) into io.Discard.
func BenchmarkImport(b *testing.B) {
	const size = 256 << 20
	e := benchExport(b, size)
	s := e.read(b)
	ids := []age.Identity{testIdentity(b, 0)}
	media := testMedia(b, e.dir)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Import(context.Background(), s, media, ids, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// concatenate writes the volumes of e into one file, the age file they are parts of.
func concatenate(b *testing.B, e *exported) string {
	all := filepath.Join(e.dir, "all.age")
	out, err := os.Create(all)
	if err != nil {
		b.Fatal(err)
	}
	for i := range e.m.Volumes {
		in, err := os.Open(e.vol(i + 1))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			b.Fatal(err)
		}
		in.Close()
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return all
}

// ageDecrypt is what the age CLI does: age.Decrypt of one file, copied out.
func ageDecrypt(b *testing.B, path string, id age.Identity) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := age.Decrypt(f, id)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkImportVsAge alternates Import, a plain age decryption of the same 256 MiB in this
// process (age.Decrypt, what the age command line does) and, when the age command line
// (Debian's age) is on the PATH, `age -d -i ID FILE >/dev/null` itself, so that all see the
// same machine load, and reports each one's rate and the ratios.
func BenchmarkImportVsAge(b *testing.B) {
	const size = 256 << 20
	e := benchExport(b, size)
	s := e.read(b)
	all := concatenate(b, e)
	id := testIdentity(b, 0)
	media := testMedia(b, e.dir)
	ageCLI, _ := exec.LookPath("age")
	idFile := filepath.Join(e.dir, "vault.age")
	if err := os.WriteFile(idFile, []byte(testIdentities[0]+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	var tImport, tAge, tCLI, cpuImport, cpuAge time.Duration
	b.ResetTimer()
	for b.Loop() {
		start, cpuStart := time.Now(), cpuTime(b)
		if _, err := Import(context.Background(), s, media, []age.Identity{id}, io.Discard); err != nil {
			b.Fatal(err)
		}
		mid, cpuMid := time.Now(), cpuTime(b)
		ageDecrypt(b, all, id)
		tImport += mid.Sub(start)
		tAge += time.Since(mid)
		cpuImport += cpuMid - cpuStart
		cpuAge += cpuTime(b) - cpuMid
		if ageCLI != "" {
			cmd := exec.Command(ageCLI, "-d", "-i", idFile, all)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil { // Stdout nil is /dev/null
				b.Fatalf("%s: %v: %s", ageCLI, err, stderr.String())
			}
			tCLI += time.Since(start)
		}
	}
	mbs := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbs(tImport), "import-MB/s")
	b.ReportMetric(mbs(tAge), "age-MB/s")
	b.ReportMetric(tAge.Seconds()/tImport.Seconds(), "import/age")
	if ageCLI != "" {
		b.ReportMetric(mbs(tCLI), "age-cli-MB/s")
		b.ReportMetric(tCLI.Seconds()/tImport.Seconds(), "import/age-cli")
	} else {
		b.Log("no age command line on the PATH (apt-get install age): compared with age.Decrypt only")
	}
	// CPU time (user and system, all threads) for the same bytes: what the hashing costs.
	b.ReportMetric(cpuImport.Seconds()/cpuAge.Seconds(), "cpu-import/age")
}

// cpuTime returns the CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAgeDecrypt is the baseline for BenchmarkImport: what the age CLI does with the
// same ciphertext, age.Decrypt of one file copied to io.Discard, no verification.
func BenchmarkAgeDecrypt(b *testing.B) {
	const size = 256 << 20
	e := benchExport(b, size)
	all := concatenate(b, e)
	id := testIdentity(b, 0)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		ageDecrypt(b, all, id)
	}
}

// BenchmarkImportPeakMemory imports a 1 GiB stream (16 volumes of 64 MiB, 4 MiB segments)
// and reports the peak heap above the baseline, with the default GOGC (garbage included:
// age allocates a 64 KiB buffer per chunk) and with GOGC=10 (close to the live heap). Run it
// with -benchtime=1x.
func BenchmarkImportPeakMemory(b *testing.B) {
	const size = 1 << 30
	e := benchExport(b, size)
	s := e.read(b)
	ids := []age.Identity{testIdentity(b, 0)}
	run := func() {
		if _, err := Import(context.Background(), s, testMedia(b, e.dir), ids, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(size)
	b.ResetTimer()
	var peak, peak10 uint64
	for b.Loop() {
		peak = max(peak, measurePeakHeap(b, run))
		old := debug.SetGCPercent(10)
		peak10 = max(peak10, measurePeakHeap(b, run))
		debug.SetGCPercent(old)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak10)/(1<<20), "peak-heap-gogc10-MiB")
}
