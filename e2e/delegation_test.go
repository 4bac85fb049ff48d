//go:build lab && linux

package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// sourcePermissions is the delegation README's "On each source host" tells the operator to grant
// on the source (vault cannot set it: it never has root there).
var sourcePermissions = []string{"send", "snapshot", "hold", "release"}

// The zfs allow delegation is the smallest that works, measured: with the set vault bootstrap
// grants on the target (read back from zfs allow, so the test follows the code) and the set the
// README gives for the source, everything the unprivileged user does works: an incremental
// pull (-I through an expired snapshot), snapshot on pull, a first receive of a new child with
// the job's -o properties, the holds moved to the new base on both sides, and a prune that
// destroys. Then, one permission at a time taken away, some vault command must fail or warn,
// naming what went wrong; a permission nothing misses is not needed and fails the test.
//
// The backup user's grants on rust10/Backups and host05data are inherited by everything under
// them and cannot be taken away below, so this test runs as users of its own, with grants only
// on their own datasets, logging in over SSH through vault serve as backup does. The rounds are
// many and each is a pull and a prune: two tests take half of the permissions each, in parallel
// (each its own user, datasets and job), beside the daemon tests that mostly wait.
func TestLabDaemonMinimalDelegationA(t *testing.T) { minimalDelegation(t, "delega", 0) }

func TestLabDaemonMinimalDelegationB(t *testing.T) { minimalDelegation(t, "delegb", 1) }

// minimalDelegation runs the full delegation, then takes away each permission of its half (0:
// the first half of the target's then the source's permissions, 1: the rest) in turn.
func minimalDelegation(t *testing.T, name string, half int) {
	var (
		srcRoot = "host05data/" + name
		src     = srcRoot + "/fs"
		tgt     = "rust10/Backups/" + name
		dst     = tgt + "/fs"
		user    = "v" + name
		dir     = "/var/lib/vault-" + name
		cfg     = "/etc/vault/" + name + ".toml"
		tag     = "vault:lab:" + name
	)
	t.Cleanup(func() {
		labtest.Try(t, "", `pkill -9 -u `+user+`; sleep 1
for ds in `+srcRoot+` `+tgt+`; do
  for s in $(zfs list -H -t snapshot -o name -r $ds 2>/dev/null); do zfs release `+tag+` $s 2>/dev/null; done
  zfs destroy -r $ds
done
userdel -r `+user+` 2>/dev/null; rm -rf `+dir+` `+cfg)
	})
	labtest.Root(t, timeTravel(`useradd -m -s /bin/bash `+user+`
install -d -o `+user+` -g `+user+` -m 0700 /home/`+user+`/.ssh `+dir+`
su `+user+` -c "ssh-keygen -q -t ed25519 -N '' -f /home/`+user+`/.ssh/id_ed25519"
echo "command=\"/mnt/lab/vault serve --allow `+srcRoot+`\",restrict $(cat /home/`+user+`/.ssh/id_ed25519.pub)" >/home/`+user+`/.ssh/authorized_keys
cp /home/backup/.ssh/known_hosts /home/`+user+`/.ssh/known_hosts
chown `+user+`:`+user+` /home/`+user+`/.ssh/authorized_keys /home/`+user+`/.ssh/known_hosts
zfs create -p `+src+` && head -c 1M /dev/urandom >/`+src+`/f0
`+snapAt(src+`@2026-11-01_00.00.00--forever`)+`zfs allow -u `+user+` `+strings.Join(sourcePermissions, ",")+` `+srcRoot+`
mkdir -p /etc/vault && cat >`+cfg+` <<'EOF'
user = "`+user+`"
state_dir = "`+dir+`"
zfs_binary = "/sbin/zfs"
hold_prefix = "vault:lab:"
timezone = "UTC"

[ssh]
identity = "/home/`+user+`/.ssh/id_ed25519"
known_hosts = "/home/`+user+`/.ssh/known_hosts"
connect_timeout = "20s"

[[job]]
name = "`+name+`"
source = "`+user+`@127.0.0.1:22"
source_datasets = ["`+src+`"]
target = "`+tgt+`"
schedule = "15 1 * * *"
rpo = "26h"
[job.snapshot_on_pull]
ttl = "1w"
[job.prune]
source_ttl = true
min_keep = 1
min_age = "1s"
EOF
/mnt/lab/vault config check `+cfg+` >/dev/null`))
	// The set-up moved the clock; from here on nothing does, and the rounds run in parallel.
	t.Parallel()

	// The root phase: vault bootstrap creates the target, delegates, verifies, first receive.
	out := labtest.Root(t, "/mnt/lab/vault bootstrap -c "+cfg)
	if !strings.Contains(out, "delegated") {
		t.Fatalf("vault bootstrap did not delegate:\n%s", out)
	}
	allow := labtest.Root(t, "zfs allow "+tgt)
	m := regexp.MustCompile(`(?m)^\s*user ` + user + ` (\S+)$`).FindStringSubmatch(allow)
	if m == nil {
		t.Fatalf("no delegation for %s on %s:\n%s", user, tgt, allow)
	}
	targetPermissions := strings.Split(m[1], ",")
	t.Logf("vault bootstrap delegates %s on the target; the README's source set is %s", m[1], strings.Join(sourcePermissions, ","))

	round := 0
	// operate runs what the unprivileged user does in one round and returns what vault said
	// went wrong and what went wrong that vault did not say.
	operate := func() (said, unsaid []string) {
		round++
		// Names dated when they are taken, by the guest's clock (the host's may be ahead of it
		// by seconds under load), as a real zfsnap2 snapshot's are: each round's after the last
		// snapshot on pull, one with a TTL of a second that has run out by the prune.
		child := fmt.Sprintf("%s/n%d", src, round)
		names := strings.Fields(labtest.Root(t, fmt.Sprintf(`sleep 1; e=$(date -u +%%Y-%%m-%%d_%%H.%%M.%%S)--1s
head -c 256K /dev/urandom >/%[1]s/f && zfs snapshot %[1]s@$e
sleep 1; k=$(date -u +%%Y-%%m-%%d_%%H.%%M.%%S)--forever
head -c 256K /dev/urandom >/%[1]s/f && zfs snapshot %[1]s@$k
zfs create %[2]s && zfs snapshot %[2]s@$k
echo $e $k`, src, child)))
		if len(names) != 2 {
			t.Fatalf("round %d: the snapshot script printed %q", round, names)
		}
		expired, kept := names[0], names[1]
		before := snapNames(t, src)
		// The new child's parent on the vault is made writable for the round, as a new job's
		// top dataset's parent is: otherwise the child inherits readonly=on and the receive's
		// -o readonly=on could fail unseen.
		labtest.Root(t, "zfs set readonly=off "+dst)
		res := labtest.Try(t, user, "/mnt/lab/vault pull -c "+cfg)
		if res.Exit != 0 {
			said = append(said, fmt.Sprintf("vault pull exit %d: %s", res.Exit, strings.TrimSpace(res.Stdout+res.Stderr)))
		} else if strings.Contains(res.Stdout+res.Stderr, "warning:") {
			said = append(said, "vault pull warned: "+strings.TrimSpace(res.Stdout+res.Stderr))
		}
		// Snapshot on pull, then the whole chain, arrived; the holds moved to the new base.
		srcSnaps := snapNames(t, src)
		onPull := ""
		if len(srcSnaps) == len(before)+1 {
			onPull = srcSnaps[len(srcSnaps)-1]
		} else {
			unsaid = append(unsaid, "no snapshot on pull on the source")
		}
		dstSnaps := snapNames(t, dst)
		for _, s := range []string{kept, onPull} {
			if s != "" && !slices.Contains(dstSnaps, s) {
				unsaid = append(unsaid, "the vault lacks @"+s)
			}
		}
		if onPull != "" {
			for side, ds := range map[string]string{"source": src, "vault": dst} {
				holds := labtest.Root(t, "zfs list -H -t snapshot -o name -d 1 "+ds+" | xargs zfs holds -H | awk '$2 == \""+tag+"\" {print $1}'")
				if got := strings.Fields(holds); !slices.Equal(got, []string{ds + "@" + onPull}) {
					unsaid = append(unsaid, fmt.Sprintf("%s: %s holds on %q, want only the new base", side, tag, got))
				}
			}
		}
		props := labtest.Try(t, "", "zfs get -H -o value canmount,readonly "+dst+"/"+child[len(src)+1:])
		if f := strings.Fields(props.Stdout); props.Exit != 0 || !slices.Equal(f, []string{"noauto", "on"}) {
			unsaid = append(unsaid, "the new child's first receive: canmount,readonly "+strings.Join(strings.Fields(props.Stdout+props.Stderr), " "))
		}
		labtest.Root(t, "zfs set readonly=on "+dst)
		// Prune takes the expired snapshot (source TTL), when the pull is on record as good.
		res = labtest.Try(t, user, "/mnt/lab/vault prune -c "+cfg)
		if res.Exit != 0 {
			said = append(said, fmt.Sprintf("vault prune exit %d: %s", res.Exit, strings.TrimSpace(res.Stdout+res.Stderr)))
		}
		if slices.Contains(snapNames(t, dst), expired) {
			unsaid = append(unsaid, "prune left the expired @"+expired+":\n"+res.Stdout)
		}
		// The child served its purpose; keep the next rounds short. A round that could not hold
		// or release leaves holds that later runs do not touch (vault releases only the base it
		// moves from): each round starts with a hold on the newest snapshot of each side at most.
		labtest.Root(t, `for ds in `+child+` `+dst+`/`+child[len(src)+1:]+`; do
  for s in $(zfs list -H -t snapshot -o name -r $ds 2>/dev/null); do zfs release `+tag+` $s 2>/dev/null || true; done
  zfs destroy -r $ds 2>/dev/null || true
done
for ds in `+src+` `+dst+`; do
  zfs list -H -t snapshot -o name -s createtxg -d 1 $ds | head -n -1 | xargs -r zfs holds -H | awk '$2 == "`+tag+`" {print $1}' | xargs -r -n1 zfs release `+tag+`
done`)
		return said, unsaid
	}
	grant := func(verb, perm, ds string) {
		labtest.Root(t, "zfs "+verb+" -u "+user+" "+perm+" "+ds)
	}

	said, unsaid := operate()
	if len(said)+len(unsaid) > 0 {
		t.Fatalf("with the full delegation:\nvault said: %q\nand: %q", said, unsaid)
	}
	type removal struct{ side, ds, perm string }
	var all []removal
	for _, p := range targetPermissions {
		all = append(all, removal{"target", tgt, p})
	}
	for _, p := range sourcePermissions {
		all = append(all, removal{"source", srcRoot, p})
	}
	mine := all[:len(all)/2]
	if half == 1 {
		mine = all[len(all)/2:]
	}
	for _, r := range mine {
		grant("unallow", r.perm, r.ds)
		said, unsaid := operate()
		grant("allow", r.perm, r.ds)
		switch {
		case len(said) == 0 && len(unsaid) == 0:
			t.Errorf("%s without %q: everything works, so it is not needed", r.side, r.perm)
		case len(said) == 0:
			t.Errorf("%s without %q: vault said nothing, yet %q", r.side, r.perm, unsaid)
		default:
			t.Logf("%s without %q: %s", r.side, r.perm, summary(said, unsaid))
		}
		// A run that failed is repeated with the grant restored, to start the next one from
		// a clean state. (Warnings leave nothing behind: the next round has fresh data, and
		// stale holds are released after each round.)
		if slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, " exit ") }) {
			if s, u := operate(); len(s)+len(u) > 0 {
				t.Fatalf("%s: with %q granted again:\nvault said: %q\nand: %q", r.side, r.perm, s, u)
			}
		}
	}
}

// summary is the first line of each problem, for the test log.
func summary(said, unsaid []string) string {
	var b strings.Builder
	for _, s := range said {
		fmt.Fprintf(&b, "\n    vault: %s", firstLines(s, 6))
	}
	for _, s := range unsaid {
		fmt.Fprintf(&b, "\n    found: %s", s)
	}
	return b.String()
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n      ")
}
