//go:build lab && linux

package systemd

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
)

// waitFor polls a lab script until it exits 0, failing the test after timeout with the
// service's journal.
func waitFor(t *testing.T, what string, timeout time.Duration, script string) string {
	t.Helper()
	return labtest.WaitFor(t, what, timeout, script, func() string { return "journal:\n" + journal(t) })
}

// journal is the service's journal: the daemon's log lines and systemd's about the unit.
func journal(t *testing.T) string {
	t.Helper()
	return labtest.Root(t, "journalctl -u vault --no-pager -o cat | tail -60; echo '--- sshd:'; journalctl --no-pager -o cat _COMM=sshd | tail -20; true")
}

// The arrow is "->" where the locale is not UTF-8, as in the guest.
var exposure = regexp.MustCompile(`(?m)^(?:→|->) Overall exposure level for vault\.service: ([0-9]+\.[0-9]) (\S+)`)

// statedExposure is the exposure the README states for dist/vault.service ("exposure 2.9 OK").
func statedExposure(t *testing.T, repo string) (float64, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`exposure ([0-9]+\.[0-9]) (OK|EXPOSED|MEDIUM|UNSAFE|SAFE)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("README.md states no exposure for vault.service (\"exposure N.N WORD\")")
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	return score, string(m[2])
}

// dist/vault.service as shipped, under systemd as PID 1 on real OpenZFS: the sandbox lets the
// root phase bootstrap (a full receive as root), the drop happen, the prune worker make its
// network namespace, the scheduled pulls land; reload re-reads the configuration, stop ends
// it cleanly; and systemd-analyze in the guest measures the exposure the README states.
func TestLabSystemdUnit(t *testing.T) {
	const (
		src   = "host05data/sysd"
		tgt   = "rust10/Sysd"
		dst   = tgt + "/sysd/fs"
		prune = "vprune"
	)
	repo, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(filepath.Join(repo, "dist", "vault.service"))
	if err != nil {
		t.Fatal(err)
	}
	if pid1 := strings.TrimSpace(labtest.Root(t, "cat /proc/1/comm")); pid1 != "systemd" {
		t.Fatalf("PID 1 is %q, want systemd (the package boots with lab.InitSystemd)", pid1)
	}
	t.Cleanup(func() {
		labtest.Try(t, "", "systemctl stop vault; systemctl reset-failed vault 2>/dev/null; true")
	})

	// Installed as an operator would: the binary where the unit runs it, the unit, the
	// configuration at its default path, the SSH key beside it (ProtectHome hides /home from
	// the service), and no /var/lib/vault yet: the unit makes it, the daemon gives it to backup.
	labtest.Root(t, `install -m 0755 /mnt/lab/vault /usr/local/sbin/vault
printf '%s' `+labtest.Q(string(unit))+` >/etc/systemd/system/vault.service
useradd --system --no-create-home --shell /usr/sbin/nologin `+prune+`
zfs create -p `+src+`/fs && head -c 1M /dev/urandom >/`+src+`/fs/f && zfs snapshot -r `+src+`@s1
rm -rf /var/lib/vault
install -d -m 0755 /etc/vault && install -d -o backup -g backup -m 0700 /etc/vault/ssh
install -o backup -g backup -m 0600 /home/backup/.ssh/id_ed25519 /home/backup/.ssh/known_hosts /etc/vault/ssh/
cat >/etc/vault/vault.toml <<'EOF'
user = "backup"
prune_user = "`+prune+`"
hold_prefix = "vault:lab:"
timezone = "UTC"

[ssh]
identity = "/etc/vault/ssh/id_ed25519"
known_hosts = "/etc/vault/ssh/known_hosts"
connect_timeout = "20s"

[[job]]
name = "sysd"
source = "backup@127.0.0.1:22"
source_datasets = ["`+src+`"]
target = "`+tgt+`"
schedule = "* * * * *"
rpo = "26h"
EOF
/usr/local/sbin/vault config check >/dev/null
systemctl daemon-reload`)

	// The exposure systemd measures in the guest, as the README states it.
	res := labtest.Try(t, "", "systemd-analyze security --no-pager vault.service")
	m := exposure.FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("systemd-analyze security vault.service: no exposure line:\n%s", res)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	wantScore, wantWord := statedExposure(t, repo)
	if score >= 5.0 {
		t.Errorf("exposure in the guest: %s %s, want below 5.0", m[1], m[2])
	}
	if score != wantScore || m[2] != wantWord {
		t.Errorf("exposure in the guest: %s %s; the README states %.1f %s", m[1], m[2], wantScore, wantWord)
	}
	t.Logf("systemd-analyze security vault.service in the guest: %s %s (%s)", m[1], m[2], strings.TrimSpace(labtest.Root(t, "systemctl --version | head -1")))

	// Started: the root phase receives @s1 in full, starts the worker, drops.
	if res := labtest.Try(t, "", "systemctl start vault"); res.Exit != 0 {
		t.Fatalf("systemctl start vault:\n%s\n%s\njournal:\n%s", res, labtest.Root(t, "systemctl status --no-pager vault || true"), journal(t))
	}
	waitFor(t, "the drop", 3*time.Minute, "journalctl -u vault -o cat | grep -q 'dropped privileges'")
	if res := labtest.Try(t, "", "zfs list -H -o name "+dst+"@s1"); res.Exit != 0 {
		t.Fatalf("the root phase did not receive %s@s1:\n%s\n%s\njournal:\n%s", dst, res, labtest.Root(t, "zfs list -r -t all -o name "+tgt+" || true"), journal(t))
	}
	if j := journal(t); !strings.Contains(j, "prune worker started") {
		t.Fatalf("no prune worker:\n%s", j)
	}
	pid := strings.TrimSpace(labtest.Root(t, "systemctl show -p MainPID --value vault"))
	// The daemon: backup's ids for good, no capability, and the unit's bounding set: CHOWN (0),
	// DAC_OVERRIDE (1), FOWNER (3), SETGID (6), SETUID (7), SYS_ADMIN (21).
	status := labtest.Root(t, "grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs):' /proc/"+pid+"/status")
	for _, want := range []string{"Uid:\t34\t34\t34\t34", "Gid:\t34\t34\t34\t34", "CapEff:\t0000000000000000",
		"CapBnd:\t00000000002000cb", "NoNewPrivs:\t1"} {
		if !strings.Contains(status, want) {
			t.Errorf("the daemon's /proc/%s/status lacks %q:\n%s", pid, want, status)
		}
	}
	// The worker: prune_user's ids, a network namespace of its own, in the service's cgroup.
	wpid := strings.TrimSpace(labtest.Root(t, "pgrep -f '^/usr/local/sbin/vault prune-worker'"))
	uid := strings.TrimSpace(labtest.Root(t, "id -u "+prune))
	if st := labtest.Root(t, "grep '^Uid:' /proc/"+wpid+"/status"); !strings.Contains(st, "Uid:\t"+uid+"\t"+uid+"\t"+uid+"\t"+uid) {
		t.Errorf("the prune worker's ids:\n%s", st)
	}
	if ns := strings.Fields(labtest.Root(t, "readlink /proc/"+wpid+"/ns/net /proc/1/ns/net")); len(ns) != 2 || ns[0] == ns[1] {
		t.Errorf("the prune worker shares the host's network namespace: %q", ns)
	}
	if cg := labtest.Root(t, "cat /proc/"+wpid+"/cgroup"); !strings.Contains(cg, "/vault.service") {
		t.Errorf("the prune worker is not in vault.service's cgroup: %s", cg)
	}

	// A scheduled pull, as backup inside the sandbox, lands @s2.
	labtest.Root(t, "head -c 1M /dev/urandom >/"+src+"/fs/g && zfs snapshot -r "+src+"@s2")
	waitFor(t, "the scheduled pull of @s2", 3*time.Minute, "zfs list -H -o name "+dst+"@s2")
	if got := strings.TrimSpace(labtest.Root(t, "stat -c '%U %a' /var/lib/vault /var/lib/vault/control.sock")); got != "backup 750\nbackup 600" {
		t.Errorf("the state directory and control socket: %q, want backup 750 and backup 600", got)
	}

	// Reload: the new configuration is read (a changed rpo) and the daemon goes on.
	labtest.Root(t, `sed -i 's/^rpo = "26h"/rpo = "30h"/' /etc/vault/vault.toml && systemctl reload vault`)
	waitFor(t, "the reload", time.Minute, `journalctl -u vault -o cat | grep -F '"@message":"reloaded"' | grep -F '"changes":"changed job sysd"'`)
	if got := strings.TrimSpace(labtest.Root(t, "systemctl show -p MainPID --value vault")); got != pid {
		t.Errorf("after reload the main pid is %s, want %s (a reload, not a restart)", got, pid)
	}

	// Stop: a clean exit, nothing of vault left running.
	labtest.Root(t, "systemctl stop vault")
	show := labtest.Root(t, "systemctl show -p ActiveState -p Result -p ExecMainStatus vault")
	for _, want := range []string{"ActiveState=inactive", "Result=success", "ExecMainStatus=0"} {
		if !strings.Contains(show, want) {
			t.Errorf("after systemctl stop vault: %s lacks %s\n%s", strings.TrimSpace(show), want, journal(t))
		}
	}
	if !strings.Contains(journal(t), "vault daemon stopped") {
		t.Errorf("no clean stop in the journal:\n%s", journal(t))
	}
	if left := labtest.Try(t, "", "pgrep -a -f 'zfs receive|vault prune-worker|vault daemon'"); left.Exit == 0 {
		t.Errorf("left running after stop:\n%s", left.Stdout)
	}
}
