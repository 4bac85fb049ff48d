// Package prune plans which snapshots a vault destroys: [Plan] is a pure
// function from the snapshots of each dataset, a job's [Rules] and the time
// to a verdict, keep or destroy with one reason, for every snapshot. It does
// no I/O and reads no clock. The executor re-reads the datasets before it
// acts on a plan, and `vault prune --dry-run` prints one.
//
// Destroying the wrong snapshot is the one mistake a backup cannot undo, so
// every choice below falls on the side of keeping.
//
// # Age
//
// A snapshot's age time is the date in its name when the name is a zfsnap2
// name ([policy.ParseName], read in [Rules.Location]), otherwise its
// creation property. The TTL, min_age and the grid's buckets all use it. A
// snapshot with no zfsnap2 name and a zero Creation has no known age.
//
// # Rules
//
// A rule lets a snapshot go, keeps it, or has no opinion:
//
//   - The TTL rule ([Rules.SourceTTL]): a zfsnap2 name lets go from the
//     instant its TTL, stretched by [Rules.TTLFactor], runs out
//     ([policy.Name.ExpiresAt]) and keeps until then. It has no opinion on
//     other names.
//   - The grid rule ([Rules.Grid], when not empty): for each unit, the
//     newest snapshot of each of the Count most recent periods that hold a
//     snapshot (every such period for forever) is selected; the grid keeps
//     what any of its units selects and lets go of the rest. These are
//     restic's --keep-hourly/daily/weekly/monthly/yearly semantics: periods
//     with no snapshot do not count, so "14 daily" keeps 14 days' worth of
//     snapshots even after a month without pulls. Weeks are ISO weeks; see
//     [Unit]. The grid judges every snapshot of the dataset except those it
//     cannot date or is told to leave alone: names that are not zfsnap2
//     names under KeepUnparsed, snapshots with no known age, and snapshots
//     dated in the future. Held, newest and young snapshots take part: they
//     are real history, and a bucket they fill needs no other snapshot.
//
// A snapshot is a candidate to go only when at least one rule lets it go
// and no rule keeps it. A rule with no opinion is not a vote to let go: with
// source_ttl alone, a snapshot whose name is not a zfsnap2 name stays. With
// neither rule configured nothing goes. When both rules let a snapshot go,
// its Rule is "expired"; when only the grid does, "outside_grid".
//
// # Rails
//
// No rule overrides these. Each keeps a snapshot whatever the rules say,
// and a kept snapshot's Reason is the first that applies, in this order:
//
//  1. frozen: the dataset's [DatasetInput.Freeze] is set (its last pull
//     failed or diverged, or it tripped the anomaly alarm): nothing in it
//     goes. Then malformed: the input for the dataset is inconsistent (two
//     snapshots with one createtxg, name or GUID, a snapshot of another
//     dataset or with no name, no dataset name, the dataset given twice):
//     nothing in it goes, and [DatasetPlan.Frozen] says why. Then
//     invalid_rules: the rules fail [Rules.Validate]: nothing goes anywhere.
//  2. newest: the snapshot with the highest createtxg.
//  3. held: any hold at all (UserRefs > 0), which covers the replication base.
//  4. forever: a zfsnap2 TTL of forever, whether or not SourceTTL is set.
//  5. future: an age time after now (clock skew, or a name that lies).
//  6. min_age: younger than [Rules.MinAge].
//  7. min_keep: among the newest [Rules.MinKeep] by createtxg (MinKeep below
//     1 counts as 1). The newest MinKeep are kept even when older ones are
//     kept too, so the dataset keeps at least MinKeep snapshots, or all it
//     has.
//  8. unparsed: a name that is not a zfsnap2 name with
//     [Rules.KeepUnparsed], or with no creation time to judge it by.
//  9. no_rules: neither rule is configured.
//
// Then the rules: ttl (the TTL has not run out; named before the grid
// when both keep), grid (the reason lists every bucket that selects it), or
// unparsed (no rule has an opinion). Last, max_destroy: of the candidates
// left, the oldest [Rules.MaxDestroy] are destroyed and the rest are kept
// for a later run (MaxDestroy zero or negative destroys nothing).
//
// # Order
//
// [Plan] returns one [DatasetPlan] per dataset, in dataset name order, and
// one [Verdict] per input snapshot, oldest first: ascending createtxg, as
// `zfs list -s createtxg` prints them. The same input in any order gives the
// same plan.
package prune
