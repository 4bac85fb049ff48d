//go:build lab && linux

package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/report"
)

// TestLabSpaceRefusedBeforeTheStream: a job of two datasets, small and big, pulled once; then
// the vault's copy of big gets a quota 4 MiB above what it uses, and big's next incremental
// brings 48 MiB. The pull refuses big's stream before it starts (its estimate, from zfs send
// -n -P, and the space zfs get available reports are in the error; no receive ran, so there is
// no resume token and nothing changed), pulls small, and vault status shows big's failure as
// no-space. Without the quota the next pull brings big's snapshot.
func TestLabSpaceRefusedBeforeTheStream(t *testing.T) {
	const small, big = "host05data/space/small", "host05data/space/big"
	const dstSmall, dstBig = "rust10/Backups/space/small", "rust10/Backups/space/big"
	const day1, day2 = "2026-12-01_00.00.00--1w", "2026-12-02_00.00.00--1w"
	labtest.Root(t, "zfs create -p "+small+" && zfs create -p "+big+
		" && head -c 1M /dev/urandom >/"+small+"/f && head -c 1M /dev/urandom >/"+big+"/f"+
		" && zfs snapshot "+small+"@"+day1+" && zfs snapshot "+big+"@"+day1)
	t.Cleanup(func() { labtest.Try(t, "", destroyHeldScript("host05data/space", "rust10/Backups/space")) })
	cfg := pruneConfig(t, "space", []string{small, big}, "")
	mustPull(t, cfg)

	// The quota leaves 4 MiB; the next incremental of big is 48 MiB of random data.
	labtest.Root(t, "u=$(zfs get -Hp -o value used "+dstBig+") && zfs set quota=$((u + 4194304)) "+dstBig+
		" && head -c 1M /dev/urandom >/"+small+"/g && head -c 48M /dev/urandom >/"+big+"/g"+
		" && zfs snapshot "+small+"@"+day2+" && zfs snapshot "+big+"@"+day2)
	number := func(script string) int64 {
		t.Helper()
		out := strings.TrimSpace(labtest.Root(t, script))
		n, err := strconv.ParseInt(out, 10, 64)
		if err != nil {
			t.Fatalf("%s printed %q, not a number", script, out)
		}
		return n
	}
	// What the vault will be told: the same dry run, as root on the source, and the same property.
	estimate := number("zfs send -n -P -L -c -i " + big + "@" + day1 + " " + big + "@" + day2 + " | awk '$1 == \"size\" {print $2}'")
	avail := number("zfs get -Hp -o value available " + dstBig)
	usedBefore := number("zfs get -Hp -o value used " + dstBig)
	if estimate < 40<<20 || avail > 5<<20 {
		t.Fatalf("set-up: estimate %d, available %d; want an estimate of about 48 MiB and at most 4 MiB available", estimate, avail)
	}
	// Every receive into big leaves an internal "receive" record naming big/%recv in the pool's
	// history: the count must not grow.
	recvs := func() int64 {
		return number("zpool history -i rust10 | grep -c '" + dstBig + "/%recv' || true")
	}
	recvsBefore := recvs()

	res := pull(t, cfg)
	if res.Exit != 1 {
		t.Errorf("pull with big's stream beyond the quota: exit %d, want 1:\n%s", res.Exit, res)
	}
	want := fmt.Sprintf("not started: the stream of %s@%s (incremental from @%s) needs about ", big, day2, day1)
	if !strings.Contains(res.Stdout, want) {
		t.Errorf("pull output does not say big's stream was not started (%q):\n%s", want, res)
	}
	if want := fmt.Sprintf("(%s estimated, and room for metadata), %s has %s available (pool or quota)", bytefmt.IEC(estimate), dstBig, bytefmt.IEC(avail)); !strings.Contains(res.Stdout, want) {
		t.Errorf("pull output does not name the estimate and the space (%q):\n%s", want, res)
	}
	if strings.Contains(res.Stdout+res.Stderr, "receive failed") || regexp.MustCompile(`(?i)quota exceeded|out of space`).MatchString(res.Stdout+res.Stderr) {
		t.Errorf("a receive ran and failed: zfs's own error is in the output:\n%s", res)
	}
	if tok := strings.TrimSpace(labtest.Root(t, "zfs get -H -o value receive_resume_token "+dstBig)); tok != "-" {
		t.Errorf("big has a resume token %.40q: a receive started", tok)
	}
	if n := recvs(); n != recvsBefore {
		t.Errorf("the pool's history has %d receives into %s/%%recv, %d before the pull: a receive started", n, dstBig, recvsBefore)
	}
	if got := snapNames(t, dstBig); !slices.Equal(got, []string{day1}) {
		t.Errorf("big's snapshots on the vault: %q, want only @%s", got, day1)
	}
	if used := number("zfs get -Hp -o value used " + dstBig); used != usedBefore {
		t.Errorf("big uses %d bytes on the vault after the refusal, %d before", used, usedBefore)
	}
	// The rest of the job pulled.
	if got := snapNames(t, dstSmall); !slices.Equal(got, []string{day1, day2}) {
		t.Errorf("small's snapshots on the vault: %q, want @%s and @%s", got, day1, day2)
	}
	// vault status: big failed for want of space; small is fine.
	if fs := datasetFindings(t, cfg, "space", big); !slices.ContainsFunc(fs, func(f report.Finding) bool {
		return f.Kind == report.KindNoSpace && f.Level == report.LevelWarn && strings.Contains(f.Text, "not started")
	}) {
		t.Errorf("status of big: %+v, want a WARN no-space finding with the error", fs)
	}
	if fs := datasetFindings(t, cfg, "space", small); len(fs) != 0 {
		t.Errorf("status of small: %+v, want no finding", fs)
	}

	// Room made: the next pull brings big's snapshot.
	labtest.Root(t, "zfs set quota=none "+dstBig)
	mustPull(t, cfg)
	if got := snapNames(t, dstBig); !slices.Equal(got, []string{day1, day2}) {
		t.Errorf("big's snapshots after the quota was lifted: %q, want @%s and @%s", got, day1, day2)
	}
}
