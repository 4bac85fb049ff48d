package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/control"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
)

// vaultDir is a vault's configuration and state directory for the status and check commands:
// jobs host05 (two datasets) and host06, no daemon, no zfs, and a stand-in zpool (fakeZpool)
// that shows their pool rust10 healthy, scrubbed two days ago.
type vaultDir struct {
	dir, config, stateDir  string
	zpoolDir               string // the stand-in zpool, what it prints, and its calls (zpool-calls.log)
	zpoolList, zpoolStatus string // what the stand-in zpool prints
}

// newVaultDir makes one under a short path (the control socket's path is limited to 103
// bytes). zfs is the zfs_binary to configure; "" names one that does not exist.
func newVaultDir(t *testing.T, zfsBin string) *vaultDir {
	t.Helper()
	dir, err := os.MkdirTemp("", "vs")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	v := &vaultDir{dir: dir, config: filepath.Join(dir, "vault.toml"), stateDir: filepath.Join(dir, "state")}
	if zfsBin == "" {
		zfsBin = filepath.Join(dir, "no-zfs-here")
	}
	zpoolBin := v.fakeZpool(t)
	cfg := fmt.Sprintf(`state_dir = %q
zfs_binary = %q
zpool_binary = %q
prometheus_textfile = %q

[[job]]
name = "host05"
source = "backup@host05"
source_datasets = ["host05data/jail"]
target = "rust10/Backups/host05"
schedule = "15 1 * * *"
rpo = "26h"

[[job]]
name = "host06"
source = "backup@host06"
source_datasets = ["host06data/vm"]
target = "rust10/Backups/host06"
schedule = "15 2 * * *"
rpo = "26h"
`, v.stateDir, zfsBin, zpoolBin, filepath.Join(dir, "vault.prom"))
	require.NoError(t, os.WriteFile(v.config, []byte(cfg), 0o600))
	return v
}

// fakeZpool writes a stand-in zpool that answers the two commands vault runs, and only those,
// with v.zpoolList and v.zpoolStatus: rust10 healthy, scrubbed two days ago.
func (v *vaultDir) fakeZpool(t *testing.T) string {
	t.Helper()
	v.zpoolDir = t.TempDir() // not under v.dir, which vault status must leave as it is
	v.zpoolList = filepath.Join(v.zpoolDir, "zpool-list.txt")
	v.zpoolStatus = filepath.Join(v.zpoolDir, "zpool-status.txt")
	scrubbed := time.Now().UTC().Add(-48 * time.Hour).Format("Mon Jan _2 15:04:05 2006")
	require.NoError(t, os.WriteFile(v.zpoolList, []byte("rust10\t1000\t400\t600\t40\tONLINE\t3\n"), 0o600))
	require.NoError(t, os.WriteFile(v.zpoolStatus, []byte("  pool: rust10\n state: ONLINE\n"+
		"  scan: scrub repaired 0B in 00:10:00 with 0 errors on "+scrubbed+"\n"+
		"config:\n\n"+
		"\tNAME        STATE     READ WRITE CKSUM\n"+
		"\trust10      ONLINE       0     0     0\n"+
		"\t  mirror-0  ONLINE       0     0     0\n"+
		"\t    sda     ONLINE       0     0     0\n"+
		"\t    sdb     ONLINE       0     0     0\n"+
		"\nerrors: No known data errors\n"), 0o600))
	bin := filepath.Join(v.zpoolDir, "zpool")
	script := "#!/bin/sh\n" +
		`echo "$*" >> ` + filepath.Join(v.zpoolDir, "zpool-calls.log") + "\n" +
		`case "$*" in` + "\n" +
		`"list -H -p -o name,size,allocated,free,capacity,health,fragmentation") cat ` + v.zpoolList + ";;\n" +
		`"status -p rust10") cat ` + v.zpoolStatus + ";;\n" +
		`*) echo "unexpected: $*" >&2; exit 1;;` + "\nesac\n"
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	return bin
}

// save writes a job's state file as the daemon does.
func (v *vaultDir) save(t *testing.T, js *report.JobState) {
	t.Helper()
	b, err := json.Marshal(js)
	require.NoError(t, err)
	v.saveRaw(t, js.Job, b)
}

func (v *vaultDir) saveRaw(t *testing.T, job string, b []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(v.stateDir, "jobs"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(v.stateDir, "jobs", job+".json"), b, 0o640))
}

// host05 is host05's state: jail pulled age ago, jail/www too.
func host05(age time.Duration) *report.JobState {
	at := time.Now().Add(-age).Truncate(time.Second)
	return &report.JobState{Job: "host05", LastRun: at, Datasets: map[string]*report.DatasetState{
		"host05data/jail":     {Target: "rust10/Backups/host05/jail", Outcome: "up-to-date", LastAttempt: at, LastSuccess: at, Newest: "2026-11-26_00.00.00--1w"},
		"host05data/jail/www": {Target: "rust10/Backups/host05/jail/www", Outcome: "ok", LastAttempt: at, LastSuccess: at, Newest: "2026-11-26_00.00.00--1w", LastBytes: 4096},
	}}
}

func runVault(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &stdio{in: strings.NewReader(""), out: &out, err: &errOut, getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

func TestStatusFromTheStateDirectory(t *testing.T) {
	v := newVaultDir(t, "")
	v.save(t, host05(2*time.Hour))
	before := dirListing(t, v.dir)

	code, out, errOut := runVault("status", "-c", v.config)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"LEVEL    JOB     DATASET              LAST PULL   LAST GOOD         AGE/RPO  NEWEST                   SNAPS  HELD  HOLDS  FROZEN\n",
		"\nOK       host05  host05data/jail      up-to-date  ",
		"\nOK       host05  host05data/jail/www  ok          ",
		"  2h/26h   2026-11-26_00.00.00--1w      -     -      -  no\n",
		"\nUNKNOWN  host06  -                    -           -                 -/26h    -                            -     -      -  -\n" +
			"           no state yet: never run\n",
		"\nLEVEL  POOL    STATE   CAP  FRAG  R/W/CKSUM  LAST SCRUB        SCAN\nOK     rust10  ONLINE  40%    3%  0/0/0      ",
		"\noverall UNKNOWN: 2 dataset(s) and 1 job(s) without any, in 2 job(s), 1 pool(s): 3 ok, 0 warn, 0 crit, 1 unknown\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if after := dirListing(t, v.dir); after != before {
		t.Errorf("vault status changed the directory:\nbefore %s\nafter  %s", before, after)
	}

	code, out, _ = runVault("status", "-c", v.config, "host05")
	if code != 0 || strings.Contains(out, "host06") || !strings.Contains(out, "overall OK: 2 dataset(s) in 1 job(s), 1 pool(s)") {
		t.Errorf("status host05: exit %d, stdout:\n%s", code, out)
	}
}

// dirListing names every file under dir with its mode, to show that a command wrote nothing.
func dirListing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %s %d; ", strings.TrimPrefix(p, dir), fi.Mode(), fi.Size())
		return nil
	}))
	return b.String()
}

func TestStatusJSON(t *testing.T) {
	v := newVaultDir(t, "")
	v.save(t, host05(27*time.Hour))
	code, out, errOut := runVault("status", "-c", v.config, "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var got struct {
		Summary report.Summary     `json:"summary"`
		Jobs    []report.JobStatus `json:"jobs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	want := report.Summary{Level: report.LevelWarn, Jobs: 2, Datasets: 2, Pools: 1, OK: 1, Warn: 2, Unknown: 1}
	if got.Summary != want {
		t.Errorf("summary: got %+v, want %+v", got.Summary, want)
	}
	if len(got.Jobs) != 2 || got.Jobs[0].Job != "host05" || len(got.Jobs[0].Datasets) != 2 ||
		got.Jobs[0].Datasets[0].Findings[0].Kind != report.KindLag || !got.Jobs[1].NeverRun {
		t.Errorf("jobs: %s", out)
	}
}

func TestStatusProblems(t *testing.T) {
	t.Run("no state directory yet", func(t *testing.T) {
		v := newVaultDir(t, "")
		code, out, errOut := runVault("status", "-c", v.config)
		if code != 0 || errOut != "" || strings.Count(out, "never run") != 2 {
			t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
		}
		if _, err := os.Stat(v.stateDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("vault status created the state directory: %v", err)
		}
	})
	t.Run("an unreadable job state", func(t *testing.T) {
		v := newVaultDir(t, "")
		v.save(t, host05(time.Hour))
		v.saveRaw(t, "host06", []byte(`{"job":"host06","bogus":1}`))
		code, out, _ := runVault("status", "-c", v.config)
		if code != 0 || !strings.Contains(out, "UNKNOWN  host06") || !strings.Contains(out, `cannot read its state: cannot load state "jobs/host06"`) ||
			!strings.Contains(out, "OK       host05") {
			t.Errorf("exit %d, stdout:\n%s", code, out)
		}
	})
	t.Run("an unknown job", func(t *testing.T) {
		v := newVaultDir(t, "")
		code, out, errOut := runVault("status", "-c", v.config, "nope")
		if code != 2 || out != "" || !strings.Contains(errOut, `no job named "nope"`) {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("a state directory that cannot be read", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads everything")
		}
		v := newVaultDir(t, "")
		v.save(t, host05(time.Hour))
		require.NoError(t, os.Chmod(v.stateDir, 0))
		t.Cleanup(func() { os.Chmod(v.stateDir, 0o750) })
		code, _, errOut := runVault("status", "-c", v.config)
		if code != 1 || !strings.Contains(errOut, "permission denied (run this as root or as backup)") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

// serveStatus runs a control server at the vault's socket that answers "status" as the daemon
// does (readStates over its store), or with handler when it is not nil.
func serveStatus(t *testing.T, v *vaultDir, handler control.Handler) {
	t.Helper()
	require.NoError(t, os.MkdirAll(v.stateDir, 0o750))
	c, err := conf.Load(v.config)
	require.NoError(t, err)
	store, err := state.Open(v.stateDir, -1, -1)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	if handler == nil {
		handler = func(_ context.Context, _ control.Peer, req control.Request) (any, error) {
			if req.Op != "status" {
				return nil, fmt.Errorf("unknown request %q", req.Op)
			}
			return operate.ReadStates(store, c, req.Jobs), nil
		}
	}
	var allow []int
	if uid := os.Geteuid(); uid != 0 {
		allow = []int{uid}
	}
	srv := &control.Server{Path: controlSocket(c), AllowUIDs: allow, Handler: handler}
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
}

func TestStatusThroughTheDaemon(t *testing.T) {
	v := newVaultDir(t, "")
	v.save(t, host05(time.Hour))
	serveStatus(t, v, nil)
	code, out, errOut := runVault("status", "-c", v.config)
	if code != 0 || errOut != "" || !strings.Contains(out, "OK       host05  host05data/jail/www") || !strings.Contains(out, "UNKNOWN  host06") {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}

	// What the daemon says wins over the files: it is what the check reports.
	v2 := newVaultDir(t, "")
	v2.save(t, host05(time.Hour))
	// The states are dated before the check reads its clock, so the age is 30h, not 29h59m.
	late, fresh := host05(30*time.Hour), host05(time.Hour)
	serveStatus(t, v2, func(context.Context, control.Peer, control.Request) (any, error) {
		return operate.States{Jobs: map[string]*report.JobState{"host05": late, "host06": fresh}}, nil
	})
	code, out, _ = runVault("check", "-c", v2.config)
	if code != 1 || !strings.HasPrefix(out, "VAULT WARNING - host05 host05data/jail: last good pull 30h ago, over rpo 26h;") {
		t.Errorf("check through the daemon: exit %d, stdout %q", code, out)
	}
}

func TestStatusFallsBackWhenTheDaemonCannotAnswer(t *testing.T) {
	v := newVaultDir(t, "")
	v.save(t, host05(time.Hour))
	serveStatus(t, v, func(_ context.Context, _ control.Peer, req control.Request) (any, error) {
		return nil, fmt.Errorf("unknown request %q", req.Op) // a daemon older than vault status
	})
	code, out, errOut := runVault("status", "-c", v.config, "host05")
	if code != 0 || !strings.Contains(out, "OK       host05  host05data/jail ") {
		t.Errorf("exit %d, stdout:\n%s", code, out)
	}
	if want := `vault status: the daemon did not answer (daemon: unknown request "status"); read the state directory instead` + "\n"; errOut != want {
		t.Errorf("stderr: got %q, want %q", errOut, want)
	}
}

func TestStatusListsHoldingsWithZFS(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "zfs")
	// One listing per job, of its target: name, used, userrefs, quota.
	script := "#!/bin/sh\n" +
		`[ "$*" = "list -H -p -o name,used,userrefs,quota -t filesystem,volume,snapshot -r rust10/Backups/host05" ] || { echo "unexpected: $*" >&2; exit 1; }` + "\n" +
		"printf 'rust10/Backups/host05\\t5000\\t-\\t5400\\n" +
		"rust10/Backups/host05/jail\\t4000\\t-\\t0\\n" +
		"rust10/Backups/host05/jail@a\\t10\\t0\\t-\\n" +
		"rust10/Backups/host05/jail@b\\t0\\t1\\t-\\n" +
		"rust10/Backups/host05/jail/www\\t3072\\t-\\t0\\n" +
		"rust10/Backups/host05/jail/www@a\\t2048\\t1\\t-\\n'\n"
	require.NoError(t, os.WriteFile(fake, []byte(script), 0o755))
	v := newVaultDir(t, fake)
	v.save(t, host05(time.Hour))
	code, out, errOut := runVault("status", "-c", v.config, "host05")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"2026-11-26_00.00.00--1w      2    928 B      1  no\n",
		"2026-11-26_00.00.00--1w      1  3.0 KiB      1  no\n",
		"the target rust10/Backups/host05 uses 4.9 KiB of its quota 5.3 KiB (92%): raise quota",
		"host05: rust10/Backups/host05 uses 4.9 KiB of its quota 5.3 KiB (92%)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	// A listing that fails leaves the columns unknown and says why.
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho \"cannot open 'rust10/Backups/host05': dataset does not exist\" >&2\nexit 1\n"), 0o755))
	code, out, errOut = runVault("status", "-c", v.config, "host05")
	if code != 0 || !strings.Contains(errOut, "vault status: cannot list what the vault holds for host05: ") || !strings.Contains(out, "     -     -      -  no\n") {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

func TestCheck(t *testing.T) {
	v := newVaultDir(t, "")
	v.save(t, host05(time.Hour))
	lagging := newVaultDir(t, "")
	lagging.save(t, host05(30*time.Hour))
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // the line's start
	}{
		{"all ok", []string{"check", "-c", v.config, "host05"}, 0, "VAULT OK - 2 dataset(s) in 1 job(s) and 1 pool(s) ok | datasets=2 ok=3 warn=0 crit=0 unknown=0 oldest_lag=36"},
		{"a job never run", []string{"check", "-c", v.config}, 3, "VAULT UNKNOWN - host06: no state yet: never run"},
		{"lagging", []string{"check", "-c", lagging.config, "host05"}, 1, "VAULT WARNING - host05 host05data/jail: last good pull 30h ago, over rpo 26h; host05 host05data/jail/www: "},
		{"--warn", []string{"check", "-c", lagging.config, "--warn", "2d", "host05"}, 0, "VAULT OK - 2 dataset(s) in 1 job(s) and 1 pool(s) ok | datasets=2 ok=3 warn=0 crit=0 unknown=0 oldest_lag=10800"}, // 108000s or 108001s: the state is dated in whole seconds
		{"--crit", []string{"check", "-c", lagging.config, "--crit", "1d", "host05"}, 2, "VAULT CRITICAL - host05 host05data/jail: last good pull 30h ago, over rpo_critical 24h;"},
		{"--crit not above --warn", []string{"check", "-c", v.config, "--warn", "2d", "--crit", "1d"}, 3, "VAULT UNKNOWN - bad usage: --crit (24h) must be longer than --warn (2d)\n"},
		{"a bad duration", []string{"check", "-c", v.config, "--warn", "soon"}, 3, `VAULT UNKNOWN - bad usage: invalid value "soon" for flag -warn: invalid duration "soon"`},
		{"an unknown flag", []string{"check", "-c", v.config, "--quiet"}, 3, "VAULT UNKNOWN - bad usage: flag provided but not defined: -quiet\n"},
		{"an unknown job", []string{"check", "-c", v.config, "nope"}, 3, `VAULT UNKNOWN - no job named "nope" in the configuration; jobs are "host05", "host06"` + "\n"},
		{"a missing configuration", []string{"check", "-c", filepath.Join(v.dir, "missing.toml")}, 3, `VAULT UNKNOWN - cannot read configuration "` + filepath.Join(v.dir, "missing.toml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := runVault(tc.args...)
			if code != tc.wantCode || !strings.HasPrefix(out, tc.wantOut) || strings.Count(out, "\n") != 1 {
				t.Errorf("got exit %d and stdout %q\nwant exit %d and one line starting %q", code, out, tc.wantCode, tc.wantOut)
			}
		})
	}
}

func TestCheckABadConfigurationIsUnknown(t *testing.T) {
	v := newVaultDir(t, "")
	bad := filepath.Join(v.dir, "bad.toml")
	require.NoError(t, os.WriteFile(bad, []byte(badConfig), 0o600))
	code, out, _ := runVault("check", "-c", bad)
	if code != 3 || !strings.HasPrefix(out, "VAULT UNKNOWN - cannot use configuration "+bad+", nothing done: ") || strings.Count(out, "\n") != 1 {
		t.Errorf("exit %d, stdout %q", code, out)
	}
}

func TestWriteMetrics(t *testing.T) {
	v := newVaultDir(t, "")
	v.save(t, host05(time.Hour))
	c, err := conf.Load(v.config)
	require.NoError(t, err)
	store, err := state.Open(v.stateDir, -1, -1)
	require.NoError(t, err)
	defer store.Close()
	require.NoError(t, operate.WriteMetrics(store, c, time.Now()))
	b, err := os.ReadFile(c.PrometheusTextfile)
	require.NoError(t, err)
	for _, want := range []string{
		"# TYPE vault_dataset_state gauge\n",
		`vault_dataset_state{vault_job="host05",dataset="host05data/jail/www",target="rust10/Backups/host05/jail/www"} 0` + "\n",
		`vault_pool_health{pool="rust10",state="ONLINE"} 1` + "\n",
		`vault_pool_scrub_in_progress{pool="rust10"} 0` + "\n",
		`vault_job_state{vault_job="host06"} 3` + "\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("textfile lacks %q:\n%s", want, b)
		}
	}
	c.PrometheusTextfile = ""
	require.NoError(t, operate.WriteMetrics(store, c, time.Now()), "no textfile configured")
}

func TestStatusShowsPools(t *testing.T) {
	v := newVaultDir(t, "")
	v.save(t, host05(time.Hour))
	calls := filepath.Join(v.zpoolDir, "zpool-calls.log")

	// Two jobs on one pool: one zpool list and one zpool status.
	code, out, errOut := runVault("status", "-c", v.config, "--json")
	require.Equal(t, 0, code, errOut)
	b, err := os.ReadFile(calls)
	require.NoError(t, err)
	if want := "list -H -p -o name,size,allocated,free,capacity,health,fragmentation\nstatus -p rust10\n"; string(b) != want {
		t.Errorf("zpool calls: got %q, want %q", b, want)
	}
	var got struct {
		Pools []report.PoolStatus `json:"pools"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	if len(got.Pools) != 1 || got.Pools[0].Level != report.LevelOK || got.Pools[0].State != "ONLINE" || got.Pools[0].ScrubAgeSeconds == nil {
		t.Errorf("pools: %+v", got.Pools)
	}

	// A raidz member gone: CRIT, with the command to look.
	st, err := os.ReadFile(v.zpoolStatus)
	require.NoError(t, err)
	degraded := strings.NewReplacer(" state: ONLINE", " state: DEGRADED", "rust10      ONLINE", "rust10      DEGRADED",
		"mirror-0  ONLINE ", "mirror-0  DEGRADED", "sdb     ONLINE       0     0     0", "sdb     UNAVAIL      0     0     0  cannot open").Replace(string(st))
	require.NoError(t, os.WriteFile(v.zpoolStatus, []byte(degraded), 0o600))
	code, out, _ = runVault("check", "-c", v.config, "host05")
	if code != 2 || !strings.HasPrefix(out, "VAULT CRITICAL - pool rust10 is DEGRADED: zpool status -x rust10 says") {
		t.Errorf("check: exit %d, %q", code, out)
	}

	// zpool that cannot run: one WARN line, status still answers.
	require.NoError(t, os.Remove(filepath.Join(v.zpoolDir, "zpool")))
	code, out, _ = runVault("status", "-c", v.config)
	if code != 0 || strings.Count(out, "pools not checked") != 1 || !strings.Contains(out, "\nWARN     pools not checked: cannot run zpool list") {
		t.Errorf("status without zpool: exit %d:\n%s", code, out)
	}
	code, out, _ = runVault("check", "-c", v.config, "host05")
	if code != 1 || !strings.HasPrefix(out, "VAULT WARNING - pools not checked:") {
		t.Errorf("check without zpool: exit %d, %q", code, out)
	}
}
