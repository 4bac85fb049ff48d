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

// BenchmarkLabRestoreSend restores a 1 GiB VM tree (a filesystem and a volume child, 512 MiB of
// incompressible data each) from the vault to the host, two ways in one boot, three rounds,
// and prints the fastest round of each: `vault restore send --newest-only` and a bare
// `zfs send | ssh -c CIPHER host zfs receive` pipe per dataset, told the cipher vault chose. Run
// with -benchtime=1x. Lab figures are emulated-CPU figures: compare them with each other only.
func BenchmarkLabRestoreSend(b *testing.B) {
	const vm = "rust10/Backups/rsbench/vm"
	const snap = "2026-11-25_00.00.00--1w"
	labtest.Root(b, `
zfs destroy -r host05data/rsb 2>/dev/null || true; zfs destroy -r rust10/Backups/rsbench 2>/dev/null || true
zfs create -p `+vm+`
zfs create -V 600M -o volmode=dev `+vm+`/disk0
head -c 512M /dev/urandom >/`+vm+`/data.bin
head -c 512M /dev/urandom >$(/mnt/lab/zvoldev `+vm+`/disk0)
zfs snapshot -r `+vm+`@`+snap)
	// The job's target holds the tree as a pull would have left it; no pull is needed to time
	// the way back.
	cfg := pullConfig(b, "rsbench", []string{"host05data/rsbench/vm"}, "")
	key := restoreUser(b, "host05data/rsb")
	restoreTo := func(name string) string {
		return "/mnt/lab/vault restore send -c " + cfg + " --newest-only --no-properties rsbench " + vm + "@" + snap +
			" --to restore@127.0.0.1:host05data/rsb/" + name + " --identity " + key
	}
	// A run onto an existing target connects, says in its debug log the cipher it chose by
	// measuring this CPU (sshx's cipherOrder), and is refused: the pipe is told the same one.
	labtest.Root(b, "zfs create host05data/rsb/exists")
	first := labtest.Try(b, "", "VAULT_LOG_LEVEL=debug "+restoreTo("exists")).Stderr
	m := regexp.MustCompile(`ciphers=\["?([a-z0-9@.-]+)`).FindStringSubmatch(first)
	if m == nil {
		b.Fatalf("vault's debug log does not name its ciphers:\n%s", first)
	}
	cipher := m[1]
	ssh := "ssh -i " + key + " -o BatchMode=yes -o UserKnownHostsFile=/home/backup/.ssh/known_hosts -c " + cipher + " restore@127.0.0.1"
	pipeTo := func(name string) string {
		return "zfs send -L -c " + vm + "@" + snap + " | " + ssh + " zfs receive -s -u host05data/rsb/" + name +
			" && zfs send -L -c " + vm + "/disk0@" + snap + " | " + ssh + " zfs receive -s -u host05data/rsb/" + name + "/disk0"
	}
	timed := func(script string) float64 {
		out := labtest.Root(b, "s=$(date +%s.%N); "+script+" >/dev/null; e=$(date +%s.%N); awk -v s=$s -v e=$e 'BEGIN{print e-s}'")
		secs, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
		if err != nil {
			b.Fatalf("timing %q: %v (%q)", script, err, out)
		}
		return secs
	}
	size, err := strconv.ParseFloat(strings.TrimSpace(labtest.Root(b, "zfs send -n -P -L -c -R "+vm+"@"+snap+" | awk '$1==\"size\"{print $2}'")), 64)
	if err != nil {
		b.Fatal(err)
	}
	const rounds = 3
	vault, pipe := 1e18, 1e18
	b.ResetTimer()
	for r := range rounds {
		contestants := []func(){
			func() { vault = min(vault, timed(restoreTo(fmt.Sprintf("v%d", r)))) },
			func() { pipe = min(pipe, timed(pipeTo(fmt.Sprintf("p%d", r)))) },
		}
		for i := range contestants {
			contestants[(i+r)%len(contestants)]()
		}
		labtest.Root(b, fmt.Sprintf("zfs destroy -r host05data/rsb/v%d && zfs destroy -r host05data/rsb/p%d", r, r))
	}
	b.StopTimer()
	mb := size / 1e6
	b.ReportMetric(mb/vault, "vault-MB/s")
	b.ReportMetric(mb/pipe, "pipe-MB/s")
	b.ReportMetric(pipe/vault, "vault/pipe")
	b.Logf("restore of a %.0f MB tree (filesystem + volume), cipher %s: vault restore send %.1fs (%.1f MB/s), bare pipe %.1fs (%.1f MB/s); vault = %.2fx the pipe (goal 0.95)",
		mb, cipher, vault, mb/vault, pipe, mb/pipe, pipe/vault)
}
