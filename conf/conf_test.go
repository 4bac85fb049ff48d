package conf

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// parseFixture parses a testdata file as Load would, with Linux defaults so that the golden
// files do not depend on the system running the tests.
func parseFixture(t *testing.T, path string) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return parse(filepath.Base(path), data, host{goos: "linux", name: "rust10.example.org"})
}

// golden compares got with the golden file, or rewrites it under -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./conf -update to create it")
	if got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s", path, got, want)
	}
}

func TestValidFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.toml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := parseFixture(t, f)
			require.NoError(t, err)
			require.NoError(t, c.Validate(), "a parsed configuration must validate again")
			var b bytes.Buffer
			c.Describe(&b)
			golden(t, strings.TrimSuffix(f, ".toml")+".golden", b.String())
		})
	}
}

func TestInvalidFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.toml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := parseFixture(t, f)
			require.Error(t, err)
			require.Nil(t, c)
			var ps *Problems
			require.True(t, errors.As(err, &ps), "got %T, want *Problems", err)
			for _, p := range *ps {
				if p.Line == 0 && p.Path != "" {
					t.Errorf("%s: problem without a line: %s", f, p)
				}
			}
			golden(t, strings.TrimSuffix(f, ".toml")+".err", err.Error()+"\n")
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := parse("", []byte(`
[[job]]
name = "j"
source = "backup@h"
source_datasets = ["p/a"]
target = "q/b"
schedule = "@daily"
rpo = "26h"
`), host{goos: "freebsd", name: "rust10"})
	require.NoError(t, err)
	j := c.Jobs[0]
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"user", c.User, "backup"},
		{"state_dir", c.StateDir, "/var/db/vault"},
		{"zfs_binary", c.ZFSBinary, "/sbin/zfs"},
		{"zpool_binary", c.ZpoolBinary, "/sbin/zpool"},
		{"pool_capacity_warn", c.PoolCapacityWarn, 80},
		{"pool_capacity_crit", c.PoolCapacityCrit, 90},
		{"scrub_age_warn", FormatDuration(c.ScrubAgeWarn), "5w"},
		{"scrub_age_crit", FormatDuration(c.ScrubAgeCrit), "60d"},
		{"timezone", c.Timezone, "Local"},
		{"max_parallel", c.MaxParallel, 2},
		{"log_level", c.LogLevel, "info"},
		{"ssh.identity", c.SSH.Identity, "/var/db/vault/ssh/id_ed25519"},
		{"ssh.known_hosts", c.SSH.KnownHosts, "/var/db/vault/ssh/known_hosts"},
		{"ssh.connect_timeout", FormatDuration(c.SSH.ConnectTimeout), "30s"},
		{"ssh.io_timeout", FormatDuration(c.SSH.IOTimeout), "10m"},
		{"ssh.keepalive", FormatDuration(c.SSH.Keepalive), "30s"},
		{"source port", j.Source.Port, 22},
		{"recursive", j.Recursive, true},
		{"rpo_critical", FormatDuration(j.RPOCritical), "52h"},
		{"jitter", j.Jitter, 0 * j.Jitter},
		{"receive.set", strings.Join(j.Receive.Set, " "), "canmount=noauto readonly=on"},
		{"receive.exclude", strings.Join(j.Receive.Exclude, " "), "atime"},
		{"prune.schedule", j.Prune.Schedule.IsZero(), true},
		{"prune.source_ttl", j.Prune.SourceTTL, true},
		{"prune.ttl_factor", j.Prune.TTLFactor, 2.0},
		{"hold_prefix", c.HoldPrefix, "vault:rust10:"},
		{"prune.date_tolerance", FormatDuration(j.Prune.DateTolerance), "15m"},
		{"timezone", j.Timezone, "Local"},
		{"quota", j.Quota, Size(0)},
		{"max_new_snapshots", j.MaxNewSnapshots, 500},
		{"anomaly.rewrite_share", j.Anomaly.RewriteShare, 0.5},
		{"anomaly.rewrite_floor", j.Anomaly.RewriteFloor, Size(64 << 20)},
		{"anomaly.snapshot_floor", j.Anomaly.SnapshotFloor, 48},
		{"prune.grid", len(j.Prune.Grid), 0},
		{"prune.min_keep", j.Prune.MinKeep, 7},
		{"prune.min_age", FormatDuration(j.Prune.MinAge), "24h"},
		{"prune.max_destroy", j.Prune.MaxDestroy, 20},
		{"prune.keep_unparsed", j.Prune.KeepUnparsed, true},
		{"anomaly.factor", j.Anomaly.Factor, 10.0},
		{"anomaly.floor", j.Anomaly.Floor, Size(1 << 30)},
		{"anomaly.window", j.Anomaly.Window, 10},
		{"snapshot_on_pull", j.SnapshotOnPull == nil, true},
		{"bandwidth_limit", j.BandwidthLimit, Size(0)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// Explicit empty lists and false are kept, not replaced by defaults.
func TestExplicitZeroValuesKept(t *testing.T) {
	c, err := parse("", []byte(`
[[job]]
name = "j"
source = "backup@h"
source_datasets = ["p/a"]
recursive = false
target = "q/b"
schedule = "@daily"
rpo = "26h"
receive = { set = [], exclude = [] }
prune = { source_ttl = false, keep_unparsed = false }
anomaly = { floor = 0 }
`), host{goos: "linux"})
	require.NoError(t, err)
	j := c.Jobs[0]
	if j.Recursive || j.Prune.SourceTTL || j.Prune.KeepUnparsed {
		t.Errorf("got recursive %v, source_ttl %v, keep_unparsed %v, want all false", j.Recursive, j.Prune.SourceTTL, j.Prune.KeepUnparsed)
	}
	if len(j.Receive.Set) != 0 || len(j.Receive.Exclude) != 0 {
		t.Errorf("got receive set %q exclude %q, want both empty", j.Receive.Set, j.Receive.Exclude)
	}
	if j.Anomaly.Floor != 0 {
		t.Errorf("got anomaly.floor %v, want 0", j.Anomaly.Floor)
	}
}

func TestTargetFor(t *testing.T) {
	j := &Job{
		SourceDatasets: []string{"host05data/jail/drive.client", "host05data/www"},
		Exclude:        []string{"host05data/jail/drive.client/tmp"},
		Recursive:      true,
		Target:         "rust10/Backups/host05",
	}
	flat := *j
	flat.Recursive = false
	for _, tc := range []struct {
		job    *Job
		source string
		want   string
		ok     bool
	}{
		{j, "host05data/jail/drive.client", "rust10/Backups/host05/drive.client", true},
		{j, "host05data/jail/drive.client/db", "rust10/Backups/host05/drive.client/db", true},
		{j, "host05data/jail/drive.client/db/x", "rust10/Backups/host05/drive.client/db/x", true},
		{j, "host05data/www", "rust10/Backups/host05/www", true},
		{j, "host05data/jail/drive.client/tmp", "", false},
		{j, "host05data/jail/drive.client/tmp/cache", "", false},
		{j, "host05data/jail/drive.client/tmpfiles", "rust10/Backups/host05/drive.client/tmpfiles", true},
		{j, "host05data/jail/drive.clientX", "", false},
		{j, "host05data/jail", "", false},
		{j, "other/www", "", false},
		{&flat, "host05data/www", "rust10/Backups/host05/www", true},
		{&flat, "host05data/www/child", "", false},
	} {
		got, ok := tc.job.TargetFor(tc.source)
		if got != tc.want || ok != tc.ok {
			t.Errorf("TargetFor(%q) (recursive %v): got %q, %v, want %q, %v", tc.source, tc.job.Recursive, got, ok, tc.want, tc.ok)
		}
		if inc := tc.job.Includes(tc.source); inc != tc.ok {
			t.Errorf("Includes(%q): got %v, want %v", tc.source, inc, tc.ok)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	min, err := os.ReadFile("testdata/valid/minimal.toml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(good, min, 0o600))
	require.NoError(t, os.WriteFile(bad, []byte("user = \"root\"\n"), 0o600))

	c, err := Load(good)
	require.NoError(t, err)
	if got := c.Jobs[0].Name; got != "drive.client" {
		t.Errorf("got job %q, want %q", got, "drive.client")
	}

	_, err = Load(bad)
	var ps *Problems
	require.True(t, errors.As(err, &ps), "got %v, want *Problems", err)
	if got, want := (*ps)[1].String(), bad+`:1: user: the daemon must not run as "root"; create an unprivileged user ("backup") and name it here`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	_, err = Load(filepath.Join(dir, "missing.toml"))
	require.Error(t, err)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want an error wrapping os.ErrNotExist", err)
	}
	if got, want := err.Error(), `cannot read configuration "`+filepath.Join(dir, "missing.toml")+`": no such file or directory`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLineIndex(t *testing.T) {
	lines := lineIndex([]byte(`user = "x"     # 1
[ssh]                                      # 2
identity = "/a"                            # 3
[[job]]                                    # 4
name = "a"                                 # 5
[job.prune]                                # 6
grid = [                                   # 7
  "14 daily",                              # 8
  "8 weekly",                              # 9
]                                          # 10
[[job]]                                    # 11
name = "b"                                 # 12
prune.min_keep = 3                         # 13
anomaly = { factor = 3.0, window = 5 }     # 14
                                           # 15
[[job.extra]]                              # 16
x = 1                                      # 17
[[job.extra]]                              # 18
x = 2                                      # 19
`))
	for _, tc := range []struct {
		path string
		want int
	}{
		{"user", 1}, {"ssh", 2}, {"ssh.identity", 3}, {"job[0]", 4}, {"job[0].name", 5},
		{"job[0].prune", 6}, {"job[0].prune.grid", 7}, {"job[0].prune.grid[0]", 8},
		{"job[0].prune.grid[1]", 9}, {"job[1]", 11}, {"job[1].name", 12},
		{"job[1].prune.min_keep", 13}, {"job[1].anomaly.factor", 14}, {"job[1].anomaly.window", 14},
		{"job", 4}, {"job[1].extra", 16}, {"job[1].extra[0].x", 17}, {"job[1].extra[1]", 18}, {"job[1].extra[1].x", 19},
	} {
		if got := lines[tc.path]; got != tc.want {
			t.Errorf("line of %q: got %d, want %d", tc.path, got, tc.want)
		}
	}
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{File: "vault.toml", Line: 12, Path: "job[1].rpo", Msg: "m"}, "vault.toml:12: job[1].rpo: m"},
		{Problem{File: "vault.toml", Path: "job", Msg: "m"}, "vault.toml: job: m"},
		{Problem{Line: 3, Msg: "m"}, "line 3: m"},
		{Problem{Msg: "m"}, "m"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
