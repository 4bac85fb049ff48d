package main

// The appliance at work: bootstrap as root, the daemon dropping to its users, a scheduled pull,
// status, check and the prune plan.

const (
	daemonLog  = "/var/log/vault.log"
	daemonArgs = "/mnt/lab/vault daemon -c /etc/vault/vault.toml"
)

var daemonScenes = []step{
	{say: "`vault bootstrap`, once, as root: the first full receives, into targets the vault names itself, and " +
		"the zfs allow each user gets on the target. backup may receive but not destroy; vprune may destroy.",
		script: `/mnt/lab/vault bootstrap -c /etc/vault/vault.toml >/tmp/bootstrap.out 2>&1 || { cat /tmp/bootstrap.out; exit 1; }
sed -n '1,4p;$p' /tmp/bootstrap.out
zfs allow rust10/Vault/host05`},
	{say: "The copies are unmountable by accident and read-only; the newest common snapshot is held on both sides.",
		script: `zfs list -r -o name,used,canmount,readonly rust10/Vault/host05
newest=$(zfs list -H -t snapshot -o name -s createtxg host05data/jail/drive.client | tail -n 1)
zfs holds "$newest"`},
	{say: "The daemon, as the service manager starts it: as root. It does its root phase, then drops to backup " +
		"for good and starts its prune worker as vprune. Its log:",
		script: `nohup ` + daemonArgs + ` --log stderr >` + daemonLog + ` 2>&1 </dev/null &
for _ in $(seq 60); do grep -q 'prune worker started' ` + daemonLog + ` && break; sleep 1; done
cut -c1-150 ` + daemonLog + ` | sed -n '1,8p'
grep -q 'dropped privileges' ` + daemonLog},
	{say: "Who they run as, from the kernel's side: the daemon holds backup's ids (34) and no other group; the " +
		"prune worker holds vprune's, in a network namespace of its own with only a loopback that is down.",
		script: `ps -o user,pid,cmd -C vault
d=$(pgrep -f '^` + daemonArgs + `'); w=$(pgrep -u vprune -f 'prune-worker -c /etc/vault/vault.toml')
echo "daemon $d:"; grep -E '^(Uid|Gid|Groups|NoNewPrivs):' /proc/$d/status
echo "prune worker $w (vprune is uid $(id -u vprune)):"; grep -E '^(Uid|Gid):' /proc/$w/status
nsenter -t $w -n ip -o link | cut -c1-80`},
	{say: "The client snapshots again. The job's schedule fires at the next minute of the guest's clock (under " +
		"a minute's wait), and the daemon pulls the new snapshot, its receive running as backup:",
		script: `n=$(date -u +%Y-%m-%d_%H.%M.%S)--1w
head -c 2M /dev/urandom >/host05data/jail/drive.client/today.bin
zfs snapshot -r host05data/jail@$n host05data/vm@$n
echo "snapshot @$n taken at $(date -u +%T)"
for _ in $(seq 100); do grep -q 'pull finished' ` + daemonLog + ` && break; sleep 1; done
zfs list -H -o name rust10/Vault/host05/jail/drive.client@$n >/dev/null
echo "on the vault at $(date -u +%T)"
grep 'pull finished' ` + daemonLog + ` | tail -n 1 | cut -c1-200
tail -n 1 /var/lib/vault/journal.jsonl | cut -c1-200`},
	{say: "`vault status` reads the state the daemon keeps, and `vault check` (for a monitoring system) exits 0 " +
		"while every job is within its RPO:",
		script: `/mnt/lab/vault status -c /etc/vault/vault.toml | sed -n '1,16p'
/mnt/lab/vault check -c /etc/vault/vault.toml && echo "vault check: exit $?"`},
	{say: "`vault prune --dry-run` shows every verdict and its reason (one dataset here): the grid keeps 3 " +
		"daily, 2 weekly, 12 monthly and every yearly snapshot; the rest would go, in the worker, on Sunday at 03:30.",
		user: "backup",
		script: `/mnt/lab/vault prune --dry-run -c /etc/vault/vault.toml >/tmp/prune.out
awk '/^host05 /{p = ($2 ~ /drive.client$/)} p' /tmp/prune.out | cut -c1-130`},
	{say: "For the drills that follow, the operator stops the daemon (SIGTERM: a clean stop) and runs each pull " +
		"at the console as backup, so its output is seen. Those pulls are recorded in the state directory too.",
		script: `kill -TERM $(pgrep -f '^` + daemonArgs + `')
for _ in $(seq 30); do pgrep -f '^` + daemonArgs + `' >/dev/null || break; sleep 1; done
tail -n 1 ` + daemonLog + ` | cut -c1-120`},
}
