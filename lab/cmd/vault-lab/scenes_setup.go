package main

// The client host, the vault's configuration and the source's gate: the demo's first steps.

// nightly takes the client's zfsnap2-style nightly snapshots for the last days, each with the
// guest's clock set to the midnight in its name (so its creation agrees with its name, as a real
// nightly snapshot's does, and vault prune's dates tell no lie), then puts the clock back.
const nightly = `u0=$(cut -d' ' -f1 /proc/uptime); t0=$(date +%s)
for days in 9 8 7 6 5 4 3 2 1; do
  day=$(date -u -d @$((t0 - days*86400)) +%Y-%m-%d)
  date -u -s "$day 00:00:00" >/dev/null
  head -c 512K /dev/urandom >/host05data/jail/drive.client/$day.bin
  zfs snapshot -r host05data/jail@${day}_00.00.00--1w host05data/vm@${day}_00.00.00--1w
done
date -u -s @$(awk -v t0=$t0 -v u0=$u0 -v u1=$(cut -d' ' -f1 /proc/uptime) 'BEGIN{printf "%d", t0+u1-u0+1}') >/dev/null
zfs list -r -t all -o name,used,refer host05data/jail/drive.client | sed -n '1,5p;$p'`

const vaultToml = `mkdir -p /etc/vault
useradd --system --no-create-home --shell /usr/sbin/nologin vprune
install -d -o backup -g backup -m 0750 /var/lib/vault
cat >/etc/vault/vault.toml <<'TOML'
user = "backup"          # the daemon drops to it once the root phase is done
prune_user = "vprune"    # the only one that may destroy, in a worker with no network
state_dir = "/var/lib/vault"
zfs_binary = "/sbin/zfs"
hold_prefix = "vault:lab:"
timezone = "UTC"

[ssh]
identity = "/home/backup/.ssh/id_ed25519"
known_hosts = "/home/backup/.ssh/known_hosts"   # the source's host key, pinned up front
connect_timeout = "20s"

[[job]]
name = "host05"
source = "backup@127.0.0.1:22"
source_datasets = ["host05data/jail", "host05data/vm"]
target = "rust10/Vault/host05"
schedule = "* * * * *"   # every minute for the demo; "15 1 * * *" in production
rpo = "26h"

[job.prune]
schedule = "30 3 * * 0"
grid = ["3 daily", "2 weekly", "12 monthly", "forever yearly"]
min_keep = 3
max_destroy = 20
TOML
/mnt/lab/vault config check /etc/vault/vault.toml`

var setupScenes = []step{
	{say: "The lab guest runs real OpenZFS. Two pools stand in for two machines: host05data, a client host's " +
		"SSD pool with jails and a VM, and rust10, the office rust-bucket (raidz2) that is the vault.",
		script: "zfs version; zpool list -o name,size,alloc,free,health; zpool status rust10 | sed -n '1,12p'"},
	{say: "The client host: two jails and a bhyve-style VM with a zvol disk.",
		script: `zfs create -p host05data/jail/drive.client
zfs create host05data/jail/www.client
zfs create -p host05data/vm/fs.client
zfs create -V 256M -o volmode=dev host05data/vm/fs.client/c-drive
for ds in jail/drive.client jail/www.client vm/fs.client; do
  head -c 8M /dev/urandom >/host05data/$ds/data.bin
done
dd if=/dev/urandom of=$(/mnt/lab/zvoldev host05data/vm/fs.client/c-drive) bs=1M count=16 status=none
zfs list -r -o name,used,refer host05data`},
	{say: "Its own cron has snapshotted it every night, zfsnap2-style, for nine nights (the lab sets the guest's " +
		"clock to each midnight, so each snapshot's creation agrees with its name):",
		script: nightly},
	{say: "The vault binary is one static Go program; the lab runs the one just built from this tree.",
		script: "/mnt/lab/vault version; file /mnt/lab/vault 2>/dev/null || ls -l /mnt/lab/vault"},
	{say: "The operator writes the job in /etc/vault/vault.toml: the daemon's user owns the state directory, " +
		"and a second user, prune_user, is the only one that destroys. `vault config check` says what it means.",
		script: vaultToml},
	{say: "A mistake in the file is named with its key path and line, and nothing runs (exit 2).",
		wantExit: 2,
		script: `sed -e 's/^schedule = "\* \* \* \* \*"/shedule = "* * * * *"/' -e 's/min_keep = 3/min_keep = "three"/' /etc/vault/vault.toml >/tmp/bad.toml
/mnt/lab/vault config check /tmp/bad.toml`},
	{say: "vault reads each side with two `zfs list -H -p` calls, never one per dataset. Here is what its zfs " +
		"package sees on the source, as the delegated backup user (first lines):",
		user:   "backup",
		script: "/mnt/lab/labprobe list host05data | sed -n '1,16p'"},
	{say: "On the source, the vault's key may only run `vault serve`, a gate for the few zfs commands a pull needs:",
		script: "cut -c1-120 /home/backup/.ssh/authorized_keys; zfs allow host05data | sed -n '1,6p'"},
}
