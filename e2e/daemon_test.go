//go:build lab && linux

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/report"
)

// waitFor polls a lab script until it exits 0, failing the test after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, script string) string {
	t.Helper()
	return waitForLogging(t, "/tmp/daemon.log", what, timeout, script)
}

// waitForLogging is waitFor for a daemon that logs to log.
func waitForLogging(t *testing.T, log, what string, timeout time.Duration, script string) string {
	t.Helper()
	return labtest.WaitFor(t, what, timeout, script, func() string {
		return "daemon log:\n" + labtest.Root(t, "tail -60 "+log+" || true")
	})
}

// The daemon as it runs on the rust-bucket: started as root, it bootstraps, drops to backup for
// good, pulls on a per-minute schedule, refuses a second instance, reports a dataset that
// appears later as needing bootstrap, and survives SIGTERM mid-pull with its resume token.
func TestLabDaemon(t *testing.T) {
	const src = "host05data/dmn"
	// An old snapshot whose TTL has long expired: the daemon's prune schedule takes it.
	labtest.Root(t, timeTravel("zfs create -p "+src+"/a\n"+snapAt("-r "+src+"@2025-01-01_00.00.00--1d")+"head -c 2M /dev/urandom >/"+src+"/a/f\n"+snapAt("-r "+src+"@2026-11-20_00.00.00--1w")))
	// Not in the parallel group: its SIGTERM must land mid-stream, which a CPU-bound neighbour
	// (the delegation halves) can stretch past the stream's end.
	cfg := pullConfig(t, "dmn", []string{src}, `schedule = "* * * * *"
bandwidth_limit = "3MiB"
[job.prune]
schedule = "* * * * *"
source_ttl = true
min_keep = 1`)
	labtest.Root(t, "sed -i 's#^state_dir = .*#state_dir = \"/var/lib/vault-dmn\"#' "+cfg+" && /mnt/lab/vault config check "+cfg+" >/dev/null")
	start := func() string {
		return strings.TrimSpace(labtest.Root(t, "nohup /mnt/lab/vault daemon -c "+cfg+" --log stderr >>/tmp/daemon.log 2>&1 </dev/null & echo $!"))
	}
	pid := start()
	t.Cleanup(func() {
		labtest.Try(t, "", "kill "+pid+" 2>/dev/null; sleep 1; pkill -9 -f '^/mnt/lab/vault daemon -c "+cfg+"' || true")
	})

	// The root phase: the first full receives happen before the drop.
	waitFor(t, "the bootstrap's first receive", 2*time.Minute, "zfs list -H -o name rust10/Backups/dmn/dmn/a@2026-11-20_00.00.00--1w")
	waitFor(t, "the drop", time.Minute, "grep -q 'dropped privileges' /tmp/daemon.log")

	// For good: every uid and gid of the process is backup's (34), no supplementary root group.
	status := labtest.Root(t, "grep -E '^(Uid|Gid|Groups|NoNewPrivs):' /proc/"+pid+"/status")
	for _, want := range []string{"Uid:\t34\t34\t34\t34", "Gid:\t34\t34\t34\t34", "Groups:\t34", "NoNewPrivs:\t1"} {
		if !strings.Contains(status, want) {
			t.Errorf("/proc/%s/status lacks %q:\n%s", pid, want, status)
		}
	}
	// No network listener of any kind; only its unix control socket.
	if out := labtest.Root(t, "ss -lntup | grep -w "+pid+" || true"); strings.TrimSpace(out) != "" {
		t.Errorf("the daemon listens on the network:\n%s", out)
	}
	if out := labtest.Root(t, "stat -c '%U %a' /var/lib/vault-dmn/control.sock"); strings.TrimSpace(out) != "backup 600" {
		t.Errorf("control socket owner and mode: %q, want backup 600", out)
	}

	// A second instance is refused, naming the holder.
	res := labtest.Try(t, "", "/mnt/lab/vault daemon -c "+cfg)
	if res.Exit == 0 || !strings.Contains(res.Stderr, "pid "+pid) {
		t.Errorf("second daemon: exit %d, %q; want a refusal naming pid %s", res.Exit, res.Stderr, pid)
	}

	// Snapshots taken from here on, while the daemon runs, are named for the moment they are
	// taken (the daemon's prune would take a name dated otherwise for a lie, and the clock is
	// not moved under a running daemon).
	// By the guest's clock: under load the host's runs ahead of it by seconds.
	nowName := func() string { return strings.TrimSpace(labtest.Root(t, "date -u +%Y-%m-%d_%H.%M.%S")) + "--1w" }
	// The schedule fires and pulls a new snapshot, the receive running as backup.
	n21 := nowName()
	labtest.Root(t, "head -c 40M /dev/urandom >/"+src+"/a/g && zfs snapshot -r "+src+"@"+n21)
	recv := waitFor(t, "a scheduled receive", 100*time.Second, "ps -o user=,args= -C zfs | grep -E 'receive .*rust10/Backups/dmn/dmn/a$'")
	if !strings.HasPrefix(strings.TrimSpace(recv), "backup ") {
		t.Errorf("the scheduled zfs receive runs as %q, want backup", recv)
	}
	// SIGTERM mid-stream: the daemon stops within seconds and the cut receive keeps its token.
	// A receive cut in its first bytes keeps nothing to resume, and how soon bytes arrive after
	// the receive starts depends on the machine: wait until the partial receive holds 4 MiB.
	waitFor(t, "4 MiB in the partial receive", 2*time.Minute, `for _ in $(seq 20); do
  u=$(zfs list -Hp -o used rust10/Backups/dmn/dmn/a/%recv 2>/dev/null) && [ "$u" -ge 4194304 ] && exit 0
  sleep 0.2
done; exit 1`)
	labtest.Root(t, "kill -TERM "+pid)
	waitFor(t, "the daemon to exit after SIGTERM", 30*time.Second, "! kill -0 "+pid+" 2>/dev/null")
	if !strings.Contains(labtest.Root(t, "tail -5 /tmp/daemon.log"), "vault daemon stopped") {
		t.Errorf("no clean stop in the log:\n%s", labtest.Root(t, "tail -20 /tmp/daemon.log"))
	}
	if tok := strings.TrimSpace(labtest.Root(t, "zfs get -H -o value receive_resume_token rust10/Backups/dmn/dmn/a")); tok == "-" {
		t.Errorf("after SIGTERM mid-pull the target has no resume token")
	}

	// Restarted, the next firing resumes and completes; a dataset new on the source is reported.
	labtest.Root(t, "zfs create "+src+"/b && zfs snapshot "+src+"/b@"+nowName())
	pid = start()
	waitFor(t, "the resumed pull", 3*time.Minute, "zfs list -H -o name rust10/Backups/dmn/dmn/a@"+n21)
	// The prune schedule fires too (once a pull is on record) and takes the expired snapshot.
	waitFor(t, "the scheduled prune", 3*time.Minute, "! zfs list -H -o name rust10/Backups/dmn/dmn/a@2025-01-01_00.00.00--1d 2>/dev/null")
	// The journal record follows the destroys (written when the job's prune ends).
	waitFor(t, "the scheduled prune in the journal", time.Minute, "grep -q '\"kind\":\"prune\"' /var/lib/vault-dmn/journal.jsonl")
	// The restart's root phase bootstraps what it finds; b was created before the restart, so a
	// dataset created after the drop is needed for the needs-bootstrap path.
	waitFor(t, "the drop after restart", time.Minute, "test $(grep -c 'dropped privileges' /tmp/daemon.log) -ge 2")
	labtest.Root(t, "zfs create "+src+"/c && zfs snapshot "+src+"/c@"+nowName())
	waitFor(t, "needs-bootstrap for the dataset created after the drop", 100*time.Second,
		"grep -q '\"outcome\":\"needs-bootstrap\"' /var/lib/vault-dmn/journal.jsonl")
	var st report.JobState
	raw := labtest.Root(t, "cat /var/lib/vault-dmn/jobs/dmn.json")
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatalf("state file does not parse: %v\n%s", err, raw)
	}
	c := st.Datasets[src+"/c"]
	if c == nil || c.Outcome != "needs-bootstrap" || !strings.Contains(c.Hint, "vault bootstrap dmn") {
		t.Errorf("state of %s/c: %+v; want needs-bootstrap with the command", src, c)
	}
	// After vault bootstrap at the console, the next scheduled pull includes it.
	out := labtest.Root(t, "/mnt/lab/vault bootstrap -c "+cfg+" dmn")
	if !strings.Contains(out, src+"/c") {
		t.Errorf("vault bootstrap did not receive %s/c:\n%s", src, out)
	}
	time.Sleep(time.Second) // a name of its own
	n23 := nowName()
	labtest.Root(t, "zfs snapshot "+src+"/c@"+n23)
	waitFor(t, "the scheduled pull of the bootstrapped dataset", 100*time.Second, "zfs list -H -o name rust10/Backups/dmn/dmn/c@"+n23)
	if out := labtest.Root(t, "/mnt/lab/vault bootstrap -c "+cfg+" dmn"); !strings.Contains(out, "nothing to do") {
		t.Errorf("a second bootstrap should change nothing:\n%s", out)
	}
	// vault pull at the console goes through the daemon (the backup user may use the socket).
	if out := labtest.As(t, "backup", "/mnt/lab/vault pull -c "+cfg); !strings.Contains(out, "up-to-date") && !strings.Contains(out, "ok") {
		t.Errorf("vault pull through the daemon printed:\n%s", out)
	}
	if n := strings.TrimSpace(labtest.Root(t, "grep -c '' /var/lib/vault-dmn/journal.jsonl")); n == "0" {
		t.Errorf("the journal is empty")
	}
}
