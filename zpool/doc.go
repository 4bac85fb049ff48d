// Package zpool is how vault looks at its pools: `zpool list -Hp` and `zpool status -p`, run
// through the zfs package's runner (argv only, LC_ALL=C, TZ=UTC) and parsed strictly.
//
// It is a package of its own, not part of zfs, because it is another idea with other inputs:
// zfs knows datasets and streams, this one pool health and scans; it shares zfs's runner
// ([zfs.Executor], [zfs.Cmd], [zfs.ExitError]) and its name rules (a pool name is a
// [zfs.Dataset] without "/"), so there is still one way to run a command and one way to
// validate a name.
//
// The parsers (list.go, status.go, scan.go) are pure and fuzzed. `zpool status` text is made
// for people: the parser follows the printf formats of OpenZFS's cmd/zpool/zpool_main.c
// (status_callback, print_status_config, print_scan_scrub_resilver_status,
// print_rebuild_status_impl, print_err_scrub_status) in 2.1.x, 2.2.x, 2.3.x and 2.4.x, and a
// line it does not know is an error naming it, never a guess. Read in those sources:
//
//   - The scan lines are the same from 2.2.0 to 2.4.4; 2.1 differs only in the progress line
//     of a running scan ("X scanned at R/s, Y issued at R/s, Z total" against 2.2's
//     "X / T scanned at R/s, Y / T issued at R/s"). Byte counts in scan lines are always
//     zfs_nicebytes ("1.50M"), -p or not; only the vdev error counters obey -p.
//   - Dates are ctime(3) in the C locale ("Sun Dec  6 00:24:01 2026") in zpool's local time:
//     [Zpool] runs it with TZ=UTC and parses them as UTC.
//   - A pool never scanned has no scan line at all. The kernel keeps one scan record: a
//     resilver replaces the last scrub's line, so a pool can have no known last scrub.
//   - 2.2 added the error scrub (zpool scrub -e), shown on a " scrub:" line in place of the
//     scrub's when it is newer; OpenZFS after 2.4 adds "thorough scrub" (zpool scrub -t),
//     read as a scrub.
package zpool
