//go:build lab && linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/zpool"
)

// poolsDir holds the files the test's pools are made of, and labfull's mountpoint.
const poolsDir = "/var/tmp/vault-pools"

// TestLabPools judges real pools through vault status --json and vault check:
//
//   - labraid, a raidz2 of six files: never scrubbed (WARN); a member gone (export, rm, import:
//     DEGRADED, CRIT, with the zpool status -x hint); scrubbed while degraded (the scrub's end
//     and age shown); the member replaced (zpool shows the resilver, not the scrub: WARN);
//   - labfull, one file, scrubbed, filled past pool_capacity_warn (25% here: 80M of a 256M
//     pool, whose slop space is 128M): WARN, not CRIT.
//
// At each step the real zpool list -Hp and zpool status -p parse; with VAULT_LAB_CAPTURE=1
// they are written to zpool/testdata/{list,status}/lab-zfsX.Y-STEP.txt (refresh the goldens
// with go test ./zpool -update).
func TestLabPools(t *testing.T) {
	const cfg = "/etc/vault/pools.toml"
	labtest.Root(t, `zpool destroy labraid 2>/dev/null || true; zpool destroy labfull 2>/dev/null || true
d=`+poolsDir+`; rm -rf $d && mkdir -p $d/mnt
for i in 0 1 2 3 4 5; do truncate -s 128M $d/r$i; done
truncate -s 256M $d/f0
zpool create -f -O mountpoint=none labraid raidz2 $d/r0 $d/r1 $d/r2 $d/r3 $d/r4 $d/r5
zpool create -f -O mountpoint=$d/mnt -O compression=off labfull $d/f0
mkdir -p /etc/vault && cat >`+cfg+` <<'EOF'
user = "backup"
state_dir = "/var/lib/vault-pools"
zfs_binary = "/sbin/zfs"
zpool_binary = "/sbin/zpool"
hold_prefix = "vault:lab:"
timezone = "UTC"
pool_capacity_warn = 25
pool_capacity_crit = 95

[[job]]
name = "praid"
source = "backup@127.0.0.1:22"
source_datasets = ["host05data/praid"]
target = "labraid/Backups/praid"
schedule = "15 1 * * *"
rpo = "26h"

[[job]]
name = "pfull"
source = "backup@127.0.0.1:22"
source_datasets = ["host05data/pfull"]
target = "labfull/Backups/pfull"
schedule = "15 1 * * *"
rpo = "26h"
EOF
/mnt/lab/vault config check `+cfg+` >/dev/null`)
	t.Cleanup(func() {
		labtest.Try(t, "", "zpool destroy labraid; zpool destroy labfull; rm -rf "+poolsDir+" "+cfg)
	})
	release := kmodRelease(t)

	// status is vault status --json as the vault user, and the pool named.
	status := func(pool string) report.PoolStatus {
		t.Helper()
		out := labtest.As(t, "backup", "/mnt/lab/vault status --json -c "+cfg)
		var st report.Status
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("vault status --json: %v\n%s", err, out)
		}
		if st.PoolsError != nil {
			t.Fatalf("pools not checked: %s", st.PoolsError.Text)
		}
		for _, p := range st.Pools {
			if p.Pool == pool {
				return p
			}
		}
		t.Fatalf("vault status --json has no pool %s:\n%s", pool, out)
		return report.PoolStatus{}
	}
	expect := func(step string, p report.PoolStatus, level report.Level, kind, text string) {
		t.Helper()
		for _, f := range p.Findings {
			if f.Kind == kind && strings.Contains(f.Text, text) {
				if p.Level != level {
					t.Errorf("%s: pool %s is %s, want %s: %+v", step, p.Pool, p.Level, level, p.Findings)
				}
				return
			}
		}
		t.Errorf("%s: pool %s has no %s finding with %q: %+v", step, p.Pool, kind, text, p.Findings)
	}

	capturePools(t, release, "fresh")
	p := status("labraid")
	if p.State != "ONLINE" || !p.Imported || p.CapacityPercent == nil || p.ReadErrors == nil || *p.ReadErrors != 0 || len(p.Scans) != 0 {
		t.Errorf("fresh labraid: %+v", p)
	}
	expect("fresh", p, report.LevelWarn, report.KindScrubAge, "has never been scrubbed: zpool scrub labraid")

	// A raidz2 member gone: the pool imports DEGRADED.
	labtest.Root(t, "zpool export labraid && rm "+poolsDir+"/r3 && zpool import -d "+poolsDir+" labraid && zpool status labraid | grep -q DEGRADED")
	capturePools(t, release, "degraded-missing")
	p = status("labraid")
	if p.State != "DEGRADED" {
		t.Errorf("labraid after losing a member: state %q, want DEGRADED", p.State)
	}
	expect("degraded", p, report.LevelCrit, report.KindPoolState, "pool labraid is DEGRADED (One or more devices could not be opened): zpool status -x labraid")
	if res := labtest.Try(t, "backup", "/mnt/lab/vault check -c "+cfg+" praid"); res.Exit != 2 || !strings.Contains(res.Stdout, "VAULT CRITICAL - pool labraid is DEGRADED") {
		t.Errorf("vault check with labraid degraded: exit %d, want 2 naming the pool:\n%s", res.Exit, res)
	}

	// A scrub of the degraded pool: its end and age appear (the age as of the guest's clock).
	labtest.Root(t, "zpool scrub -w labraid")
	capturePools(t, release, "scrubbed-degraded")
	p = status("labraid")
	if p.LastScrub.IsZero() || p.ScrubAgeSeconds == nil || *p.ScrubAgeSeconds > 300 ||
		len(p.Scans) == 0 || p.Scans[0].Kind != "scrub" || p.Scans[0].State != "finished" || p.Scans[0].Errors != 0 {
		t.Errorf("labraid after a scrub: last scrub %s, age %v, scans %+v", p.LastScrub, p.ScrubAgeSeconds, p.Scans)
	}
	if slices.ContainsFunc(p.Findings, func(f report.Finding) bool { return f.Kind == report.KindScrubAge }) {
		t.Errorf("labraid just scrubbed has a scrub-age finding: %+v", p.Findings)
	}

	// The member replaced: ONLINE again, and zpool now shows the resilver in the scrub's place.
	labtest.Root(t, "truncate -s 128M "+poolsDir+"/r6 && zpool replace -w labraid "+poolsDir+"/r3 "+poolsDir+"/r6 && zpool status labraid | grep -q 'state: ONLINE'")
	capturePools(t, release, "resilvered")
	p = status("labraid")
	if len(p.Scans) > 0 && p.Scans[0].Kind == "scrub" {
		// zed starts a scrub after a resilver when zed.rc sets ZED_SCRUB_AFTER_RESILVER=1.
		t.Logf("zed scrubbed labraid after its resilver: %+v", p.Scans)
	} else {
		expect("resilvered", p, report.LevelWarn, report.KindScrubAge, "zpool shows its last resilver, not its last scrub")
	}

	// labfull, scrubbed, filled past pool_capacity_warn (25%) and short of its crit (95%).
	labtest.Root(t, "zpool scrub -w labfull && head -c 80M /dev/urandom >"+poolsDir+"/mnt/fill && sync && zpool sync labfull")
	capturePools(t, release, "filled")
	p = status("labfull")
	if p.CapacityPercent == nil || *p.CapacityPercent < 25 {
		t.Fatalf("labfull filled with 80M is not 25%% full: %+v", p)
	}
	expect("filled", p, report.LevelWarn, report.KindPoolCapacity, "over pool_capacity_warn 25%")
}

// capturePools parses the real zpool list -Hp and zpool status -p of the test's pools, as
// vault runs them (the vault user, LC_ALL=C, TZ=UTC), and with VAULT_LAB_CAPTURE=1 writes them
// to zpool/testdata as lab-zfsRELEASE-STEP.txt.
func capturePools(t *testing.T, release, step string) {
	t.Helper()
	list := labtest.As(t, "backup", "LC_ALL=C TZ=UTC /sbin/zpool list -H -p -o "+zpool.ListColumns)
	if _, err := zpool.ParseList(strings.NewReader(list)); err != nil {
		t.Fatalf("%s: real zpool list output does not parse: %v\n%s", step, err, list)
	}
	status := labtest.As(t, "backup", "LC_ALL=C TZ=UTC /sbin/zpool status -p labraid labfull")
	st, err := zpool.ParseStatus(strings.NewReader(status), time.UTC)
	if err != nil {
		t.Fatalf("%s: real zpool status output does not parse: %v\n%s", step, err, status)
	}
	if len(st) != 2 {
		t.Fatalf("%s: parsed %d pools, want 2:\n%s", step, len(st), status)
	}
	if !capturing() {
		return
	}
	repo, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	name := "lab-zfs" + release + "-" + step + ".txt"
	for dir, out := range map[string]string{"list": list, "status": status} {
		if err := os.WriteFile(filepath.Join(repo, "zpool", "testdata", dir, name), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("captured %s; refresh its goldens with go test ./zpool -update", name)
}
