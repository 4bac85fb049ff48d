package conf_test

import (
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/zfs"
)

// FuzzConfigAcceptedIsUsable fuzzes the invariant of issue 18: whatever the configuration
// accepts, the packages that use it accept too. A pull job is built from fuzzed dataset names,
// a snapshot_on_pull TTL, two grid rules and a ttl_factor; when conf.Parse accepts it, every
// dataset name must pass zfs.ParseDataset, the TTL policy.ParseTTL, and the prune section
// prune.RulesFromConf (which is what the prune planner is given).
func FuzzConfigAcceptedIsUsable(f *testing.F) {
	f.Add("tank/a", "rust10/B", "tank/a/b", "1w", "14 daily", "forever yearly", 2.0)
	f.Add("1pool/x", "rust10/-B", "tank/a/-x", "1y2m3w4d5h6M7s", "48 hourly", "12 monthly", 1.5)
	f.Add("mirror/x", "pool/-x", "mirror/x/y", "forever", "8 weekly", "8 weekly", 1.0)
	f.Add("tank/a", "rust10/B", "tank/a/b", "999999999s", "01 daily", "forever hourly", 3.0)
	f.Add("tank/a", "rust10/B", "tank/a/b", "1w", "14 daily", "forever yearly", math.NaN())
	f.Add("tank/a", "rust10/B", "tank/a/b", "1000000w", "1 daily", "2 yearly", math.Inf(1))
	f.Fuzz(func(t *testing.T, src, target, exclude, ttl, grid1, grid2 string, factor float64) {
		checkUsable(t, src, target, exclude, ttl, grid1, grid2, factor)
	})
}

// The fuzz target is not vacuous: a sound job is accepted, and so checked.
func TestConfigAcceptedIsUsableAccepts(t *testing.T) {
	if !checkUsable(t, "tank/a", "rust10/B", "tank/a/b", "1w", "14 daily", "forever yearly", 2) {
		t.Fatal("a sound job was refused; the fuzz target checks nothing")
	}
	if checkUsable(t, "tank/a", "rust10/-B", "tank/a/b", "1w", "14 daily", "forever yearly", 2) {
		t.Fatal("target rust10/-B was accepted")
	}
}

// checkUsable builds the job, and reports whether conf accepted it; if it did, it fails t
// unless zfs, policy and prune accept what conf accepted.
func checkUsable(t *testing.T, src, target, exclude, ttl, grid1, grid2 string, factor float64) bool {
	t.Helper()
	data := "[[job]]\nname = \"j\"\nsource = \"backup@host05\"\nschedule = \"15 1 * * *\"\nrpo = \"26h\"\n" +
		fmt.Sprintf("source_datasets = [%s]\ntarget = %s\nexclude = [%s]\n", q(src), q(target), q(exclude)) +
		fmt.Sprintf("[job.snapshot_on_pull]\nttl = %s\n", q(ttl)) +
		fmt.Sprintf("[job.prune]\nsource_ttl = true\nttl_factor = %s\ngrid = [%s, %s]\n", tomlFloat(factor), q(grid1), q(grid2))
	c, err := conf.Parse([]byte(data))
	if err != nil {
		return false
	}
	j := &c.Jobs[0]
	for _, d := range append(append([]string{j.Target}, j.SourceDatasets...), j.Exclude...) {
		if _, err := zfs.ParseDataset(d); err != nil {
			t.Fatalf("conf accepted dataset %q that zfs refuses: %v\n%s", d, err, data)
		}
	}
	if _, err := policy.ParseTTL(j.SnapshotOnPull.TTL.String()); err != nil {
		t.Fatalf("conf accepted TTL %q (%q) that policy refuses: %v\n%s", ttl, j.SnapshotOnPull.TTL, err, data)
	}
	if _, err := prune.RulesFromConf(j.Prune, time.UTC); err != nil {
		t.Fatalf("conf accepted prune rules that prune refuses: %v\n%s", err, data)
	}
	return true
}

// q quotes s as a TOML literal string when it can (no quote, no control character); otherwise
// as a basic string by Go's %q, whose escapes TOML either reads the same or refuses.
func q(s string) string {
	for _, r := range s {
		if r == '\'' || r < 0x20 || r == 0x7f {
			return strconv.Quote(s)
		}
	}
	return "'" + s + "'"
}

// tomlFloat writes f as a TOML float: nan and inf are TOML's own words.
func tomlFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
