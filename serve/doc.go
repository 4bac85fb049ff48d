// Package serve is the source side of vault: `vault serve`, the forced
// command of the vault's key on each source host. It lets the vault's key
// run the few zfs commands a pull needs, on the datasets the host's operator
// allows, and nothing else.
//
// # Setting up a source host
//
// Create an unprivileged user for the vault (here "backup"), delegate it the
// zfs permissions a pull needs, on the roots to back up only:
//
//	zfs allow -u backup send,snapshot,hold,release host05data/jail
//	zfs allow -u backup send,snapshot,hold,release host05data/vm
//
// (release is a permission of its own, needed to drop the vault's old
// holds; zfs list, get and holds need none: reading the properties the
// vault keeps for a restore takes no grant.) Then give the vault's public key a
// forced command in ~backup/.ssh/authorized_keys, one line:
//
//	command="/usr/local/sbin/vault serve --allow host05data/jail,host05data/vm --hold-prefix vault:rust10:",restrict ssh-ed25519 AAAA... vault@rust-bucket
//
// "restrict" turns off port, agent and X11 forwarding and the pty; the
// forced command means sshd runs vault serve whatever the client asks, with
// the client's command line in SSH_ORIGINAL_COMMAND. --allow may be repeated
// and takes a comma-separated list; --zfs names the zfs binary if it is not
// /sbin/zfs; --hold-prefix and --max-skew are below.
//
// The delegation is the real boundary; the gate is defence in depth on top
// of it: zfs allow cannot limit a delegate to its own hold tags, to zfsnap2
// snapshot names, or to these argument forms, and a bug in the vault, or a
// stolen key, should not reach the rest of zfs's large command surface.
//
// # What the gate accepts
//
// The command line is split by [shellword.Split], which accepts only the
// quoting that [shellword.Join] produces (words separated by one space, bare
// or in single quotes) and refuses any other shell syntax: $, `, ;, |, &,
// <, >, globs, double quotes, backslashes, control characters, more than 32
// KiB. No shell ever sees it: the words run as an argv list. The first word
// must be zfs (or /sbin/zfs, /usr/sbin/zfs, /usr/local/sbin/zfs or the
// --zfs path); the gate always runs its own --zfs binary. Then exactly one
// of these forms, each option a word of its own, in this order:
//
//	zfs list -H -p -o COLUMNS -t TYPES [-r] DATASET...
//	zfs get -H -p -s local -o name,property,value -t filesystem,volume all [-r] DATASET...
//	zfs send [-n -P] [-L] [-c] [-w] [-i SNAPSHOT | -I SNAPSHOT] SNAPSHOT
//	zfs send [-n -P] -t TOKEN
//	zfs hold PREFIXTAG SNAPSHOT...
//	zfs release PREFIXTAG SNAPSHOT...
//	zfs holds -H [-p] SNAPSHOT...
//	zfs snapshot DATASET@ZFSNAP2NAME...
//
// where
//   - COLUMNS is a comma list, without repeats, of name, type, guid,
//     createtxg, encryption, userrefs (what the vault lists on a source);
//     TYPES of filesystem, volume, snapshot;
//   - zfs get is that one form, every word fixed but -r and the names: the
//     properties set locally on the datasets (what the vault keeps for a
//     restore, package props), never a received or inherited value, another
//     column, a snapshot's or a bookmark's, or a property list other than
//     all;
//   - every DATASET and SNAPSHOT is a valid zfs name at or below an --allow
//     root, compared by whole components (host05data/jail allows
//     host05data/jail/www, not host05data/jailbreak);
//   - the incremental source of -i or -I is a full snapshot name
//     (dataset@snap) of the same dataset as the snapshot sent; -n -P (a dry
//     run printing the estimated size) only as that pair, first;
//   - a send without -w runs only if the dataset's encryption is off (see
//     Encrypted datasets);
//   - TOKEN is a receive_resume_token as zfs prints it. A token is the
//     client's data, and zfs resolves the snapshot it names by GUID, possibly
//     elsewhere in the pool, so the gate decodes it (it must hold only what
//     zfs puts in one, its toname must lie under an --allow root) and before
//     running the command runs `zfs send -n -P -t TOKEN` itself and requires
//     that the snapshots zfs resolved lie under an --allow root too, and
//     that a token that is not raw resumes a send of an unencrypted dataset.
//     Every token it refuses gets the same reason, "resume token refused:
//     cannot resume send (the source host's log says why)", never zfs's
//     words nor a name: a forged token learns nothing about what exists
//     outside the roots;
//   - PREFIXTAG is a hold tag that starts with the --hold-prefix ("vault:"
//     by default) and has something after it, so a stolen key cannot
//     release holds the operator, another tool or another vault placed;
//   - zfs snapshot takes only snapshots whose names are zfsnap2 names
//     (2022-04-08_16.49.48--1w, optionally with a prefix) dated within
//     --max-skew of the host's clock, no -r, no -o; several in one command
//     are taken at once, atomically.
//
// Everything else is refused: an empty command (an interactive login), any
// other program or subcommand (destroy, rollback, rename, receive, set,
// inherit, allow, mount, ...), other columns and types (origin would name
// datasets outside the roots), any other zfs get, send -R, -p, -b, -h, -D, a bookmark as the
// incremental source, any option not listed, combined options (-Hp),
// options in another order, "--", names with "..", '%' or a leading '-',
// and anything outside the allowed roots. A refusal exits with status 2 and
// one line on stderr,
//
//	vault serve: refused: REASON
//
// and every command, refused or run, is logged to syslog (facility auth, tag
// vault-serve), or to stderr where there is no syslog. Nothing is logged to
// stdout, which carries the send stream: zfs writes it to the ssh channel
// directly. A refusal names only what the client sent and the allowed
// roots; what zfs says about anything else goes to the log only.
//
// # One line per vault
//
// Each vault tags its holds with its hold_prefix and the job's name,
// vault:<VAULT>:<JOB> ("vault:rust10:host05"; vaults before hold_prefix
// used vault:<JOB>). Give each vault's key a line of its own with
// --hold-prefix vault:<VAULT>: so that one vault's key, stolen, cannot
// release the holds that keep another vault's incremental base:
//
//	command="/usr/local/sbin/vault serve --allow host05data/jail --hold-prefix vault:rust10:",restrict ssh-ed25519 AAAA... vault@rust10
//	command="/usr/local/sbin/vault serve --allow host05data/jail --hold-prefix vault:rust11:",restrict ssh-ed25519 AAAA... vault@rust11
//
// The prefix must start with "vault:" and end with ':', and is made of
// names of letters, digits, '_', '.' and '-' (as hold_prefix in the vault's
// configuration). The default, "vault:", lets a key hold and release every
// vault's tags, old and new: keep it for a vault that still has holds of
// the old form vault:<JOB> until it has released them, or release those by
// hand (zfs release vault:JOB SNAPSHOT).
//
// # Encrypted datasets
//
// The gate sends a dataset whose encryption property is not "off" only raw
// (zfs send -w): the stream carries the blocks as they are on disk, and the
// vault never sees the data decrypted, nor needs the key. It asks zfs
// (zfs get encryption) before each send without -w, dry runs included, and
// refuses an encrypted one before anything is sent. A resume token says
// whether the send it resumes was raw (a "rawok" pair); a token that is not
// raw for an encrypted dataset is refused too.
//
// OpenZFS 2.4 adds two narrower delegations that make the kernel itself
// refuse a decrypted send, whatever runs above it: "send:raw" allows only
// raw sends (of any dataset), "send:encrypted" only raw sends of encrypted
// datasets. The vault sends unencrypted datasets without -w, so on a 2.4
// host delegate one of them on the encrypted roots in place of send, and
// send on the others:
//
//	zfs allow -u backup send:encrypted,snapshot,hold,release host05data/vm
//	zfs allow -u backup send,snapshot,hold,release host05data/jail
//
// # Snapshot dates
//
// zfs snapshot takes only zfsnap2 names dated now: within --max-skew
// (default 5m, at most 1h) of the host's clock, both read as wall clocks in
// the host's local time zone (/etc/localtime: serve ignores TZ, see below).
// A stolen key cannot plant back-dated snapshots (which retention would
// keep or prune as if they were old) nor future-dated ones. The vault
// names the snapshots it takes on a source in its job's time zone, which
// must be the source host's.
//
// # Environment
//
// sshd passes the forced command an environment the client partly
// chooses: whatever sshd_config's AcceptEnv lets through (Debian accepts
// LANG and LC_*), and with PermitUserEnvironment, ~/.ssh/environment and
// environment="..." options. vault serve reads SSH_ORIGINAL_COMMAND (the
// command) and SSH_CLIENT (the client's address, for the log), keeps
// SSH_CONNECTION, and drops every other variable before it does anything:
// VAULT_CPUPROFILE (which would make it write a file anywhere the user
// may), VAULT_LOG_LEVEL, NO_COLOR, HOME, PATH, LANG and the rest take no
// effect. The Go runtime reads GODEBUG, GOGC, GOMAXPROCS, GOMEMLIMIT and
// GOTRACEBACK as the process starts, and the time package TZ and ZONEINFO:
// if any of them is set, vault serve executes itself again, once, with
// only the three variables above (and a mark that it did, so that it never
// loops: set again after that, it refuses). zfs runs with an environment
// of its own, LC_ALL=C, TZ=UTC and a fixed PATH, whatever vault serve got.
package serve
