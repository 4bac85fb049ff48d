//go:build lab && linux

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/ledger"
	"github.com/belltech/vault/props"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
)

// stateTempRE is a temporary file of an atomic write (renameio: "." + name + digits), which a
// kill may strand by design; the store never reads it and the daemon sweeps it at start.
var stateTempRE = regexp.MustCompile(`^\..+\.json[0-9]+$`)

// stateCheck copies the state directory out of the guest and reads it back with vault's own
// loaders: the job's state file and ledger must load (strictly), the journal must read with at
// most a torn last line (the one thing ReadJournal and OpenJournal promise to tolerate), and
// nothing else may be there but stranded temporary files. It returns the journal's record and torn
// line counts and the stranded temporary files.
func stateCheck(t *testing.T, dir string, jobs []string) (records, torn int, temps []string) {
	t.Helper()
	raw := labtest.Root(t, "tar -C "+dir+" -czf - . | base64 -w0")
	local := t.TempDir()
	untar(t, raw, local)
	err := filepath.WalkDir(local, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == local {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		switch {
		case d.IsDir() && (rel == "jobs" || rel == "ledger" || rel == "props"):
		case rel == state.JournalFile || rel == state.LockFile || strings.HasPrefix(rel, "jobs/") && slices.Contains(jobs, strings.TrimSuffix(rel[5:], ".json")):
		case strings.HasPrefix(rel, "ledger/") && slices.Contains(jobs, strings.TrimSuffix(rel[7:], ".json")):
		case strings.HasPrefix(rel, "props/") && slices.Contains(jobs, strings.TrimSuffix(rel[6:], ".json")):
		case stateTempRE.MatchString(d.Name()):
			temps = append(temps, rel)
		default:
			t.Errorf("unexpected file in the state directory: %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(local, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, job := range jobs {
		var js report.JobState
		ok, err := store.Load("jobs/"+job, &js)
		if err != nil || !ok {
			t.Fatalf("the state file of job %s does not load: found %v, %v", job, ok, err)
		}
		if js.Job != job || len(js.Datasets) == 0 {
			t.Errorf("the state file of job %s loads but is not the job's: %+v", job, js)
		}
		// Its ledger, the snapshots the last check saw (written after the state).
		if l, err := ledger.Load(store, job); err != nil || l == nil || len(l.Snapshots) == 0 {
			t.Errorf("the ledger of job %s does not load: %+v, %v", job, l, err)
		}
		// The properties its pulls recorded for a restore, if written yet: they load, strictly.
		if _, err := props.Load(store, job); err != nil {
			t.Errorf("the properties record of job %s does not load: %v", job, err)
		}
	}
	torn, err = state.ReadJournal(filepath.Join(local, state.JournalFile), func(state.Record) error {
		records++
		return nil
	})
	if err != nil {
		t.Fatalf("the journal does not read: %v", err)
	}
	return records, torn, temps
}

func untar(t *testing.T, b64, dir string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Clean(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		default:
			t.Errorf("not a file or directory in the state directory: %s (type %c)", h.Name, h.Typeflag)
		}
	}
}

// statusJSON runs vault status --json as the backup user and returns each job's status.
func statusJSON(t *testing.T, cfg string) []report.JobStatus {
	t.Helper()
	out := labtest.As(t, "backup", "/mnt/lab/vault status --json -c "+cfg)
	var st struct {
		Jobs []report.JobStatus `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("vault status --json does not parse: %v\n%s", err, out)
	}
	return st.Jobs
}

// A kill -9 at any point of a run, again and again, never leaves state that fails to load: vault
// pull as the backup user (it writes the job's state and the journal as the daemon does) is
// killed at moments spread over the whole run by its progress (before its first journal record,
// after some, after all), then the state is read back with vault's loaders and vault status. A clean run and a
// daemon start (which sweeps what kills stranded) leave it all consistent.
func TestLabDaemonKill9NeverCorruptsState(t *testing.T) {
	const (
		root = "host05data/kil"
		dir  = "/var/lib/vault-kil"
		runs = 7
	)
	t.Cleanup(func() {
		labtest.Try(t, "", `test -s /tmp/vault-kil.pid && kill -9 $(cat /tmp/vault-kil.pid) 2>/dev/null
sleep 1
`+destroyHeldScript(root, "rust10/Backups/kil", "rust10/Backups/kil1", "rust10/Backups/kil2", "rust10/Backups/kil3", "rust10/Backups/kil4")+`
rm -rf `+dir+` /etc/vault/kil.toml /tmp/vault-kil.*`)
	})
	labtest.Root(t, "for c in c1 c2 c3 c4; do zfs create -p "+root+"/$c && head -c 1M /dev/urandom >/"+root+"/$c/f0; done && zfs snapshot -r "+root+"@2026-11-01_00.00.00--1w")
	cfg := pruneConfig(t, "kil", []string{root}, `bandwidth_limit = "4MiB"`)
	// Four more jobs, one child each: vault pull records each job as it ends, so the state
	// and journal writes are spread over the whole run, where the kills land.
	jobs := []string{"kil"}
	for i := 1; i <= 4; i++ {
		jobs = append(jobs, fmt.Sprintf("kil%d", i))
		labtest.Root(t, fmt.Sprintf(`cat >>%s <<'EOF'

[[job]]
name = "kil%d"
source = "backup@127.0.0.1:22"
source_datasets = ["%s/c%d"]
target = "rust10/Backups/kil%d"
schedule = "15 1 * * *"
rpo = "26h"
EOF
/mnt/lab/vault config check %s >/dev/null`, cfg, i, root, i, i, cfg))
	}
	mustPull(t, cfg)
	newSnap := func(i int) string {
		name := fmt.Sprintf("2026-11-01_00.%02d.00--1w", i)
		labtest.Root(t, "for c in c1 c2 c3 c4; do head -c 1M /dev/urandom >/"+root+"/$c/f"+fmt.Sprint(i)+"; done && zfs snapshot -r "+root+"@"+name)
		return name
	}
	// One uncut incremental run: the journal records it appends place the kills.
	first, _, _ := stateCheck(t, dir, jobs)
	newSnap(1)
	mustPull(t, cfg)
	records0, _, _ := stateCheck(t, dir, jobs)
	perRun := records0 - first
	if perRun < 5 {
		t.Fatalf("an uncut run of 5 jobs appended %d journal records", perRun)
	}
	t.Logf("an uncut incremental run of 5 jobs appends %d journal records", perRun)

	killed, tornSeen, tempsSeen, midWrites := 0, 0, 0, 0
	prev := records0
	for i := range runs {
		// Run i is killed when the journal has grown by after records (the first run before any,
		// the last after all of them, when it may have ended), plus a random moment of up to a
		// second: placed by the run's progress, not by a clock, so a slower machine or a busy
		// one moves the kills with the writes. The moment lands in the next job's work or in
		// the middle of a write.
		after := i * perRun / (runs - 1)
		extra := rand.N(time.Second)
		delay := fmt.Sprintf("%d new journal records and %s", after, extra.Round(time.Millisecond))
		newSnap(2 + i)
		out := labtest.Root(t, fmt.Sprintf(`n0=$(grep -c '' %[3]s/journal.jsonl)
setpriv --reuid=34 --regid=34 --clear-groups /mnt/lab/vault pull -c %[1]s >/tmp/vault-kil.out 2>&1 </dev/null &
pid=$!; echo $pid >/tmp/vault-kil.pid
while [ "$(grep -c '' %[3]s/journal.jsonl)" -lt $((n0 + %[4]d)) ] && kill -0 $pid 2>/dev/null; do sleep 0.05; done
sleep %.3[2]f
if kill -9 $pid 2>/dev/null; then echo killed; else echo ended; fi
wait $pid 2>/dev/null || true
# The cut receive ends when its input does; the next run must not find it still busy.
for _ in $(seq 100); do pgrep -f 'zfs receive .*rust10/Backups/ki[l]' >/dev/null || break; sleep 0.2; done
! pgrep -f 'zfs receive .*rust10/Backups/ki[l]' >/dev/null`, cfg, extra.Seconds(), dir, after))
		records, torn, temps := stateCheck(t, dir, jobs)
		if strings.Contains(out, "killed") {
			killed++
			// Killed after some jobs were recorded: the kill fell among the writes.
			if records > prev {
				midWrites++
			}
		}
		prev = records
		tornSeen += torn
		tempsSeen += len(temps)
		for _, js := range statusJSON(t, cfg) {
			if js.Unreadable != "" || js.NeverRun {
				t.Errorf("run %d, killed after %s: vault status finds job %s unreadable (%q) or never run", i, delay, js.Job, js.Unreadable)
			}
		}
		t.Logf("run %d: %s after %s; journal %d records, %d torn; temporary files %q", i, strings.TrimSpace(out), delay, records, torn, temps)
	}
	if midWrites == 0 {
		t.Errorf("no kill fell after a job's state and journal were written: the kills missed the writes")
	}
	if killed < runs/2 {
		t.Errorf("only %d of %d runs were killed before they ended: the delays miss the runs", killed, runs)
	}

	// A clean run completes every cut stream; everything is consistent after it.
	mustPull(t, cfg)
	want := fmt.Sprintf("2026-11-01_00.%02d.00--1w", 1+runs)
	records, torn, _ := stateCheck(t, dir, jobs)
	if torn != 0 || records <= records0 {
		t.Errorf("after a clean run the journal has %d records (%d before the kills) and %d torn lines", records, records0, torn)
	}
	for _, js := range statusJSON(t, cfg) {
		if n := len(js.Datasets); js.Job == "kil" && n != 5 || js.Job != "kil" && n != 1 {
			t.Errorf("status lists %d datasets of job %s", len(js.Datasets), js.Job)
		}
		for _, d := range js.Datasets {
			if d.Outcome != "ok" && d.Outcome != "up-to-date" || d.Newest != want || d.Error != "" {
				t.Errorf("after the clean run %s: outcome %q, newest %q, error %q; want ok, %s", d.Dataset, d.Outcome, d.Newest, d.Error, want)
			}
		}
	}
	for _, c := range []string{"c1", "c2", "c3", "c4"} {
		sameContent(t, root+"/"+c, "rust10/Backups/kil/kil/"+c, []string{want})
		if tok := strings.TrimSpace(labtest.Root(t, "zfs get -H -o value receive_resume_token rust10/Backups/kil/kil/"+c)); tok != "-" {
			t.Errorf("rust10/Backups/kil/kil/%s keeps a resume token after the clean run", c)
		}
	}
	// The daemon's start sweeps the temporary files kills stranded; then there are none.
	labtest.Root(t, "nohup /mnt/lab/vault daemon -c "+cfg+" --log stderr >/tmp/vault-kil.log 2>&1 </dev/null & echo $! >/tmp/vault-kil.pid")
	waitFor(t, "the daemon to start", 3*time.Minute, "grep -q 'vault daemon running' /tmp/vault-kil.log")
	labtest.Root(t, "kill -TERM $(cat /tmp/vault-kil.pid); for _ in $(seq 100); do kill -0 $(cat /tmp/vault-kil.pid) 2>/dev/null || exit 0; sleep 0.2; done; exit 1")
	if _, _, temps := stateCheck(t, dir, jobs); len(temps) > 0 {
		t.Errorf("after a daemon start these temporary files are still there: %q", temps)
	}
	t.Logf("%d of %d runs killed mid-way, %d of them among the writes; %d torn journal lines and %d stranded temporary files seen on the way", killed, runs, midWrites, tornSeen, tempsSeen)
}
