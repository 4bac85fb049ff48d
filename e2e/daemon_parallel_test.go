//go:build lab && linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/state"
)

// The daemon's bound, seen from outside: three jobs fire on the same minute with max_parallel 2;
// each run is made to last over a minute (64 MiB at 1 MiB/s and the overhead; 40 MiB once ended
// 0.8 s before the next firing), so the third job waits for a slot, and a run spans the next
// firing, which must be skipped, not started again. Three
// independent witnesses: zfs receive processes sampled in the guest, the daemon's own
// started/finished log lines, and the journal's start and duration of each step.
func TestLabDaemonParallelBound(t *testing.T) {
	// Most of this test is waiting for firings and rate-limited streams: it runs beside the
	// other daemon test.
	t.Parallel()
	const (
		stateDir = "/var/lib/vault-par"
		logFile  = "/tmp/vault-par-daemon.log"
		psFile   = "/tmp/vault-par-ps.log"
		cfg      = "/etc/vault/par.toml"
	)
	jobs := []string{"par1", "par2", "par3"}
	var b strings.Builder
	fmt.Fprintf(&b, `user = "backup"
state_dir = %q
zfs_binary = "/sbin/zfs"
hold_prefix = "vault:lab:"
max_parallel = 2

[ssh]
identity = "/home/backup/.ssh/id_ed25519"
known_hosts = "/home/backup/.ssh/known_hosts"
connect_timeout = "20s"
`, stateDir)
	for i, j := range jobs {
		fmt.Fprintf(&b, `
[[job]]
name = %q
source = "backup@127.0.0.1:22"
source_datasets = ["host05data/par/j%d"]
target = "rust10/Backups/%s"
schedule = "* * * * *"
rpo = "26h"
bandwidth_limit = "1MiB"
`, j, i+1, j)
	}
	t.Cleanup(func() {
		labtest.Try(t, "", `test -s /tmp/vault-par.pid && kill -9 $(cat /tmp/vault-par.pid) 2>/dev/null
test -s /tmp/vault-par-ps.pid && kill $(cat /tmp/vault-par-ps.pid) 2>/dev/null
sleep 1
zfs destroy -r host05data/par; for j in par1 par2 par3; do zfs destroy -r rust10/Backups/$j; done
rm -rf `+stateDir+` `+cfg+` /tmp/vault-par.pid /tmp/vault-par-ps.pid `+psFile+" "+logFile)
	})
	// Small first snapshots: the root phase's first receives are quick and sequential.
	labtest.Root(t, `mkdir -p /etc/vault && cat >`+cfg+` <<'EOF'
`+b.String()+`EOF
/mnt/lab/vault config check `+cfg+` >/dev/null
for i in 1 2 3; do zfs create -p host05data/par/j$i && head -c 1M /dev/urandom >/host05data/par/j$i/a; done
zfs snapshot host05data/par/j1@2026-11-20_00.00.00--1w host05data/par/j2@2026-11-20_00.00.00--1w host05data/par/j3@2026-11-20_00.00.00--1w
nohup /mnt/lab/vault daemon -v -c `+cfg+` --log stderr >`+logFile+` 2>&1 </dev/null & echo $! >/tmp/vault-par.pid`)
	waitFor(t, "the root phase", 3*time.Minute, "grep -q 'vault daemon running' "+logFile)
	for _, j := range jobs {
		if got := snapNames(t, "rust10/Backups/"+j+"/j"+j[3:]); !slices.Equal(got, []string{"2026-11-20_00.00.00--1w"}) {
			t.Fatalf("after bootstrap rust10/Backups/%s holds %q", j, got)
		}
	}

	// 64 MiB each, incompressible, then sample the receives until every job has its copy.
	labtest.Root(t, `for i in 1 2 3; do head -c 64M /dev/urandom >/host05data/par/j$i/b; done
zfs snapshot host05data/par/j1@2026-11-21_00.00.00--1w host05data/par/j2@2026-11-21_00.00.00--1w host05data/par/j3@2026-11-21_00.00.00--1w
nohup bash -c 'while :; do echo "$(date +%s.%N) $(ps -o args= -C zfs | grep -o "receive .*rust10/Backups/par[0-9]" | grep -o "par[0-9]$" | tr "\n" " ")"; sleep 0.3; done' >`+psFile+` 2>&1 </dev/null &
echo $! >/tmp/vault-par-ps.pid`)
	waitFor(t, "every job's scheduled pull", 8*time.Minute, `for i in 1 2 3; do zfs list -H -o name rust10/Backups/par$i/j$i@2026-11-21_00.00.00--1w || exit 1; done`)
	// One more minute: the firing after the slow runs, skipped or run with nothing to do.
	time.Sleep(70 * time.Second)
	labtest.Root(t, "kill $(cat /tmp/vault-par-ps.pid); rm /tmp/vault-par-ps.pid")

	// Witness 1: the receives running at each sample.
	samples := strings.Split(strings.TrimSpace(labtest.Root(t, "cat "+psFile)), "\n")
	most := 0
	for _, s := range samples {
		f := strings.Fields(s)
		if len(f) == 0 {
			continue
		}
		running := f[1:]
		most = max(most, len(running))
		if len(running) > 2 {
			t.Errorf("receives for %d jobs at once (bound 2): %s", len(running), s)
		}
		for _, j := range jobs {
			if n := countOf(running, j); n > 1 {
				t.Errorf("%d receives of job %s at once: %s", n, j, s)
			}
		}
	}
	if most < 2 {
		t.Errorf("never two jobs receiving at once in %d samples: the bound is not used", len(samples))
	}
	t.Logf("%d samples of zfs receive, at most %d jobs at once", len(samples), most)

	// Witness 2: the daemon's log, run by run.
	type event struct {
		at      time.Time
		job     string
		started bool
	}
	var events []event
	sc := bufio.NewScanner(strings.NewReader(labtest.Root(t, "cat "+logFile)))
	for sc.Scan() {
		var l struct {
			Msg string `json:"@message"`
			At  string `json:"@timestamp"`
			Job string `json:"job"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if l.Msg != "pull started" && l.Msg != "pull finished" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, l.At)
		if err != nil {
			t.Fatalf("log line with a bad time: %s", sc.Text())
		}
		events = append(events, event{at, l.Job, l.Msg == "pull started"})
	}
	spanned := map[string]int{}
	startedAt := map[string]time.Time{}
	inRun := map[string]bool{}
	most = 0
	for _, e := range events {
		switch {
		case e.started && inRun[e.job]:
			t.Errorf("job %s started at %s while its last run had not finished", e.job, e.at.Format(time.RFC3339Nano))
		case !e.started && !inRun[e.job]:
			t.Errorf("job %s finished at %s without a start", e.job, e.at.Format(time.RFC3339Nano))
		}
		inRun[e.job] = e.started
		if e.started {
			startedAt[e.job] = e.at
		} else if e.at.Truncate(time.Minute).After(startedAt[e.job]) {
			spanned[e.job]++
		}
		n := 0
		for _, r := range inRun {
			if r {
				n++
			}
		}
		most = max(most, n)
		if n > 2 {
			t.Errorf("%d jobs pulling at once at %s (bound 2)", n, e.at.Format(time.RFC3339Nano))
		}
	}
	if most != 2 {
		t.Errorf("the daemon's log shows at most %d jobs pulling at once, want exactly the bound 2", most)
	}
	// The third job waited for a slot, so some run spanned the next firing (and, by the check
	// above, its job did not start again until it finished).
	if len(spanned) == 0 {
		t.Errorf("no run spanned a firing of its schedule; the runs were meant to last a minute:\n%s", labtest.Root(t, "grep -E 'pull (started|finished)' "+logFile))
	}
	t.Logf("%d started/finished events; runs that spanned a firing: %v", len(events), spanned)

	// Witness 3: the journal, read with vault's own reader: one step per job moved the data.
	local := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(local, []byte(labtest.Root(t, "cat "+stateDir+"/journal.jsonl")), 0o600); err != nil {
		t.Fatal(err)
	}
	moved := map[string]int{}
	torn, err := state.ReadJournal(local, func(r state.Record) error {
		if r.Kind == state.KindPullStep && r.Bytes >= 64<<20 {
			moved[r.Job]++
		}
		return nil
	})
	if err != nil || torn != 0 {
		t.Fatalf("journal: %d torn lines, %v", torn, err)
	}
	for _, j := range jobs {
		if moved[j] != 1 {
			t.Errorf("the journal has %d steps of job %s that moved the 64 MiB, want 1", moved[j], j)
		}
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
