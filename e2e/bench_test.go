//go:build lab && linux

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// BenchmarkLabPullIncremental pulls the same incremental of a few hundred MB three ways in one
// boot and prints the ratios side by side: vault (through vault serve), a bare
// `ssh src zfs send | zfs receive` pipe, and syncoid. Run with -benchtime=1x (make bench does).
// Lab figures are emulated-CPU figures: compare them with each other, never with native ones.
func BenchmarkLabPullIncremental(b *testing.B) {
	const src = "host05data/bench/fs"
	const mib = 256
	labtest.Root(b, `
zfs create -p host05data/bench/fs
head -c 8M /dev/urandom >/host05data/bench/fs/base.bin
zfs snapshot host05data/bench/fs@2026-11-25_00.00.00--1w
for t in benchpipe benchsyncoid; do zfs create -o canmount=noauto rust10/Backups/$t; done
# syncoid receives with -F, which needs rollback; only its own target gets it.
zfs allow -u backup rollback rust10/Backups/benchsyncoid
# The pipe and syncoid use a second key without the forced command: syncoid runs shell commands.
su backup -c "ssh-keygen -q -t ed25519 -N '' -f /home/backup/.ssh/bench_ed25519"
cat /home/backup/.ssh/bench_ed25519.pub >>/home/backup/.ssh/authorized_keys
`)
	cfg := pullConfig(b, "benchvault", []string{src}, "")
	const sshOpts = "-i /home/backup/.ssh/bench_ed25519 -o BatchMode=yes -o UserKnownHostsFile=/home/backup/.ssh/known_hosts -c aes128-gcm@openssh.com"
	// Every contestant starts from the same base.
	mustPull(b, cfg)
	labtest.As(b, "backup", "ssh "+sshOpts+" backup@127.0.0.1 zfs send -L -c "+src+"@2026-11-25_00.00.00--1w | zfs receive -s -u rust10/Backups/benchpipe/fs")
	labtest.As(b, "backup", "syncoid --no-privilege-elevation --no-sync-snap --compress=none --sshkey=/home/backup/.ssh/bench_ed25519 --sshoption=UserKnownHostsFile=/home/backup/.ssh/known_hosts backup@127.0.0.1:"+src+" rust10/Backups/benchsyncoid/fs >/dev/null 2>&1")

	labtest.Root(b, fmt.Sprintf("head -c %dM /dev/urandom >/host05data/bench/fs/delta.bin && zfs snapshot %s@2026-11-26_00.00.00--1w", mib, src))
	size, err := strconv.ParseFloat(strings.Fields(labtest.Root(b, "zfs send -n -P -L -c -I "+src+"@2026-11-25_00.00.00--1w "+src+"@2026-11-26_00.00.00--1w | awk '$1==\"size\"{print $2}'"))[0], 64)
	if err != nil {
		b.Fatal(err)
	}
	timed := func(script string) float64 {
		out := labtest.As(b, "backup", "s=$(date +%s.%N); "+script+" >/dev/null; e=$(date +%s.%N); echo \"$e - $s\" | bc -l 2>/dev/null || awk -v s=$s -v e=$e 'BEGIN{print e-s}'")
		secs, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
		if err != nil {
			b.Fatalf("timing %q: %v (%q)", script, err, out)
		}
		return secs
	}
	b.ResetTimer()
	vault := timed("/mnt/lab/vault pull -c " + cfg)
	pipe := timed("ssh " + sshOpts + " backup@127.0.0.1 zfs send -L -c -I " + src + "@2026-11-25_00.00.00--1w " + src + "@2026-11-26_00.00.00--1w | zfs receive -s -u rust10/Backups/benchpipe/fs")
	syncoid := timed("syncoid --no-privilege-elevation --no-sync-snap --compress=none --sshkey=/home/backup/.ssh/bench_ed25519 --sshoption=UserKnownHostsFile=/home/backup/.ssh/known_hosts backup@127.0.0.1:" + src + " rust10/Backups/benchsyncoid/fs 2>/dev/null")
	b.StopTimer()
	for _, t := range []string{"benchvault/fs", "benchpipe/fs", "benchsyncoid/fs"} {
		if got := snapNames(b, "rust10/Backups/"+t); len(got) != 2 {
			b.Fatalf("rust10/Backups/%s holds %q after the benchmark, want both snapshots", t, got)
		}
	}
	mb := size / 1e6
	b.ReportMetric(mb/vault, "vault-MB/s")
	b.ReportMetric(mb/pipe, "pipe-MB/s")
	b.ReportMetric(mb/syncoid, "syncoid-MB/s")
	b.ReportMetric(pipe/vault, "vault/pipe")
	b.ReportMetric(syncoid/vault, "vault/syncoid")
	b.Logf("incremental of %.0f MB: vault %.1fs (%.1f MB/s), bare pipe %.1fs (%.1f MB/s), syncoid %.1fs (%.1f MB/s); vault = %.2fx the pipe, %.2fx syncoid",
		mb, vault, mb/vault, pipe, mb/pipe, syncoid, mb/syncoid, pipe/vault, syncoid/vault)
}
