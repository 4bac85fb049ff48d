// Package policy holds vault's pure pruning arithmetic: which snapshot names
// are zfsnap2 names, and when such a snapshot expires.
//
// It does no I/O, runs no commands and reads no clock: callers pass the
// current time and the *time.Location that names are read in.
//
// zfsnap2 names (name.go, ttl.go): [ParseName] and [FormatName] read and
// write names such as "hourly-2022-04-08_16.49.48--1w", exactly as zfsnap2
// 2.0 (github.com/zfsnap/zfsnap, share/zfsnap/core.sh) does, with a few
// deliberate differences, each documented where it applies:
//   - [TTL.Expiry] adds months calendar-correctly, clamping to the last day
//     of a short month, where zfsnap2 puts month totals that are multiples
//     of 12 above 12 one month late and carries surplus days into the next
//     month;
//   - days and weeks are calendar days on the wall clock, hours, minutes
//     and seconds elapsed time, where zfsnap2 does all its arithmetic on the
//     wall clock;
//   - [ParseName] accepts only real dates and times, and only prefixes that
//     pass [ValidPrefix];
//   - TTL numbers stop at 999999999.
package policy
