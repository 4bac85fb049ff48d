//go:build lab && linux

package e2e

import (
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// The README's runbook, run as written: (a) a VM's data encrypted by ransomware, its last good
// snapshot restored beside it, checked, renamed into place with the ransomed copy kept under
// POOL/Archive, and what the vault does next; (c) the host rebuilt empty, the job's tree restored
// with its history, and the pulls going on from it. Each step's output is logged for the README.
// (Case (b), a clone and promote, is TestLabRestorePromoteOnVault.)
func TestLabRunbook(t *testing.T) {
	const (
		vm      = "host05data/rb/vm"
		dst     = "rust10/Backups/rb/vm"
		good    = "2026-12-01_00.00.00--1w"
		bad     = "2026-12-02_00.00.00--1w"
		after   = "2026-12-03_00.00.00--1w"
		rebuilt = "2026-12-04_00.00.00--1w"
	)
	t.Cleanup(func() {
		labtest.Try(t, "", destroyHeldScript("host05data/rb", "host05data/Archive", "rust10/Backups/rb", "rust10/Archive")+"rm -rf /var/lib/vault-rb")
	})
	labtest.Root(t, `zfs create -p -o compression=zstd -o recordsize=64K -o com.example:client=clinic `+vm+`
zfs create -V 32M -o volmode=dev `+vm+`/disk0
head -c 8M /dev/urandom >/`+vm+`/records.db
dd if=/dev/urandom of=$(/mnt/lab/zvoldev `+vm+`/disk0) bs=1M count=8 conv=notrunc status=none
zfs snapshot -r `+vm+`@`+good)
	cfg := pruneConfig(t, "rb", []string{vm}, "")
	mustPull(t, cfg)
	goodSum := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum "+vm+"@"+good))
	goodDisk := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum "+vm+"/disk0@"+good))

	// The ransomware: every byte of the data rewritten, then the nightly snapshot and pull.
	labtest.Root(t, `head -c 8M /dev/urandom >/`+vm+`/records.db
dd if=/dev/urandom of=$(/mnt/lab/zvoldev `+vm+`/disk0) bs=1M count=8 conv=notrunc status=none
zfs snapshot -r `+vm+`@`+bad)
	res := pull(t, cfg)
	t.Logf("RUNBOOK the pull after the ransomware: exit %d\n%s", res.Exit, res.Combined())

	// (a) 1. What the vault holds.
	t.Logf("RUNBOOK vault snapshots:\n%s", labtest.Root(t, "/mnt/lab/vault snapshots -c "+cfg+" rb "+vm))
	// (a) 2. The last good snapshot, beside the VM, as the restore user.
	key := restoreUser(t, "host05data/rb")
	out, code := restoreSend(t, cfg, "--newest-only", "rb", vm+"@"+good, "--to", "restore@127.0.0.1:host05data/rb/vm-restored", "--identity", key)
	t.Logf("RUNBOOK vault restore send --newest-only: exit %d\n%s", code, out)
	if code != 0 {
		t.Fatalf("restore send of the last good snapshot failed")
	}
	// (a) 3. Check it: the same content as the good snapshot, the source's properties.
	if got := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum host05data/rb/vm-restored@"+good)); got != goodSum {
		t.Errorf("the restored filesystem holds %s, the good snapshot %s", got, goodSum)
	}
	if got := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum host05data/rb/vm-restored/disk0@"+good)); got != goodDisk {
		t.Errorf("the restored volume holds %s, the good snapshot %s", got, goodDisk)
	}
	props := labtest.Root(t, "zfs get -H -s local -o property,value compression,recordsize,com.example:client host05data/rb/vm-restored")
	t.Logf("RUNBOOK zfs get -s local on the restored copy:\n%s", props)
	for _, want := range []string{"compression\tzstd", "recordsize\t64K", "com.example:client\tclinic"} {
		if !strings.Contains(props, want) {
			t.Errorf("the restored copy lacks %q:\n%s", want, props)
		}
	}
	// (a) 4. Into place, the ransomed copy kept under the pool's Archive.
	labtest.Root(t, `zfs create -p -o canmount=off host05data/Archive
zfs rename `+vm+` host05data/Archive/vm-ransomed-2026-12-02
zfs rename host05data/rb/vm-restored `+vm+`
zfs mount `+vm)
	t.Logf("RUNBOOK after the renames:\n%s", labtest.Root(t, "zfs list -r -t all -o name,used host05data/rb host05data/Archive"))
	// (a) 5. The vault's next pull: its copy has the ransomed snapshot, the VM does not.
	labtest.Root(t, "zfs snapshot -r "+vm+"@"+after)
	res = pull(t, cfg)
	t.Logf("RUNBOOK the next pull: exit %d\n%s", res.Exit, res.Combined())
	if res.Exit == 0 {
		t.Errorf("the pull after the restore did not stop: the vault's copy has @%s, which the VM no longer has", bad)
	}
	if !strings.Contains(res.Combined(), "vault resolve") {
		t.Errorf("the pull does not name vault resolve:\n%s", res.Combined())
	}
	out = labtest.Root(t, "/mnt/lab/vault resolve -c "+cfg+" rb "+vm+" --archive")
	t.Logf("RUNBOOK vault resolve --archive:\n%s", out)
	res = pull(t, cfg)
	t.Logf("RUNBOOK the pull after resolve: exit %d\n%s", res.Exit, res.Combined())
	if res.Exit != 0 {
		t.Errorf("the pull after vault resolve failed")
	}
	archived := labtest.Root(t, "zfs list -H -r -t snapshot -o name rust10/Archive")
	if !strings.Contains(archived, "@"+bad) || !strings.Contains(archived, "@"+good) {
		t.Errorf("the vault's archive lacks the good or the ransomed snapshot:\n%s", archived)
	}

	// (c) Both hosts gone: the host rebuilt with an empty pool (its datasets, holds and the
	// restore user's delegation gone), then the job's tree restored with its history.
	labtest.Root(t, destroyHeldScript("host05data/rb", "host05data/Archive"))
	key = restoreUser(t, "host05data/rb")
	out, code = restoreSend(t, cfg, "rb", vm, "--to", "restore@127.0.0.1:"+vm, "--identity", key)
	t.Logf("RUNBOOK (c) vault restore send with the history: exit %d\n%s", code, out)
	if code != 0 {
		t.Fatalf("restore send of the job's tree failed")
	}
	if got, want := snapNames(t, vm), snapNames(t, dst); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the rebuilt host holds %q, want the vault's history %q", got, want)
	}
	// The pulls go on from the restored history: an incremental, no full stream.
	labtest.Root(t, "zfs mount "+vm+" && head -c 1M /dev/urandom >/"+vm+"/new.bin && zfs snapshot -r "+vm+"@"+rebuilt)
	res = pull(t, cfg)
	t.Logf("RUNBOOK (c) the first pull after the rebuild: exit %d\n%s", res.Exit, res.Combined())
	if res.Exit != 0 {
		t.Errorf("the first pull after the rebuild failed")
	}
	if got := snapNames(t, dst); len(got) == 0 || got[len(got)-1] != rebuilt {
		t.Errorf("the vault's copy after the rebuild holds %q, want @%s last", got, rebuilt)
	}
	if strings.Contains(res.Combined(), "full") {
		t.Errorf("the first pull after the rebuild sent a full stream:\n%s", res.Combined())
	}
	sameContent(t, vm, dst, []string{rebuilt})
}
