//go:build lab && linux

package e2e

// The attacker the vault exists to survive: root on a source host. Each test here has the
// source do what such an attacker would, through real OpenZFS, and checks that the vault keeps
// its history and says so.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/report"
)

// datasetFindings reads vault status --json and returns the findings of one source dataset.
func datasetFindings(t *testing.T, cfg, job, dataset string) []report.Finding {
	t.Helper()
	out := labtest.Try(t, "backup", "/mnt/lab/vault status --json -c "+cfg).Stdout
	var st report.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("vault status --json: %v\n%s", err, out)
	}
	for _, js := range st.Jobs {
		for _, d := range js.Datasets {
			if js.Job == job && d.Dataset == dataset {
				return d.Findings
			}
		}
	}
	t.Fatalf("vault status --json has no dataset %s of job %s:\n%s", dataset, job, out)
	return nil
}

// hasFinding reports a CRIT finding of the kind whose text names the ack command.
func hasCritAck(fs []report.Finding, kind, ack string) bool {
	for _, f := range fs {
		if f.Level == report.LevelCrit && f.Kind == kind && strings.Contains(f.Text, ack) {
			return true
		}
	}
	return false
}

func containsAll(have, want []string) []string {
	var missing []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			missing = append(missing, w)
		}
	}
	return missing
}

// Genuine daily history, then root on the source takes snapshots now whose names carry earlier
// dates (one "23.59.59" per recent day, and one with the clock itself set back): the real prune
// destroys nothing the plan kept before, the lying-names alarm is raised and shown by status and
// check, and after vault ack the liars stay out of the grid.
func TestLabHostileBackdatedNamesCannotSteerPrune(t *testing.T) {
	const src = "host05data/lies/fs"
	const dst = "rust10/Backups/lies/fs"
	day0 := time.Now().UTC().Truncate(24 * time.Hour)
	stamp := func(at time.Time) string { return at.Format("2006-01-02_15.04.05") + "--1y" }
	var genuine, genuineNames []string
	for i := 12; i >= 1; i-- {
		n := stamp(day0.Add(time.Duration(-i)*24*time.Hour + 12*time.Hour))
		genuine, genuineNames = append(genuine, src+"@"+n), append(genuineNames, n)
	}
	labtest.Root(t, timeTravel("zfs create -p "+src+"\n"+snapAt(genuine...)))
	cfg := pruneConfig(t, "lies", []string{src}, `[job.prune]
source_ttl = false
grid = ["7 daily"]
min_keep = 1
min_age = "1h"
max_destroy = 100`)
	mustPull(t, cfg)
	var keptBefore []string
	for _, v := range pruneVerdicts(t, cfg) {
		if !v.Destroy {
			keptBefore = append(keptBefore, v.Snapshot)
		}
	}
	if len(keptBefore) != 7 {
		t.Fatalf("before the attack the plan keeps %q; want the 7 newest days", keptBefore)
	}

	// The attack: back-dated names taken now, and one with the source's clock set back.
	var lies []string
	var script strings.Builder
	for i := 5; i >= 1; i-- {
		n := stamp(day0.Add(time.Duration(-i)*24*time.Hour + 23*time.Hour + 59*time.Minute + 59*time.Second))
		lies = append(lies, n)
		fmt.Fprintf(&script, "zfs snapshot %s@%s\n", src, n)
	}
	clockBack := stamp(day0.Add(-3*24*time.Hour + 23*time.Hour + 58*time.Minute))
	lies = append(lies, clockBack)
	labtest.Root(t, timeTravel(script.String()+snapAt(src+"@"+clockBack)))
	mustPull(t, cfg)

	before := snapNames(t, dst)
	out := labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	after := snapNames(t, dst)
	if !slices.Equal(after, before) {
		t.Errorf("prune destroyed snapshots of a dataset whose names lie: before %q, after %q\n%s", before, after, out)
	}
	if !strings.Contains(out, "lies") {
		t.Errorf("prune does not say which names lie:\n%s", out)
	}
	if fs := datasetFindings(t, cfg, "lies", src); !hasCritAck(fs, report.KindLyingNames, "vault ack lies "+src) {
		t.Errorf("status does not show the lying-names alarm with the ack command: %+v", fs)
	}
	if line, code := check(t, cfg); code != 2 || !strings.HasPrefix(line, "VAULT CRIT") {
		t.Errorf("vault check %q exit %d, want CRIT exit 2", line, code)
	}

	// Acknowledged: the liars are kept and stay out of the grid, so the genuine snapshot of each
	// day keeps its place; only genuine snapshots outside the 7 days go.
	labtest.As(t, "backup", "/mnt/lab/vault ack -c "+cfg+" lies "+src)
	out = labtest.As(t, "backup", "/mnt/lab/vault prune -c "+cfg)
	after = snapNames(t, dst)
	if missing := containsAll(after, keptBefore); len(missing) > 0 {
		t.Errorf("after ack, prune destroyed genuine snapshots it kept before the attack: %q\n%s", missing, out)
	}
	if missing := containsAll(after, lies); len(missing) > 0 {
		t.Errorf("after ack, prune destroyed the lying snapshots (kept as evidence): %q", missing)
	}
	if want := len(keptBefore) + len(lies); len(after) != want {
		t.Errorf("after ack the vault holds %d snapshots, want the %d kept before and the %d liars: %q\n%s", len(after), len(keptBefore), len(lies), after, out)
	}
	if missing := containsAll(snapNames(t, src), append(slices.Clone(genuineNames), lies...)); len(missing) > 0 {
		t.Errorf("the source lost snapshots: %q", missing)
	}
}

// The classic ransomware move: the source destroys every snapshot of a dataset. Time passes
// beyond every TTL; the vault's copies all stay, the dataset is CRIT until vault ack, and
// pruning resumes after it.
func TestLabHostileWipedSourceNeverErodes(t *testing.T) {
	const src = "host05data/wipe/fs"
	const dst = "rust10/Backups/wipe/fs"
	day0 := time.Now().UTC().Truncate(24 * time.Hour)
	var snaps []string
	for i := 10; i >= 1; i-- {
		snaps = append(snaps, src+"@"+day0.Add(time.Duration(-i)*24*time.Hour).Format("2006-01-02_15.04.05")+"--1w")
	}
	labtest.Root(t, timeTravel("zfs create -p "+src+"\nhead -c 1M /dev/urandom >/"+src+"/f\n"+snapAt(snaps...)))
	cfg := pruneConfig(t, "wipe", []string{src}, `[job.prune]
source_ttl = true
min_keep = 1
min_age = "1h"`)
	mustPull(t, cfg)
	before := snapNames(t, dst)

	labtest.Root(t, "for s in $(zfs list -H -t snapshot -o name "+src+"); do zfs release vault:lab:wipe $s 2>/dev/null || true; done; zfs destroy "+src+"@%")
	res := pull(t, cfg)
	if !strings.Contains(res.Stdout, "source-empty") {
		t.Errorf("the pull after the wipe does not report source-empty:\n%s", res)
	}
	if fs := datasetFindings(t, cfg, "wipe", src); !hasCritAck(fs, report.KindSourceLost, "vault ack wipe "+src) {
		t.Errorf("status does not show the source-lost alarm with the ack command: %+v", fs)
	}
	if line, code := check(t, cfg); code != 2 {
		t.Errorf("vault check %q exit %d, want CRIT exit 2", line, code)
	}
	// Two months later every TTL (1w, stretched twice) has run out: the vault keeps them all.
	later := time.Now().Add(60 * 24 * time.Hour).Unix()
	prune := fmt.Sprintf("date -u -s @%d >/dev/null && su backup -c '/mnt/lab/vault prune -c %s'", later, cfg)
	out := labtest.Root(t, timeTravel(prune))
	if got := snapNames(t, dst); !slices.Equal(got, before) {
		t.Errorf("a wiped source's last copies eroded: before %q, after %q\n%s", before, got, out)
	}
	// After the operator acknowledges, pruning resumes.
	labtest.As(t, "backup", "/mnt/lab/vault ack -c "+cfg+" wipe "+src)
	out = labtest.Root(t, timeTravel(prune))
	if got := snapNames(t, dst); len(got) >= len(before) {
		t.Errorf("after ack, prune destroyed nothing: %q\n%s", got, out)
	}
}

// A job with a quota whose source sends more than it: that job fails with the quota named,
// and another job on the same pool still pulls. Bootstrap sets the quota and reads it back.
func TestLabHostileQuotaBoundsOneJob(t *testing.T) {
	const a, b = "host05data/quota/a", "host05data/quota/b"
	labtest.Root(t, "zfs create -p "+a+" && zfs create -p "+b+" && head -c 4M /dev/urandom >/"+a+"/f && head -c 1M /dev/urandom >/"+b+"/f && zfs snapshot "+a+"@2026-12-01_00.00.00--1w && zfs snapshot "+b+"@2026-12-01_00.00.00--1w")
	cfgA := pruneConfig(t, "quota", []string{a}, `quota = "32MiB"`)
	out := labtest.Root(t, "/mnt/lab/vault bootstrap -c "+cfgA)
	if !strings.Contains(out, "set quota=32.0 MiB") {
		t.Errorf("vault bootstrap does not report the quota:\n%s", out)
	}
	if q := strings.TrimSpace(labtest.Root(t, "zfs get -H -p -o value quota rust10/Backups/quota")); q != "33554432" {
		t.Errorf("quota on the target is %q, want 33554432", q)
	}
	if out := labtest.Root(t, "/mnt/lab/vault bootstrap -c "+cfgA); !strings.Contains(out, "nothing to do") {
		t.Errorf("a second bootstrap changed something:\n%s", out)
	}
	// The source sends more than the quota.
	labtest.Root(t, "head -c 48M /dev/urandom >/"+a+"/big && zfs snapshot "+a+"@2026-12-02_00.00.00--1w")
	res := pull(t, cfgA)
	if res.Exit == 0 || !strings.Contains(res.Stdout+res.Stderr, "quota") {
		t.Errorf("a pull beyond the quota: exit %d, want a failure naming the quota:\n%s", res.Exit, res)
	}
	if got := snapNames(t, "rust10/Backups/quota/a"); slices.Contains(got, "2026-12-02_00.00.00--1w") {
		t.Errorf("the snapshot beyond the quota arrived: %q", got)
	}
	// Another job on the same pool.
	cfgB := pullConfig(t, "quotb", []string{b}, "")
	mustPull(t, cfgB)
	if got := snapNames(t, "rust10/Backups/quotb/b"); !slices.Equal(got, []string{"2026-12-01_00.00.00--1w"}) {
		t.Errorf("the other job's pull: %q", got)
	}
	if out := labtest.As(t, "backup", "/mnt/lab/vault status -c "+cfgA); !strings.Contains(out, "of its quota 32.0 MiB") {
		t.Errorf("status does not show the job's use against its quota:\n%s", out)
	}
}

// A flood: the source offers more new snapshots than max_new_snapshots. Nothing is received
// for that dataset, the flood alarm is CRIT, and after vault ack the next pull brings them.
func TestLabHostileFloodIsRefused(t *testing.T) {
	const src = "host05data/flood/fs"
	const dst = "rust10/Backups/flood/fs"
	labtest.Root(t, "zfs create -p "+src+" && zfs snapshot "+src+"@2026-12-01_00.00.00--1w")
	cfg := pruneConfig(t, "flood", []string{src}, `max_new_snapshots = 20`)
	mustPull(t, cfg)
	labtest.Root(t, "for i in $(seq 10 59); do zfs snapshot "+src+"@2026-12-02_00.00.$i--1w; done")
	res := pull(t, cfg)
	if res.Exit != 3 || !strings.Contains(res.Stdout, "max_new_snapshots 20") {
		t.Errorf("a flood of 50: exit %d, want 3 and max_new_snapshots named:\n%s", res.Exit, res)
	}
	if got := snapNames(t, dst); !slices.Equal(got, []string{"2026-12-01_00.00.00--1w"}) {
		t.Errorf("the refused flood received snapshots: %q", got)
	}
	if fs := datasetFindings(t, cfg, "flood", src); !hasCritAck(fs, report.KindFlood, "vault ack flood "+src) {
		t.Errorf("status does not show the flood alarm with the ack command: %+v", fs)
	}
	labtest.As(t, "backup", "/mnt/lab/vault ack -c "+cfg+" flood "+src)
	mustPull(t, cfg)
	if got := snapNames(t, dst); len(got) != 51 {
		t.Errorf("after ack the pull brought %d snapshots, want all 51", len(got))
	}
}

// A stale hold of the job's (a crash between a hold and its release; or, on the vault, the tag
// it used before hold_prefix) on an old snapshot, on both sides, is swept by the next good pull;
// an operator's hold is left alone.
func TestLabHostileStaleHoldsAreSwept(t *testing.T) {
	const src = "host05data/sweep/fs"
	const dst = "rust10/Backups/sweep/fs"
	labtest.Root(t, "zfs create -p "+src+" && zfs snapshot "+src+"@2026-12-01_00.00.00--1w && zfs snapshot "+src+"@2026-12-02_00.00.00--1w")
	cfg := pullConfig(t, "sweep", []string{src}, "")
	mustPull(t, cfg)
	old := "@2026-12-01_00.00.00--1w"
	// The pre-hold_prefix tag on the vault's side only: the lab's gate lets the vault's key
	// touch vault:lab: tags alone (--hold-prefix), as a source should once its vaults are
	// upgraded.
	labtest.Root(t, "zfs hold vault:lab:sweep "+src+old+" && zfs hold keep "+src+old+" && zfs hold vault:lab:sweep "+dst+old+" && zfs hold vault:sweep "+dst+old)
	labtest.Root(t, "zfs snapshot "+src+"@2026-12-03_00.00.00--1w")
	mustPull(t, cfg)
	tags := func(snap string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(labtest.Root(t, "zfs holds -H "+snap)), "\n") {
			if f := strings.Split(l, "\t"); len(f) > 1 {
				out = append(out, f[1])
			}
		}
		slices.Sort(out)
		return out
	}
	if got := tags(src + old); !slices.Equal(got, []string{"keep"}) {
		t.Errorf("holds on the source's old snapshot after the pull: %q, want only the operator's", got)
	}
	if got := tags(dst + old); len(got) != 0 {
		t.Errorf("holds on the vault's old snapshot after the pull: %q, want none", got)
	}
	for _, s := range []string{src, dst} {
		if got := tags(s + "@2026-12-03_00.00.00--1w"); !slices.Equal(got, []string{"vault:lab:sweep"}) {
			t.Errorf("holds on the new base %s: %q", s, got)
		}
	}
}

// The vault's stolen key through the gate: a plaintext send of an encrypted dataset, a
// back-dated snapshot, zfs get all, another vault's hold tag: each refused, and nothing run.
func TestLabHostileGate(t *testing.T) {
	const enc = "host05data/gateenc"
	snap := enc + "@2026-12-01_00.00.00--1w"
	labtest.Root(t, "printf 'a lab passphrase' >/root/gateenc.key && zfs create -o encryption=on -o keyformat=passphrase -o keylocation=file:///root/gateenc.key "+enc+
		" && head -c 1M /dev/urandom >/"+enc+"/secret && zfs snapshot "+snap+" && zfs hold vault:other:job "+snap)
	refused := func(cmd string) string {
		t.Helper()
		code, out := sshAsVault(t, cmd)
		if code == 0 || !strings.Contains(out, "refused") {
			t.Errorf("%q through the vault's key: exit %d, output %.200q; want refused", cmd, code, out)
		}
		return out
	}
	// Plaintext sends of an encrypted dataset, full, dry run and incremental: refused before
	// zfs runs (no stream: the output is the refusal alone).
	for _, cmd := range []string{"zfs send " + snap, "zfs send -n -P " + snap, "zfs send -L -c " + snap} {
		if out := refused(cmd); strings.ContainsRune(out, 0) || !utf8.ValidString(out) || strings.Count(out, "\n") > 3 {
			t.Errorf("%q printed %d bytes that are not the refusal's line: a stream leaked? %q", cmd, len(out), out)
		}
	}
	// The raw send is what the vault does: allowed.
	if res := labtest.Try(t, "backup", "ssh -T -i /home/backup/.ssh/id_ed25519 -o BatchMode=yes -o UserKnownHostsFile=/home/backup/.ssh/known_hosts backup@127.0.0.1 "+
		labtest.Q("zfs send -w "+snap)+" | wc -c"); res.Exit != 0 || strings.TrimSpace(res.Stdout) == "0" {
		t.Errorf("the raw send through the gate: %s", res)
	}
	// A back-dated snapshot (a week ago) and a far-future one: refused, not taken.
	back := enc + "@" + time.Now().UTC().Add(-7*24*time.Hour).Format("2006-01-02_15.04.05") + "--1w"
	ahead := enc + "@" + time.Now().UTC().Add(30*24*time.Hour).Format("2006-01-02_15.04.05") + "--1w"
	refused("zfs snapshot " + back)
	refused("zfs snapshot " + ahead)
	// A snapshot dated now is what snapshot on pull takes: allowed.
	if code, out := sshAsVault(t, "zfs snapshot "+enc+"@"+time.Now().UTC().Format("2006-01-02_15.04.05")+"--1w"); code != 0 {
		t.Errorf("a snapshot dated now through the gate: exit %d, %s", code, out)
	}
	// zfs get, any form but the one that reads the properties set locally (TestLabPropsRecorded).
	refused("zfs get -H -p -o name,property,value,source all " + enc)
	refused("zfs get all " + enc)
	// Another vault's hold: neither released nor made.
	refused("zfs release vault:other:job " + snap)
	refused("zfs hold vault:other:x " + snap)
	refused("zfs hold vault:x " + snap)
	tags := strings.Fields(labtest.Root(t, "zfs holds -H "+snap+" | cut -f2 | sort | tr '\\n' ' '"))
	if !slices.Equal(tags, []string{"vault:other:job"}) {
		t.Errorf("holds on %s after the refusals: %q, want only vault:other:job", snap, tags)
	}
	names := snapNames(t, enc)
	if slices.Contains(names, back[len(enc)+1:]) || slices.Contains(names, ahead[len(enc)+1:]) {
		t.Errorf("a refused snapshot was taken: %q", names)
	}
	// The lab vault's own tag is allowed.
	if code, out := sshAsVault(t, "zfs hold vault:lab:gate "+snap); code != 0 {
		t.Errorf("the vault's own hold through the gate: exit %d, %s", code, out)
	}
	labtest.Root(t, "zfs release vault:lab:gate "+snap+" && zfs release vault:other:job "+snap)
}
