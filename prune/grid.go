package prune

import (
	"fmt"
	"slices"
	"time"
)

// bucketKey returns the period of unit u that t (already in the rules'
// location) falls in, as a number: equal for two times in the same period,
// different otherwise, and larger for a later period on a monotonic wall
// clock. Every field is a wall-clock field of t, so keys are whole periods
// in the location, whatever the DST switches.
func bucketKey(u Unit, t time.Time) int64 {
	switch u {
	case Weekly:
		y, w := t.ISOWeek()
		return int64(y)*100 + int64(w)
	case Yearly:
		return int64(t.Year())
	}
	y, m, d := t.Date()
	switch u {
	case Monthly:
		return int64(y)*100 + int64(m)
	case Daily:
		return (int64(y)*100+int64(m))*100 + int64(d)
	}
	return ((int64(y)*100+int64(m))*100+int64(d))*100 + int64(t.Hour())
}

// bucketLabel names the period of unit u that t falls in, for an operator:
// "2026-11-24 10:00", "2026-11-24", "2026-W48", "2026-11", "2026".
func bucketLabel(u Unit, t time.Time) string {
	switch u {
	case Hourly:
		return t.Format("2006-01-02 15:00")
	case Daily:
		return t.Format("2006-01-02")
	case Weekly:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case Monthly:
		return t.Format("2006-01")
	}
	return t.Format("2006")
}

// selectGrid applies the grid to the snapshots in info whose inGrid is set,
// and records in each selected one's ranks which period of each unit it is
// the newest snapshot of (1 for the most recent period that holds a
// snapshot, 2 for the one before, and so on).
//
// For each rule, the snapshots are visited newest first by their age time
// (then by createtxg, newest first): the first snapshot seen in a period is
// that period's newest, and the periods are ranked in the order their newest
// snapshots are seen. That is restic's --keep-daily N and the like: the N
// most recent periods that hold a snapshot, the newest in each; periods
// with no snapshot do not count. Where the wall clock runs monotonically,
// ranking by newest snapshot is ranking by period. Where it does not (a zone
// that falls back across midnight) a period may be visited, left and
// visited again; it is still one period, ranked by its newest snapshot.
//
// order is scratch space; seen is a reusable set.
func selectGrid(info []snapInfo, grid *[numUnits]GridRule, order []int32, seen map[int64]struct{}) []int32 {
	order = order[:0]
	for i := range info {
		if info[i].inGrid {
			order = append(order, int32(i))
		}
	}
	if len(order) == 0 {
		return order
	}
	// info is in createtxg order, so a larger index is a larger createtxg.
	slices.SortFunc(order, func(a, b int32) int {
		if c := info[b].t.Compare(info[a].t); c != 0 {
			return c
		}
		return int(b) - int(a)
	})
	for u := Hourly; u <= Yearly; u++ {
		g := grid[u]
		if g.Unit == 0 {
			continue
		}
		clear(seen)
		rank := int32(0)
		last, haveLast := int64(0), false
		for _, i := range order {
			k := bucketKey(u, info[i].t)
			if haveLast && k == last {
				continue // the common case: still in the period just seen
			}
			last, haveLast = k, true
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			rank++
			if !g.Forever && int(rank) > g.Count {
				break
			}
			info[i].ranks[u] = rank
		}
	}
	return order
}

// gridReason describes the buckets that select s, finest unit first:
// "daily 3 of 14 (2026-11-24), weekly 1 of 8 (2026-W48)".
func gridReason(s *snapInfo, grid *[numUnits]GridRule) string {
	b := make([]byte, 0, 64)
	for u := Hourly; u <= Yearly; u++ {
		rank := s.ranks[u]
		if rank == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		if grid[u].Forever {
			b = fmt.Appendf(b, "%s %d, forever (%s)", u, rank, bucketLabel(u, s.t))
		} else {
			b = fmt.Appendf(b, "%s %d of %d (%s)", u, rank, grid[u].Count, bucketLabel(u, s.t))
		}
	}
	return string(b)
}
