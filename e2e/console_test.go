//go:build lab && linux

package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// check runs vault check and returns its line and exit code.
func check(t *testing.T, cfg string, args ...string) (string, int) {
	t.Helper()
	cmd := "/mnt/lab/vault check -c " + cfg
	for _, a := range args {
		cmd += " " + labtest.Q(a)
	}
	res := labtest.Try(t, "backup", cmd)
	return strings.TrimSpace(res.Stdout), res.Exit
}

// The console on real state: a job never run is UNKNOWN, a good pull OK, a diverged source
// CRIT with the resolve command, an anomaly CRIT until vault ack; vault check's exit codes
// follow; the Prometheus textfile parses; vault status reads well in a real terminal.
func TestLabConsole(t *testing.T) {
	const src = "host05data/con/fs"
	labtest.Root(t, "zfs create -p "+src+" && for i in 1 2 3; do head -c 1M /dev/urandom >/"+src+"/f$i; zfs snapshot "+src+"@2026-11-2${i}_00.00.00--1w; done")
	cfg := pruneConfig(t, "con", []string{src}, "")
	labtest.Root(t, "sed -i 's#^zfs_binary = .*#zfs_binary = \"/sbin/zfs\"\\nprometheus_textfile = \"/var/lib/vault-con/vault.prom\"#' "+cfg+" && /mnt/lab/vault config check "+cfg+" >/dev/null")

	// Fresh: nothing is known yet.
	line, code := check(t, cfg)
	if code != 3 || !strings.HasPrefix(line, "VAULT UNKNOWN") {
		t.Errorf("a job never run: vault check %q exit %d, want UNKNOWN exit 3", line, code)
	}
	// A good pull.
	mustPull(t, cfg)
	line, code = check(t, cfg)
	if code != 0 || !strings.HasPrefix(line, "VAULT OK") {
		t.Errorf("after a good pull: vault check %q exit %d, want OK exit 0", line, code)
	}
	var js map[string]any
	if out := labtest.As(t, "backup", "/mnt/lab/vault status --json -c "+cfg); json.Unmarshal([]byte(out), &js) != nil {
		t.Errorf("vault status --json does not parse:\n%s", out)
	}
	// The textfile, written after the run, is node_exporter's format.
	prom := labtest.Root(t, "cat /var/lib/vault-con/vault.prom")
	sample := regexp.MustCompile(`^vault_[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+$`)
	samples := 0
	for _, l := range strings.Split(strings.TrimSpace(prom), "\n") {
		if strings.HasPrefix(l, "# HELP ") || strings.HasPrefix(l, "# TYPE ") {
			continue
		}
		if !sample.MatchString(l) {
			t.Errorf("textfile line is not a sample: %q", l)
		}
		samples++
	}
	if samples == 0 || !strings.Contains(prom, `dataset="`+src+`"`) {
		t.Errorf("textfile has no sample for %s:\n%s", src, prom)
	}
	// vault snapshots: what the vault holds, with the base's hold and each TTL's expiry.
	// (ttl_factor is 2 by default: 1w stretched to 2w.)
	snaps := labtest.As(t, "backup", "/mnt/lab/vault snapshots -c "+cfg+" con "+src)
	if !strings.Contains(snaps, "@2026-11-23_00.00.00--1w") || !strings.Contains(snaps, "1 hold(s)") || !strings.Contains(snaps, "expires 2026-12-07") {
		t.Errorf("vault snapshots:\n%s", snaps)
	}
	// Diverged: CRIT, exit 2, the resolve command in the status.
	labtest.Root(t, "zfs release vault:lab:con "+src+"@2026-11-23_00.00.00--1w && zfs rollback -r "+src+"@2026-11-22_00.00.00--1w && zfs snapshot "+src+"@2026-11-24_00.00.00--1w")
	if res := pull(t, cfg); res.Exit != 3 {
		t.Fatalf("pull of a diverged source: exit %d, want 3", res.Exit)
	}
	line, code = check(t, cfg)
	if code != 2 || !strings.HasPrefix(line, "VAULT CRITICAL") {
		t.Errorf("diverged: vault check %q exit %d, want CRITICAL exit 2", line, code)
	}
	status := labtest.As(t, "backup", "NO_COLOR=1 /mnt/lab/vault status -c "+cfg)
	if !strings.Contains(status, "CRIT") || !strings.Contains(status, "vault resolve con "+src) {
		t.Errorf("vault status does not show the divergence and its command:\n%s", status)
	}
	// In a real terminal, as an operator sees it: the emoji mark the levels.
	screen := labtest.As(t, "backup", `tmux new-session -d -s st -x 200 -y 40 "TERM=xterm-256color /mnt/lab/vault status -c `+cfg+`; sleep 60"
for _ in $(seq 60); do tmux capture-pane -p -t st | grep -q 'overall' && break; sleep 0.5; done
tmux capture-pane -p -t st; tmux kill-session -t st`)
	if !strings.Contains(screen, "🚨") || !strings.Contains(screen, src) {
		t.Errorf("vault status in tmux:\n%s", screen)
	}
	// vault resolve archives the diverged copy (every snapshot kept) and receives it afresh.
	out := labtest.Root(t, "/mnt/lab/vault resolve -c "+cfg+" con "+src+" --archive")
	if !strings.Contains(out, "archived rust10/Backups/con/fs as rust10/Archive/") {
		t.Errorf("vault resolve printed:\n%s", out)
	}
	archived := labtest.Root(t, "zfs list -H -t snapshot -o name -r rust10/Archive | grep -c 'Backups_con_fs.*@2026-11-23' || true")
	if strings.TrimSpace(archived) != "1" {
		t.Errorf("the archive lacks the diverged copy's newest snapshot")
	}
	if got := snapNames(t, "rust10/Backups/con/fs"); len(got) == 0 || got[len(got)-1] != "2026-11-24_00.00.00--1w" {
		t.Errorf("after resolve the vault holds %q, want the source's history up to @2026-11-24", got)
	}
	if line, code = check(t, cfg); code != 0 {
		t.Errorf("after resolve: vault check %q exit %d, want 0", line, code)
	}
	// --warn/--crit overrides are accepted; a bad one is UNKNOWN, exit 3.
	if line, code = check(t, cfg, "--warn", "2d", "--crit", "1d"); code != 3 {
		t.Errorf("--crit below --warn: %q exit %d, want exit 3", line, code)
	}
}
