package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/zpool"
)

// Finding kinds of pools.
const (
	KindPoolNotImported = "pool-not-imported" // CRIT: a job's target is on a pool that is not imported
	KindPoolState       = "pool-state"        // CRIT: the pool is not ONLINE
	KindPoolIOErrors    = "pool-io-errors"    // CRIT: read, write or checksum errors on its devices
	KindPoolDataErrors  = "pool-data-errors"  // CRIT: files damaged beyond repair (the errors: line)
	KindPoolCapacity    = "pool-capacity"     // WARN from pool_capacity_warn, CRIT from pool_capacity_crit
	KindScrubAge        = "scrub-age"         // WARN past scrub_age_warn (or none known), CRIT past scrub_age_crit
	KindScrubErrors     = "scrub-errors"      // CRIT: the last scrub found errors it could not repair
	KindScrubRepaired   = "scrub-repaired"    // WARN: the last scrub repaired data
	KindScan            = "scan"              // OK: a scrub or resilver in progress, shown
	KindPoolsUnchecked  = "pools-unchecked"   // WARN: zpool could not run; no pool checked
)

// PoolThresholds are the limits of a pool's levels (the configuration's pool_capacity_warn,
// pool_capacity_crit, scrub_age_warn and scrub_age_crit).
type PoolThresholds struct {
	CapacityWarn, CapacityCrit int // percent
	ScrubWarn, ScrubCrit       time.Duration
}

// PoolThresholdsOf gives the thresholds cfg sets.
func PoolThresholdsOf(cfg *conf.Config) PoolThresholds {
	return PoolThresholds{cfg.PoolCapacityWarn, cfg.PoolCapacityCrit, cfg.ScrubAgeWarn, cfg.ScrubAgeCrit}
}

// PoolStatus is one pool that holds a job's target: what zpool says of it, its level and why.
// A key is left out of the JSON when zpool did not say (a pool not imported has no state).
type PoolStatus struct {
	Pool     string    `json:"pool"`
	Level    Level     `json:"level"`
	Findings []Finding `json:"findings"`
	// Jobs are the jobs whose targets are on the pool, in configuration order.
	Jobs     []string `json:"jobs"`
	Imported bool     `json:"imported"`
	// State is the pool's state from zpool status (ONLINE, DEGRADED, ...); Status and Action
	// are zpool's own explanation and advice, when it gives them.
	State  string `json:"state,omitempty"`
	Status string `json:"status,omitempty"`
	Action string `json:"action,omitempty"`
	// Space from zpool list, in bytes; CapacityPercent as zpool rounds it.
	SizeBytes            *int64 `json:"size_bytes,omitempty"`
	AllocatedBytes       *int64 `json:"allocated_bytes,omitempty"`
	FreeBytes            *int64 `json:"free_bytes,omitempty"`
	CapacityPercent      *int   `json:"capacity_percent,omitempty"`
	FragmentationPercent *int   `json:"fragmentation_percent,omitempty"`
	// The error counters of every row of the pool's config tree, summed; DataErrors counts
	// damaged files; Errors is zpool's errors: line.
	ReadErrors     *int64 `json:"read_errors,omitempty"`
	WriteErrors    *int64 `json:"write_errors,omitempty"`
	ChecksumErrors *int64 `json:"checksum_errors,omitempty"`
	DataErrors     *int64 `json:"data_errors,omitempty"`
	Errors         string `json:"errors,omitempty"`
	// LastScrub is when the last completed scrub that zpool shows ended; ScrubAgeSeconds its
	// age. Zero and nil when none is shown (never scrubbed, or a resilver shown in its place).
	LastScrub       time.Time `json:"last_scrub,omitzero"`
	ScrubAgeSeconds *int64    `json:"scrub_age_seconds,omitempty"`
	// Scans are zpool's scan lines: the last scrub's (finished, canceled or running), and a
	// resilver's.
	Scans []PoolScan `json:"scans,omitempty"`

	// bad lists the rows of the tree with errors, for the finding.
	bad []string
}

// PoolScan is one scan of a pool (zpool.Scan).
type PoolScan struct {
	Kind  string    `json:"kind"`  // scrub, resilver, error-scrub
	State string    `json:"state"` // finished, canceled, in-progress, paused
	Vdev  string    `json:"vdev,omitempty"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Percent done of a scan in progress; nil when zpool did not know yet.
	Percent *float64 `json:"percent,omitempty"`
	// Processed is what it repaired (a scrub) or resilvered, as zpool prints it ("1.50M").
	Processed string `json:"processed,omitempty"`
	Errors    uint64 `json:"errors"`
}

// SetPools gives s the pools that hold its jobs' targets, judged from one look at them (h),
// with thresholds t as of s.Time. lookErr is why zpool could not be asked; then no pool is
// judged and one WARN says so. It is pure.
func (s *Status) SetPools(h zpool.Health, lookErr error, t PoolThresholds) {
	s.Pools, s.PoolsError = []PoolStatus{}, nil
	if lookErr != nil {
		s.PoolsError = &Finding{Level: LevelWarn, Kind: KindPoolsUnchecked, Text: fmt.Sprintf(
			"pools not checked: %s; check zpool_binary, and run this as root or the vault user", oneLine(lookErr.Error()))}
		return
	}
	for _, js := range s.Jobs {
		pool := poolOf(js.Target)
		if pool == "POOL" {
			continue
		}
		i := slices.IndexFunc(s.Pools, func(p PoolStatus) bool { return p.Pool == pool })
		if i < 0 {
			s.Pools = append(s.Pools, PoolStatus{Pool: pool})
			i = len(s.Pools) - 1
		}
		s.Pools[i].Jobs = append(s.Pools[i].Jobs, js.Job)
	}
	for i := range s.Pools {
		p := &s.Pools[i]
		for _, l := range h.Pools {
			if l.Name == p.Pool {
				p.setList(l)
			}
		}
		for _, st := range h.Statuses {
			if st.Pool == p.Pool {
				p.setStatus(st)
			}
		}
		p.evaluate(s.Time, t)
	}
}

func (p *PoolStatus) setList(l zpool.Pool) {
	p.Imported = true
	if l.SpaceKnown {
		size, alloc, free, c := int64(l.Size), int64(l.Allocated), int64(l.Free), l.Capacity
		p.SizeBytes, p.AllocatedBytes, p.FreeBytes, p.CapacityPercent = &size, &alloc, &free, &c
	}
	if l.Fragmentation >= 0 {
		f := l.Fragmentation
		p.FragmentationPercent = &f
	}
	if p.State == "" {
		p.State = l.Health
	}
}

func (p *PoolStatus) setStatus(st zpool.Status) {
	p.State, p.Status, p.Action = st.State, st.Status, st.Action
	r, w, c, d := clampInt(st.Read), clampInt(st.Write), clampInt(st.Checksum), clampInt(st.DataErrors)
	p.ReadErrors, p.WriteErrors, p.ChecksumErrors, p.DataErrors, p.Errors = &r, &w, &c, &d, st.Errors
	for _, v := range st.Vdevs {
		if v.Depth > 0 && v.Read+v.Write+v.Checksum > 0 {
			p.bad = append(p.bad, fmt.Sprintf("%s %d/%d/%d", v.Name, v.Read, v.Write, v.Checksum))
		}
	}
	for _, sc := range st.Scans {
		ps := PoolScan{Kind: string(sc.Kind), State: string(sc.State), Vdev: sc.Vdev, Start: sc.Start, End: sc.End,
			Processed: sc.Processed, Errors: sc.Errors}
		if sc.InProgress() && sc.Percent >= 0 {
			pct := sc.Percent
			ps.Percent = &pct
		}
		p.Scans = append(p.Scans, ps)
	}
}

func clampInt(n uint64) int64 { return int64(min(n, 1<<63-1)) }

// evaluate judges the pool: its findings and level, as of now.
//
//   - CRIT: not imported; not ONLINE; read, write or checksum errors on a device; data errors;
//     as full as pool_capacity_crit; its last scrub found errors it could not repair, or is
//     older than scrub_age_crit.
//   - WARN: as full as pool_capacity_warn; its last scrub repaired data, is older than
//     scrub_age_warn, was canceled, or is not known (never scrubbed, or zpool shows a resilver
//     or an error scrub in its place).
//   - A scrub or resilver in progress is shown, with how far it got, and is no problem in
//     itself: a resilver's pool is judged by its state, and a running or paused scrub by
//     when it started.
func (p *PoolStatus) evaluate(now time.Time, t PoolThresholds) {
	p.Findings = []Finding{}
	add := func(l Level, kind, format string, a ...any) {
		p.Findings = append(p.Findings, Finding{Level: l, Kind: kind, Text: fmt.Sprintf(format, a...)})
	}
	name := p.Pool
	switch {
	case !p.Imported:
		add(LevelCrit, KindPoolNotImported, "pool %s, which holds the target of %s, is not imported: zpool import %s", name, strings.Join(p.Jobs, ", "), name)
	case p.State != "ONLINE":
		// DEGRADED is CRIT too: this box keeps the last copy, unattended for weeks. A raidz2
		// with a disk gone has one parity left, and the disks that remain are as old as the
		// one that went and work hardest while the replacement resilvers: waiting for a
		// convenient day is how the second and third go too.
		why := ""
		if p.Status != "" {
			why = " (" + firstSentence(p.Status) + ")"
		}
		add(LevelCrit, KindPoolState, "pool %s is %s%s: zpool status -x %s says which device and what to do", name, p.State, why, name)
	}
	if p.ReadErrors != nil && *p.ReadErrors+*p.WriteErrors+*p.ChecksumErrors > 0 {
		where := ""
		if len(p.bad) > 0 {
			shown := p.bad[:min(len(p.bad), 3)]
			where = " (read/write/cksum: " + strings.Join(shown, ", ")
			if n := len(p.bad) - len(shown); n > 0 {
				where += fmt.Sprintf(", +%d more", n)
			}
			where += ")"
		}
		add(LevelCrit, KindPoolIOErrors, "pool %s: %d read, %d write, %d checksum errors on its devices%s: zpool status %s; once the cause is fixed (cable, disk), zpool clear %s",
			name, *p.ReadErrors, *p.WriteErrors, *p.ChecksumErrors, where, name, name)
	}
	switch {
	case p.DataErrors != nil && *p.DataErrors > 0:
		add(LevelCrit, KindPoolDataErrors, "pool %s: %d files or objects damaged beyond repair: zpool status -v %s lists them", name, *p.DataErrors, name)
	case p.ReadErrors != nil && p.Errors == "":
		add(LevelWarn, KindPoolDataErrors, "pool %s: zpool status printed no errors: line; data errors not known", name)
	}
	if c := p.CapacityPercent; c != nil {
		switch {
		case *c >= t.CapacityCrit:
			add(LevelCrit, KindPoolCapacity, "pool %s is %d%% full, critical from %d%% (pool_capacity_crit): prune, or give the pool more disks", name, *c, t.CapacityCrit)
		case *c >= t.CapacityWarn:
			add(LevelWarn, KindPoolCapacity, "pool %s is %d%% full, over pool_capacity_warn %d%%: prune, or give the pool more disks", name, *c, t.CapacityWarn)
		}
	}
	if p.Imported && p.ReadErrors != nil {
		p.judgeScans(now, t, add)
	}
	slices.SortStableFunc(p.Findings, func(a, b Finding) int { return b.Level.gravity() - a.Level.gravity() })
	p.Level = LevelOK
	for _, f := range p.Findings {
		p.Level = Worse(p.Level, f.Level)
	}
}

// judgeScans adds the findings about scrubs and resilvers.
func (p *PoolStatus) judgeScans(now time.Time, t PoolThresholds, add func(Level, string, string, ...any)) {
	name := p.Pool
	scrubHint := "zpool scrub " + name + ", and see that the system scrubs monthly (README, Pools and scrubs)"
	byAge := func(since time.Time) Level {
		switch age := now.Sub(since); {
		case age > t.ScrubCrit:
			return LevelCrit
		case age > t.ScrubWarn:
			return LevelWarn
		}
		return LevelOK
	}
	over := func(l Level) string {
		if l == LevelCrit {
			return ", over scrub_age_crit " + conf.FormatDuration(t.ScrubCrit)
		}
		return ", over scrub_age_warn " + conf.FormatDuration(t.ScrubWarn)
	}
	var scrub *PoolScan // the scrub or error scrub zpool shows, if any
	for i := range p.Scans {
		sc := &p.Scans[i]
		if sc.Kind == string(zpool.ScanResilver) {
			if sc.State == string(zpool.ScanRunning) {
				what := "resilver"
				if sc.Vdev != "" {
					what = "sequential resilver of " + sc.Vdev
				}
				add(LevelOK, KindScan, "%s in progress since %s, %s done", what, stamp(sc.Start), percent(sc.Percent))
			}
			continue
		}
		if scrub == nil {
			scrub = sc
		}
	}
	switch {
	case scrub == nil:
		if slices.ContainsFunc(p.Scans, func(s PoolScan) bool { return s.State == string(zpool.ScanRunning) }) {
			return // a resilver is running: its pool's state tells
		}
		if len(p.Scans) > 0 {
			add(LevelWarn, KindScrubAge, "pool %s: zpool shows its last resilver, not its last scrub (it keeps one record for both); scrub to check every block: %s", name, scrubHint)
			return
		}
		add(LevelWarn, KindScrubAge, "pool %s has never been scrubbed: %s", name, scrubHint)
	case scrub.Kind == string(zpool.ScanErrorScrub):
		add(LevelWarn, KindScrubAge, "pool %s: zpool shows an error scrub (zpool scrub -e), not its last full scrub: %s", name, scrubHint)
	case scrub.State == string(zpool.ScanFinished):
		p.LastScrub = scrub.End
		age := int64(max(now.Sub(scrub.End), 0) / time.Second)
		p.ScrubAgeSeconds = &age
		if l := byAge(scrub.End); l != LevelOK {
			add(l, KindScrubAge, "pool %s: last scrub finished %s, %s ago%s: %s", name, stamp(scrub.End), Age(now.Sub(scrub.End)), over(l), scrubHint)
		}
		switch {
		case scrub.Errors > 0:
			add(LevelCrit, KindScrubErrors, "pool %s: the last scrub (%s) found %d errors it could not repair: zpool status -v %s", name, stamp(scrub.End), scrub.Errors, name)
		case scrub.Processed != "0B":
			add(LevelWarn, KindScrubRepaired, "pool %s: the last scrub (%s) repaired %s: a device returned bad data; zpool status %s shows whose counters rose",
				name, stamp(scrub.End), scrub.Processed, name)
		}
	case scrub.State == string(zpool.ScanCanceled):
		l := Worse(LevelWarn, byAge(scrub.End))
		add(l, KindScrubAge, "pool %s: its last scrub was canceled on %s, and zpool shows no completed one: %s", name, stamp(scrub.End), scrubHint)
	default: // running or paused
		l := byAge(scrub.Start)
		what := "in progress"
		if scrub.State == string(zpool.ScanPaused) {
			what = "paused (zpool scrub " + name + " resumes it)"
		}
		text := fmt.Sprintf("scrub %s, started %s, %s done", what, stamp(scrub.Start), percent(scrub.Percent))
		if l != LevelOK {
			text = fmt.Sprintf("pool %s: %s; started %s ago%s", name, text, Age(now.Sub(scrub.Start)), over(l))
		}
		add(l, map[bool]string{true: KindScan, false: KindScrubAge}[l == LevelOK], "%s", text)
	}
}

func percent(p *float64) string {
	if p == nil {
		return "not yet known how much"
	}
	return fmt.Sprintf("%.2f%%", *p)
}

// firstSentence is zpool's status text up to its first full stop.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// writePools prints the pools' table under the datasets': one row per pool, plain words (it
// fits an 80-column console for pool names up to 16 characters), its findings under it; or
// the line saying why they were not checked.
func (s Status) writePools(b *strings.Builder) {
	if len(s.Pools) == 0 && s.PoolsError == nil {
		return
	}
	b.WriteString("\n")
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	cells := [][]string{poolHeader}
	right := map[int]bool{3: true, 4: true}
	for _, p := range s.Pools {
		cells = append(cells, poolCells(p, loc))
	}
	width := make([]int, len(cells[0]))
	for _, c := range cells {
		for i, v := range c {
			width[i] = max(width[i], len(v))
		}
	}
	for k, c := range cells {
		if len(s.Pools) == 0 {
			break // no header without rows
		}
		var line strings.Builder
		for i, v := range c {
			pad := strings.Repeat(" ", width[i]-len(v))
			if i > 0 {
				line.WriteString("  ")
			}
			if right[i] {
				line.WriteString(pad + v)
			} else {
				line.WriteString(v + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		if k > 0 {
			for _, f := range s.Pools[k-1].Findings {
				b.WriteString("           " + f.Text + "\n")
			}
		}
	}
	if f := s.PoolsError; f != nil {
		fmt.Fprintf(b, "%-7s  %s\n", f.Level, f.Text)
	}
}

// poolHeader names the columns of the pools' table.
var poolHeader = []string{"LEVEL", "POOL", "STATE", "CAP", "FRAG", "R/W/CKSUM", "LAST SCRUB", "SCAN"}

// poolCells is a pool's row of the pools' table (poolHeader), times in loc.
func poolCells(p PoolStatus, loc *time.Location) []string {
	c := []string{p.Level.String(), p.Pool, orDash(p.State), "-", "-", "-", "-", "-"}
	if p.CapacityPercent != nil {
		c[3] = fmt.Sprintf("%d%%", *p.CapacityPercent)
	}
	if p.FragmentationPercent != nil {
		c[4] = fmt.Sprintf("%d%%", *p.FragmentationPercent)
	}
	if p.ReadErrors != nil {
		c[5] = fmt.Sprintf("%d/%d/%d", *p.ReadErrors, *p.WriteErrors, *p.ChecksumErrors)
	}
	switch {
	case !p.LastScrub.IsZero():
		c[6] = p.LastScrub.In(loc).Format("2006-01-02 15:04")
	case p.Imported && p.ReadErrors != nil && len(p.Scans) == 0:
		c[6] = "never"
	}
	// One scan in progress: a resilver before a scrub (the findings name both).
	for _, sc := range p.Scans {
		if sc.State != string(zpool.ScanRunning) && sc.State != string(zpool.ScanPaused) || c[7] != "-" && sc.Kind != string(zpool.ScanResilver) {
			continue
		}
		c[7] = sc.Kind
		if sc.Percent != nil {
			c[7] += fmt.Sprintf(" %.1f%%", math.Floor(*sc.Percent*10)/10)
		}
		if sc.State == string(zpool.ScanPaused) {
			c[7] += " paused"
		}
	}
	return c
}
