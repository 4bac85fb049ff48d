// Package zfs is the only way vault talks to zfs(8).
//
// It has four layers, each usable and testable without the ones above it:
//
//   - Names (names.go): [Dataset], [Snapshot] and [Bookmark] are values that
//     only a validating constructor ([ParseDataset], [ParseSnapshot],
//     [ParseBookmark], [Dataset.Child], [Dataset.Snapshot], ...) can make.
//     They follow the OpenZFS naming rules (module/zcommon/zfs_namecheck.c)
//     and add vault's own: no name or component that starts with '-' (it
//     could be read as an option), no '%' (zfs's hidden datasets such as
//     %recv) and no control characters. Nothing else in vault builds a zfs
//     argument from a plain string.
//
//   - Runner (runner.go): a [Cmd] is an argv list, never a shell string. An
//     [Executor] runs it; [Local] runs it on this host with an absolute
//     binary path, an explicit environment with LC_ALL=C (vault matches the
//     English text of zfs errors), bounded stderr capture, and one debug log
//     line per command with its duration. A failed command is an [*ExitError]
//     carrying the argv, exit status and stderr. An SSH executor can run the
//     same Cmd on a source host.
//
//   - Commands (commands.go): [ZFS] builds the argv of each zfs subcommand
//     vault uses from name types only, runs it through an Executor and parses
//     the output. The argv builders are pure functions.
//
//   - Parsers (list.go, props.go, holds.go): `zfs list -H -p -o <columns>`,
//     `zfs get -H -p` and `zfs holds -H` output is parsed strictly: fixed columns, field count
//     checked, numbers parsed exactly, names validated, and any bad line quoted
//     with its line number in the error. The parsers are pure and fuzzed; the
//     golden files under testdata/list include output captured from real pools
//     in the lab.
package zfs
