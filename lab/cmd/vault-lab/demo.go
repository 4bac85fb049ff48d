package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/belltech/vault/lab/labtest"
)

// A demo step: what the narrator says, then what runs in the guest. A step whose command fails
// stops the demo unless it is expected to fail.
type step struct {
	say        string
	user       string // "" is root
	script     string
	expectFail bool
}

// scenario is the story `make demo` tells. It grows with each capability vault gains.
var scenario = []step{
	{say: "The lab guest runs real OpenZFS. Two pools stand in for two machines: host05data, a client host's " +
		"SSD pool with jails and a VM, and rust10, the office rust-bucket (raidz2).",
		script: "zfs version; zpool list -o name,size,alloc,free,health; zpool status rust10 | sed -n '1,12p'"},
	{say: "The client host: two jails and a bhyve-style VM with a zvol disk, snapshotted zfsnap2-style by its own cron.",
		script: `
zfs create -p host05data/jail/drive.client
zfs create host05data/jail/www.client
zfs create -p host05data/vm/fs.client
zfs create -V 256M -o volmode=dev host05data/vm/fs.client/c-drive
for ds in jail/drive.client jail/www.client vm/fs.client; do
  head -c 8M /dev/urandom >/host05data/$ds/data.bin
done
dd if=/dev/urandom of=/dev/zvol/host05data/vm/fs.client/c-drive bs=1M count=32 status=none 2>/dev/null || true
for t in 2026-11-24_00.00.00--1w 2026-11-25_00.00.00--1w 2026-11-26_00.00.00--1w; do
  zfs snapshot -r host05data/jail@$t host05data/vm@$t
done
zfs list -r -t all -o name,used,refer host05data`},
	{say: "The vault binary is one static Go program; the lab runs the one just built from this tree.",
		script: "/mnt/lab/vault version; file /mnt/lab/vault 2>/dev/null || ls -l /mnt/lab/vault"},
	{say: "The operator writes the job in /etc/vault/vault.toml, and `vault config check` says what it means.",
		script: `
mkdir -p /etc/vault
cat >/etc/vault/vault.toml <<'TOML'
user = "backup"
state_dir = "/var/lib/vault"
zfs_binary = "/sbin/zfs"
hold_prefix = "vault:lab:"

[ssh]
identity = "/home/backup/.ssh/id_ed25519"
known_hosts = "/home/backup/.ssh/known_hosts"   # the source's host key, pinned up front

[[job]]
name = "host05"
source = "backup@127.0.0.1:22"
source_datasets = ["host05data/jail", "host05data/vm"]
target = "rust10/Backups/host05"
schedule = "15 1 * * *"
rpo = "26h"

[job.prune]
schedule = "30 3 * * 0"
grid = ["14 daily", "8 weekly", "12 monthly", "forever yearly"]
min_keep = 7
max_destroy = 20
TOML
/mnt/lab/vault config check /etc/vault/vault.toml`},
	{say: "A mistake in the file is named with its key path and line, and nothing runs (exit 2).",
		expectFail: true,
		script: `
sed -e 's/^schedule = "15 1 \* \* \*"/shedule = "15 1 * * *"/' -e 's/min_keep = 7/min_keep = "seven"/' /etc/vault/vault.toml >/tmp/bad.toml
/mnt/lab/vault config check /tmp/bad.toml`},
	{say: "vault reads each side with two `zfs list -H -p` calls, never one per dataset. Here is what its zfs " +
		"package sees on the source, as the delegated backup user (first lines):",
		user:   "backup",
		script: "/mnt/lab/labprobe list host05data | head -24"},
	{say: "On the source, the vault's key may only run `vault serve`, a gate for the few zfs commands a pull needs:",
		script: "cat /home/backup/.ssh/authorized_keys | cut -c1-120; zfs allow host05data | sed -n '1,6p'"},
	{say: "The first pull, as the unprivileged backup user: one SSH connection, full sends of the oldest snapshots, " +
		"then one -I each to the newest, into targets the vault names itself.",
		user:   "backup",
		script: "/mnt/lab/vault pull -c /etc/vault/vault.toml"},
	{say: "The copies are unmountable by accident and read-only; the newest common snapshot is held on both sides.",
		script: `zfs list -r -t all -o name,used,canmount,readonly,userrefs rust10/Backups/host05 | head -20
zfs holds host05data/jail/drive.client@2026-11-26_00.00.00--1w`},
	{say: "A day later the client's own cron snapshots again (zfsnap-style, as root on the source).",
		script: `head -c 4M /dev/urandom >/host05data/jail/drive.client/today.bin
zfs snapshot -r host05data/jail@2026-11-27_00.00.00--1w host05data/vm@2026-11-27_00.00.00--1w`},
	{say: "`vault pull --dry-run` shows the plan without sending anything: one incremental per dataset.",
		user:   "backup",
		script: "/mnt/lab/vault pull -c /etc/vault/vault.toml --dry-run"},
	{say: "And the pull:",
		user:   "backup",
		script: "/mnt/lab/vault pull -c /etc/vault/vault.toml"},
	{say: "Someone with the vault's stolen key tries to destroy the client's snapshots through the gate. Refused:",
		user: "backup", expectFail: true,
		script: "ssh -T -o BatchMode=yes backup@127.0.0.1 'zfs destroy -r host05data/jail@2026-11-26_00.00.00--1w'"},
	{say: "Ransomware on the client: an attacker with root there releases the vault's holds and destroys every " +
		"snapshot of the web jail. The vault mirrors no deletion: it keeps its copies and says so.",
		script: `zfs release -r vault:lab:host05 host05data/jail@2026-11-27_00.00.00--1w
zfs destroy -r host05data/jail/www.client@%
su backup -c '/mnt/lab/vault pull -c /etc/vault/vault.toml'
zfs list -t snapshot -o name rust10/Backups/host05/jail/www.client`},
	{say: "Then the attacker rolls the file server's dataset back and writes over it: a diverged source. The vault " +
		"stops that dataset, keeps everything, exits 3 and names the command for the operator.",
		expectFail: true,
		script: `zfs release vault:lab:host05 host05data/vm/fs.client@2026-11-27_00.00.00--1w
zfs rollback -r host05data/vm/fs.client@2026-11-26_00.00.00--1w
head -c 1M /dev/urandom >/host05data/vm/fs.client/encrypted-by-ransomware.bin
zfs snapshot host05data/vm/fs.client@2026-11-28_00.00.00--1w
su backup -c '/mnt/lab/vault pull -c /etc/vault/vault.toml'`},
	{say: "The vault's copy of the file server still holds the good snapshots:",
		script: "zfs list -t snapshot -o name,creation -r rust10/Backups/host05/vm/fs.client | grep -v c-drive"},
}

func demo(ctx context.Context) error {
	start := time.Now()
	g, cleanup, err := labtest.Start(ctx, os.Stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	for i, s := range scenario {
		fmt.Printf("\n\033[1m[%d/%d] %s\033[0m\n", i+1, len(scenario), s.say)
		who := "root"
		if s.user != "" {
			who = s.user
		}
		for _, line := range strings.Split(strings.TrimSpace(s.script), "\n") {
			fmt.Printf("  %s# %s\n", who, line)
		}
		res, err := g.Script(ctx, s.user, s.script)
		if err != nil {
			return err
		}
		out := strings.TrimRight(res.Stdout+res.Stderr, "\n")
		if out != "" {
			fmt.Println("  " + strings.ReplaceAll(out, "\n", "\n  "))
		}
		fmt.Printf("  (exit %d)\n", res.Exit)
		if (res.Exit != 0) != s.expectFail {
			return fmt.Errorf("demo step %d went wrong: exit %d", i+1, res.Exit)
		}
	}
	fmt.Printf("\nDemo finished in %s.\n", time.Since(start).Round(time.Second))
	return nil
}
