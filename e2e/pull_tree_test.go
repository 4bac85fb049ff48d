//go:build lab && linux

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// A client host's tree: two jails, one with a logs child whose snapshots differ from its
// parent's (it was restored from elsewhere once), and a VM with a zvol disk. The vault pulls it
// through vault serve as the delegated user: a first pull, then two incremental ones.
func TestLabPullTree(t *testing.T) {
	const src = "host05data/tree"
	labtest.Root(t, `
zfs create -p host05data/tree/jail/drive.client
zfs create -p host05data/tree/jail/www.client/logs
zfs create -p host05data/tree/vm/fs.client
zfs create -V 48M -o volmode=dev host05data/tree/vm/fs.client/c-drive
zfs snapshot host05data/tree/jail/www.client/logs@2026-10-01_00.00.00--1y
`)
	datasets := []string{src + "/jail", src + "/jail/drive.client", src + "/jail/www.client", src + "/jail/www.client/logs",
		src + "/vm", src + "/vm/fs.client", src + "/vm/fs.client/c-drive"}
	target := func(ds string) string { return "rust10/Backups/tree/" + strings.TrimPrefix(ds, src+"/") }
	cfg := pullConfig(t, "tree", []string{src + "/jail", src + "/vm"}, "")

	for round := range 3 {
		day := fmt.Sprintf("2026-11-%02d_00.00.00--1w", 20+round)
		write(t, src+"/jail/drive.client", fmt.Sprintf("db-%d.bin", round), 6)
		write(t, src+"/jail/www.client", fmt.Sprintf("site-%d.bin", round), 2)
		write(t, src+"/jail/www.client/logs", fmt.Sprintf("log-%d.txt", round), 1)
		labtest.Root(t, fmt.Sprintf("dd if=/dev/urandom of=/host05data/tree/vm/fs.client/notes-%d bs=64k count=4 status=none", round))
		// The VM's disk changes too; every dataset is snapshotted at once, as zfsnap -r does.
		labtest.Root(t, fmt.Sprintf("dd if=/dev/urandom of=$(/mnt/lab/zvoldev host05data/tree/vm/fs.client/c-drive) bs=1M seek=%d count=4 conv=notrunc status=none", round*4))
		labtest.Root(t, "zfs snapshot -r "+labtest.Q(src+"@"+day))
		// The logs child has a rhythm of its own: an extra hourly snapshot every round.
		snap(t, fmt.Sprintf("2026-11-%02d_12.00.00--1d", 20+round), src+"/jail/www.client/logs")

		out := mustPull(t, cfg)
		t.Logf("round %d:\n%s", round, out)
		for _, ds := range datasets {
			if got, want := snapNames(t, target(ds)), snapNames(t, ds); !slices.Equal(got, want) {
				t.Fatalf("round %d: %s holds %q, source %s has %q", round, target(ds), got, ds, want)
			}
		}
		if round == 0 && !strings.Contains(out, "ok") {
			t.Errorf("first pull printed no ok line:\n%s", out)
		}
		// Six MiB through emulated SSH take a measurable time, and the summary says how long.
		if strings.Contains(out, "MiB in 0s") {
			t.Errorf("round %d: a pull's duration reads 0s:\n%s", round, out)
		}
	}

	// A fourth pull finds nothing to do.
	if out := mustPull(t, cfg); strings.Count(out, "up-to-date") != len(datasets) {
		t.Errorf("a pull with nothing new: want every dataset up-to-date, got:\n%s", out)
	}

	// The content arrived intact: the first and the last snapshot of every dataset (each check
	// clones and hashes, which is slow under emulation; the middle ones share their blocks).
	for _, ds := range datasets {
		names := snapNames(t, ds)
		sameContent(t, ds, target(ds), []string{names[0], names[len(names)-1]})
	}

	// The received copies are not mountable by accident and cannot be written.
	props := labtest.Root(t, "zfs get -H -o name,property,value canmount,readonly -r -t filesystem,volume rust10/Backups/tree | grep -v '^rust10/Backups/tree\t'")
	for _, line := range strings.Split(strings.TrimSpace(props), "\n") {
		f := strings.Split(line, "\t")
		if (f[1] == "canmount" && f[2] != "noauto" && f[2] != "-") || (f[1] == "readonly" && f[2] != "on") {
			t.Errorf("received %s has %s=%s", f[0], f[1], f[2])
		}
	}

	// Exactly one snapshot per dataset carries the job's hold on each side: the current base.
	for _, ds := range datasets {
		names := snapNames(t, ds)
		newest := names[len(names)-1]
		for _, d := range []string{ds, target(ds)} {
			out := labtest.Root(t, "zfs holds -H "+strings.Join(quoteAll(d, names), " ")+" | awk -F'\\t' '$2 == \"vault:lab:tree\" {print $1}'")
			if got, want := strings.TrimSpace(out), d+"@"+newest; got != want {
				t.Errorf("vault:lab:tree holds on %s: %q, want only %q", d, got, want)
			}
		}
	}
}

func quoteAll(ds string, snaps []string) []string {
	out := make([]string, len(snaps))
	for i, s := range snaps {
		out[i] = labtest.Q(ds + "@" + s)
	}
	return out
}
