// Package conf reads vault's configuration: one TOML file, e.g. /usr/local/etc/vault.toml on
// FreeBSD or /etc/vault/vault.toml elsewhere (DefaultPath).
//
// Load reads a file and Parse parses bytes. Both return a *Config with every default filled
// in and every value checked, or a *Problems listing every problem found, each with its key
// path and line: unknown keys (with the key probably meant), values of the wrong TOML type
// (nothing is converted: "7" is not 7), values that do not parse, and mistakes across keys.
// Key paths use the TOML key names; entries of an array of tables are indexed from 0, so
// job[1] is the second [[job]]. testdata/valid/full.toml shows every key in use.
//
// # Value syntax
//
//   - duration: a string in Go syntax plus "d" (24h) and "w" (7d): "90s", "26h", "7d",
//     "1d12h", "2w". Always positive. See ParseDuration.
//   - size: a whole number of bytes, or a string with a unit: K, M, G, T (powers of 1000) or
//     KiB, MiB, GiB, TiB (powers of 1024): "20MiB". See ParseSize.
//   - cron: 5 fields, minute hour day-of-month month day-of-week ("15 1 * * *"), or @hourly,
//     @daily, @weekly, @monthly, @yearly, or "@every 15m" (at least 1m; counts from the
//     daemon's start). Read in the top-level timezone; a spec may not carry its own TZ=.
//     When summer time starts, a time the clocks skip runs when they resume ("30 2 * * *"
//     runs at 03:00 that day); when it ends, a time the clocks repeat runs at both, an hour
//     apart. See Schedule.Next.
//   - dataset: a ZFS filesystem or volume name, no snapshot or bookmark part: components of
//     letters, digits and "_.: -" separated by "/", the pool starting with a letter or digit,
//     no "." or ".." component, shorter than 256 bytes.
//   - path: an absolute, clean path without control characters.
//   - name (of a job, signer or recipient): a letter or digit, then letters, digits, ".", "_"
//     or "-"; at most 64 characters.
//
// # Top level
//
//   - user: the unprivileged user the daemon drops to after its root phase. Not root (nor
//     toor). Default "backup".
//   - prune_user: the user that prunes, in a process that never reaches the network (see the
//     README, "Append-only pulls"). Not root, not user. Unset (the default, for configurations
//     written before it existed): prune runs as user, which then holds destroy on the targets.
//   - state_dir (path): state, journal, lock and SSH keys. Default /var/db/vault on FreeBSD,
//     /var/lib/vault elsewhere.
//   - zfs_binary, zpool_binary (path): the binaries vault runs. Defaults /sbin/zfs, /sbin/zpool.
//   - timezone: an IANA time zone ("Europe/Berlin") or "Local", the one schedules are read in.
//     Default "Local".
//   - max_parallel: at most this many jobs pull at once; at least 1. Default 2.
//   - log_level: trace, debug, info, warn or error. Default info.
//   - prometheus_textfile (path ending in ".prom"): node_exporter textfile output, rewritten
//     atomically after every run. Default: none written.
//   - age_identity (path): the vault's age identity, which decrypts media imports. Required
//     when there is a media job. Default: none.
//   - hold_prefix: the vault's holds are tagged hold_prefix + job name, on the source and on
//     the vault: "vault:", then a name for this vault, then ":" ("vault:rust10:"), so that two
//     vaults pulling one source never touch each other's holds (a source's `vault serve
//     --hold-prefix` can pin a key to its prefix). Default "vault:" + the host's short name +
//     ":", or "vault:" when the host has no usable name. After each good pull the job's stale
//     holds are released, under this prefix and under "vault:" (the tag of vaults before
//     hold_prefix); holds under another earlier prefix are not: release them by hand.
//   - pool_capacity_warn, pool_capacity_crit: a pool that holds a job's target warns when it
//     is this full (percent of its size, as zpool list prints it), and is critical from the
//     second. 1 to 99 and above it up to 100. Defaults 80 and 90.
//   - scrub_age_warn, scrub_age_crit (duration): such a pool warns when its last completed
//     scrub is older than the first, and is critical past the second, which is longer.
//     Defaults "35d" and "60d" (a monthly scrub late, then missed twice).
//
// # [ssh]
//
//   - identity (path): the vault's private key. Default <state_dir>/ssh/id_ed25519.
//   - known_hosts (path): the pinned host keys; nothing is trusted on first use.
//     Default <state_dir>/ssh/known_hosts.
//   - connect_timeout (duration): default 30s.
//   - io_timeout (duration): give up on a transfer that moves no byte for this long. Default 10m.
//   - keepalive (duration): probe the connection this often. Default 30s.
//
// # [[signer]]: an offline host whose signed media the vault accepts
//
//   - name: unique among signers.
//   - public_key: SignerKeyPrefix followed by the base64 of the 32-byte ed25519 public key,
//     as `vault keygen` prints it on the exporting host. Each key pinned once.
//   - datasets: the source dataset roots the signer may export (it may export them and
//     everything below them); at least one.
//
// # [[recipient]]: an age recipient that exports are encrypted to
//
//   - name: unique among recipients.
//   - public_key: an age X25519 recipient, "age1...". Each listed once.
//
// # [[job]]: one source host's datasets; at least one job
//
//   - name: unique among jobs; it names the job in commands and in holds (hold_prefix + NAME).
//   - source: "user@host", "user@host:port" or "user@[ipv6]:port", port 22 by default, host a
//     DNS name or an IP address: a pull job logs in there over SSH. Not root.
//   - media_signers: names of [[signer]]s: a media job, whose streams arrive on removable
//     media (vault import). Exactly one of source and media_signers. Every source dataset
//     must be exportable by one of the signers, and every signer must be able to export one.
//   - source_datasets: the datasets to back up, at least one; none under another. Each lands
//     at <target>/<its last component>, and its children below that (Job.TargetFor), so no
//     two may share a last component.
//   - recursive: also replicate the children of each source dataset. Default true.
//   - exclude: datasets below a source dataset to leave out, with everything below them. Only
//     for recursive jobs.
//   - target (dataset): where the source datasets land on the vault. No two source datasets,
//     in one job or two, may land on the same dataset or inside another's recursive tree.
//   - schedule (cron): when to pull. Required for a pull job; not allowed for a media job.
//   - jitter (duration): delay each scheduled pull by a random time up to this, shorter than
//     the time between pulls. Default 0. Pull jobs only.
//   - rpo (duration, required): status warns when the newest good copy is older than this.
//     Must be longer than the longest time between scheduled pulls plus jitter.
//   - rpo_critical (duration): status is critical when the newest good copy is older than
//     this; longer than rpo. Default twice rpo.
//   - bandwidth_limit (size): at most this many bytes per second. Default: no limit. Pull
//     jobs only.
//   - timezone: the source host's time zone (IANA name or "Local"), the one its zfsnap2 names
//     are read in, by pruning and by the checks on new snapshots. Default: the top-level
//     timezone. A wrong one makes every name look hours off its creation: the prune alarm says so.
//   - quota (size): bootstrap sets this quota on the job's target and reads it back: all that
//     the job's sources can make the vault store, so that one source cannot fill the pool every
//     other job shares. A pull that hits it fails with the quota named; other jobs go on.
//     Default: none (0).
//   - max_new_snapshots: a pull that would bring more new snapshots than this into an existing
//     copy of a dataset receives nothing for that dataset and raises the alarm (a flood from a
//     compromised source). First full receives are not capped. At least 1. Default 500.
//
// [job.snapshot_on_pull] (optional; pull jobs only): the source takes a zfsnap2 snapshot
// right before each pull.
//
//   - ttl: the snapshot's zfsnap2 TTL, "forever" or counts in the order y m w d h M s ("1w",
//     "1y2m3w4d5h6M7s"; m is months, M minutes). See ParseTTL.
//
// [job.receive]: properties for the first full receive.
//
//   - set: "property=value" entries passed as -o. Default ["canmount=noauto", "readonly=on"].
//   - exclude: property names passed as -x. Default ["atime"]. A property is set or excluded,
//     not both.
//
// [job.prune]: when and how the vault prunes what it holds. A snapshot goes only when every
// rule lets it go; with no rule, nothing goes.
//
//   - schedule (cron): when to prune. Default: none, prune only on demand (vault prune).
//   - source_ttl: a rule: the TTL in a snapshot's zfsnap2 name must have run out. Default true.
//   - ttl_factor: stretch that TTL by this factor, at least 1. Default 2: the source chose the
//     TTL, and a vault that keeps what the source would already have destroyed is the point of
//     a third copy (and a compromised source naming everything "--1d" gains half as much).
//   - grid: a rule: the retention grid, entries "COUNT UNIT" or "forever UNIT" with the units
//     hourly, daily, weekly, monthly, yearly, one entry per unit: ["14 daily", "8 weekly",
//     "12 monthly", "forever yearly"] keeps the newest snapshot of each of the last 14 days,
//     of the last 8 weeks, and so on. Default: no grid.
//   - min_keep: never prune the newest min_keep snapshots of a dataset; at least 1. Default 7:
//     a week of dailies survives whatever the rules say, should the names mislead them.
//   - min_age (duration): never prune a snapshot younger than this. Default 24h.
//   - max_destroy: destroy at most this many snapshots per dataset per run; at least 1.
//     Default 20.
//   - keep_unparsed: keep snapshots whose names are not zfsnap2 names. Default true; when
//     false, the grid judges them by their creation time.
//   - date_tolerance (duration): a zfsnap2 name whose date (read in the job's timezone) is
//     further than this from the snapshot's creation property, or a snapshot dated before an
//     older snapshot of its dataset, lies about its age: it is kept, takes no part in the grid,
//     and freezes pruning of the dataset until vault ack. Positive, at most 1h. Default 15m.
//
// [job.anomaly]: the tripwire for an incremental far larger than the dataset's history (as
// ransomware rewriting everything would send). It is received, reported, and freezes pruning
// of that dataset until vault ack.
//
//   - factor: trip when an incremental is more than this many times the usual size of the
//     dataset's recent incrementals; more than 1. Default 10.
//   - floor (size): and larger than this. Default "1GiB".
//   - window: how many recent runs make the usual size; at least 3. Default 10.
//   - rewrite_share, rewrite_floor (size): also trip when an incremental is larger than this
//     share of the dataset's referenced data (above 0, at most 1) and larger than the floor,
//     whatever its history: a small file share encrypted wholesale. Defaults 0.5, "64MiB".
//   - snapshot_floor: also trip when a pull brings more new snapshots of a dataset than factor
//     times the usual count of the last window pulls, and more than this. Default 48.
package conf
