package report

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zpool"
)

var defaultPoolThresholds = PoolThresholds{CapacityWarn: 80, CapacityCrit: 90, ScrubWarn: 35 * 24 * time.Hour, ScrubCrit: 60 * 24 * time.Hour}

// healthyPool is rust10 as zpool would show it: a raidz2 of four disks, 40% full, scrubbed
// ten days ago.
func healthyPool() (zpool.Pool, zpool.Status) {
	l := zpool.Pool{Name: "rust10", Health: "ONLINE", SpaceKnown: true, Size: 1000, Allocated: 400, Free: 600, Capacity: 40, Fragmentation: 3}
	st := zpool.Status{Pool: "rust10", State: "ONLINE", Errors: zpool.NoKnownDataErrors,
		Scans: []zpool.Scan{{Kind: zpool.ScanScrub, State: zpool.ScanFinished, End: ago(10 * 24 * time.Hour), Processed: "0B", Percent: -1}},
		Vdevs: []zpool.Vdev{{Name: "rust10", State: "ONLINE", Counters: true}, {Name: "raidz2-0", Depth: 1, State: "ONLINE", Counters: true}}}
	for _, d := range []string{"sda", "sdb", "sdc", "sdd"} {
		st.Vdevs = append(st.Vdevs, zpool.Vdev{Name: d, Depth: 2, State: "ONLINE", Counters: true})
	}
	return l, st
}

func TestPoolLevels(t *testing.T) {
	scrub := func(state zpool.ScanState, at time.Time) zpool.Scan {
		s := zpool.Scan{Kind: zpool.ScanScrub, State: state, Processed: "0B", Percent: 31.74}
		if state == zpool.ScanFinished || state == zpool.ScanCanceled {
			s.End, s.Processed, s.Percent = at, "0B", -1
		} else {
			s.Start = at
		}
		return s
	}
	for _, tc := range []struct {
		name      string
		change    func(l *zpool.Pool, st *zpool.Status) (imported bool)
		want      Level
		wantKinds []string
		wantText  string // in the findings' texts
	}{
		{name: "healthy", want: LevelOK},
		{name: "not imported", change: func(*zpool.Pool, *zpool.Status) bool { return false },
			want: LevelCrit, wantKinds: []string{KindPoolNotImported}, wantText: "pool rust10, which holds the target of host05, is not imported: zpool import rust10"},
		{name: "degraded: a raidz2 member missing", change: func(l *zpool.Pool, st *zpool.Status) bool {
			l.Health, st.State, st.Vdevs[0].State, st.Vdevs[1].State, st.Vdevs[3].State = "DEGRADED", "DEGRADED", "DEGRADED", "DEGRADED", "UNAVAIL"
			st.Status = "One or more devices could not be opened. Sufficient replicas exist for the pool to continue functioning in a degraded state."
			return true
		}, want: LevelCrit, wantKinds: []string{KindPoolState},
			wantText: "pool rust10 is DEGRADED (One or more devices could not be opened): zpool status -x rust10 says which device and what to do"},
		{name: "faulted", change: func(l *zpool.Pool, st *zpool.Status) bool {
			st.State = "SUSPENDED"
			return true
		}, want: LevelCrit, wantKinds: []string{KindPoolState}, wantText: "pool rust10 is SUSPENDED: zpool status -x rust10"},
		{name: "checksum errors on a disk", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Vdevs[4].Checksum, st.Checksum = 12, 12
			return true
		}, want: LevelCrit, wantKinds: []string{KindPoolIOErrors},
			wantText: "pool rust10: 0 read, 0 write, 12 checksum errors on its devices (read/write/cksum: sdc 0/0/12): zpool status rust10; once the cause is fixed (cable, disk), zpool clear rust10"},
		{name: "data errors", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Errors, st.DataErrors = "3 data errors, use '-v' for a list", 3
			return true
		}, want: LevelCrit, wantKinds: []string{KindPoolDataErrors}, wantText: "3 files or objects damaged beyond repair: zpool status -v rust10 lists them"},
		{name: "no errors line", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Errors = ""
			return true
		}, want: LevelWarn, wantKinds: []string{KindPoolDataErrors}},
		{name: "79% full", change: func(l *zpool.Pool, _ *zpool.Status) bool { l.Capacity = 79; return true }, want: LevelOK},
		{name: "80% full", change: func(l *zpool.Pool, _ *zpool.Status) bool { l.Capacity = 80; return true },
			want: LevelWarn, wantKinds: []string{KindPoolCapacity}, wantText: "pool rust10 is 80% full, over pool_capacity_warn 80%"},
		{name: "90% full", change: func(l *zpool.Pool, _ *zpool.Status) bool { l.Capacity = 90; return true },
			want: LevelCrit, wantKinds: []string{KindPoolCapacity}, wantText: "pool rust10 is 90% full, critical from 90% (pool_capacity_crit)"},
		{name: "scrubbed 34 days ago", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans = []zpool.Scan{scrub(zpool.ScanFinished, ago(34*24*time.Hour))}
			return true
		}, want: LevelOK},
		{name: "scrubbed 36 days ago", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans = []zpool.Scan{scrub(zpool.ScanFinished, ago(36*24*time.Hour))}
			return true
		}, want: LevelWarn, wantKinds: []string{KindScrubAge}, wantText: "pool rust10: last scrub finished 2026-10-22 03:15 UTC, 36d ago, over scrub_age_warn 5w: zpool scrub rust10"},
		{name: "scrubbed 61 days ago", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans = []zpool.Scan{scrub(zpool.ScanFinished, ago(61*24*time.Hour))}
			return true
		}, want: LevelCrit, wantKinds: []string{KindScrubAge}, wantText: "61d ago, over scrub_age_crit 60d"},
		{name: "never scrubbed", change: func(_ *zpool.Pool, st *zpool.Status) bool { st.Scans = nil; return true },
			want: LevelWarn, wantKinds: []string{KindScrubAge}, wantText: "pool rust10 has never been scrubbed: zpool scrub rust10, and see that the system scrubs monthly"},
		{name: "the last scrub could not repair everything", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans[0].Errors = 3
			return true
		}, want: LevelCrit, wantKinds: []string{KindScrubErrors}, wantText: "found 3 errors it could not repair: zpool status -v rust10"},
		{name: "the last scrub repaired data", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans[0].Processed = "1.50M"
			return true
		}, want: LevelWarn, wantKinds: []string{KindScrubRepaired}, wantText: "repaired 1.50M: a device returned bad data"},
		{name: "a scrub in progress", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans = []zpool.Scan{scrub(zpool.ScanRunning, ago(3*time.Hour))}
			return true
		}, want: LevelOK, wantKinds: []string{KindScan}, wantText: "scrub in progress, started 2026-11-27 00:15 UTC, 31.74% done"},
		{name: "a scrub paused for 40 days", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans = []zpool.Scan{scrub(zpool.ScanPaused, ago(40*24*time.Hour))}
			return true
		}, want: LevelWarn, wantKinds: []string{KindScrubAge}, wantText: "scrub paused (zpool scrub rust10 resumes it)"},
		{name: "a scrub canceled", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans = []zpool.Scan{scrub(zpool.ScanCanceled, ago(24*time.Hour))}
			return true
		}, want: LevelWarn, wantKinds: []string{KindScrubAge}, wantText: "its last scrub was canceled on 2026-11-26 03:15 UTC"},
		{name: "a resilver in progress on a degraded pool", change: func(l *zpool.Pool, st *zpool.Status) bool {
			st.State, st.Vdevs[0].State = "DEGRADED", "DEGRADED"
			st.Scans = []zpool.Scan{{Kind: zpool.ScanResilver, State: zpool.ScanRunning, Start: ago(time.Hour), Processed: "31.6G", Percent: 7.51}}
			return true
		}, want: LevelCrit, wantKinds: []string{KindPoolState, KindScan}, wantText: "resilver in progress since 2026-11-27 02:15 UTC, 7.51% done"},
		{name: "a finished resilver in place of the scrub", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans = []zpool.Scan{{Kind: zpool.ScanResilver, State: zpool.ScanFinished, End: ago(time.Hour), Processed: "1.23G"}}
			return true
		}, want: LevelWarn, wantKinds: []string{KindScrubAge}, wantText: "zpool shows its last resilver, not its last scrub"},
		{name: "an error scrub in place of the scrub", change: func(_ *zpool.Pool, st *zpool.Status) bool {
			st.Scans = []zpool.Scan{{Kind: zpool.ScanErrorScrub, State: zpool.ScanFinished, End: ago(time.Hour)}}
			return true
		}, want: LevelWarn, wantKinds: []string{KindScrubAge}, wantText: "an error scrub (zpool scrub -e), not its last full scrub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, st := healthyPool()
			imported := true
			if tc.change != nil {
				imported = tc.change(&l, &st)
			}
			h := zpool.Health{}
			if imported {
				h = zpool.Health{Pools: []zpool.Pool{l}, Statuses: []zpool.Status{st}}
			}
			s := Evaluate(config(job("host05", "host05data/jail")), nil, now)
			s.SetPools(h, nil, defaultPoolThresholds)
			require.Len(t, s.Pools, 1)
			p := s.Pools[0]
			var texts []string
			for _, f := range p.Findings {
				texts = append(texts, f.Text)
			}
			if p.Level != tc.want || !slices.Equal(kinds(p.Findings), tc.wantKinds) || !strings.Contains(strings.Join(texts, "\n"), tc.wantText) {
				t.Errorf("got %s %v:\n%s\nwant %s %v with %q", p.Level, kinds(p.Findings), strings.Join(texts, "\n"), tc.want, tc.wantKinds, tc.wantText)
			}
		})
	}
}

func TestSetPoolsOnePoolForManyJobs(t *testing.T) {
	a, b, c := job("a", "x/a"), job("b", "x/b"), job("c", "x/c")
	c.Target = "tank/c"
	l, st := healthyPool()
	s := Evaluate(config(a, b, c), nil, now)
	s.SetPools(zpool.Health{Pools: []zpool.Pool{l}, Statuses: []zpool.Status{st}}, nil, defaultPoolThresholds)
	require.Len(t, s.Pools, 2)
	if p := s.Pools[0]; p.Pool != "rust10" || !slices.Equal(p.Jobs, []string{"a", "b"}) || p.Level != LevelOK || p.ScrubAgeSeconds == nil || *p.ScrubAgeSeconds != 864000 {
		t.Errorf("rust10: %+v", p)
	}
	if p := s.Pools[1]; p.Pool != "tank" || p.Imported || p.Level != LevelCrit {
		t.Errorf("tank: %+v", p)
	}
	sum := s.Summary()
	if sum.Pools != 2 || sum.Crit != 1 || sum.Unknown != 3 || sum.OK != 1 {
		t.Errorf("summary: %+v", sum)
	}
	line, code := CheckLine(s, 0, 0)
	if code != 2 || !strings.HasPrefix(line, "VAULT CRITICAL - pool tank, which holds the target of c, is not imported") || !strings.HasSuffix(line, " pools=2") {
		t.Errorf("check: %d %q", code, line)
	}
}

// TestZpoolThatCannotRun: one WARN for the run, whatever the number of pools, and no crash.
func TestZpoolThatCannotRun(t *testing.T) {
	s := Evaluate(config(job("host05", "host05data/jail"), job("host06", "host06data/vm")), nil, now)
	s.SetPools(zpool.Health{}, errors.New("/sbin/zpool: exec: no such file or directory"), defaultPoolThresholds)
	if len(s.Pools) != 0 || s.PoolsError == nil || s.PoolsError.Level != LevelWarn {
		t.Fatalf("pools %v, error %v", s.Pools, s.PoolsError)
	}
	if sum := s.Summary(); sum.Warn != 1 || sum.Level != LevelWarn {
		t.Errorf("summary: %+v", sum)
	}
	var b strings.Builder
	require.NoError(t, s.WriteTable(&b, false))
	if want := "\nWARN     pools not checked: /sbin/zpool: exec: no such file or directory; check zpool_binary, and run this as root or the vault user\n"; strings.Count(b.String(), "pools not checked") != 1 || !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q once:\n%s", want, b.String())
	}
	line, code := CheckLine(s, 0, 0)
	if code != 1 || !strings.HasPrefix(line, "VAULT WARNING - pools not checked: ") {
		t.Errorf("check: %d %q", code, line)
	}
	var prom strings.Builder
	require.NoError(t, WritePrometheus(&prom, s))
	if !strings.Contains(prom.String(), "\nvault_pool_check_failed 1\n") {
		t.Errorf("textfile:\n%s", prom.String())
	}
}

// TestPoolTableFits: the pools' table of a busy pool fits 80 columns.
func TestPoolTableFits(t *testing.T) {
	l, st := healthyPool()
	st.State, st.Vdevs[0].State = "DEGRADED", "DEGRADED"
	st.Scans = []zpool.Scan{{Kind: zpool.ScanScrub, State: zpool.ScanPaused, Start: ago(time.Hour), Paused: ago(time.Minute), Processed: "0B", Percent: 20.24},
		{Kind: zpool.ScanResilver, State: zpool.ScanRunning, Start: ago(time.Hour), Processed: "1G", Percent: 99.99}}
	st.Read, st.Write, st.Checksum = 12345, 0, 678
	s := Evaluate(config(job("host05", "host05data/jail")), nil, now)
	s.SetPools(zpool.Health{Pools: []zpool.Pool{l}, Statuses: []zpool.Status{st}}, nil, defaultPoolThresholds)
	var b strings.Builder
	s.writePools(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(line, "           ") && len(line) > 80 {
			t.Errorf("%d columns: %q", len(line), line)
		}
		if strings.ContainsFunc(line, func(r rune) bool { return r > 0x7e }) {
			t.Errorf("not plain ASCII: %q", line)
		}
	}
	if !strings.Contains(b.String(), "  resilver 99.9%\n") {
		t.Errorf("table:\n%s", b.String())
	}
}
