//go:build lab && linux

package e2e

import (
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// The runbook's case (b) on the vault itself: what `zfs promote` of a `vault restore clone` does
// to the vault's copy, what vault then reports, and how promoting the copy back undoes it.
func TestLabRestorePromoteOnVault(t *testing.T) {
	const src = "host05data/promote/fs"
	const dst = "rust10/Backups/promote/fs"
	const s1, s2, s3 = "2026-11-24_00.00.00--1m", "2026-11-25_00.00.00--1m", "2026-11-26_00.00.00--1m"
	labtest.Root(t, "zfs create -p "+src)
	write(t, src, "a.bin", 2)
	snap(t, s1, src)
	write(t, src, "b.bin", 2)
	snap(t, s2, src)
	write(t, src, "c.bin", 2)
	snap(t, s3, src)
	cfg := pullConfig(t, "promote", []string{src}, "")
	// A state directory of its own, so the pulls are recorded and the ledger is checked.
	labtest.Root(t, "rm -rf /var/lib/vault-promote && install -d -o backup -g backup -m 0700 /var/lib/vault-promote && sed -i 's#^state_dir = .*#state_dir = \"/var/lib/vault-promote\"#' "+cfg)
	mustPull(t, cfg)
	t.Cleanup(func() { labtest.Root(t, "zfs destroy -r rust10/Recovery 2>/dev/null || true") })

	guids := func() string {
		return labtest.Root(t, "zfs list -H -p -t snapshot -o name,guid -s createtxg -d 1 "+dst)
	}
	before := guids()

	out := labtest.Root(t, "/mnt/lab/vault restore clone -c "+cfg+" promote "+src+"@"+s2)
	clone := "rust10/Recovery/Backups_promote_fs-" + s2
	if !strings.Contains(out, "zfs promote "+dst+" moves them back") {
		t.Errorf("restore clone does not say how to undo a promote:\n%s", out)
	}
	labtest.Root(t, "zfs promote "+clone)
	if got := snapNames(t, dst); strings.Join(got, " ") != s3 {
		t.Errorf("after zfs promote the vault's copy holds %q, want only %s (the older ones moved into the clone)", got, s3)
	}
	if got := snapNames(t, clone); strings.Join(got, " ") != s1+" "+s2 {
		t.Errorf("after zfs promote the clone holds %q, want %s %s", got, s1, s2)
	}

	// vault sees snapshots gone from its copy, not by vault prune: CRIT, naming them, frozen.
	res := pull(t, cfg)
	t.Logf("vault pull after the promote: exit %d\n%s", res.Exit, res.Combined())
	for _, want := range []string{"erased", "@" + s1, "@" + s2, "promote of a clone", "vault ack promote " + src} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("the pull after a promote does not say %q:\n%s", want, res.Combined())
		}
	}
	check := labtest.Try(t, "", "/mnt/lab/vault check -c "+cfg)
	if check.Exit != 2 {
		t.Errorf("vault check after the promote: exit %d, want 2 (CRIT)\n%s", check.Exit, check.Combined())
	}

	// The way back: promote the vault's copy; its snapshots return with their guids; vault ack.
	labtest.Root(t, "zfs promote "+dst)
	if after := guids(); after != before {
		t.Errorf("after promoting the copy back:\n%s\nwant\n%s", after, before)
	}
	labtest.Root(t, "/mnt/lab/vault ack -c "+cfg+" promote "+src)
	mustPull(t, cfg)
	if check = labtest.Try(t, "", "/mnt/lab/vault check -c "+cfg); check.Exit != 0 {
		t.Errorf("vault check after promoting back and vault ack: exit %d, want 0\n%s", check.Exit, check.Combined())
	}
}
