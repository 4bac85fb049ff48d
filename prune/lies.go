package prune

import (
	"fmt"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/zfs"
)

// DefaultDateTolerance is the date tolerance of Rules whose DateTolerance is
// zero: the configuration's default.
const DefaultDateTolerance = 15 * time.Minute

// Lie is a snapshot whose name (or creation time) lies about its date, as
// [Plan] finds it; see "Age" in the package documentation. Until the operator
// acknowledges it ([DatasetInput.AckedLies]) nothing in its dataset goes.
type Lie struct {
	Snapshot zfs.Snapshot
	GUID     uint64
	// Why is one line for an operator: "named 2026-11-20 23:59:59 but
	// created 2026-11-25 10:03:17", "dated 2026-11-20 23:59:59, before the
	// older @2026-11-24_00.00.00--1w", "dated 2099-01-01 00:00, more than
	// 15m in the future".
	Why string
}

// dates works out, into p.info, each snapshot's age time and whether its
// date is a lie, for a well-formed dataset's snapshots v sorted oldest
// first. acked holds the GUIDs of lies the operator acknowledged. It returns
// the lies not acknowledged, oldest first.
//
// The package documentation's "Age" says exactly what this does.
func (p *planner) dates(v []Verdict, acked map[uint64]bool) []Lie {
	n := len(v)
	info := p.info[:0]
	if cap(info) < n {
		info = make([]snapInfo, n)
	}
	info = info[:n]
	p.info = info
	var lies []Lie
	limit := p.now.Add(p.tol)
	ref := -1 // the latest dated snapshot so far that does not lie
	for i := range v {
		s := &v[i].Snapshot
		in := &info[i]
		*in = snapInfo{}
		in.name, in.parsed = policy.ParseName(s.Name.Short(), p.loc)
		switch {
		case in.parsed && !s.Creation.IsZero():
			t, ok := p.corroborate(in.name.Created, s.Creation)
			if !ok {
				in.t, in.known = in.name.Created, true
				in.lie = "named " + stamp(in.name.Created) + " but created " + stamp(s.Creation.In(p.loc))
				break
			}
			in.t, in.known = t, true
		case in.parsed:
			// No creation to check the name against: only the
			// order and the future can tell.
			in.t, in.known = in.name.Created, true
		case !s.Creation.IsZero():
			in.t, in.known = s.Creation.In(p.loc), true
		}
		if in.lie == "" && in.known {
			switch {
			case in.t.After(limit):
				in.lie = "dated " + stamp(in.t) + ", more than " + conf.FormatDuration(p.tol) + " in the future"
			case ref >= 0 && in.t.Before(info[ref].t.Add(-p.tol)):
				in.lie = "dated " + stamp(in.t) + ", before the older @" + v[ref].Snapshot.Name.Short()
			}
		}
		in.acked = acked[s.GUID]
		switch {
		case in.acked:
			// Acknowledged: a liar for good, even once its date no
			// longer shows it (a date in the future stops being one).
			in.liar = true
		case in.lie != "":
			in.liar = true
			lies = append(lies, Lie{Snapshot: s.Name, GUID: s.GUID, Why: in.lie})
		case in.known && (ref < 0 || in.t.After(info[ref].t)):
			ref = i
		}
	}
	// Rank from the newest the snapshots that do not lie, for the newest
	// and min_keep rails.
	top := int32(0)
	for i := n - 1; i >= 0; i-- {
		if !info[i].liar {
			top++
			info[i].top = top
		}
	}
	return lies
}

// corroborate reads created, a zfsnap2 name's date in p.loc, against
// creation, the snapshot's creation property. It returns the reading of the
// name's wall-clock time in p.loc nearest to creation, and whether that is
// within the tolerance. A wall-clock time has two readings in the hour the
// clocks fall back: ParseName gives the first, and the snapshot may have
// been taken in the second.
func (p *planner) corroborate(created, creation time.Time) (time.Time, bool) {
	best := created
	d := absDuration(created.Sub(creation))
	_, offC := creation.In(p.loc).Zone()
	if _, offN := created.Zone(); offC != offN {
		// The name read with the offset in effect at creation.
		y, mo, dd := created.Date()
		hh, mm, ss := created.Clock()
		alt := time.Date(y, mo, dd, hh, mm, ss, 0, time.UTC).Add(-time.Duration(offC) * time.Second).In(p.loc)
		if da := absDuration(alt.Sub(creation)); da < d && sameWall(alt, created) {
			best, d = alt, da
		}
	}
	return best, d <= p.tol
}

// sameWall reports whether a and b show the same wall-clock time to the
// second.
func sameWall(a, b time.Time) bool {
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	ha, mia, sa := a.Clock()
	hb, mib, sb := b.Clock()
	return ya == yb && ma == mb && da == db && ha == hb && mia == mib && sa == sb
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// liesReason says why lies freeze a dataset, for [DatasetPlan.Frozen]:
// "@X lies about its date: named ... but created ...", or "3 snapshots lie
// about their dates, the oldest @X: ...".
func liesReason(lies []Lie) string {
	if len(lies) == 1 {
		return fmt.Sprintf("@%s lies about its date: %s", lies[0].Snapshot.Short(), lies[0].Why)
	}
	return fmt.Sprintf("%d snapshots lie about their dates, the oldest @%s: %s", len(lies), lies[0].Snapshot.Short(), lies[0].Why)
}

// liarReason is the verdict of a snapshot whose date lies.
func liarReason(in *snapInfo) string {
	switch {
	case in.acked && in.lie == "":
		return "kept: acknowledged as lying about its date"
	case in.acked:
		return "kept: " + in.lie + " (lies about its date; acknowledged)"
	}
	return "kept: " + in.lie + " (lies about its date)"
}
