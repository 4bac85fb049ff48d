package policy

import (
	"fmt"
	"strings"
	"time"
)

// Name is a parsed zfsnap2 snapshot name, the part after '@':
// PREFIX + YYYY-MM-DD_HH.MM.SS + "--" + TTL, for example
// "hourly-2022-04-08_16.49.48--1w" (prefix "hourly-") or
// "2022-04-08_16.49.48--forever" (no prefix).
type Name struct {
	// Prefix is everything before the date, separator included, exactly as
	// zfsnap2's -p option put it there: "hourly-", or "" for none. zfsnap2
	// adds no '-' of its own, so -p hourly makes "hourly2022-04-08_...".
	Prefix string
	// Created is the date and time in the name, read in the location given
	// to [ParseName].
	Created time.Time
	TTL     TTL
}

// dateLayout is zfsnap2's TIME_FORMAT, %Y-%m-%d_%H.%M.%S, in Go's notation.
const dateLayout = "2006-01-02_15.04.05"

const dateLen = len(dateLayout)

// ParseName parses short, a snapshot's name after the '@', as a zfsnap2 name,
// reading its date and time in loc (a nil loc is time.Local, the zone
// zfsnap2's `date` writes in). ok is false for anything that is not a
// zfsnap2 name: those are normal, and their age comes from the snapshot's
// creation property instead.
//
// A name parses as zfsnap2 2.0 recognises its own (ValidSnapshotName and its
// helpers in share/zfsnap/core.sh): the TTL is what follows the last "--" and
// must satisfy [ParseTTL]; the 19 characters before that "--" are the date;
// the rest, before the date, is the prefix, and the whole name is exactly
// prefix + date + "--" + TTL. So in "a--2022-04-08_16.49.48--1w" the prefix is
// "a--", and "2022-04-08_16.49.48--b--1w" is not a zfsnap2 name.
//
// Where vault is stricter than zfsnap2:
//   - The date must be a real one. zfsnap2 matches it with the glob
//     [12][90][0-9][0-9]-[01][0-9]-[0-3][0-9]_[0-2][0-9].[0-5][0-9].[0-5][0-9],
//     which lets through 2023-02-30 or hour 29. vault keeps the glob's years
//     (1000-1099, 1900-1999, 2000-2099, 2900-2999) and requires a month
//     01-12, a day that month has, hours 00-23, minutes and seconds 00-59.
//   - The prefix must pass [ValidPrefix].
//   - TTL numbers stop at 999999999 (see [ParseTTL]).
//
// zfsnap2's destroy also considers only the names whose prefix is exactly one
// of its -p prefixes (only unprefixed names when it has none); ParseName
// returns any valid prefix and leaves that choice to the caller.
//
// A wall-clock time that the clocks in loc skipped or showed twice (a DST
// switch) resolves as Go's time.Date resolves it: Created is in one of the
// two zones either side of the switch, and Go does not promise which. With
// Go 1.26 a skipped time is read with the offset in effect after the switch,
// so in New York 2023-03-12_02.30.00 is 06:30 UTC, which is 01:30 EST, and a
// repeated time is the first occurrence, so 2023-11-05_01.30.00 is 01:30 EDT.
// ([TTL.Expiry] resolves a skipped time it computes differently: forward.) zfsnap2 on a host in loc
// never writes a skipped time; one appears only when loc is not the zone of
// the host that took the snapshot. For such a name, and only such a name,
// FormatName(n.Prefix, n.Created, n.TTL) differs from short.
//
// ParseName is cheap: no regular expressions, and no allocations (Prefix
// shares short's memory).
func ParseName(short string, loc *time.Location) (Name, bool) {
	i := strings.LastIndex(short, "--")
	if i < dateLen {
		return Name{}, false
	}
	ttl, f := parseTTL(short[i+2:])
	if f.kind != faultNone {
		return Name{}, false
	}
	y, mo, d, hh, mm, ss, ok := parseDate(short[i-dateLen : i])
	if !ok {
		return Name{}, false
	}
	prefix := short[:i-dateLen]
	if badPrefixAt(prefix) >= 0 {
		return Name{}, false
	}
	if loc == nil {
		loc = time.Local
	}
	return Name{Prefix: prefix, Created: time.Date(y, mo, d, hh, mm, ss, 0, loc), TTL: ttl}, true
}

// parseDate reads s in zfsnap2's date format and checks that it is a real
// date and time, with zfsnap2's years.
func parseDate(s string) (y int, mo time.Month, d, hh, mm, ss int, ok bool) {
	if len(s) != dateLen || s[4] != '-' || s[7] != '-' || s[10] != '_' || s[13] != '.' || s[16] != '.' {
		return
	}
	// zfsnap2's [12][90] for the first two digits of the year.
	if (s[0] != '1' && s[0] != '2') || (s[1] != '9' && s[1] != '0') {
		return
	}
	c, okc := twoDigits(s, 0)
	yy, oky := twoDigits(s, 2)
	m, okm := twoDigits(s, 5)
	d, okd := twoDigits(s, 8)
	hh, okh := twoDigits(s, 11)
	mm, okmm := twoDigits(s, 14)
	ss, oks := twoDigits(s, 17)
	if !(okc && oky && okm && okd && okh && okmm && oks) {
		return
	}
	y, mo = c*100+yy, time.Month(m)
	if mo < time.January || mo > time.December || d < 1 || d > daysIn(y, mo) || hh > 23 || mm > 59 || ss > 59 {
		return
	}
	return y, mo, d, hh, mm, ss, true
}

func twoDigits(s string, i int) (int, bool) {
	a, b := s[i]-'0', s[i+1]-'0' // bytes: anything but a digit wraps above 9
	if a > 9 || b > 9 {
		return 0, false
	}
	return int(a)*10 + int(b), true
}

// ValidPrefix reports whether p may be the prefix of a zfsnap2 name that
// vault reads or writes: nil, or an error naming p and the rule it breaks.
//
// The empty prefix is valid. Otherwise p may hold ASCII letters, digits and
// _ . : -, and may not start with '-'. Those are the characters zfs allows in
// a snapshot name less the space, which zfsnap2 cannot use because it keeps
// its -p prefixes in a space-separated list, and vault's zfs package refuses
// a snapshot name that starts with '-'.
func ValidPrefix(p string) error {
	switch i := badPrefixAt(p); {
	case i < 0:
		return nil
	case p[i] == '-':
		return fmt.Errorf("prefix %q: must not start with \"-\"", p)
	default:
		return fmt.Errorf("prefix %q: %q is not allowed; use letters, digits and _ . : -", p, runeAt(p, i))
	}
}

// badPrefixAt returns the index of the first byte that makes p an invalid
// prefix, or -1 if p is valid.
func badPrefixAt(p string) int {
	if p != "" && p[0] == '-' {
		return 0
	}
	for i := 0; i < len(p); i++ {
		if !prefixChar(p[i]) {
			return i
		}
	}
	return -1
}

func prefixChar(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '_' || b == '.' || b == ':' || b == '-'
}

// FormatName returns the zfsnap2 name prefix + t + "--" + ttl, as zfsnap2's
// snapshot command writes it: t in its own location, to the second (any
// fraction is dropped). The result parses back with [ParseName] when prefix
// passes [ValidPrefix], ttl is one [ParseTTL] returns, and t's year is one
// zfsnap2 reads (1000-1099, 1900-1999, 2000-2099, 2900-2999).
//
//	FormatName("", time.Date(2022, 4, 8, 16, 49, 48, 0, time.UTC), TTL{Weeks: 1})
//	// "2022-04-08_16.49.48--1w"
func FormatName(prefix string, t time.Time, ttl TTL) string {
	var buf [80]byte
	b := append(buf[:0], prefix...)
	b = t.AppendFormat(b, dateLayout)
	b = append(b, "--"...)
	b = ttl.appendTo(b)
	return string(b)
}

// String returns n formatted with [FormatName].
func (n Name) String() string { return FormatName(n.Prefix, n.Created, n.TTL) }

// ExpiresAt returns when n expires with its TTL stretched by factor, as
// [TTL.ExpiryScaled] computes it from n.Created; [Never] for forever.
func (n Name) ExpiresAt(factor float64) time.Time {
	return n.TTL.ExpiryScaled(n.Created, factor)
}

// Expired reports whether n has expired at now, its TTL stretched by factor
// (1 for none). As in zfsnap2's destroy, a snapshot is expired from the
// instant of its expiry on. Forever never expires, and neither does anything
// whose expiry is [Never] (an invalid TTL or factor, or the zero Name).
func (n Name) Expired(now time.Time, factor float64) bool {
	if n.TTL.Forever {
		return false
	}
	e := n.ExpiresAt(factor)
	return !e.Equal(never) && !now.Before(e)
}
