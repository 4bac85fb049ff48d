//go:build lab && linux

package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// BenchmarkLabPullIncremental pulls incrementals of a few hundred MB three ways in one boot,
// five rounds, and prints the ratios of the fastest rounds side by side: vault (through vault
// serve), a bare `ssh src zfs send | zfs receive` pipe told the cipher vault chose, and syncoid; and,
// for reference, the pipe with OpenSSH's default cipher. Run with -benchtime=1x (make bench
// does).
// Lab figures are emulated-CPU figures: compare them with each other, never with native ones.
func BenchmarkLabPullIncremental(b *testing.B) {
	const src = "host05data/bench/fs"
	const mib = 256
	labtest.Root(b, `
zfs create -p host05data/bench/fs
head -c 8M /dev/urandom >/host05data/bench/fs/base.bin
zfs snapshot host05data/bench/fs@2026-11-25_00.00.00--1w
for t in benchpipe benchpipedef benchsyncoid; do zfs create -o canmount=noauto rust10/Backups/$t; done
# syncoid receives with -F, which needs rollback; only its own target gets it.
zfs allow -u backup rollback rust10/Backups/benchsyncoid
# The pipe and syncoid use a second key without the forced command: syncoid runs shell commands.
su backup -c "ssh-keygen -q -t ed25519 -N '' -f /home/backup/.ssh/bench_ed25519"
cat /home/backup/.ssh/bench_ed25519.pub >>/home/backup/.ssh/authorized_keys
`)
	cfg := pullConfig(b, "benchvault", []string{src}, "")
	// Every contestant starts from the same base. vault's first pull says, in its debug log,
	// the cipher it chose by measuring this CPU (sshx's cipherOrder): the pipe is told the same
	// one; a second pipe, "as typed", takes OpenSSH's default (chacha20-poly1305), for
	// reference.
	first := labtest.As(b, "backup", "VAULT_LOG_LEVEL=debug /mnt/lab/vault pull -c "+labtest.Q(cfg)+" 2>&1 >/dev/null")
	m := regexp.MustCompile(`ciphers=\["?([a-z0-9@.-]+)`).FindStringSubmatch(first)
	if m == nil {
		b.Fatalf("vault's debug log does not name its ciphers:\n%s", first)
	}
	vaultCipher := m[1]
	const sshDefault = "-i /home/backup/.ssh/bench_ed25519 -o BatchMode=yes -o UserKnownHostsFile=/home/backup/.ssh/known_hosts"
	sshOpts := sshDefault + " -c " + vaultCipher
	// pipeScript is the bare pipe with ssh options opts into rust10/Backups/TARGET/fs; sendArgs are
	// zfs send's snapshot arguments.
	pipeScript := func(opts, target, sendArgs string) string {
		return "ssh " + opts + " backup@127.0.0.1 zfs send -L -c " + sendArgs + " | zfs receive -s -u rust10/Backups/" + target + "/fs"
	}
	labtest.As(b, "backup", pipeScript(sshOpts, "benchpipe", src+"@2026-11-25_00.00.00--1w"))
	labtest.As(b, "backup", pipeScript(sshDefault, "benchpipedef", src+"@2026-11-25_00.00.00--1w"))
	const syncoidScript = "syncoid --no-privilege-elevation --no-sync-snap --compress=none --sshkey=/home/backup/.ssh/bench_ed25519 --sshoption=UserKnownHostsFile=/home/backup/.ssh/known_hosts backup@127.0.0.1:" + src + " rust10/Backups/benchsyncoid/fs"
	labtest.As(b, "backup", syncoidScript+" >/dev/null 2>&1")

	timed := func(script string) float64 {
		out := labtest.As(b, "backup", "s=$(date +%s.%N); "+script+" >/dev/null; e=$(date +%s.%N); awk -v s=$s -v e=$e 'BEGIN{print e-s}'")
		secs, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
		if err != nil {
			b.Fatalf("timing %q: %v (%q)", script, err, out)
		}
		return secs
	}
	// Each round writes a new delta and snapshots it, and the four pull that incremental in
	// turn (in a rotating order), so that each sees the same bytes and, over the rounds, the
	// same machine. The fastest round of each counts: lab timing noise only ever adds.
	// Five rounds: now and then a run in the guest takes 25-50% longer (more system time, on
	// any contestant), and with three a single one of those moved a ratio by 0.1.
	const rounds = 5
	vault, pipe, pipeDef, syncoid := 1e18, 1e18, 1e18, 1e18
	var size float64
	prev := "2026-11-25_00.00.00--1w"
	b.ResetTimer()
	for r := range rounds {
		snap := fmt.Sprintf("2026-11-26_00.00.%02d--1w", r)
		labtest.Root(b, fmt.Sprintf("head -c %dM /dev/urandom >/host05data/bench/fs/delta.bin && zfs snapshot %s@%s", mib, src, snap))
		incr := "-I " + src + "@" + prev + " " + src + "@" + snap
		sz, err := strconv.ParseFloat(strings.Fields(labtest.Root(b, "zfs send -n -P -L -c "+incr+" | awk '$1==\"size\"{print $2}'"))[0], 64)
		if err != nil {
			b.Fatal(err)
		}
		size = max(size, sz)
		contestants := []func(){
			func() { vault = min(vault, timed("/mnt/lab/vault pull -c "+cfg)) },
			func() { pipe = min(pipe, timed(pipeScript(sshOpts, "benchpipe", incr))) },
			func() { pipeDef = min(pipeDef, timed(pipeScript(sshDefault, "benchpipedef", incr))) },
			func() { syncoid = min(syncoid, timed(syncoidScript+" 2>/dev/null")) },
		}
		for i := range contestants {
			contestants[(i+r)%len(contestants)]()
		}
		prev = snap
	}
	b.StopTimer()
	for _, t := range []string{"benchvault/fs", "benchpipe/fs", "benchpipedef/fs", "benchsyncoid/fs"} {
		if got := snapNames(b, "rust10/Backups/"+t); len(got) != rounds+1 {
			b.Fatalf("rust10/Backups/%s holds %q after the benchmark, want all %d snapshots", t, got, rounds+1)
		}
	}
	mb := size / 1e6
	b.ReportMetric(mb/vault, "vault-MB/s")
	b.ReportMetric(mb/pipe, "pipe-MB/s")
	b.ReportMetric(mb/syncoid, "syncoid-MB/s")
	b.ReportMetric(mb/pipeDef, "pipe-default-cipher-MB/s")
	b.ReportMetric(pipe/vault, "vault/pipe")
	b.ReportMetric(pipeDef/vault, "vault/pipe-default-cipher")
	b.ReportMetric(syncoid/vault, "vault/syncoid")
	b.Logf("incremental of %.0f MB, cipher %s: vault %.1fs (%.1f MB/s), bare pipe %.1fs (%.1f MB/s), syncoid %.1fs (%.1f MB/s); vault = %.2fx the pipe (target 0.95), %.2fx syncoid; "+
		"the pipe with OpenSSH's default cipher %.1fs (%.1f MB/s), vault = %.2fx it",
		mb, vaultCipher, vault, mb/vault, pipe, mb/pipe, syncoid, mb/syncoid, pipe/vault, syncoid/vault, pipeDef, mb/pipeDef, pipeDef/vault)
}
