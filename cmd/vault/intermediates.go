package main

// What an -I export is, said plainly. zfs send -I writes a package of one stream per snapshot,
// and zfs receive commits each snapshot as its stream ends: an import that fails part-way keeps
// the intermediate snapshots received before the failure (sneakernet holds back only the end
// of the whole stream, so the last snapshot is never committed by a failed import). These
// functions do no I/O: the commands list the target and print.

import (
	"fmt"
	"strings"

	"github.com/belltech/vault/sneakernet"
	"github.com/belltech/vault/zfs"
)

// maxListed is how many snapshot names a message lists before it abbreviates.
const maxListed = 8

// intermediatesCaveat is the line printed before an -I export is received (and when one is
// written), naming what may stay of it on where if the import fails part-way. It is "" for an
// export without intermediate snapshots, which is all or nothing.
func intermediatesCaveat(name string, m *sneakernet.Manifest, where string) string {
	if len(m.Intermediates) == 0 {
		return ""
	}
	return fmt.Sprintf("%s is an -I export of %d snapshots (%s before %s): if the import fails part-way, those received before the failure stay on %s (nothing is destroyed; importing the export again from intact media carries on from them)",
		name, len(m.Intermediates)+1, shortNames(m.Intermediates), m.ToSnapshot.Short(), where)
}

// describeStream says what an export carries, for --verify-only.
func describeStream(m *sneakernet.Manifest) string {
	switch {
	case m.FromGUID == 0:
		return fmt.Sprintf("a full stream of %s", m.ToSnapshot)
	case len(m.Intermediates) == 0:
		return fmt.Sprintf("an incremental stream of %s from %s", m.ToSnapshot, fromShort(m))
	}
	return fmt.Sprintf("an -I stream of %s from %s with the %d snapshots in between: %s",
		m.ToSnapshot, fromShort(m), len(m.Intermediates), shortNames(m.Intermediates))
}

// alreadyLanded is the note printed before the receive of an -I export of which the target
// already holds the first snapshots, or "".
func alreadyLanded(name string, landed []sneakernet.Intermediate, target zfs.Dataset) string {
	if len(landed) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %s of its snapshots %s already on %s, from an earlier import that stopped part-way; zfs receive skips %s",
		name, shortNames(landed), isAre(len(landed)), target, themIt(len(landed)))
}

// failedImport is the start of the error of a failed receive of an -I export: head ("refused
// NAME", "zfs receive failed") and which of its intermediate snapshots are on the target now
// (landed, or listErr if the target could not be listed). The caller adds the cause.
func failedImport(head string, m *sneakernet.Manifest, target zfs.Dataset, landed []sneakernet.Intermediate, listErr error) string {
	switch {
	case listErr != nil:
		return fmt.Sprintf("%s; of its snapshots %s, those received before the failure stay on %s (cannot list them: %v)",
			head, shortNames(m.Intermediates), target, listErr)
	case len(landed) == 0:
		return head + ", nothing received"
	}
	stay := "stay"
	if len(landed) == 1 {
		stay = "stays"
	}
	return fmt.Sprintf("%s, but %s of its %d snapshots before %s %s on %s and %s (importing the export again from intact media carries on from them)",
		head, shortNames(landed), len(m.Intermediates), m.ToSnapshot.Short(), isAre(len(landed)), target, stay)
}

// shortNames lists the snapshots' short names, "a, b and c"; a long list keeps its first and
// last few.
func shortNames(xs []sneakernet.Intermediate) string {
	names := make([]string, len(xs))
	for i, x := range xs {
		names[i] = x.Snapshot.Short()
	}
	if len(names) > maxListed {
		head, tail := names[:maxListed-3], names[len(names)-2:]
		names = append(append(head[:len(head):len(head)], fmt.Sprintf("(%d more)", len(names)-len(head)-len(tail))), tail...)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func fromShort(m *sneakernet.Manifest) string {
	if !m.FromSnapshot.IsZero() {
		return "@" + m.FromSnapshot.Short()
	}
	return "#" + m.FromBookmark.Short()
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func themIt(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
