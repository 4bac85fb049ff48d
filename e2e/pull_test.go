//go:build lab && linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
)

// pullConfig writes /etc/vault/NAME.toml for a job NAME pulling roots from the lab's source over
// SSH (through vault serve, the forced command) into rust10/Backups/NAME, and returns its path.
// extra is appended inside the [[job]] table.
func pullConfig(t testing.TB, name string, roots []string, extra string) string {
	t.Helper()
	quoted := make([]string, len(roots))
	for i, r := range roots {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	path := "/etc/vault/" + name + ".toml"
	schedule := "schedule = \"15 1 * * *\"\n"
	if strings.Contains(extra, "schedule =") {
		schedule = ""
	}
	cfg := fmt.Sprintf(`user = "backup"
state_dir = "/var/lib/vault"
zfs_binary = "/sbin/zfs"
hold_prefix = "vault:lab:"

[ssh]
identity = "/home/backup/.ssh/id_ed25519"
known_hosts = "/home/backup/.ssh/known_hosts"
connect_timeout = "20s"

[[job]]
name = %q
source = "backup@127.0.0.1:22"
source_datasets = [%s]
target = "rust10/Backups/%s"
%srpo = "26h"
%s
`, name, strings.Join(quoted, ", "), name, schedule, extra)
	labtest.Root(t, "mkdir -p /etc/vault && cat >"+path+" <<'EOF'\n"+cfg+"EOF\n/mnt/lab/vault config check "+path+" >/dev/null")
	return path
}

// pull runs vault pull as the delegated backup user and returns the result, whatever its exit.
func pull(t testing.TB, cfg string, args ...string) *lab.Result {
	t.Helper()
	argv := "/mnt/lab/vault pull -c " + labtest.Q(cfg)
	for _, a := range args {
		argv += " " + labtest.Q(a)
	}
	return labtest.Try(t, "backup", argv)
}

// mustPull is pull that fails the test unless vault pull exits 0.
func mustPull(t testing.TB, cfg string, args ...string) string {
	t.Helper()
	res := pull(t, cfg, args...)
	if res.Exit != 0 {
		t.Fatalf("vault pull failed:\n%s", res)
	}
	return res.Stdout
}

// snapshots lists a tree's snapshots as zfs prints them: name, guid and createtxg.
func snapshots(t *testing.T, root string) string {
	t.Helper()
	return labtest.Root(t, "zfs list -H -p -r -t snapshot -o name,guid,createtxg -s createtxg "+labtest.Q(root))
}

// snapNames lists the short names of a dataset's own snapshots, oldest first.
func snapNames(t testing.TB, ds string) []string {
	t.Helper()
	out := labtest.Root(t, "zfs list -H -d 1 -t snapshot -o name -s createtxg "+labtest.Q(ds)+" | cut -d@ -f2")
	return strings.Fields(strings.TrimSpace(out))
}

// destroyHeldScript is a script fragment that releases every hold on the datasets' snapshots
// (vault's and anyone's) and destroys the datasets recursively, for clean-ups.
func destroyHeldScript(datasets ...string) string {
	var b strings.Builder
	for _, ds := range datasets {
		q := labtest.Q(ds)
		fmt.Fprintf(&b, "zfs list -H -t snapshot -o name -r %s 2>/dev/null | xargs -r zfs holds -H | awk '{print $2, $1}' | xargs -r -n2 zfs release\nzfs destroy -r %s\n", q, q)
	}
	return b.String()
}

// sameContent checks that every snapshot of src exists on dst with the same content.
func sameContent(t *testing.T, src, dst string, snaps []string) {
	t.Helper()
	for _, s := range snaps {
		a := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum "+labtest.Q(src+"@"+s)))
		b := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum "+labtest.Q(dst+"@"+s)))
		if a != b || a == "" {
			t.Errorf("%s@%s: source content %s, vault copy %s", src, s, a, b)
		}
	}
}

// write puts n MiB of fresh random data in a file of a source filesystem.
func write(t *testing.T, ds, file string, mib int) {
	t.Helper()
	labtest.Root(t, fmt.Sprintf("head -c %dM /dev/urandom >/%s/%s", mib, ds, file))
}

func snap(t *testing.T, name string, datasets ...string) {
	t.Helper()
	var args []string
	for _, d := range datasets {
		args = append(args, labtest.Q(d+"@"+name))
	}
	labtest.Root(t, "zfs snapshot "+strings.Join(args, " "))
}

// timeTravel wraps a script that moves the guest's clock (date -s, as snapAt does) so that the
// clock is put back to the real time when the script ends, however it ends: the uptime counter
// measures the time the script took.
func timeTravel(script string) string {
	return `__u0=$(cut -d' ' -f1 /proc/uptime); __t0=$(date +%s)
__back() { date -u -s @$(awk -v t0="$__t0" -v u0="$__u0" -v u1="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN{printf "%d", t0+u1-u0+1}') >/dev/null; }
trap __back EXIT
` + script
}

// snapAt gives the script lines that take each snapshot ("[-r ]dataset@NAME", NAME a zfsnap2
// name) with the guest's clock at the date in its name, read in UTC (the lab's time zone), so
// that its creation agrees with its name as a real zfsnap2 snapshot's does. Run them inside
// timeTravel, one snapshot after another in createtxg order.
func snapAt(snaps ...string) string {
	var b strings.Builder
	for _, s := range snaps {
		_, name, _ := strings.Cut(s, "@")
		at, err := time.ParseInLocation("2006-01-02_15.04.05", name[:min(len(name), 19)], time.UTC)
		if err != nil {
			panic(fmt.Sprintf("snapAt %q: %v", s, err))
		}
		fmt.Fprintf(&b, "date -u -s @%d >/dev/null && zfs snapshot %s\n", at.Unix(), s)
	}
	return b.String()
}
