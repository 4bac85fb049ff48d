//go:build lab && linux

package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
)

// vault status --watch as an operator sees it on an 80x25 console (a tmux pane that size)
// while the daemon pulls: the transfer's line shows its target, its bytes against the
// estimate and a rate, and the frame fits the screen. The stream is made to last about half a
// minute (64 MiB at 2 MiB/s), pulled by the daemon's own schedule as the backup user.
func TestLabStatusWatch(t *testing.T) {
	// Mostly waiting for a firing and a rate-limited stream: it runs beside the other tests.
	t.Parallel()
	const (
		src      = "host05data/watch"
		target   = "rust10/Backups/watch/watch"
		stateDir = "/var/lib/vault-watch"
		logFile  = "/tmp/vault-watch-daemon.log"
	)
	labtest.Root(t, timeTravel("zfs create -p "+src+"\nhead -c 1M /dev/urandom >/"+src+"/f\n"+snapAt(src+"@2026-11-20_00.00.00--1w")))
	cfg := pullConfig(t, "watch", []string{src}, `schedule = "* * * * *"
bandwidth_limit = "2MiB"`)
	labtest.Root(t, "sed -i 's#^state_dir = .*#state_dir = \""+stateDir+"\"#' "+cfg+" && /mnt/lab/vault config check "+cfg+" >/dev/null")
	pid := strings.TrimSpace(labtest.Root(t, "nohup /mnt/lab/vault daemon -c "+cfg+" --log stderr >>"+logFile+" 2>&1 </dev/null & echo $!"))
	t.Cleanup(func() {
		labtest.Try(t, "", "tmux kill-session -t watch 2>/dev/null; kill "+pid+" 2>/dev/null; sleep 1; pkill -9 -f '^/mnt/lab/vault daemon -c "+cfg+"' || true")
	})
	wait := func(what string, timeout time.Duration, script string) string {
		t.Helper()
		return waitForLogging(t, logFile, what, timeout, script)
	}
	wait("the bootstrap's first receive", 2*time.Minute, "zfs list -H -o name "+target+"@2026-11-20_00.00.00--1w")
	wait("the drop", time.Minute, "grep -q 'dropped privileges' "+logFile)

	// A snapshot named for the guest's clock, for the next firing to pull: 64 MiB at 2 MiB/s.
	snap := strings.TrimSpace(labtest.Root(t, "date -u +%Y-%m-%d_%H.%M.%S")) + "--1w"
	labtest.Root(t, "head -c 64M /dev/urandom >/"+src+"/g && zfs snapshot "+src+"@"+snap)
	wait("the scheduled receive", 100*time.Second, "ps -o args= -C zfs | grep -E 'receive .*"+target+"$'")

	// The live view in a pane of an 80x25 console, as the vault user; its frame is read once
	// the transfer line has bytes and a rate.
	screen := labtest.As(t, "backup", `tmux new-session -d -s watch -x 80 -y 25 "/mnt/lab/vault status -c `+cfg+` --watch --interval 1s; sleep 60"
for _ in $(seq 60); do tmux capture-pane -p -t watch | grep -E '^`+target+` +incr +[0-9.]+ [KMG]iB/[0-9.]+ [KMG]iB +[0-9]+% +[0-9.]+ [KMG]iB/s' >/dev/null && break; sleep 0.5; done
tmux capture-pane -p -t watch; tmux kill-session -t watch`)
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	var transfer string
	for _, l := range lines {
		if strings.HasPrefix(l, target+" ") {
			transfer = l
		}
	}
	if transfer == "" || !strings.Contains(transfer, "iB/s") || !strings.Contains(transfer, "%") {
		t.Errorf("no transfer line for %s with bytes, percent and rate on the screen:\n%s\ndaemon log:\n%s", target, screen, labtest.Root(t, "tail -20 "+logFile))
	}
	for _, want := range []string{"TRANSFERS", "LEVEL  POOL", "rust10", "LEVEL    JOB"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the frame lacks %q:\n%s", want, screen)
		}
	}
	// The job's row: before its first run ends it has no dataset yet (UNKNOWN, never run), after
	// it one row per dataset.
	if !regexp.MustCompile(`(?m)^(OK|WARN|CRIT|UNKNOWN) +watch +`).MatchString(screen) {
		t.Errorf("the frame has no row for the job watch:\n%s", screen)
	}
	if len(lines) > 25 {
		t.Errorf("the frame is %d lines, more than the 25 of the console:\n%s", len(lines), screen)
	}
	for i, l := range lines {
		if len(l) > 80 {
			t.Errorf("line %d is %d columns, more than 80: %q", i+1, len(l), l)
		}
		for _, r := range l {
			if r < 0x20 || r > 0x7e {
				t.Errorf("line %d is not plain ASCII: %q", i+1, l)
				break
			}
		}
	}
	// The stream ends, and then the transfers read "none". Without a terminal the frames follow
	// each other after a line of dashes, and SIGINT ends the watch with exit 0.
	wait("the pull to finish", 2*time.Minute, "zfs list -H -o name "+target+"@"+snap)
	res := labtest.Try(t, "backup", "timeout --preserve-status -s INT 3 /mnt/lab/vault status -c "+cfg+" --watch --interval 1s")
	if res.Exit != 0 || !strings.HasPrefix(res.Stdout, strings.Repeat("-", 80)+"\n") || !strings.Contains(res.Stdout, "\nTRANSFERS: none\n") {
		t.Errorf("vault status --watch without a terminal, ended by SIGINT: %s", res)
	}
}
