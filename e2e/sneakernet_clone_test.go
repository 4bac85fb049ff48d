//go:build lab && linux

package e2e

import (
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// vault restore clone: a read-only clone of a held snapshot under POOL/Recovery, with the
// vault's copy untouched, and every bad input refused before anything is created.
func TestLabSneakernetRestoreClone(t *testing.T) {
	const src = "host05data/snclone/fs"
	const dst = "rust10/Backups/snclone/fs"
	const s1, s2 = "2026-11-24_00.00.00--1m", "2026-11-25_00.00.00--1m"
	labtest.Root(t, "zfs create -p "+src)
	write(t, src, "a.bin", 8)
	snap(t, s1, src)
	write(t, src, "b.bin", 4)
	snap(t, s2, src)
	cfg := pullConfig(t, "snclone", []string{src}, "")
	mustPull(t, cfg)
	labtest.Root(t, "zfs destroy -r rust10/Recovery 2>/dev/null || true")

	// What must not change, whatever restore clone does.
	vaultState := func() string {
		return labtest.Root(t, "zfs list -H -p -t all -r -o name,guid,createtxg,written,origin "+dst+" && zfs list -H -o name -t snapshot "+dst+" | xargs zfs holds -H | sort")
	}
	recoveryState := func() string {
		return labtest.Root(t, "zfs list -H -p -t all -r -o name,guid,origin,readonly rust10/Recovery 2>/dev/null || true")
	}
	restoreClone := func(args string) (int, string) {
		res := labtest.Try(t, "", "timeout -k 5 120 /mnt/lab/vault restore clone -c "+cfg+" "+args)
		return res.Exit, res.Stdout + res.Stderr
	}
	before := vaultState()

	// Bad inputs first, while rust10/Recovery does not exist: nothing may create it.
	bad := []struct{ name, args, want string }{
		{"unknown job", "nosuchjob " + src + "@" + s1, `"nosuchjob"`},
		{"snapshot the vault does not hold", "snclone " + src + "@2030-01-01_00.00.00--1m", "holds no snapshot"},
		{"dataset the vault does not hold", "snclone " + dst + "x@" + s1, "holds no snapshot"},
		{"dataset outside the job", "snclone host05data/elsewhere@" + s1, "neither a source dataset"},
		{"malformed name", "snclone " + src + "@bad@name", "invalid snapshot name"},
		{"no snapshot part", "snclone " + src, "not a snapshot name"},
		{"name starting with a dash", "snclone -" + src + "@" + s1, "starts with '-'"},
	}
	for _, c := range bad {
		code, out := restoreClone(c.args)
		if code == 0 {
			t.Errorf("%s: restore clone %s succeeded:\n%s", c.name, c.args, out)
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("%s: want %q in the refusal, got:\n%s", c.name, c.want, out)
		}
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 && !strings.Contains(out, "usage:") {
			t.Errorf("%s: want a one-line error, got:\n%s", c.name, out)
		}
		if got := recoveryState(); got != "" {
			t.Fatalf("%s: rust10/Recovery appeared:\n%s", c.name, got)
		}
	}

	// The clone of the older snapshot, by its source name.
	code, out := restoreClone("snclone " + src + "@" + s1)
	if code != 0 {
		t.Fatalf("restore clone: exit %d\n%s", code, out)
	}
	clone := "rust10/Recovery/Backups_snclone_fs-" + s1
	if !strings.Contains(out, clone) {
		t.Errorf("the output does not name the clone %s:\n%s", clone, out)
	}
	for _, want := range []string{"zfs destroy " + clone, "zfs promote " + clone, "zfs mount " + clone} {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not say %q:\n%s", want, out)
		}
	}
	props := labtest.Root(t, "zfs get -H -o property,value origin,readonly,canmount,mounted "+clone)
	for _, want := range []string{"origin\t" + dst + "@" + s1, "readonly\ton", "canmount\tnoauto", "mounted\tno"} {
		if !strings.Contains(props, want) {
			t.Errorf("clone properties: want %q in\n%s", want, props)
		}
	}
	// Its content is the source snapshot's (snapsum hashes a snapshot: take one of the clone).
	labtest.Root(t, "zfs snapshot "+clone+"@check")
	a := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum "+src+"@"+s1))
	b := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum "+clone+"@check"))
	if a == "" || a != b {
		t.Errorf("clone content %s, source snapshot %s", b, a)
	}
	labtest.Root(t, "zfs destroy "+clone+"@check")
	// The clone mounts read-only where it says, and holds what the snapshot held.
	labtest.Root(t, "zfs mount "+clone+" && mp=$(zfs get -H -o value mountpoint "+clone+") && test -f $mp/a.bin && ! test -e $mp/b.bin && ! touch $mp/new 2>/dev/null && zfs unmount "+clone)

	// A second clone of the same snapshot is refused, naming the first; nothing changes.
	recBefore := recoveryState()
	code, out = restoreClone("snclone " + dst + "@" + s1)
	if code == 0 || !strings.Contains(out, clone+" already exists") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("a second clone: exit %d, want a one-line refusal naming %s:\n%s", code, clone, out)
	}
	if got := recoveryState(); got != recBefore {
		t.Errorf("a refused second clone changed rust10/Recovery:\nbefore:\n%s\nafter:\n%s", recBefore, got)
	}

	// The vault's copy is as it was: same snapshots, guids, holds, nothing written.
	if after := vaultState(); after != before {
		t.Errorf("restore clone changed the vault's copy:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := snapNames(t, dst); strings.Join(got, " ") != s1+" "+s2 {
		t.Errorf("the vault's snapshots are %q, want %s and %s", got, s1, s2)
	}
	// The vault still pulls into its copy with the clone in place.
	write(t, src, "c.bin", 1)
	snap(t, "2026-11-26_00.00.00--1m", src)
	mustPull(t, cfg)
	sameContent(t, src, dst, []string{s1, s2, "2026-11-26_00.00.00--1m"})

	// Discarding it as printed leaves no trace on the vault's copy.
	labtest.Root(t, "zfs destroy "+clone)
	if got := labtest.Root(t, "zfs list -H -o name -t snapshot -r "+dst+" | wc -l"); strings.TrimSpace(got) != "3" {
		t.Errorf("after discarding the clone the vault holds %s snapshots of %s, want 3", strings.TrimSpace(got), dst)
	}
}
