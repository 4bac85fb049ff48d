// Package sneakernet is the I/O-free core of vault's offline stream format: a zfs send stream,
// encrypted with age, cut into volumes that fit removable media, and described by a manifest
// that the exporting host signs. It runs no zfs command and owns no terminal: [Export] takes
// the stream as an io.Reader and writes files in one directory; [ReadManifest] and [Import]
// read the export's directory through a [Media] and write the stream to an io.Writer (zfs
// receive's stdin).
//
// # Files
//
// An export called NAME is, in one directory:
//
//   - NAME.vol0001, NAME.vol0002, ...: the age file (age-encryption.org/v1, to X25519 or
//     hybrid recipients, or to one passphrase) cut into pieces. Concatenated, they are a
//     standard age file: in a break-glass restore without vault,
//     `cat NAME.vol* | age -d -i KEY | zfs receive ...` works (without any verification).
//   - NAME.breakglass.age, only if the export was made with a break-glass passphrase
//     ([ExportOptions.Passphrase]): see Keys.
//   - NAME.manifest: JSON in one canonical encoding ([Manifest.Marshal]; an importer accepts
//     nothing else): format "vault-sneakernet/1", creation time (UTC), host, dataset, source
//     and target snapshots (or source bookmark) with their guids as decimal strings, raw,
//     for a -I stream the intermediates (the snapshots between source and target that it
//     carries, oldest first, each with its guid; see Intermediate snapshots), stream_bytes, ciphertext_bytes, segment_size, the recipients and the signer's public
//     key (informational; the signature decides), the volumes (file, bytes, first_segment,
//     segments) and the lowercase hex SHA-256 of every segment. testdata/example.manifest is
//     an example.
//   - NAME.manifest.sig: one line, the signer's public key as conf.FormatSignerKey writes it
//     ("vault-ed25519:BASE64"), a space, and the base64 ed25519 signature of the bytes
//     "vault-sneakernet manifest\n" followed by the exact bytes of NAME.manifest.
//
// The ciphertext is cut into segments of segment_size bytes (the last may be shorter); a
// volume holds a run of whole segments, so no segment spans two files. The segment is the
// unit of verification.
//
// # Tree exports
//
// A manifest of format [FormatTree] ("vault-sneakernet/2") describes one export of a dataset
// and its descendants (vault restore export of a VM and its zvols): the plaintext is one full
// zfs send stream per dataset, concatenated in the order of the manifest's members (parent
// first), each exactly its member's stream_bytes long; each member has its path below the
// dataset, its snapshot, guid, raw flag and the properties the source had set (checked with
// props.Set.Check on export and import). [Exporter.EndMember] marks where each stream ends;
// [MemberWriter] splits the plaintext again, one writer (zfs receive) per member. A vault that
// knows only [Format] refuses the manifest as "written by another version of vault", so it
// never hands the concatenation to a single zfs receive. Without vault, a break-glass restore
// decrypts to a file and cuts it by the members' stream_bytes.
//
// # Keys
//
// A host's signing key file holds one line "vault-ed25519-private:BASE64" (the 32-byte
// ed25519 seed) after comment lines that give the public key to pin ([MarshalSigningKey]).
// The vault's age identity file is what age-keygen writes ([MarshalIdentity]). Key files are
// created 0600 ([WriteKeyFile]) and refused when their group or others may read or write
// them ([ReadKeyFile]).
//
// Break glass: age allows a passphrase (scrypt) recipient only as the one recipient of a
// file, so a passphrase cannot sit beside the vault's recipient directly. Instead an export
// with [ExportOptions.Passphrase] makes a fresh X25519 identity, used for that export only,
// adds its recipient to the stream's, and writes the identity, in age-keygen's format,
// encrypted with the passphrase (age's scrypt recipient, default work factor), to
// NAME.breakglass.age. The manifest lists that file in the optional break_glass object
// (file, bytes, the SHA-256 of the file, and the identity's recipient, which must be one of
// recipients); manifests without it encode exactly as before, so older exports still verify.
// With the age command line alone, and the passphrase:
//
//	umask 077; age -d -o id NAME.breakglass.age   # asks for the passphrase
//	cat NAME.vol* | age -d -i id | zfs receive -u POOL/DATASET
//
// (without any verification, like every restore without vault). With vault,
// [BreakGlassIdentities] opens the file with the passphrase and gives the identity to
// [Preflight] and [Import] in place of the vault's. Whoever holds the media and guesses the
// passphrase holds the stream: scrypt only slows guessing down, so an export refuses a
// passphrase shorter than [MinPassphraseLen].
//
// # Export
//
// An [Exporter] is an io.Writer for the stream. [NewExporter] validates every option and
// refuses a directory that already holds a file of an export called NAME, creating nothing;
// nothing is created before the stream's first byte either, so a zfs send that fails at once
// leaves no trace. Each volume is written as NAME.volNNNN.partial, created when its first
// byte is ready and synced when full. [Exporter.Commit], called once zfs send has exited 0,
// renames the volumes, then writes the signature and last the manifest, each to a .partial
// file that is synced and renamed, and syncs the directory. The manifest is the commit point
// (and can only be written last: the stream's length is known only at its end).
// [Exporter.Abort], and any failure of Commit, remove every file created, manifest first; an
// interrupted export leaves .partial files or volumes without a manifest, never a manifest.
// An export never replaces a file. [Export] wraps all this for a reader whose EOF means the
// stream is complete, which zfs send's stdout is not: a killed zfs send just closes it.
//
// # Import
//
// [ReadManifest] (or [VerifyManifest] on bytes) checks the signature over the exact manifest
// bytes before it parses them: a signature that does not verify is [ErrBadSignature] (the
// manifest or the .sig was edited, or they are from different exports); a valid signature by
// a key the caller's [TrustFunc] does not pin is [*UnpinnedSignerError], which names the key.
// Only then is the manifest decoded (unknown fields, trailing data and non-canonical
// encodings refused) and validated: the format version, names through the zfs parsers,
// guids, sizes and counts consistent with each other and with an age file of stream_bytes,
// and volume files that are plain base names ([A-Za-z0-9._-], not starting with '.' or '-':
// media is untrusted, so no "../"). The result is a [*Signed], the only thing [Import]
// accepts. Whether the signer may export that dataset, where it lands, and whether the base
// guid is on the target (or the new one already is: a replay) are the caller's decisions,
// from [Signed.Signer] and the manifest's fields.
//
// Every file read from the media is opened by one function: in the export's directory only,
// with O_NOFOLLOW and O_NONBLOCK, and refused unless fstat on the open descriptor says it is
// a regular file ([NotRegularError]); so a named pipe cannot hang an import, and a symbolic
// link (to /dev/zero, or to a file elsewhere) is not followed.
//
// [Import] first checks that every volume is present, a regular file and exactly its size,
// so a missing, truncated or padded volume, or two swapped volumes of different sizes, are
// refused before a byte reaches the writer; so is a break-glass file that is missing or does
// not match the manifest (the media is not what was signed, and its break-glass copy would
// fail when it is needed). Import to io.Discard checks a whole medium without receiving it. Then it makes one pass over the media: a reader
// goroutine reads the volumes in order, one segment at a time, into a small pool of segment
// buffers (at most seven, and within 64 MiB unless three segments are more); hash workers
// compute each segment's SHA-256 and compare it with the manifest; the decryptor is given a
// segment's bytes only after its hash matched, in order. So age only ever sees verified
// ciphertext, and every refusal has its own [*VolumeError] [Reason]: Missing, NotRegular,
// Truncated, ExtraBytes, Swapped (the file holds the data of another volume), Corrupt (a
// segment's hash differs: a flipped bit) or ReadFailed. An identity that matches none of the
// recipients is [ErrWrongIdentity], found in the first segment before any plaintext.
//
// # Holding back the tail
//
// Verification is per segment, so the plaintext of early segments reaches the writer before
// later segments have been read. That is safe because of how zfs receive commits: a send
// stream (full or -i incremental) ends with a DRR_END record, the last 312 bytes, and zfs
// receive commits the snapshot only after it has read that record; a stream that stops
// early, or a receive that is killed, commits nothing.
//
// So Import withholds the end of the stream: it fills two buffers of [HoldBack] (1 MiB)
// bytes in turn and writes one to the writer only when the other is full, so the last
// HoldBack bytes at least, which contain the END record, are never written until all of
// these hold:
//
//  1. every segment of every volume has been read and its SHA-256 matched the signed
//     manifest, and no volume had a byte beyond its size (the reader reports a clean end
//     only then, and age asks for that end);
//  2. age has authenticated the final STREAM chunk (the one with the last-chunk flag) and
//     seen end of file right after it, so the payload is neither truncated nor extended;
//  3. the plaintext is exactly stream_bytes long.
//
// On any failure Import returns an error without writing the tail; the caller then kills
// zfs receive (or closes its stdin so that it fails on a truncated stream), and the target
// is as it was. Caveats for the caller:
//
//   - zfs receive -s (resumable) keeps the partial state of an aborted receive as a
//     receive_resume_token on the target; run `zfs receive -A TARGET` after a failed import,
//     or receive imports without -s.
//   - A -I stream (every intermediate snapshot) or a -R stream is a package of streams, each
//     with its own END record, and zfs receive commits each snapshot as it arrives. Holding
//     back the tail keeps only the last snapshot from being committed when a late volume
//     fails; the earlier ones (verified, authentic) stay. See Intermediate snapshots.
//   - Import cannot interrupt a Write that blocks; when ctx ends, the caller must kill zfs
//     receive.
//
// # Intermediate snapshots
//
// An export of a zfs send -I stream lists, in the manifest's optional intermediates field,
// the snapshots strictly between its source and to_snapshot, oldest first (by createtxg on
// the exporting host), with their guids. A manifest without the field is a -i or full stream
// and encodes exactly as before; a version of vault older than the field refuses a manifest
// that has it (unknown fields are refused), so no older importer receives a -I export without
// knowing what it is. The list is validated like every field: only for an incremental
// stream, at most [MaxIntermediates], each a snapshot of the dataset, none the source or the
// target, no name or guid twice.
//
// Such an import is not all or nothing: if it fails part-way (a corrupt segment near the
// end, zfs receive running out of space), the intermediate snapshots whose streams ended
// before the failure stay on the target; nothing is destroyed, and the last snapshot is never
// committed (see Holding back the tail). The caller says so before the receive starts and,
// after a failure, which of them landed. zfs receive of the same package later skips a
// snapshot the target already has under the same name and guid, so importing the export
// again (from good media) carries on from where the failed import stopped. Export single -i
// increments if a failed import must leave no snapshot at all.
//
// Memory is bounded by the segment buffers, the two hold-back buffers and age's own 64 KiB
// chunks; nothing holds a volume.
package sneakernet
