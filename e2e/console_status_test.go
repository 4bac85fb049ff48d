//go:build lab && linux

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/report"
)

// consoleJob is one [[job]] of the every-status configuration: a source root and what differs.
type consoleJob struct{ name, root, extra string }

// TestLabConsoleEveryStatus brings one job into each status an operator must tell apart, on
// real pools and real runs, and reads them back through vault status (plain and --json) and
// vault check: fresh (never run), OK, lagging past its RPO, failed (the target's quota is
// full: no-space), the source unreachable, frozen (the tripwire), needs bootstrap, the source's snapshots
// all gone, and a damaged state file. (Diverged is in TestLabConsole.)
func TestLabConsoleEveryStatus(t *testing.T) {
	// It moves no clock and waits on a lagging job's RPO: it runs beside the daemon tests.
	t.Parallel()
	jobs := []consoleJob{
		{"cstfresh", "host05data/cst/fresh", ""},
		{"cstok", "host05data/cst/ok", ""},
		{"cstlag", "host05data/cst/lag", "schedule = \"* * * * *\"\nrpo = \"70s\"\nrpo_critical = \"1h\""},
		{"cstfail", "host05data/cst/fail", ""},
		{"cstdown", "host05data/cst/down", ""},
		{"cstfrz", "host05data/cst/frz", "[job.anomaly]\nfactor = 10\nfloor = \"2MiB\"\nwindow = 3"},
		{"cstboot", "host05data/cst/boot", ""},
		{"cstlost", "host05data/cst/lost", ""},
		{"cstbad", "host05data/cst/bad", ""},
	}
	var toml strings.Builder
	toml.WriteString(`user = "backup"
state_dir = "/var/lib/vault-cst"
zfs_binary = "/sbin/zfs"
hold_prefix = "vault:lab:"
timezone = "UTC"

[ssh]
identity = "/home/backup/.ssh/id_ed25519"
known_hosts = "/home/backup/.ssh/known_hosts"
connect_timeout = "20s"
`)
	for _, j := range jobs {
		source, sched, rpo := "backup@127.0.0.1:22", "schedule = \"15 1 * * *\"\n", "rpo = \"26h\"\n"
		if j.name == "cstdown" {
			source = "backup@127.0.0.1:2" // nothing listens there
		}
		if strings.Contains(j.extra, "rpo =") {
			sched, rpo = "", ""
		}
		fmt.Fprintf(&toml, "\n[[job]]\nname = %q\nsource = %q\nsource_datasets = [%q]\ntarget = \"rust10/Backups/%s\"\n%s%s%s\n",
			j.name, source, j.root, j.name, sched, rpo, j.extra)
	}
	const cfg = "/etc/vault/cst.toml"
	var setup strings.Builder
	setup.WriteString("install -d -o backup -g backup -m 0750 /var/lib/vault-cst && mkdir -p /etc/vault && cat >" + cfg + " <<'EOF'\n" + toml.String() + "EOF\n/mnt/lab/vault config check " + cfg + " >/dev/null\n")
	for _, j := range jobs {
		fmt.Fprintf(&setup, "zfs create -p %s && head -c 1M /dev/urandom >/%s/f && zfs snapshot %s@2026-11-20_00.00.00--1w\n", j.root, j.root, j.root)
	}
	labtest.Root(t, setup.String())
	pullJob := func(job string) int { return pull(t, cfg, job).Exit }

	// Lagging: pulled once, first, and never again; its RPO is 70 s (a minute's schedule).
	if code := pullJob("cstlag"); code != 0 {
		t.Fatalf("first pull of cstlag: exit %d", code)
	}
	lagPulled := time.Now()
	for _, j := range []string{"cstok", "cstfail", "cstfrz", "cstboot", "cstlost", "cstbad"} {
		if code := pullJob(j); code != 0 {
			t.Fatalf("first pull of %s: exit %d", j, code)
		}
	}
	// Failed: the target's quota leaves room for less than the next incremental, which is not
	// started (no-space, a kind of failed).
	labtest.Root(t, `t=rust10/Backups/cstfail/fail; u=$(zfs get -Hp -o value used $t); zfs set quota=$((u + 1048576)) $t
head -c 6M /dev/urandom >/host05data/cst/fail/g && zfs snapshot host05data/cst/fail@2026-11-21_00.00.00--1w`)
	if code := pullJob("cstfail"); code != 1 {
		t.Errorf("pull into a full target: exit %d, want 1 (failed)", code)
	}
	// Unreachable: the job's run cannot start.
	if code := pullJob("cstdown"); code != 1 {
		t.Errorf("pull from an unreachable source: exit %d, want 1", code)
	}
	// Frozen: three small incrementals, then the data is rewritten; the alarm trips and pruning
	// of the dataset is frozen until vault ack.
	for day := 21; day <= 23; day++ {
		labtest.Root(t, fmt.Sprintf("dd if=/dev/urandom of=/host05data/cst/frz/f bs=64k count=2 seek=%d conv=notrunc status=none && zfs snapshot host05data/cst/frz@2026-11-%d_00.00.00--1w", day-20, day))
		if code := pullJob("cstfrz"); code != 0 {
			t.Fatalf("pull of cstfrz on day %d: exit %d", day, code)
		}
	}
	labtest.Root(t, "head -c 8M /dev/urandom >/host05data/cst/frz/f && zfs snapshot host05data/cst/frz@2026-11-24_00.00.00--1w")
	if code := pullJob("cstfrz"); code != 0 {
		t.Errorf("pull of the rewritten cstfrz: exit %d, want 0 (received, alarm up)", code)
	}
	// Needs bootstrap: a child appears on the source after the daemon dropped root; the daemon
	// (run with a configuration of that job alone, on the same state directory) reports it.
	labtest.Root(t, "sed -n '1,/^\\[\\[job\\]\\]/p' "+cfg+" | head -n -1 >/etc/vault/cstd.toml && sed -n '/^name = \"cstboot\"/,$p' "+cfg+" | sed '1i [[job]]' >>/etc/vault/cstd.toml && /mnt/lab/vault config check /etc/vault/cstd.toml >/dev/null")
	pid := strings.TrimSpace(labtest.Root(t, "nohup /mnt/lab/vault daemon -c /etc/vault/cstd.toml --log stderr >>/tmp/cstd.log 2>&1 </dev/null & echo $!"))
	t.Cleanup(func() { labtest.Try(t, "", "kill -9 "+pid+" 2>/dev/null || true") })
	waitFor(t, "the daemon's drop", 2*time.Minute, "grep -q 'dropped privileges' /tmp/cstd.log")
	labtest.Root(t, "zfs create host05data/cst/boot/new && zfs snapshot host05data/cst/boot/new@2026-11-21_00.00.00--1w")
	if res := pull(t, "/etc/vault/cstd.toml", "cstboot"); res.Exit == 0 || !strings.Contains(res.Stdout, "vault bootstrap cstboot") {
		t.Errorf("the daemon's pull of a new child: exit %d, want non-zero and the bootstrap command:\n%s", res.Exit, res)
	}
	labtest.Root(t, "kill "+pid+" && for i in $(seq 60); do kill -0 "+pid+" 2>/dev/null || exit 0; sleep 0.5; done; exit 1")
	// Source lost: every snapshot destroyed on the source (the vault's hold released first);
	// the vault keeps its own.
	labtest.Root(t, "zfs release vault:lab:cstlost host05data/cst/lost@2026-11-20_00.00.00--1w && zfs destroy host05data/cst/lost@2026-11-20_00.00.00--1w")
	pullJob("cstlost")
	// Unreadable: the job's state file is damaged (by hand: vault itself writes atomically).
	labtest.Root(t, "echo '{\"job\": ' >/var/lib/vault-cst/jobs/cstbad.json")
	// OK: pulled again now, so nothing is old.
	if code := pullJob("cstok"); code != 0 {
		t.Errorf("second pull of cstok: exit %d", code)
	}
	if wait := 75*time.Second - time.Since(lagPulled); wait > 0 {
		time.Sleep(wait)
	}

	// --json: each job's level and the kinds of its findings.
	var st report.Status
	out := labtest.As(t, "backup", "/mnt/lab/vault status --json -c "+cfg)
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("vault status --json: %v\n%s", err, out)
	}
	type want struct {
		level report.Level
		kind  string
	}
	wants := map[string]want{
		"cstfresh": {report.LevelUnknown, report.KindNeverRun},
		"cstok":    {report.LevelOK, ""},
		"cstlag":   {report.LevelWarn, report.KindLag},
		"cstfail":  {report.LevelWarn, report.KindNoSpace},
		"cstdown":  {report.LevelWarn, report.KindRunError},
		"cstfrz":   {report.LevelCrit, report.KindAnomaly},
		"cstboot":  {report.LevelWarn, report.KindNeedsBootstrap},
		"cstlost":  {report.LevelCrit, report.KindSourceLost},
		"cstbad":   {report.LevelUnknown, report.KindUnreadable},
	}
	seen := map[string]bool{}
	for _, js := range st.Jobs {
		w, ok := wants[js.Job]
		if !ok {
			t.Errorf("status has a job %q not in the configuration", js.Job)
			continue
		}
		seen[js.Job] = true
		var kinds []string
		for _, f := range js.Findings {
			kinds = append(kinds, f.Kind)
		}
		for _, d := range js.Datasets {
			for _, f := range d.Findings {
				kinds = append(kinds, f.Kind)
			}
		}
		if js.Level != w.level || (w.kind == "" && len(kinds) != 0) || (w.kind != "" && !slices.Contains(kinds, w.kind)) {
			t.Errorf("job %s: level %s, findings %q; want %s with %q", js.Job, js.Level, kinds, w.level, w.kind)
		}
	}
	if len(seen) != len(wants) {
		t.Errorf("status --json lists %d of the %d jobs:\n%s", len(seen), len(wants), out)
	}
	dataset := func(job, ds string) *report.DatasetStatus {
		for i := range st.Jobs {
			if st.Jobs[i].Job == job {
				for k := range st.Jobs[i].Datasets {
					if st.Jobs[i].Datasets[k].Dataset == ds {
						return &st.Jobs[i].Datasets[k]
					}
				}
			}
		}
		t.Errorf("status --json has no dataset %s in job %s", ds, job)
		return &report.DatasetStatus{}
	}
	if d := dataset("cstfrz", "host05data/cst/frz"); d.Anomaly == nil || !strings.Contains(d.PruneFreeze, "anomaly") {
		t.Errorf("cstfrz: anomaly %v, prune freeze %q; want the alarm and a freeze", d.Anomaly, d.PruneFreeze)
	}
	if d := dataset("cstboot", "host05data/cst/boot/new"); !d.NeedsBootstrap {
		t.Errorf("cstboot: the new child is not marked needs bootstrap: %+v", d)
	}
	if d := dataset("cstfail", "host05data/cst/fail"); d.Error == "" || d.PruneFreeze == "" {
		t.Errorf("cstfail: error %q, prune freeze %q; want the receive's error and a freeze", d.Error, d.PruneFreeze)
	}
	if d := dataset("cstok", "host05data/cst/ok"); d.Snapshots == nil || *d.Snapshots != 1 || d.Holds == nil || *d.Holds != 1 || d.Newest != "2026-11-20_00.00.00--1w" {
		t.Errorf("cstok: snapshots %v, holds %v, newest %q; want 1, 1, @2026-11-20_00.00.00--1w", d.Snapshots, d.Holds, d.Newest)
	}

	// The plain table: one row per dataset, its level word, and what to do.
	plain := labtest.As(t, "backup", "NO_COLOR=1 /mnt/lab/vault status -c "+cfg)
	level := map[string]string{} // dataset -> the level word of its row
	for _, l := range strings.Split(plain, "\n") {
		if f := strings.Fields(l); len(f) > 2 && strings.HasPrefix(f[2], "host05data/cst/") {
			level[f[2]] = f[0]
		}
	}
	for job, w := range wants {
		ds := "host05data/cst/" + strings.TrimPrefix(job, "cst")
		switch job {
		case "cstfresh", "cstdown", "cstbad":
			continue // no dataset row yet: the job's own line says why
		case "cstboot":
			ds += "/new"
		}
		if level[ds] != w.level.String() {
			t.Errorf("status row of %s: level %q, want %s:\n%s", ds, level[ds], w.level, plain)
		}
	}
	for _, must := range []string{
		"never run",               // fresh
		"vault ack cstfrz",        // the way out of the freeze
		"vault bootstrap cstboot", // the way out of needs bootstrap
		"127.0.0.1:2",             // the unreachable source, named
		"over rpo 1m10s",          // the lag, against its RPO
	} {
		if !strings.Contains(plain, must) {
			t.Errorf("vault status lacks %q:\n%s", must, plain)
		}
	}
	if strings.ContainsAny(plain, "🚨⚠✅") {
		t.Errorf("NO_COLOR status has emoji:\n%s", plain)
	}

	// vault check: the worst of all, and per job.
	for _, c := range []struct {
		jobs []string
		exit int
		word string
	}{
		{nil, 2, "VAULT CRITICAL"},
		{[]string{"cstok"}, 0, "VAULT OK"},
		{[]string{"cstlag"}, 1, "VAULT WARNING"},
		{[]string{"cstfail"}, 1, "VAULT WARNING"},
		{[]string{"cstboot"}, 1, "VAULT WARNING"},
		{[]string{"cstfrz"}, 2, "VAULT CRITICAL"},
		{[]string{"cstfresh"}, 3, "VAULT UNKNOWN"},
		{[]string{"cstbad"}, 3, "VAULT UNKNOWN"},
		{[]string{"cstlost"}, 2, "VAULT CRITICAL"},
	} {
		line, code := check(t, cfg, c.jobs...)
		if code != c.exit || !strings.HasPrefix(line, c.word) {
			t.Errorf("vault check %v: %q exit %d, want %s exit %d", c.jobs, line, code, c.word, c.exit)
		}
	}
	// A larger --warn clears the lag alone.
	if line, code := check(t, cfg, "--warn", "1h", "--crit", "2h", "cstlag"); code != 0 {
		t.Errorf("vault check --warn 1h cstlag: %q exit %d, want 0", line, code)
	}
}
