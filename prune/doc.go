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
// A snapshot's date is the date in its name when the name is a zfsnap2 name
// ([policy.ParseName], read in [Rules.Location], the source's time zone),
// otherwise its creation property. A snapshot with no zfsnap2 name and a
// zero Creation has no date: it has no known age, and the checks below pass
// it by.
//
// A source's root can take a snapshot now and name it with any date, and a
// name dated into an earlier period would take the place of that period's
// genuine snapshots in the grid. So a date counts only as far as it can be
// checked. Going through a dataset's snapshots oldest first (ascending
// createtxg), with a tolerance of [Rules.DateTolerance]
// ([DefaultDateTolerance] when zero or negative), a snapshot's date lies
// when:
//
//   - its name is a zfsnap2 name and neither reading of the name's
//     wall-clock time in the location is within the tolerance of its
//     creation: ParseName's, and the one with the UTC offset in force at
//     the creation (when that offset gives the same wall-clock time). So a
//     name taken in the hour the clocks fall back, which ParseName reads as
//     the first of the two, is not an hour off, and neither is a snapshot
//     named just before a DST switch and created just after. A zfsnap2 name
//     with a zero Creation (a listing without the column) is not checked
//     against it; the next two checks still apply;
//   - the date is more than the tolerance after now;
//   - the date is more than the tolerance before the reference: the latest
//     date among the older snapshots whose dates do not lie (so one liar
//     does not make every genuine snapshot after it look like one).
//
// A date before the reference by no more than the tolerance is not a lie:
// zfsnap2 takes its date once per run, before it snapshots the datasets in
// turn, so two runs started together may reach a dataset in either order. It
// lets a name reach back no further than the first check already does (a
// name up to the tolerance before its creation, which may fall in an earlier
// period). The snapshot keeps its own date: one that depended on an older
// snapshot would change when that one is destroyed, and a second plan on what
// the first left would not agree with it.
//
// A snapshot's age time is its date: for a zfsnap2 name the reading nearest
// to its creation. min_age, the future rail and the grid's buckets use it;
// the TTL counts from the date in the name ([policy.Name.ExpiresAt]).
//
// A snapshot whose date lies is kept, takes no part in the grid, in the
// order of the others or in the newest and min_keep rails, and freezes its
// dataset: nothing in it goes, [DatasetPlan.Frozen] says why and
// [DatasetPlan.Lies] lists the liars, for the caller to raise an alarm that
// stays until the operator acknowledges them. The planner has no memory: the
// caller's alarm is what keeps the dataset frozen once a date in the future
// has come. A snapshot whose GUID is in [DatasetInput.AckedLies] is a liar
// for good, whatever its dates say now; it is kept and left out as above,
// but does not freeze the dataset and is not in Lies.
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
//     names under KeepUnparsed, snapshots with no known age, snapshots
//     whose dates lie, and snapshots dated in the future. Held, newest and
//     young snapshots take part: they are real history, and a bucket they
//     fill needs no other snapshot.
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
//     Lies are looked for in every dataset but a malformed one, and
//     reported in [DatasetPlan.Lies] whatever these say.
//  2. liar: the snapshot's date lies (see Age; the reason says how, and
//     whether it is acknowledged). While a liar is not acknowledged, every
//     other snapshot of the dataset is kept as frozen, the reason naming the
//     lie, and [DatasetPlan.Frozen] is set.
//  3. newest: the snapshot with the highest createtxg among those whose
//     dates do not lie.
//  4. held: any hold at all (UserRefs > 0), which covers the replication base.
//  5. forever: a zfsnap2 TTL of forever, whether or not SourceTTL is set.
//  6. future: an age time after now, by no more than the date tolerance
//     (clock skew; further is a lie).
//  7. min_age: younger than [Rules.MinAge].
//  8. min_keep: among the newest [Rules.MinKeep] by createtxg of those whose
//     dates do not lie (MinKeep below 1 counts as 1). The newest MinKeep are
//     kept even when older ones are kept too, so the dataset keeps at least
//     MinKeep snapshots, or all it has.
//  9. unparsed: a name that is not a zfsnap2 name with
//     [Rules.KeepUnparsed], or with no creation time to judge it by.
//  10. no_rules: neither rule is configured.
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
