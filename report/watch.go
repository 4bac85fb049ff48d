package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
)

// The live view (vault status --watch) is one frame redrawn every few seconds: the streams the
// daemon is running, the pools and the datasets, in plain ASCII and at most WatchWidth columns,
// so that it reads on an 80x25 console. It shows less than the table (no holdings, a row's first
// finding only); vault status shows the rest.

// WatchWidth is the widest a frame's line is.
const WatchWidth = 80

// TransferSample is what the daemon said of its streams at one moment (its clock).
type TransferSample struct {
	Time      time.Time
	Transfers []puller.Transfer
}

// LiveTransfer is a stream in progress and the rate it goes at, in bytes per second (0 when not
// known yet).
type LiveTransfer struct {
	puller.Transfer
	Rate float64
}

// MeasureRates gives each stream of cur its rate: over the time since prev for a stream prev
// saw too (the same job, target and start), or its average since it started. It is pure.
func MeasureRates(prev, cur TransferSample) []LiveTransfer {
	type key struct {
		job, target string
		started     time.Time
	}
	before := map[key]int64{}
	for _, t := range prev.Transfers {
		before[key{t.Job, t.Target, t.Started}] = t.Bytes
	}
	out := make([]LiveTransfer, len(cur.Transfers))
	for i, t := range cur.Transfers {
		out[i].Transfer = t
		from, since := int64(0), t.Started
		if b, ok := before[key{t.Job, t.Target, t.Started}]; ok && cur.Time.After(prev.Time) {
			from, since = b, prev.Time
		}
		if d := cur.Time.Sub(since).Seconds(); d > 0 && t.Bytes >= from {
			out[i].Rate = float64(t.Bytes-from) / d
		}
	}
	return out
}

// Watch is one frame of the live view.
type Watch struct {
	Status   Status // its Time is the frame's
	Interval time.Duration
	// Transfers are the daemon's streams in progress, unless TransfersErr says why they are
	// not known (no daemon, an older one).
	Transfers    []LiveTransfer
	TransfersErr string
	// Height is the most lines the frame may take (the screen's, less one); 0 for no bound.
	// A longer frame is cut, its last line saying how much is not shown.
	Height int
}

// Lines renders the frame: every line plain ASCII and at most WatchWidth columns. It is pure.
func (w Watch) Lines() []string {
	s := w.Status
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	var out []string
	add := func(l ...string) {
		for _, x := range l {
			out = append(out, clip(x, WatchWidth))
		}
	}
	sum := s.Summary()
	add(fmt.Sprintf("vault status %s, every %s (Ctrl-C ends)", s.Time.In(loc).Format("2006-01-02 15:04:05 MST"), conf.FormatDuration(w.Interval)),
		fmt.Sprintf("overall %s: %d ok, %d warn, %d crit, %d unknown", sum.Level, sum.OK, sum.Warn, sum.Crit, sum.Unknown), "")

	switch {
	case w.TransfersErr != "":
		add("TRANSFERS: " + w.TransfersErr)
	case len(w.Transfers) == 0:
		add("TRANSFERS: none")
	default:
		add("TRANSFERS")
		cells := [][]string{{"TARGET", "KIND", "BYTES/TOTAL", "DONE", "RATE", "ETA"}}
		for _, t := range w.Transfers {
			cells = append(cells, transferCells(t))
		}
		add(columns(cells, []bool{false, false, true, true, true, true}, 0)...)
	}

	if len(s.Pools) > 0 || s.PoolsError != nil {
		add("")
	}
	if len(s.Pools) > 0 {
		cells := [][]string{pick(poolHeader, poolWatchCols)}
		for _, p := range s.Pools {
			cells = append(cells, pick(poolCells(p, loc), poolWatchCols))
		}
		rows := columns(cells, []bool{false, false, false, true, false, false, false}, 1)
		add(rows[0])
		for i, p := range s.Pools {
			add(rows[i+1])
			add(firstFinding(p.Level, p.Findings)...)
		}
	}
	if f := s.PoolsError; f != nil {
		add(fmt.Sprintf("%-7s  %s", f.Level, ascii(f.Text)))
	}

	add("")
	cells := [][]string{{"LEVEL", "JOB", "DATASET", "LAST PULL", "AGE/RPO"}}
	rows := s.jobRows()
	for _, r := range rows {
		js, d := r.job, r.ds
		rpo := conf.FormatDuration(js.RPO)
		if d == nil {
			cells = append(cells, []string{js.Level.String(), js.Job, "-", "-", "-/" + rpo})
			continue
		}
		cells = append(cells, []string{d.Level.String(), js.Job, d.Dataset, orDash(d.Outcome), s.ageOf(d) + "/" + rpo})
	}
	lines := columns(cells, nil, 2)
	add(lines[0])
	for i, r := range rows {
		add(lines[i+1])
		add(firstFinding(r.level(), r.findings())...)
	}

	if w.Height > 0 && len(out) > w.Height {
		cut := len(out) - w.Height + 1
		out = append(out[:w.Height-1], clip(fmt.Sprintf("... %d more line(s): a taller window shows them, vault status shows all", cut), WatchWidth))
	}
	return out
}

// WriteTo writes the frame's lines, each ending in a newline.
func (w Watch) WriteTo(out io.Writer) (int64, error) {
	var b strings.Builder
	for _, l := range w.Lines() {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	n, err := io.WriteString(out, b.String())
	return int64(n), err
}

// poolWatchCols are the columns of the pools' table the live view shows (no FRAG).
var poolWatchCols = []int{0, 1, 2, 3, 5, 6, 7}

func pick(cells []string, cols []int) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = cells[c]
	}
	return out
}

// firstFinding is the line under a row that is not OK: the first reason for its level.
func firstFinding(l Level, fs []Finding) []string {
	if l == LevelOK || len(fs) == 0 {
		return nil
	}
	return []string{"    " + ascii(fs[0].Text)}
}

// transferCells is a stream's row: target, kind, bytes of the estimate, percent, rate, ETA.
func transferCells(t LiveTransfer) []string {
	total, pct, rate, eta := "?", "-", "-", "-"
	if t.Total > 0 {
		total = bytefmt.IEC(t.Total)
		pct = fmt.Sprintf("%d%%", min(t.Bytes*100/t.Total, 100))
	}
	if t.Rate > 0 {
		rate = bytefmt.IEC(int64(t.Rate)) + "/s"
		if t.Total > 0 && t.Bytes < t.Total {
			eta = Age(time.Duration(float64(t.Total-t.Bytes) / t.Rate * float64(time.Second)))
		}
	}
	kind := t.Kind
	if kind == puller.Incremental.String() {
		kind = "incr" // seven columns more for the target's name
	}
	return []string{t.Target, kind, bytefmt.IEC(t.Bytes) + "/" + total, pct, rate, eta}
}

// columns lays cells out in columns two spaces apart, right-aligned where right says, within
// WatchWidth: when the rows are too wide, column flex is shortened in the middle ("...") down to
// 12 characters, and what is still too wide is clipped. Every cell is made plain ASCII.
func columns(cells [][]string, right []bool, flex int) []string {
	if len(cells) == 0 {
		return nil
	}
	n := len(cells[0])
	width := make([]int, n)
	for _, c := range cells {
		for i, v := range c {
			c[i] = ascii(v)
			width[i] = max(width[i], len(c[i]))
		}
	}
	total := 2 * (n - 1)
	for _, wd := range width {
		total += wd
	}
	if over := total - WatchWidth; over > 0 {
		width[flex] = max(width[flex]-over, min(width[flex], 12))
	}
	out := make([]string, len(cells))
	for k, c := range cells {
		var b strings.Builder
		for i, v := range c {
			v = middle(v, width[i])
			pad := strings.Repeat(" ", width[i]-len(v))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < len(right) && right[i] {
				b.WriteString(pad + v)
			} else {
				b.WriteString(v + pad)
			}
		}
		out[k] = clip(strings.TrimRight(b.String(), " "), WatchWidth)
	}
	return out
}

// middle shortens s to n characters by putting "..." in its middle, keeping both ends of a
// dataset's name (the pool and the leaf).
func middle(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 3 {
		return s[:n]
	}
	head := (n - 3) / 2
	return s[:head] + "..." + s[len(s)-(n-3-head):]
}

// clip shortens a line to n characters, ending it in "..." when it was longer. s is made
// plain ASCII first.
func clip(s string, n int) string {
	s = ascii(s)
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// ascii replaces what is not printable ASCII with '?' (an error from a source may hold anything).
func ascii(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return strings.Map(func(r rune) rune {
				if r < 0x20 || r > 0x7e {
					return '?'
				}
				return r
			}, s)
		}
	}
	return s
}
