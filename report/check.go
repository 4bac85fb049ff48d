package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds of a check line's text, before the performance data: Nagios keeps 4 KiB of a plugin's
// output, but its interfaces, mails and pagers show the first hundred characters or so.
const (
	checkItems    = 5   // problems named at most
	checkTextLen  = 300 // the text stops growing past this many bytes
	checkFindingN = 120 // one finding's text is cut to this many bytes
)

// nagiosWord is the state word of a check line.
func nagiosWord(l Level) string {
	switch l {
	case LevelOK:
		return "OK"
	case LevelWarn:
		return "WARNING"
	case LevelCrit:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// CheckLine is vault check's output and exit code, the Nagios plugin way: one line
//
//	VAULT CRITICAL - host05 host05data/vm/fs.client: conflict, needs the operator: ...; +2 more | datasets=12 ok=9 warn=1 crit=2 unknown=0 oldest_lag=93600s;;;0
//
// naming the rows that are not OK (datasets, jobs without any, pools), worst first (in
// configuration order within a level), each by
// its worst finding, at most a handful and about 300 characters, then the performance data; and
// the code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, the worst level (UNKNOWN counts for less than
// WARNING: see Worse). warn and crit, when not 0, replace every job's rpo and rpo_critical.
func CheckLine(s Status, warn, crit time.Duration) (line string, code int) {
	if warn > 0 || crit > 0 {
		s = s.WithThresholds(warn, crit)
	}
	sum := s.Summary()
	rows := s.rows()
	var bad []row
	for _, r := range rows {
		if r.level() != LevelOK {
			bad = append(bad, r)
		}
	}
	slices.SortStableFunc(bad, func(a, b row) int { return b.level().gravity() - a.level().gravity() })

	var text string
	if len(bad) == 0 {
		text = fmt.Sprintf("%d dataset(s) in %d job(s) ok", sum.Datasets, sum.Jobs)
		if sum.Pools > 0 {
			text = fmt.Sprintf("%d dataset(s) in %d job(s) and %d pool(s) ok", sum.Datasets, sum.Jobs, sum.Pools)
		}
	} else {
		var parts []string
		n := 0
		for _, r := range bad {
			if len(parts) == checkItems || (n > 0 && n >= checkTextLen) {
				break
			}
			f := r.findings()
			what := "not ok"
			if len(f) > 0 {
				what = cut(f[0].Text, checkFindingN)
			}
			p := r.name() + ": " + what
			if n := r.name(); r.ds == nil && r.job == nil && strings.HasPrefix(what, n) && len(what) > len(n) && strings.ContainsRune(" :,", rune(what[len(n)])) {
				p = what // a pool's findings name it already
			}
			parts = append(parts, p)
			n += len(p) + 2
		}
		if more := len(bad) - len(parts); more > 0 {
			parts = append(parts, fmt.Sprintf("+%d more", more))
		}
		text = strings.Join(parts, "; ")
	}
	// "|" starts the performance data: it must not appear before it.
	text = strings.ReplaceAll(text, "|", "/")

	perf := fmt.Sprintf("datasets=%d ok=%d warn=%d crit=%d unknown=%d", sum.Datasets, sum.OK, sum.Warn, sum.Crit, sum.Unknown)
	oldest := int64(-1)
	for _, r := range rows {
		if r.ds != nil && r.ds.LagSeconds != nil {
			oldest = max(oldest, *r.ds.LagSeconds)
		}
	}
	if oldest >= 0 {
		perf += fmt.Sprintf(" oldest_lag=%ds;%s;%s;0", oldest, perfSeconds(warn), perfSeconds(crit))
	}
	if sum.Pools > 0 {
		perf += fmt.Sprintf(" pools=%d", sum.Pools)
	}
	return fmt.Sprintf("VAULT %s - %s | %s", nagiosWord(sum.Level), text, perf), int(sum.Level)
}

// perfSeconds is a threshold in performance data: empty when the jobs' own apply (they may
// differ from job to job).
func perfSeconds(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprint(int64(d / time.Second))
}

// cut shortens s to at most n bytes, at a rune boundary, marking the cut with "...".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - 3
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// CheckError is the line and code of a check that could not look: UNKNOWN, with the reason on
// one line.
func CheckError(err error) (line string, code int) {
	return "VAULT UNKNOWN - " + strings.ReplaceAll(cut(oneLine(err.Error()), 400), "|", "/"), int(LevelUnknown)
}
