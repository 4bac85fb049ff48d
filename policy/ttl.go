package policy

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// TTL is a zfsnap2 time to live: "forever", or a duration written as parts
// [Ny][Nm][Nw][Nd][Nh][NM][Ns], in that order, each at most once, at least
// one. y and m are calendar years and months, w is 7 calendar days, d a
// calendar day, and h, M (minutes, not months) and s are elapsed time; see
// [TTL.Expiry].
//
// The zero TTL is not valid: [ParseTTL] never returns it, it formats as "",
// and it never expires.
type TTL struct {
	// Forever is zfsnap2's "forever": never expires. The parts are then
	// zero from ParseTTL, and ignored.
	Forever bool

	Years, Months, Weeks, Days, Hours, Minutes, Seconds int
}

// units are the TTL part letters in the only order zfsnap2 accepts.
const units = "ymwdhMs"

// maxPart bounds each number in a TTL. zfsnap2 takes any string of digits
// and leaves overflow to its shell's arithmetic; vault rejects numbers of
// more than nine digits instead, which keeps each part inside a 32-bit int
// and every sum in Expiry far inside int64. 999999999s is almost 32 years.
const maxPart = 999_999_999

// maxPartDigits is the number of digits in maxPart.
const maxPartDigits = 9

// ttlFault says why a TTL string did not parse. parseTTL returns one instead
// of an error so that ParseName, which throws the reason away, allocates
// nothing for names that are not zfsnap2 names.
type ttlFault struct {
	kind faultKind
	at   string // the offending part of the input
}

type faultKind uint8

const (
	faultNone        faultKind = iota
	faultEmpty                 // ""
	faultUnexpected            // a part starts with neither a digit nor a unit
	faultNoNumber              // a unit with no number before it
	faultNoUnit                // a number at the end, with no unit after it
	faultUnknownUnit           // a number followed by something that is not a unit
	faultZero                  // 0
	faultLeadingZero           // 01
	faultTooLarge              // more than maxPart
	faultRepeated              // 1d1d
	faultOrder                 // 1d1y
)

// ParseTTL parses a zfsnap2 TTL such as "1w", "1y2m3w4d5h6M7s" or "forever".
//
// It accepts exactly what zfsnap2's ValidTTL accepts (see share/zfsnap/core.sh
// in github.com/zfsnap/zfsnap): each number positive and written without
// leading zeros, the units in the order y m w d h M s, each at most once; and
// one limit of its own: no number above 999999999. The error names the input
// and the rule it breaks.
func ParseTTL(s string) (TTL, error) {
	t, f := parseTTL(s)
	if f.kind == faultNone {
		return t, nil
	}
	var rule string
	switch f.kind {
	case faultEmpty:
		rule = "empty; want forever or parts like 1y2m3w4d5h6M7s"
	case faultUnexpected:
		rule = fmt.Sprintf("unexpected %q; want forever or parts like 1y2m3w4d5h6M7s", f.at)
	case faultNoNumber:
		rule = fmt.Sprintf("no number before %q", f.at)
	case faultNoUnit:
		rule = fmt.Sprintf("no unit after %s; units are y m w d h M s", f.at)
	case faultUnknownUnit:
		rule = fmt.Sprintf("unknown unit %q; units are y m w d h M s (m is months, M minutes)", f.at)
	case faultZero:
		rule = "numbers must be positive"
	case faultLeadingZero:
		rule = fmt.Sprintf("numbers must not have leading zeros (%s)", f.at)
	case faultTooLarge:
		rule = fmt.Sprintf("number %s is too large; at most %d", f.at, maxPart)
	case faultRepeated:
		rule = fmt.Sprintf("unit %q appears more than once", f.at)
	case faultOrder:
		rule = "parts must be in the order y m w d h M s"
	}
	return TTL{}, fmt.Errorf("ttl %q: %s", s, rule)
}

// ValidTTL reports whether s is a TTL [ParseTTL] accepts, for checking
// configuration: nil, or an error such as
// `ttl "1m1y": parts must be in the order y m w d h M s`.
func ValidTTL(s string) error {
	_, err := ParseTTL(s)
	return err
}

func parseTTL(s string) (TTL, ttlFault) {
	switch s {
	case "":
		return TTL{}, ttlFault{kind: faultEmpty}
	case "forever":
		return TTL{Forever: true}, ttlFault{}
	}
	var parts [len(units)]int
	last := -1 // index in units of the previous part
	for i := 0; i < len(s); {
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		num := s[start:i]
		if i == len(s) {
			return TTL{}, ttlFault{kind: faultNoUnit, at: num}
		}
		u := indexUnit(s[i])
		switch {
		case num == "" && u >= 0:
			return TTL{}, ttlFault{kind: faultNoNumber, at: s[i : i+1]}
		case num == "":
			return TTL{}, ttlFault{kind: faultUnexpected, at: runeAt(s, i)}
		case u < 0:
			return TTL{}, ttlFault{kind: faultUnknownUnit, at: runeAt(s, i)}
		}
		n, k := atoi(num)
		if k != faultNone {
			return TTL{}, ttlFault{kind: k, at: num}
		}
		if u == last {
			return TTL{}, ttlFault{kind: faultRepeated, at: s[i : i+1]}
		}
		if u < last {
			return TTL{}, ttlFault{kind: faultOrder}
		}
		parts[u] = n
		last = u
		i++
	}
	return TTL{
		Years: parts[0], Months: parts[1], Weeks: parts[2], Days: parts[3],
		Hours: parts[4], Minutes: parts[5], Seconds: parts[6],
	}, ttlFault{}
}

// atoi converts a non-empty string of ASCII digits to a number in
// [1, maxPart], or says which rule it breaks.
func atoi(num string) (int, faultKind) {
	if num[0] == '0' {
		for i := 1; i < len(num); i++ {
			if num[i] != '0' {
				return 0, faultLeadingZero
			}
		}
		return 0, faultZero
	}
	if len(num) > maxPartDigits {
		return 0, faultTooLarge
	}
	n := 0
	for i := 0; i < len(num); i++ {
		n = n*10 + int(num[i]-'0')
	}
	return n, faultNone
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func indexUnit(b byte) int {
	for i := 0; i < len(units); i++ {
		if units[i] == b {
			return i
		}
	}
	return -1
}

// runeAt returns the (possibly invalid UTF-8) character at s[i:], for errors.
func runeAt(s string, i int) string {
	_, size := utf8.DecodeRuneInString(s[i:])
	return s[i : i+size]
}

func (t TTL) parts() [len(units)]int {
	return [...]int{t.Years, t.Months, t.Weeks, t.Days, t.Hours, t.Minutes, t.Seconds}
}

// String returns t in canonical zfsnap2 form: "forever", or the non-zero
// parts in the order y m w d h M s. A TTL from [ParseTTL] formats as the
// string it was parsed from. A TTL that ParseTTL cannot return (zero,
// negative or too large parts) formats as something that does not parse.
func (t TTL) String() string {
	var buf [64]byte
	return string(t.appendTo(buf[:0]))
}

func (t TTL) appendTo(b []byte) []byte {
	if t.Forever {
		return append(b, "forever"...)
	}
	for i, n := range t.parts() {
		if n != 0 {
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, units[i])
		}
	}
	return b
}

// valid reports whether t is a TTL ParseTTL could have returned.
func (t TTL) valid() bool {
	if t.Forever {
		return true
	}
	some := false
	for _, n := range t.parts() {
		if n < 0 || n > maxPart {
			return false
		}
		some = some || n > 0
	}
	return some
}

// never is the expiry of what does not expire; see Never.
var never = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Never returns the instant, 9999-12-31T00:00:00Z, that stands for "does
// not expire": the expiry of a forever TTL, of an invalid TTL, and of any
// expiry that would fall after it. Every other expiry is before it, and every
// time this package returns can be marshalled as RFC 3339 (years up to 9999)
// in any time zone.
func Never() time.Time { return never }

// Expiry returns when a snapshot created at created with this TTL expires,
// or [Never] for forever.
//
// The parts apply from the largest to the smallest, the calendar parts in
// created's location:
//
//  1. Years and months together (1y1m is 13m) move the date by whole calendar
//     months, keeping the day of the month; a day the target month lacks is
//     clamped to its last day: Jan 31 + 1m is Feb 28, or Feb 29 in a leap
//     year, and Feb 29 + 1y is Feb 28.
//  2. Weeks (7 days each) and days then move the date by calendar days.
//  3. The time of day stays as it was on the wall clock. Where the new date
//     has no such time (clocks spring forward over it), the expiry moves
//     forward by the gap, as the clocks do: 02:30 on 2023-03-12 in New York
//     is 03:30 EDT. Where the new date has it twice (clocks fall back), it is
//     whichever of the two time.Date returns: Go does not promise which
//     (Go 1.26 takes the first, daylight-saving one).
//  4. Hours, minutes and seconds are then added as elapsed time: 24h is
//     always 86400 seconds, while 1d across a switch to or from summer time
//     is 23 or 25 hours, and ends at the same wall-clock time of day.
//
// Calendar days are what an operator reading 2023-03-11_01.15.00--1d
// expects (gone at 01:15 tomorrow, in step with the daily cron job that
// makes these names), and hours stay exact for TTLs shorter than a day.
// iCalendar durations (RFC 5545) treat days, weeks and hours the same way.
//
// Where vault differs from zfsnap2 (DatePlusTTL in share/zfsnap/core.sh,
// 2.0): zfsnap2 adds every field to the digits of the name's date, then
// carries overflows. Its carry puts month totals that are multiples of 12
// above 12 one month late (2023-12-15 + 12m is 2025-01-15 there), which vault
// does not; it carries the days a short month lacks into the next month
// (2023-01-31 + 1m is 2023-03-03 there, 2023-02-28 here), so vault may expire
// a month TTL taken on the 29th to 31st up to three days sooner than zfsnap2
// would; and it adds hours, minutes and seconds to the wall clock too and
// compares local wall-clock strings, so around a DST switch its hours are
// not elapsed hours. (Earlier zfsnap versions converted the whole TTL to
// seconds, with m = 30 days and y = 365 days.)
//
// An invalid TTL (the zero TTL, negative parts, or parts above 999999999,
// which ParseTTL never returns) expires [Never]: a bad TTL lets nothing go.
func (t TTL) Expiry(created time.Time) time.Time {
	if t.Forever || !t.valid() {
		return never
	}
	loc := created.Location()
	r := created
	if t.Years != 0 || t.Months != 0 || t.Weeks != 0 || t.Days != 0 {
		y, m, d, ok := addCalendar(created, t)
		if !ok {
			return never
		}
		hh, mm, ss := created.Clock()
		r = wallClock(y, m, d, hh, mm, ss, created.Nanosecond(), loc)
	}
	if s := int64(t.Hours)*3600 + int64(t.Minutes)*60 + int64(t.Seconds); s != 0 {
		// Seconds, not a time.Duration: 999999999h overflows a Duration.
		r = time.Unix(r.Unix()+s, int64(r.Nanosecond())).In(loc)
	}
	if !r.Before(never) {
		return never
	}
	return r
}

// maxUnixDay is 9999-12-31 in days since 1970-01-01.
const maxUnixDay = 2932896

// addCalendar returns created's date in its location moved by t's years,
// months, weeks and days as Expiry describes, or ok=false if that date is
// after 9999.
func addCalendar(created time.Time, t TTL) (y int, m time.Month, d int, ok bool) {
	cy, cm, cd := created.Date()
	months := int64(cy)*12 + int64(cm-1) + int64(t.Years)*12 + int64(t.Months)
	ty, tm := floorDivMod(months, 12)
	if ty > 9999 {
		return 0, 0, 0, false
	}
	y, m, d = int(ty), time.Month(tm+1), min(cd, daysIn(int(ty), time.Month(tm+1)))
	if days := int64(t.Weeks)*7 + int64(t.Days); days != 0 {
		// Through days since the epoch rather than time.Date's day
		// argument, which is an int and may be 32 bits wide.
		unixDay := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()/86400 + days
		if unixDay > maxUnixDay {
			return 0, 0, 0, false
		}
		y, m, d = time.Unix(unixDay*86400, 0).UTC().Date()
	}
	return y, m, d, true
}

// wallClock returns the instant at which clocks in loc show the given date
// and time. If they never show it, because they spring forward over it, it
// is that time moved forward by the gap; if they show it twice, it is
// whichever time.Date returns.
func wallClock(y int, m time.Month, d, hh, mm, ss, ns int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, hh, mm, ss, ns, loc)
	ty, tm, td := t.Date()
	th, tmin, ts := t.Clock()
	if ty == y && tm == m && td == d && th == hh && tmin == mm && ts == ss {
		return t
	}
	// In a gap. time.Date read the wall time with one of the two UTC offsets
	// either side of the switch, and so landed on the other side of it, where
	// t's own offset is the other one. Read it with that one too and keep the
	// later instant.
	_, off := t.Zone()
	wall := time.Date(y, m, d, hh, mm, ss, 0, time.UTC).Unix()
	if alt := time.Unix(wall-int64(off), int64(ns)).In(loc); alt.After(t) {
		return alt
	}
	return t
}

// ExpiryScaled returns the expiry of this TTL stretched by factor (a job's
// ttl_factor): created + factor × (Expiry(created) − created). The calendar
// span is worked out first, as [TTL.Expiry] does, and then stretched as
// elapsed time, so a fractional factor needs no fractional months: 1m from
// 2024-01-31 spans 29 days, and 1.5 × 1m from that date is 43.5 days. The
// result moves monotonically with factor, is exactly Expiry(created) for
// factor 1, and is never before it for a factor above 1.
//
// A factor that is NaN, infinite, zero or negative gives [Never], as do
// forever and invalid TTLs: a bad factor lets nothing go. A factor between 0
// and 1 shortens the TTL; whether a job may configure one is for its
// configuration to decide.
func (t TTL) ExpiryScaled(created time.Time, factor float64) time.Time {
	exp := t.Expiry(created)
	if factor == 1 || exp.Equal(never) {
		return exp
	}
	if !(factor > 0) || math.IsInf(factor, 1) {
		return never
	}
	// In seconds, not a time.Duration, which stops at 292 years.
	span := float64(exp.Unix()-created.Unix()) + float64(exp.Nanosecond()-created.Nanosecond())/1e9
	scaled := span * factor
	if scaled >= float64(never.Unix()-created.Unix()) {
		return never
	}
	whole := math.Floor(scaled)
	r := time.Unix(created.Unix()+int64(whole), int64(created.Nanosecond())+int64((scaled-whole)*1e9)).In(created.Location())
	if factor > 1 && r.Before(exp) { // float rounding of sub-second spans
		r = exp
	}
	return r
}

// floorDivMod returns the quotient rounded down and the non-negative
// remainder of a/b, for b > 0.
func floorDivMod(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q, r = q-1, r+b
	}
	return q, r
}

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
