//go:build lab && linux

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
)

// pruneConfig is pullConfig with a state directory of the job's own (prune refuses to act
// without a record of the last pull) and the given prune and anomaly tables.
func pruneConfig(t *testing.T, name string, roots []string, extra string) string {
	t.Helper()
	cfg := pullConfig(t, name, roots, extra)
	dir := "/var/lib/vault-" + name
	labtest.Root(t, "install -d -o backup -g backup -m 0750 "+dir+" && sed -i 's#^state_dir = .*#state_dir = \""+dir+"\"\\ntimezone = \"UTC\"#' "+cfg+" && /mnt/lab/vault config check "+cfg+" >/dev/null")
	return cfg
}

type verdict struct {
	Dataset, Snapshot, Rule, Reason string
	Destroy                         bool
}

func pruneVerdicts(t *testing.T, cfg string) []verdict {
	t.Helper()
	out := labtest.As(t, "backup", "/mnt/lab/vault prune --dry-run --json -c "+cfg)
	var v []verdict
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("vault prune --json: %v\n%s", err, out)
	}
	return v
}

// gridKeep is an independent oracle of the retention grid: for each unit, walking from the
// newest, the first snapshot of each new period is kept until count periods are seen.
func gridKeep(dates []time.Time, grid map[string]int) map[time.Time]bool {
	keep := map[time.Time]bool{}
	sorted := slices.Clone(dates)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].After(sorted[j]) })
	key := map[string]func(time.Time) string{
		"daily":   func(t time.Time) string { return t.Format("2006-01-02") },
		"weekly":  func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprint(y, w) },
		"monthly": func(t time.Time) string { return t.Format("2006-01") },
		"yearly":  func(t time.Time) string { return t.Format("2006") },
	}
	for unit, count := range grid {
		seen := map[string]bool{}
		for _, d := range sorted {
			k := key[unit](d)
			if seen[k] {
				continue
			}
			if count >= 0 && len(seen) >= count {
				break
			}
			seen[k] = true
			keep[d] = true
		}
	}
	return keep
}

// Two years of zfsnap2-named snapshots (every fifth day, the way a vault accumulates what the
// source prunes), pulled, then pruned with a grid: the vault keeps exactly the oracle's set,
// name by name.
func TestLabPruneGridKeepsTheExactSet(t *testing.T) {
	const src = "host05data/grid/fs"
	const dst = "rust10/Backups/grid/fs"
	now := time.Now().UTC().Truncate(24 * time.Hour)
	var dates []time.Time
	for d := now.AddDate(-2, 0, 0); d.Before(now.AddDate(0, 0, -1)); d = d.AddDate(0, 0, 5) {
		dates = append(dates, d)
	}
	name := func(d time.Time) string { return d.Format("2006-01-02_15.04.05") + "--10y" }
	var script strings.Builder
	script.WriteString("zfs create -p " + src + "\n")
	for _, d := range dates {
		script.WriteString(snapAt(src + "@" + name(d)))
	}
	labtest.Root(t, timeTravel(script.String()))
	// The TTL rule is off: the grid alone decides, within the rails.
	cfg := pruneConfig(t, "grid", []string{src}, `[job.prune]
source_ttl = false
grid = ["7 daily", "4 weekly", "6 monthly", "forever yearly"]
max_destroy = 1000
min_keep = 1`)
	mustPull(t, cfg)
	keep := gridKeep(dates, map[string]int{"daily": 7, "weekly": 4, "monthly": 6, "yearly": -1})
	var want []string
	for _, d := range dates {
		if keep[d] {
			want = append(want, name(d))
		}
	}
	// The dry run destroys nothing and says so for every snapshot.
	before := snapNames(t, dst)
	v := pruneVerdicts(t, cfg)
	if len(v) != len(dates) {
		t.Fatalf("prune --dry-run gave %d verdicts for %d snapshots", len(v), len(dates))
	}
	if got := snapNames(t, dst); !slices.Equal(got, before) {
		t.Fatalf("a dry run changed the target")
	}
	out := labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	if !strings.Contains(out, fmt.Sprintf("destroyed %d snapshot(s)", len(dates)-len(want))) {
		t.Errorf("prune output does not report %d destroyed:\n%s", len(dates)-len(want), out)
	}
	if got := snapNames(t, dst); !slices.Equal(got, want) {
		t.Errorf("after prune the vault keeps %d snapshots:\n%q\nwant %d:\n%q", len(got), got, len(want), want)
	}
	// The source is never touched by pruning the vault.
	if n := len(snapNames(t, src)); n != len(dates) {
		t.Errorf("the source lost snapshots: %d left of %d", n, len(dates))
	}
}

// Held, newest and forever snapshots survive any rules; max_destroy is honoured (the oldest
// go first); a dataset whose last pull failed is not touched at all.
func TestLabPruneRailsHold(t *testing.T) {
	const src = "host05data/rails/fs"
	const dst = "rust10/Backups/rails/fs"
	var snaps []string
	for d := 1; d <= 8; d++ {
		snaps = append(snaps, fmt.Sprintf("%s@2025-01-%02d_00.00.00--1d", src, d))
	}
	snaps = append(snaps, src+"@2025-01-09_00.00.00--forever", src+"@2025-01-10_00.00.00--1d")
	labtest.Root(t, timeTravel("zfs create -p "+src+"\n"+snapAt(snaps...)))
	cfg := pruneConfig(t, "rails", []string{src}, `[job.prune]
source_ttl = true
max_destroy = 3
min_keep = 1
min_age = "1h"`)
	mustPull(t, cfg)
	// An operator's hold on an expired one.
	labtest.Root(t, "zfs hold keep "+dst+"@2025-01-02_00.00.00--1d")
	out := labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	got := snapNames(t, dst)
	want := []string{
		"2025-01-02_00.00.00--1d",                                                                                  // held
		"2025-01-05_00.00.00--1d", "2025-01-06_00.00.00--1d", "2025-01-07_00.00.00--1d", "2025-01-08_00.00.00--1d", // max_destroy 3 took 01, 03, 04
		"2025-01-09_00.00.00--forever",
		"2025-01-10_00.00.00--1d", // newest (and the replication base, held)
	}
	if !slices.Equal(got, want) {
		t.Errorf("after prune: %q\nwant %q\n%s", got, want, out)
	}
	// The last pull fails (the source's host key no longer matches): nothing more goes, and the
	// dry run says why.
	labtest.Root(t, "sed -i 's#^known_hosts = .*#known_hosts = \"/home/backup/.ssh/known_hosts.changed\"#' "+cfg)
	labtest.As(t, "backup", `test -s /home/backup/.ssh/known_hosts.changed || { ssh-keygen -q -t ed25519 -N '' -f /tmp/imp.$$ && echo "127.0.0.1 $(cut -d' ' -f1,2 /tmp/imp.$$.pub)" >/home/backup/.ssh/known_hosts.changed; }`)
	if res := pull(t, cfg); res.Exit == 0 {
		t.Fatalf("the pull with a changed host key succeeded")
	}
	for _, v := range pruneVerdicts(t, cfg) {
		if v.Destroy || v.Rule != "frozen" {
			t.Errorf("after a failed pull %s@%s: destroy=%v rule %q (%s); want kept, frozen", v.Dataset, v.Snapshot, v.Destroy, v.Rule, v.Reason)
		}
	}
	labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	if after := snapNames(t, dst); !slices.Equal(after, want) {
		t.Errorf("prune after a failed pull destroyed: %q, want %q", after, want)
	}
}

// Ransomware stand-in: the source's data is overwritten with random bytes. The pull receives
// it, trips the alarm, and pruning of that dataset is frozen until vault ack.
func TestLabPruneFrozenByTheTripwireUntilAck(t *testing.T) {
	const src = "host05data/ransom/fs"
	const dst = "rust10/Backups/ransom/fs"
	labtest.Root(t, timeTravel("zfs create -p "+src+" && head -c 48M /dev/urandom >/"+src+"/data.bin\n"+snapAt(src+"@2025-01-01_00.00.00--1d")))
	cfg := pruneConfig(t, "ransom", []string{src}, `[job.prune]
source_ttl = true
max_destroy = 100
min_keep = 1
[job.anomaly]
factor = 10
floor = "8MiB"
window = 5`)
	mustPull(t, cfg)
	// A normal week: small daily changes.
	for day := 2; day <= 6; day++ {
		labtest.Root(t, timeTravel(fmt.Sprintf("dd if=/dev/urandom of=/%s/data.bin bs=256k count=2 seek=%d conv=notrunc status=none\n", src, day*4)+
			snapAt(fmt.Sprintf("%s@2025-01-%02d_00.00.00--1d", src, day))))
		mustPull(t, cfg)
	}
	// Then everything is rewritten.
	labtest.Root(t, timeTravel("dd if=/dev/urandom of=/"+src+"/data.bin bs=1M count=48 conv=notrunc status=none\n"+snapAt(src+"@2025-01-07_00.00.00--1d")))
	mustPull(t, cfg)
	st := labtest.Root(t, "cat /var/lib/vault-ransom/jobs/ransom.json")
	if !strings.Contains(st, `"anomaly"`) {
		t.Fatalf("the rewrite did not trip the alarm; state:\n%s", st)
	}
	if got := snapNames(t, dst); got[len(got)-1] != "2025-01-07_00.00.00--1d" {
		t.Errorf("the anomalous incremental was not received: %q", got)
	}
	// Frozen: every --1d snapshot has long expired, yet nothing goes.
	before := snapNames(t, dst)
	out := labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	if !strings.Contains(out, "frozen: anomaly") || !strings.Contains(out, "vault ack ransom "+src) {
		t.Errorf("prune does not show the freeze and the ack command:\n%s", out)
	}
	if got := snapNames(t, dst); !slices.Equal(got, before) {
		t.Errorf("a frozen dataset was pruned: %q", got)
	}
	// After the operator checks the data and acknowledges, pruning resumes.
	if out := labtest.As(t, "backup", "/mnt/lab/vault ack -c "+cfg+" ransom "+src); !strings.Contains(out, "alarm lifted") {
		t.Errorf("vault ack printed:\n%s", out)
	}
	labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	if got := snapNames(t, dst); len(got) >= len(before) || got[len(got)-1] != "2025-01-07_00.00.00--1d" {
		t.Errorf("after ack, prune should destroy the expired ones and keep the newest: %q", got)
	}
}
