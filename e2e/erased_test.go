//go:build lab && linux

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/report"
)

// The attacker of issue #14: code running as the pulling user. Before OpenZFS 2.4 the delegated
// receive permission implies receive -F (openzfs/zfs#16943), so the backup user, who holds
// receive (and release) on rust10/Backups, can receive an incremental from an old snapshot and
// destroy every newer one on the vault. Vault cannot prevent it; its ledger check must see it:
// the next pull names what vanished, CRIT, and prune touches nothing of the dataset until vault
// ack. A plain prune, which journals what it destroys, raises nothing.
func TestLabErased(t *testing.T) {
	const (
		src = "host05data/rcvf/fs"
		dst = "rust10/Backups/rcvf/fs"
		job = "rcvf"
	)
	name := func(day int, ttl string) string { return fmt.Sprintf("2025-01-%02d_00.00.00--%s", day, ttl) }
	var snaps, all []string
	for day := 1; day <= 12; day++ {
		ttl := "10y"
		if day <= 3 {
			ttl = "1d" // long expired
		}
		snaps, all = append(snaps, src+"@"+name(day, ttl)), append(all, name(day, ttl))
	}
	labtest.Root(t, timeTravel("zfs create -p "+src+"\nhead -c 1M /dev/urandom >/"+src+"/f\n"+snapAt(snaps...)))
	cfg := pruneConfig(t, job, []string{src}, `[job.prune]
source_ttl = true
min_keep = 1
min_age = "1h"
max_destroy = 100`)
	mustPull(t, cfg)
	labtest.Root(t, "test -s /var/lib/vault-rcvf/ledger/rcvf.json")

	// A plain prune destroys the three expired snapshots and journals them: the next pull, and
	// vault check, find nothing amiss.
	out := labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	if got := snapNames(t, dst); !slices.Equal(got, all[3:]) {
		t.Fatalf("the plain prune left %q, want %q\n%s", got, all[3:], out)
	}
	if out := mustPull(t, cfg); strings.Contains(out, "CRIT") {
		t.Errorf("the pull after a plain prune reports snapshots erased:\n%s", out)
	}
	if line, code := check(t, cfg); code != 0 {
		t.Errorf("after a plain prune: vault check %q exit %d, want OK", line, code)
	}

	// The source prunes @11 by its own TTL (the vault's copy is the last one), and takes two more:
	// @13, already expired here, and @14.
	e13, s14 := name(13, "1d"), name(14, "10y")
	labtest.Root(t, "zfs destroy "+src+"@"+all[10]+"\n"+timeTravel(snapAt(src+"@"+e13, src+"@"+s14)))

	// The attack, as backup, with nothing but receive and release: drop the vault's hold on the
	// newest copy, then an incremental from the old @9 to @13, which the vault does not have yet,
	// with -F: the target is rolled back to @9, destroying @10, @11 and @12, and gets @13. (To a
	// snapshot the target has already, measured on 2.3.2: exit 0, and nothing destroyed.)
	attack := labtest.Try(t, "backup", fmt.Sprintf("zfs release vault:lab:%s %s@%s && zfs send -i %s@%s %s@%s | zfs receive -u -F %s",
		job, dst, all[11], src, all[8], src, e13, dst))
	if attack.Exit != 0 {
		t.Fatalf("the attack failed (is this OpenZFS 2.4, where receive no longer implies -F?):\n%s", attack)
	}
	if got, want := snapNames(t, dst), append(slices.Clone(all[3:9]), e13); !slices.Equal(got, want) {
		t.Fatalf("after the attack the vault holds %q, want %q: the receive -F did not destroy the newer snapshots", got, want)
	}
	t.Logf("as backup, receive -F destroyed @%s, @%s and @%s on %s", all[9], all[10], all[11], dst)

	// The next pull names what vanished. It goes on from @13, the newest snapshot both sides
	// have: @10 and @12, which the source still has, do not come back by themselves; @11 only
	// the vault had.
	res := pull(t, cfg)
	t.Logf("vault pull after the attack:\n%s", res.Stdout)
	if res.Exit != 0 {
		t.Errorf("the pull after the attack: exit %d\n%s", res.Exit, res)
	}
	for _, want := range []string{"CRIT", "erased-snapshots alarm",
		"3 snapshot(s) erased from the vault, not by vault prune: @" + all[9] + ", @" + all[10] + ", @" + all[11], "vault ack " + job + " " + src} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("the pull after the attack does not say %q:\n%s", want, res.Stdout)
		}
	}
	if got, want := snapNames(t, dst), append(slices.Clone(all[3:9]), e13, s14); !slices.Equal(got, want) {
		t.Errorf("after the pull the vault holds %q, want %q", got, want)
	}
	fs := datasetFindings(t, cfg, job, src)
	if !hasCritAck(fs, report.KindErased, "vault ack "+job+" "+src) {
		t.Errorf("status does not show the erased alarm with the ack command: %+v", fs)
	}
	if line, code := check(t, cfg); code != 2 || !strings.HasPrefix(line, "VAULT CRITICAL") || !strings.Contains(line, "erased-snapshots alarm") {
		t.Errorf("vault check %q exit %d, want CRITICAL exit 2 naming the erased alarm", line, code)
	}
	if n := strings.TrimSpace(labtest.Root(t, `grep -c '"kind":"erased"' /var/lib/vault-rcvf/journal.jsonl || true`)); n != "1" {
		t.Errorf("the journal has %s erased record(s), want 1", n)
	}

	// Frozen: @13 has expired, yet prune destroys nothing in the dataset, and says why.
	before := snapNames(t, dst)
	out = labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	if got := snapNames(t, dst); !slices.Equal(got, before) {
		t.Errorf("prune destroyed in a dataset whose snapshots were erased: before %q, after %q\n%s", before, got, out)
	}
	if !strings.Contains(out, "frozen: erased-snapshots alarm") {
		t.Errorf("prune does not show the freeze:\n%s", out)
	}

	// After the operator finds out who did it and acknowledges, pruning resumes; the prune's
	// destroys raise nothing at the next pull.
	if out := labtest.As(t, "backup", "/mnt/lab/vault ack -c "+cfg+" "+job+" "+src); !strings.Contains(out, "alarm lifted") {
		t.Errorf("vault ack printed:\n%s", out)
	}
	out = labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	if got := snapNames(t, dst); slices.Contains(got, e13) || len(got) != len(before)-1 {
		t.Errorf("after ack prune should destroy the expired @%s only: %q\n%s", e13, got, out)
	}
	if out := mustPull(t, cfg); strings.Contains(out, "CRIT") {
		t.Errorf("the pull after ack and prune reports snapshots erased:\n%s", out)
	}
	if line, code := check(t, cfg); code != 0 {
		t.Errorf("after ack: vault check %q exit %d, want OK", line, code)
	}
}
