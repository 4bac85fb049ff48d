//go:build lab && linux

package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// BenchmarkLabSneakernetImport measures vault import against the age command line (Debian's
// age, installed in the lab image) on the same export, in one boot, and prints the ratio and
// vault's peak memory. Run with -benchtime=1x (make bench does).
//
// Apples to apples: age -d -i ID over the concatenated volumes (one file, concatenated before
// the clock starts) to /dev/null, against vault import --verify-only, which reads the
// volumes, hashes every segment, decrypts and authenticates to the end and writes to
// /dev/null too; each is timed twice, interleaved, and the faster run counts, so that neither
// gains from a page cache the other warmed. The real import, into zfs receive, is timed too
// and reported apart: its speed is zfs receive's as much as vault's.
//
// Peak memory is the real import's VmHWM (the kernel's high-water mark of resident memory),
// read from /proc every 200 ms until it exits: it only grows, so the last reading is the peak
// but for whatever the last 200 ms added (the pipeline allocates its buffers at the start).
//
// The lab guest is emulated (TCG): compare the two figures with each other, never with a
// native machine's. VAULT_BENCH_IMPORT_MIB sets the stream size (default 2048).
func BenchmarkLabSneakernetImport(b *testing.B) {
	const src = "host05data/benchsn/fs"
	const snapName = "2026-11-25_00.00.00--1w"
	mib := 2048
	if v := os.Getenv("VAULT_BENCH_IMPORT_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("VAULT_BENCH_IMPORT_MIB=%q: want a number of MiB", v)
		}
		mib = n
	}
	labtest.Root(b, fmt.Sprintf(`
install -d -m 0700 /root/bsn
/mnt/lab/vault keygen --signing /root/bsn/host.sign >/root/bsn/host.out
/mnt/lab/vault keygen --age /root/bsn/vault.age >/root/bsn/vault-age.out
zfs create -p %[1]s
head -c %[2]dM /dev/urandom >/%[1]s/data.bin
zfs snapshot %[1]s@%[3]s
`, src, mib, snapName))
	pub := regexp.MustCompile(`public_key = "([^"]+)"`).FindStringSubmatch(labtest.Root(b, "cat /root/bsn/host.out"))[1]
	rcpt := regexp.MustCompile(`(age1[0-9a-z]+)`).FindStringSubmatch(labtest.Root(b, "cat /root/bsn/vault-age.out"))[1]
	cfg := fmt.Sprintf(`user = "backup"
state_dir = "/var/lib/vault-benchsn"
zfs_binary = "/sbin/zfs"
hold_prefix = "vault:lab:"
age_identity = "/root/bsn/vault.age"

[[signer]]
name = "host12"
public_key = %q
datasets = ["host05data/benchsn"]

[[job]]
name = "benchsn"
media_signers = ["host12"]
source_datasets = [%q]
target = "rust10/Backups/benchsn"
rpo = "8d"
`, pub, src)
	labtest.Root(b, "mkdir -p /etc/vault && cat >/etc/vault/benchsn.toml <<'EOF'\n"+cfg+"EOF\n/mnt/lab/vault config check /etc/vault/benchsn.toml >/dev/null")
	// The media and the concatenation live on the scratch disk: the root image is small.
	labtest.Root(b, "rm -rf /scratch/media && mkdir -p /scratch/media && /mnt/lab/vault export --to /scratch/media --signing-key /root/bsn/host.sign --recipient "+rcpt+
		" --volume-size 512MiB --host host12 --name bench "+src+"@"+snapName+" >/dev/null && cat /scratch/media/bench.vol* >/scratch/bench.age && sync")
	stream, err := strconv.ParseFloat(strings.TrimSpace(labtest.Root(b, `grep -o '"stream_bytes": [0-9]*' /scratch/media/bench.manifest | grep -o '[0-9]*$'`)), 64)
	if err != nil {
		b.Fatal(err)
	}

	timed := func(script string) float64 {
		b.Helper()
		out := labtest.Root(b, "s=$(date +%s.%N); "+script+"; e=$(date +%s.%N); awk -v s=$s -v e=$e 'BEGIN{print e-s}'")
		fields := strings.Fields(out)
		secs, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			b.Fatalf("timing %q: %v (%q)", script, err, out)
		}
		return secs
	}
	const vaultVerify = "/mnt/lab/vault import -c /etc/vault/benchsn.toml --verify-only /scratch/media/bench.manifest >/dev/null"
	const ageDecrypt = "age -d -i /root/bsn/vault.age /scratch/bench.age >/dev/null"
	b.ResetTimer()
	vault, age := 1e18, 1e18
	for range 2 {
		vault = min(vault, timed(vaultVerify))
		age = min(age, timed(ageDecrypt))
	}
	// The real import, sampling the process's VmHWM.
	out := labtest.Root(b, `s=$(date +%s.%N)
/mnt/lab/vault import -c /etc/vault/benchsn.toml /scratch/media/bench.manifest >/dev/null &
pid=$! hwm=0
while kill -0 $pid 2>/dev/null; do
	v=$(awk '/^VmHWM:/{print $2}' /proc/$pid/status 2>/dev/null || true)
	if [ -n "$v" ]; then hwm=$v; fi
	sleep 0.2
done
wait $pid
e=$(date +%s.%N)
echo "$hwm $(awk -v s=$s -v e=$e 'BEGIN{print e-s}')"`)
	b.StopTimer()
	var hwmKiB, recv float64
	if _, err := fmt.Sscan(strings.TrimSpace(out), &hwmKiB, &recv); err != nil || hwmKiB == 0 {
		b.Fatalf("the import's peak memory and time: %q (%v)", out, err)
	}
	if got := snapNames(b, "rust10/Backups/benchsn/fs"); len(got) != 1 || got[0] != snapName {
		b.Fatalf("after the import rust10/Backups/benchsn/fs holds %q, want %s", got, snapName)
	}

	mb := stream / 1e6
	b.ReportMetric(mb/vault, "vault-MB/s")
	b.ReportMetric(mb/age, "age-MB/s")
	b.ReportMetric(age/vault, "vault/age")
	b.ReportMetric(mb/recv, "import-receive-MB/s")
	b.ReportMetric(hwmKiB/1024, "peak-RSS-MiB")
	b.Logf("import: vault %.1f MB/s, age %.1f MB/s, ratio %.2f (target >= 0.9); with zfs receive %.1f MB/s; peak RSS %.0f MiB for a %.2f GiB stream",
		mb/vault, mb/age, age/vault, mb/recv, hwmKiB/1024, stream/(1<<30))
	// make bench runs the pull benchmark next in the same boot: give its rounds the space back
	// (rust10 has about 8 GiB).
	labtest.Root(b, destroyHeldScript("rust10/Backups/benchsn", src)+"rm -rf /scratch/media /scratch/bench.age")
}
