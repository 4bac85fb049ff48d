//go:build lab && linux

package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
)

// sshAsVault runs a command line through the vault's own key with OpenSSH, as an attacker who
// stole the key (or a confused admin) would.
func sshAsVault(t *testing.T, cmdline string) (int, string) {
	t.Helper()
	res := labtest.Try(t, "backup", "ssh -T -i /home/backup/.ssh/id_ed25519 -o BatchMode=yes -o UserKnownHostsFile=/home/backup/.ssh/known_hosts backup@127.0.0.1 "+labtest.Q(cmdline))
	return res.Exit, res.Stdout + res.Stderr
}

func TestLabPullGateRefusesEverythingElse(t *testing.T) {
	labtest.Root(t, "zfs create -p host05data/gate/a && zfs snapshot host05data/gate/a@2026-11-26_00.00.00--1w && zfs hold keep host05data/gate/a@2026-11-26_00.00.00--1w")
	if code, out := sshAsVault(t, "zfs list -H -p -o name -t filesystem -r host05data/gate"); code != 0 || !strings.Contains(out, "host05data/gate/a") {
		t.Fatalf("an allowed listing through the gate: exit %d, output %q", code, out)
	}
	for _, cmd := range []string{
		"zfs destroy host05data/gate/a@2026-11-26_00.00.00--1w",
		"zfs rollback host05data/gate/a@2026-11-26_00.00.00--1w",
		"zfs release keep host05data/gate/a@2026-11-26_00.00.00--1w",
		"zfs list -H -p -o name -t filesystem rust10",
		"zfs list -H -p -o name -t filesystem host05data/gate; id",
		"zfs list -H -p -o name -t filesystem host05data/gate/../../rust10",
		"zfs snapshot host05data/gate/a@not-a-zfsnap-name",
		"zfs send -R host05data/gate/a@2026-11-26_00.00.00--1w",
		"cat /etc/shadow",
		"sh -c id",
		"",
	} {
		code, out := sshAsVault(t, cmd)
		if code == 0 || !strings.Contains(out, "refused") {
			t.Errorf("%q through the vault's key: exit %d, output %q; want refused", cmd, code, out)
		}
	}
	// Nothing was destroyed or released.
	if out := labtest.Root(t, "zfs holds -H host05data/gate/a@2026-11-26_00.00.00--1w"); !strings.Contains(out, "keep") {
		t.Errorf("the operator's hold is gone: %q", out)
	}
}

func TestLabPullResumesAfterKill(t *testing.T) {
	const src = "host05data/resume/big"
	const dst = "rust10/Backups/resume/big"
	labtest.Root(t, "zfs create -p "+src)
	write(t, src, "a.bin", 64)
	snap(t, "2026-11-24_00.00.00--1w", src)
	// A bandwidth cap makes the stream long enough to be cut in the middle.
	cfg := pullConfig(t, "resume", []string{src}, `bandwidth_limit = "4MiB"`)
	killPull := func() {
		t.Helper()
		labtest.Root(t, fmt.Sprintf(`su backup -c '/mnt/lab/vault pull -c %s' >/tmp/killed.out 2>&1 &
for _ in $(seq 200); do
  tok=$(zfs get -H -o value receive_resume_token %s 2>/dev/null || true)
  # Wait until some megabytes arrived, then kill the puller with no chance to clean up.
  if [ -n "$(zfs list -H -o name %s/%%recv 2>/dev/null || zfs list -H -o name %s 2>/dev/null)" ] && sleep 4; then break; fi
  sleep 0.2
done
pkill -9 -f '^/mnt/lab/vault pull -c %s'
sleep 2`, cfg, dst, dst, dst, cfg))
		if tok := strings.TrimSpace(labtest.Root(t, "zfs get -H -o value receive_resume_token "+dst)); tok == "-" || tok == "" {
			t.Fatalf("after kill -9 mid-stream, %s has no resume token", dst)
		}
	}

	// A full send cut short resumes from its token.
	killPull()
	out := mustPull(t, cfg, "-v")
	if !strings.Contains(out, "resume") {
		t.Errorf("the second pull should resume the cut stream:\n%s", out)
	}
	if got := snapNames(t, dst); !slices.Equal(got, []string{"2026-11-24_00.00.00--1w"}) {
		t.Fatalf("after the resumed pull %s holds %q", dst, got)
	}
	sameContent(t, src, dst, []string{"2026-11-24_00.00.00--1w"})

	// An incremental cut short, whose source snapshot is then destroyed: the token can no longer
	// be served, so the partial receive is aborted and the dataset re-planned.
	write(t, src, "b.bin", 48)
	snap(t, "2026-11-25_00.00.00--1w", src)
	killPull()
	labtest.Root(t, "for _ in $(seq 50); do zfs destroy "+src+"@2026-11-25_00.00.00--1w && break; sleep 0.2; done")
	write(t, src, "c.bin", 2)
	snap(t, "2026-11-26_00.00.00--1w", src)
	out = mustPull(t, cfg)
	if !strings.Contains(out, "could not be resumed") {
		t.Errorf("want a warning that the token was aborted, got:\n%s", out)
	}
	if got := snapNames(t, dst); !slices.Equal(got, []string{"2026-11-24_00.00.00--1w", "2026-11-26_00.00.00--1w"}) {
		t.Fatalf("after the re-planned pull %s holds %q", dst, got)
	}
	sameContent(t, src, dst, []string{"2026-11-26_00.00.00--1w"})
}

func TestLabPullHeldBaseSurvivesSourcePruning(t *testing.T) {
	const src = "host05data/held/fs"
	labtest.Root(t, "zfs create -p "+src)
	for i := 1; i <= 3; i++ {
		write(t, src, fmt.Sprintf("f%d", i), 1)
		snap(t, fmt.Sprintf("2026-11-%02d_00.00.00--1d", 20+i), src)
	}
	cfg := pullConfig(t, "held", []string{src}, "")
	mustPull(t, cfg)
	// The source's own pruning (zfsnap destroy) runs: the base is held and cannot go, the rest can.
	res := labtest.Try(t, "", "zfs destroy "+src+"@2026-11-23_00.00.00--1d")
	if res.Exit == 0 || !(strings.Contains(res.Stderr, "held") || strings.Contains(res.Stderr, "busy")) {
		t.Fatalf("destroying the held base on the source: exit %d, %q; want it refused as held", res.Exit, res.Stderr)
	}
	labtest.Root(t, "zfs destroy "+src+"@2026-11-21_00.00.00--1d && zfs destroy "+src+"@2026-11-22_00.00.00--1d")
	write(t, src, "f4", 1)
	snap(t, "2026-11-24_00.00.00--1d", src)
	out := mustPull(t, cfg)
	if !strings.Contains(out, "incremental") && !strings.Contains(out, ": ok") {
		t.Errorf("the chain should continue incrementally:\n%s", out)
	}
	got := snapNames(t, "rust10/Backups/held/fs")
	want := []string{"2026-11-21_00.00.00--1d", "2026-11-22_00.00.00--1d", "2026-11-23_00.00.00--1d", "2026-11-24_00.00.00--1d"}
	if !slices.Equal(got, want) {
		t.Errorf("the vault holds %q, want %q (it keeps what the source pruned)", got, want)
	}
	if !strings.Contains(out, "gone from the source, kept here") {
		t.Errorf("want the pruned snapshots reported as kept:\n%s", out)
	}
}

func TestLabPullDivergedSourceIsAConflict(t *testing.T) {
	const src = "host05data/div/fs"
	const dst = "rust10/Backups/div/fs"
	labtest.Root(t, "zfs create -p "+src)
	for i := 1; i <= 3; i++ {
		write(t, src, fmt.Sprintf("f%d", i), 1)
		snap(t, fmt.Sprintf("2026-11-%02d_00.00.00--1w", 20+i), src)
	}
	cfg := pullConfig(t, "div", []string{src}, "")
	mustPull(t, cfg)
	// Someone on the source releases the vault's hold, rolls back past the base and carries on.
	labtest.Root(t, "zfs release vault:lab:div "+src+"@2026-11-23_00.00.00--1w && zfs rollback -r "+src+"@2026-11-22_00.00.00--1w")
	write(t, src, "other", 1)
	snap(t, "2026-11-24_00.00.00--1w", src)

	before := snapshots(t, dst)
	res := pull(t, cfg)
	if res.Exit != 3 {
		t.Errorf("vault pull of a diverged dataset: exit %d, want 3 (needs the operator)\n%s", res.Exit, res)
	}
	if !strings.Contains(res.Stdout, "conflict") || !strings.Contains(res.Stdout, "vault resolve div "+src) {
		t.Errorf("want a conflict naming vault resolve, got:\n%s", res.Stdout)
	}
	if after := snapshots(t, dst); after != before {
		t.Errorf("the target's snapshots changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestLabPullSourceDestroyedEverything(t *testing.T) {
	const src = "host05data/wiped/fs"
	const dst = "rust10/Backups/wiped/fs"
	labtest.Root(t, "zfs create -p "+src)
	for i := 1; i <= 3; i++ {
		write(t, src, fmt.Sprintf("f%d", i), 1)
		snap(t, fmt.Sprintf("2026-11-%02d_00.00.00--1w", 20+i), src)
	}
	cfg := pullConfig(t, "wiped", []string{src}, "")
	mustPull(t, cfg)
	before := snapshots(t, dst)
	// An attacker with root on the source removes every snapshot, holds or not.
	labtest.Root(t, "zfs release vault:lab:wiped "+src+"@2026-11-23_00.00.00--1w && zfs destroy -r "+src+"@%")
	out := mustPull(t, cfg)
	if !strings.Contains(out, "source-empty") || !strings.Contains(out, "3 snapshot(s) gone from the source, kept here") {
		t.Errorf("want the loss reported with the kept count, got:\n%s", out)
	}
	if !strings.Contains(out, "WARN") {
		t.Errorf("want the dataset marked WARN, got:\n%s", out)
	}
	if after := snapshots(t, dst); after != before {
		t.Errorf("the vault's copy changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestLabPullRefusesUnknownAndChangedHostKeys(t *testing.T) {
	labtest.Root(t, "zfs create -p host05data/hostkeys/fs && zfs snapshot host05data/hostkeys/fs@2026-11-26_00.00.00--1w")
	labtest.As(t, "backup", `
: >/home/backup/.ssh/known_hosts.empty
ssh-keygen -q -t ed25519 -N '' -f /tmp/impostor.$$ && echo "127.0.0.1 $(cut -d' ' -f1,2 /tmp/impostor.$$.pub)" >/home/backup/.ssh/known_hosts.changed && rm -f /tmp/impostor.$$*`)
	fingerprint := strings.Fields(labtest.Root(t, "ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub"))[1]
	for _, c := range []struct{ file, want string }{
		{"/home/backup/.ssh/known_hosts.empty", "not pinned"},
		{"/home/backup/.ssh/known_hosts.changed", "changed"},
	} {
		cfg := pullConfig(t, "hostkeys", []string{"host05data/hostkeys/fs"}, "")
		labtest.Root(t, "sed -i 's#^known_hosts = .*#known_hosts = \""+c.file+"\"#' "+cfg)
		res := pull(t, cfg)
		if res.Exit == 0 {
			t.Errorf("%s: vault pull succeeded; want the host refused", c.file)
		}
		if !strings.Contains(res.Stdout+res.Stderr, c.want) || !strings.Contains(res.Stdout+res.Stderr, fingerprint) || !strings.Contains(res.Stdout+res.Stderr, c.file) {
			t.Errorf("%s: want %q, the offered fingerprint %s and the file in the message, got:\n%s", c.file, c.want, fingerprint, res)
		}
		if out := labtest.Root(t, "zfs list -H -o name rust10/Backups/hostkeys 2>&1 || true"); !strings.Contains(out, "does not exist") {
			t.Errorf("%s: something was received: %q", c.file, out)
		}
	}
}

func TestLabPullSnapshotOnPullAndNewestOnly(t *testing.T) {
	const src = "host05data/onpull/fs"
	labtest.Root(t, "zfs create -p "+src)
	for i := 1; i <= 3; i++ {
		write(t, src, fmt.Sprintf("f%d", i), 1)
		snap(t, fmt.Sprintf("2026-11-%02d_00.00.00--1w", 20+i), src)
	}
	// The last replication of a migration: only the newest snapshot, no intermediates.
	cfg := pullConfig(t, "onpull", []string{src}, "")
	mustPull(t, cfg, "--newest-only")
	if got := snapNames(t, "rust10/Backups/onpull/fs"); !slices.Equal(got, []string{"2026-11-23_00.00.00--1w"}) {
		t.Fatalf("--newest-only: the vault holds %q, want only the newest", got)
	}
	// Snapshot on pull: the recovery point exists even if the source's snapshot cron stopped.
	cfg = pullConfig(t, "onpull", []string{src}, "[job.snapshot_on_pull]\nttl = \"3d\"")
	before := time.Now().UTC()
	out := mustPull(t, cfg)
	m := regexp.MustCompile(`took snapshot @(\d{4}-\d\d-\d\d_\d\d\.\d\d\.\d\d--3d)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("want the snapshot on pull reported, got:\n%s", out)
	}
	got := snapNames(t, "rust10/Backups/onpull/fs")
	if got[len(got)-1] != m[1] || !slices.Contains(snapNames(t, src), m[1]) {
		t.Errorf("snapshot on pull %q: source has %q, vault %q", m[1], snapNames(t, src), got)
	}
	taken, err := time.ParseInLocation("2006-01-02_15.04.05", strings.TrimSuffix(m[1], "--3d"), time.Local)
	if err != nil || taken.Before(before.Add(-24*time.Hour)) {
		t.Errorf("snapshot on pull named %q: want the current time", m[1])
	}
}
