//go:build lab && linux

package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
)

// Append-only pulls (issue 14): with prune_user set, the daemon that talks to the network holds
// no destroy, rollback, rename or promote on its target, and on OpenZFS 2.4 receive:append
// instead of receive, so the kernel refuses it every receive -F; pruning runs in a worker of its
// own, as prune_user, in a network namespace with no interface but a loopback that is down.
// Pulls and scheduled prunes still work end to end.
//
// The target is rust10/Append, not under rust10/Backups, where the lab grants backup destroy
// (inherited, and so impossible to take away below).
func TestLabAppendOnlyDaemon(t *testing.T) {
	const (
		src  = "host05data/apo"
		tgt  = "rust10/Append/apo"
		dst  = tgt + "/apo/fs"
		cfg  = "/etc/vault/apo.toml"
		dir  = "/var/lib/vault-apo"
		log  = "/tmp/vault-apo.log"
		user = "vprune"
	)
	t.Cleanup(func() {
		labtest.Try(t, "", `test -s /tmp/vault-apo.pid && kill $(cat /tmp/vault-apo.pid) 2>/dev/null; sleep 1
pkill -9 -f '^/mnt/lab/vault daemon -c `+cfg+`'; pkill -9 -f 'prune-worker -c `+cfg+`'
`+destroyHeldScript(src, "rust10/Append")+`
userdel `+user+` 2>/dev/null; rm -rf `+dir+` `+cfg+` /tmp/vault-apo.pid `+log)
	})
	kmod := strings.TrimSpace(labtest.Root(t, "zfs version | sed -n 's/^zfs-kmod-\\([0-9]*\\.[0-9]*\\).*/\\1/p'"))
	appendOnly := kmod >= "2.4" && len(kmod) == 3
	// @2025-01-01--1d has expired: the scheduled prune takes it. @2026-11-20--1y has not: the
	// attacks below use it as their old base while the prune runs every minute.
	labtest.Root(t, timeTravel(`useradd --system --no-create-home --shell /usr/sbin/nologin `+user+`
zfs create -p `+src+`/fs && head -c 1M /dev/urandom >/`+src+`/fs/f
`+snapAt("-r "+src+"@2025-01-01_00.00.00--1d", "-r "+src+"@2026-11-20_00.00.00--1y")+`
install -d -o backup -g backup -m 0750 `+dir+`
mkdir -p /etc/vault && cat >`+cfg+` <<'EOF'
user = "backup"
prune_user = "`+user+`"
state_dir = "`+dir+`"
zfs_binary = "/sbin/zfs"
hold_prefix = "vault:lab:"
timezone = "UTC"

[ssh]
identity = "/home/backup/.ssh/id_ed25519"
known_hosts = "/home/backup/.ssh/known_hosts"
connect_timeout = "20s"

[[job]]
name = "apo"
source = "backup@127.0.0.1:22"
source_datasets = ["`+src+`"]
target = "`+tgt+`"
schedule = "* * * * *"
rpo = "26h"
[job.prune]
schedule = "* * * * *"
source_ttl = true
min_keep = 1
EOF
/mnt/lab/vault config check `+cfg+` >/dev/null`))
	labtest.Root(t, "nohup /mnt/lab/vault daemon -c "+cfg+" --log stderr >"+log+" 2>&1 </dev/null & echo $! >/tmp/vault-apo.pid")
	waitForLogging(t, log, "the drop", 3*time.Minute, "grep -q 'dropped privileges' "+log)
	if !strings.Contains(labtest.Root(t, "cat "+log), "prune worker started") {
		t.Fatalf("no prune worker:\n%s", labtest.Root(t, "cat "+log))
	}

	// The delegation, read back from ZFS: the puller's set has nothing that destroys.
	allow := labtest.Root(t, "zfs allow "+tgt)
	puller := regexp.MustCompile(`(?m)^\s*user backup (\S+)$`).FindStringSubmatch(allow)
	pruner := regexp.MustCompile(`(?m)^\s*user ` + user + ` (\S+)$`).FindStringSubmatch(allow)
	if puller == nil || pruner == nil {
		t.Fatalf("zfs allow %s:\n%s", tgt, allow)
	}
	for _, p := range strings.Split(puller[1], ",") {
		if p == "destroy" || p == "rollback" || p == "rename" || p == "promote" || appendOnly && p == "receive" {
			t.Errorf("the pulling user holds %s on %s: %s", p, tgt, puller[1])
		}
	}
	if appendOnly && !strings.Contains(puller[1], "receive:append") {
		t.Errorf("OpenZFS %s: the pulling user lacks receive:append: %s", kmod, puller[1])
	}
	if pruner[1] != "destroy,mount" {
		t.Errorf("the prune user holds %s, want destroy,mount", pruner[1])
	}
	t.Logf("OpenZFS %s: backup holds %s; %s holds %s", kmod, puller[1], user, pruner[1])

	// config check and status name the protection level this OpenZFS gives.
	level := "receive-implies-rollback (OpenZFS " + kmod
	if appendOnly {
		level = "append-only (OpenZFS " + kmod
	}
	if out := labtest.Root(t, "/mnt/lab/vault config check "+cfg); !strings.Contains(out, "protection        "+level) {
		t.Errorf("config check does not say %q:\n%s", level, out)
	}
	if out := labtest.Root(t, "/mnt/lab/vault status -c "+cfg+" || true"); !strings.Contains(out, "\nprotection "+level) {
		t.Errorf("status does not say %q:\n%s", level, out)
	}

	// The worker: prune_user's ids, another network namespace, only lo and down.
	wpid := strings.TrimSpace(labtest.Root(t, "pgrep -f 'prune-worker -c "+cfg+"'"))
	uid := strings.TrimSpace(labtest.Root(t, "id -u "+user))
	if st := labtest.Root(t, "grep -E '^(Uid|Gid):' /proc/"+wpid+"/status"); !strings.Contains(st, "Uid:\t"+uid+"\t"+uid+"\t"+uid+"\t"+uid) {
		t.Errorf("the prune worker's ids:\n%s", st)
	}
	if ns := strings.Fields(labtest.Root(t, "readlink /proc/"+wpid+"/ns/net /proc/1/ns/net")); len(ns) != 2 || ns[0] == ns[1] {
		t.Errorf("the prune worker shares the host's network namespace: %q", ns)
	}
	if dev := strings.TrimSpace(labtest.Root(t, "nsenter -t "+wpid+" -n ip -o link")); strings.Contains(dev, "\n") || !strings.Contains(dev, "lo:") || strings.Contains(dev, "UP") {
		t.Errorf("the prune worker's network:\n%s", dev)
	}

	// The scheduled prune, through the worker, takes the expired snapshot once a pull is on
	// record; the daemon's pulls go on.
	labtest.Root(t, "zfs list -H -o name "+dst+"@2025-01-01_00.00.00--1d") // the root phase's first receive
	waitForLogging(t, log, "the scheduled prune", 4*time.Minute, "! zfs list -H -o name "+dst+"@2025-01-01_00.00.00--1d 2>/dev/null")
	now := strings.TrimSpace(labtest.Root(t, "date -u +%Y-%m-%d_%H.%M.%S")) + "--1w"
	labtest.Root(t, "head -c 1M /dev/urandom >/"+src+"/fs/g && zfs snapshot -r "+src+"@"+now)
	waitForLogging(t, log, "the scheduled pull", 3*time.Minute, "zfs list -H -o name "+dst+"@"+now)

	// As the pulling user: every way to take history away is refused by ZFS.
	later := strings.TrimSpace(labtest.Root(t, "sleep 1; date -u +%Y-%m-%d_%H.%M.%S")) + "--1w"
	labtest.Root(t, "zfs snapshot -r "+src+"@"+later)
	for what, script := range map[string]string{
		"destroy":  "zfs destroy " + dst + "@2026-11-20_00.00.00--1y",
		"rollback": "zfs rollback -r " + dst + "@2026-11-20_00.00.00--1y",
		"rename":   "zfs rename " + dst + " " + tgt + "/apo/gone",
		"promote":  "zfs promote " + dst,
	} {
		if res := labtest.Try(t, "backup", script); res.Exit == 0 {
			t.Errorf("as the pulling user, %s succeeded: %s", what, res)
		}
	}
	// The attacker releases the vault's holds first (the pulling user holds release): a held
	// snapshot would make the rollback fail with "dataset is busy".
	labtest.As(t, "backup", "zfs list -H -t snapshot -o name "+dst+" | xargs -r zfs holds -H | while IFS=$'\\t' read -r snap tag _; do zfs release \"$tag\" \"$snap\"; done")
	attack := labtest.Try(t, "backup", "zfs send -i @2026-11-20_00.00.00--1y "+src+"/fs@"+later+" | zfs receive -F -u "+dst)
	kept := labtest.Try(t, "", "zfs list -H -o name "+dst+"@"+now)
	if appendOnly {
		if attack.Exit == 0 || kept.Exit != 0 || !strings.Contains(attack.Stderr, "permission denied") {
			t.Errorf("OpenZFS %s: receive -F from an old snapshot as the pulling user: exit %d, %q; @%s still there: %v", kmod, attack.Exit, attack.Stderr, now, kept.Exit == 0)
		}
	} else {
		// Before 2.4 receive implies -F: not prevented, detected at the next pull.
		t.Logf("OpenZFS %s: receive -F as the pulling user: exit %d %q; @%s still there: %v", kmod, attack.Exit, strings.TrimSpace(attack.Stderr), now, kept.Exit == 0)
		if kept.Exit != 0 {
			out := waitForLogging(t, log, "the erased alarm", 3*time.Minute, "/mnt/lab/vault status -c "+cfg+" | grep -F 'erased from the vault, not by vault prune: @"+now+"'")
			t.Logf("detected: %s", strings.TrimSpace(out))
		}
	}

	// The worker dies with the daemon, even one killed outright.
	labtest.Root(t, "kill -9 $(cat /tmp/vault-apo.pid)")
	waitForLogging(t, log, "the prune worker to end with the daemon", 30*time.Second, "st=$(awk '/^State:/{print $2}' /proc/"+wpid+"/status 2>/dev/null || true); test -z \"$st\" -o \"$st\" = Z")
}
