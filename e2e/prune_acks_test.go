//go:build lab && linux

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
)

// With prune_user set, an acknowledgement of names that lie reaches the prune worker only from
// root: vault ack as the pulling user is refused, vault ack as root writes what ZFS shows lying
// now into root's ack directory (which the pulling user cannot write), the worker then prunes
// around the liars, and an ack file the pulling user could have written is refused.
func TestLabPruneWorkerTakesAcksFromRoot(t *testing.T) {
	const (
		src  = "host05data/packs/fs"
		tgt  = "rust10/Acks/packs"
		dst  = tgt + "/fs"
		cfg  = "/etc/vault/packs.toml"
		dir  = "/var/lib/vault-packs"
		acks = dir + "-acks"
		user = "vpacks"
	)
	t.Cleanup(func() {
		labtest.Try(t, "", destroyHeldScript("host05data/packs", "rust10/Acks")+"userdel "+user+" 2>/dev/null; rm -rf "+dir+" "+acks+" "+cfg)
	})
	day0 := time.Now().UTC().Truncate(24 * time.Hour)
	stamp := func(at time.Time) string { return at.Format("2006-01-02_15.04.05") + "--1y" }
	var genuine []string
	for i := 12; i >= 1; i-- {
		genuine = append(genuine, src+"@"+stamp(day0.Add(time.Duration(-i)*24*time.Hour+12*time.Hour)))
	}
	labtest.Root(t, timeTravel(`useradd --system --no-create-home --shell /usr/sbin/nologin `+user+`
zfs create -p `+src+`
`+snapAt(genuine...)+`
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
name = "packs"
source = "backup@127.0.0.1:22"
source_datasets = ["`+src+`"]
target = "`+tgt+`"
schedule = "15 1 * * *"
rpo = "26h"
[job.prune]
source_ttl = false
grid = ["7 daily"]
min_keep = 1
min_age = "1h"
max_destroy = 100
EOF
/mnt/lab/vault bootstrap -c `+cfg+` >/dev/null`))
	mustPull(t, cfg)

	// The attack: names dated on earlier days, taken now.
	var lies []string
	var script strings.Builder
	for i := 5; i >= 1; i-- {
		n := stamp(day0.Add(time.Duration(-i)*24*time.Hour + 23*time.Hour + 59*time.Minute + 59*time.Second))
		lies = append(lies, n)
		fmt.Fprintf(&script, "zfs snapshot %s@%s\n", src, n)
	}
	labtest.Root(t, script.String())
	mustPull(t, cfg)
	held := snapNames(t, dst)

	// The worker (vault prune as root starts it) sees the liars and destroys nothing.
	out := labtest.Root(t, "/mnt/lab/vault prune -c "+cfg)
	if got := snapNames(t, dst); !slices.Equal(got, held) {
		t.Fatalf("the worker destroyed snapshots of a dataset whose names lie:\n%s", out)
	}
	if !strings.Contains(out, "lie") {
		t.Errorf("prune does not say that names lie:\n%s", out)
	}

	// The pulling user cannot acknowledge them for the worker, and nothing is written.
	res := labtest.Try(t, "backup", "/mnt/lab/vault ack -c "+cfg+" packs "+src)
	if res.Exit == 0 || !strings.Contains(res.Combined(), "only root can acknowledge") {
		t.Errorf("vault ack as the pulling user: exit %d, want a refusal:\n%s", res.Exit, res.Combined())
	}
	if labtest.Try(t, "", "test -e "+acks).Exit == 0 {
		t.Errorf("a refused ack created %s", acks)
	}

	// Root acknowledges what ZFS shows lying now.
	out = labtest.Root(t, "/mnt/lab/vault ack -c "+cfg+" packs "+src)
	if !strings.Contains(out, fmt.Sprintf("%d snapshot name(s) that lie acknowledged", len(lies))) {
		t.Errorf("vault ack as root does not acknowledge the %d liars:\n%s", len(lies), out)
	}
	if got := strings.TrimSpace(labtest.Root(t, "stat -c '%U %a' "+acks+" "+acks+"/packs.json")); got != "root 755\nroot 644" {
		t.Errorf("the ack directory and file: %q, want root's, 755 and 644", got)
	}
	if res := labtest.Try(t, "backup", "touch "+acks+"/packs.json "+acks+"/other.json"); res.Exit == 0 {
		t.Errorf("the pulling user can write the ack directory")
	}

	// A file in the ack directory the pulling user could have written is refused: nothing goes.
	labtest.Root(t, "chown backup "+acks+"/packs.json")
	res = labtest.Try(t, "", "/mnt/lab/vault prune -c "+cfg)
	if !strings.Contains(res.Combined(), "not root's alone") {
		t.Errorf("prune with an ack file the pulling user owns: exit %d, want a refusal naming it:\n%s", res.Exit, res.Combined())
	}
	if got := snapNames(t, dst); !slices.Equal(got, held) {
		t.Errorf("prune with a refused ack file destroyed snapshots: %q, want %q", got, held)
	}
	labtest.Root(t, "chown root "+acks+"/packs.json")

	// Now the worker prunes around the liars: they stay, as do the genuine snapshots of the grid.
	out = labtest.Root(t, "/mnt/lab/vault prune -c "+cfg)
	after := snapNames(t, dst)
	if missing := containsAll(after, lies); len(missing) > 0 {
		t.Errorf("the worker destroyed acknowledged liars %q:\n%s", missing, out)
	}
	if len(after) != 7+len(lies) {
		t.Errorf("after the ack the vault holds %d snapshots, want the 7 days of the grid and the %d liars: %q\n%s", len(after), len(lies), after, out)
	}
}
