package sneakernet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/zfs"
)

// Format is the version string of the manifests this package writes and reads.
const Format = "vault-sneakernet/1"

// Limits of the format. An importer refuses a manifest outside them, whoever signed it.
const (
	// DefaultSegmentSize is the unit of verification: the importer reads and hashes a whole
	// segment before any byte of it is decrypted, and keeps a few in memory at a time.
	DefaultSegmentSize = 4 << 20
	MinSegmentSize     = 1 << 10
	MaxSegmentSize     = 64 << 20

	// DefaultVolumeSize keeps every volume under the 4 GiB FAT32 file size limit. A volume
	// holds whole segments, so it is at most the volume size rounded down to a multiple of
	// the segment size: 4092 MiB with the defaults.
	DefaultVolumeSize = 4<<30 - 1<<20

	// MaxSegments bounds the manifest: 2^18 segments are 1 TiB with the default segment
	// size; SegmentSizeFor picks a larger one for a larger stream.
	MaxSegments = 1 << 18
	// MaxVolumes is what four digits in NAME.volNNNN can number.
	MaxVolumes = 9999
	// MaxManifestSize is the largest manifest an importer reads: MaxSegments hashes and
	// MaxVolumes volumes fit.
	MaxManifestSize = 32 << 20

	maxRecipients  = 64
	maxNameLen     = 200     // a base name, so that NAME.manifest.sig.partial fits in 255 bytes
	maxHostLen     = 255     // bytes
	maxHeaderBytes = 1 << 20 // the age header, between the ciphertext and the payload it carries

	// PassphraseRecipient stands in the manifest's recipients for an age scrypt (passphrase)
	// recipient, which has no public form.
	PassphraseRecipient = "passphrase"
)

// ageChunk is the plaintext size of an age STREAM chunk; each chunk carries a 16-byte tag.
const (
	ageChunk    = 64 << 10
	ageTag      = 16
	ageNonceLen = 16
)

// Manifest describes one export: what stream it carries, how the ciphertext is cut into
// segments and volumes, and the SHA-256 of every segment. Its JSON encoding (see
// [Manifest.Marshal]) is the signed NAME.manifest file.
type Manifest struct {
	Format  string    `json:"format"`
	Created time.Time `json:"created"` // UTC, whole seconds
	Host    string    `json:"host"`    // the exporting host, as it names itself

	Dataset zfs.Dataset `json:"dataset"`
	// The incremental source, if any: at most one of FromSnapshot and FromBookmark is set,
	// and FromGUID is its guid (0 for a full stream).
	FromSnapshot zfs.Snapshot `json:"from_snapshot"`
	FromBookmark zfs.Bookmark `json:"from_bookmark"`
	FromGUID     uint64       `json:"from_guid,string"`
	ToSnapshot   zfs.Snapshot `json:"to_snapshot"`
	ToGUID       uint64       `json:"to_guid,string"`
	Raw          bool         `json:"raw"` // sent with -w: an encrypted dataset, as on disk
	// Intermediates are the snapshots strictly between the source and ToSnapshot that the
	// stream carries, oldest first: set for a zfs send -I stream, a package of one stream per
	// snapshot, which zfs receive commits one by one. Manifests without it are -i or full
	// streams, as older versions wrote them (and older versions refuse a manifest with it).
	Intermediates []Intermediate `json:"intermediates,omitempty"`
	// Members are the datasets of a tree export (format FormatTree only), parent first, each
	// with its stream's length in the concatenated plaintext and its properties.
	Members []Member `json:"members,omitempty"`

	StreamBytes     int64 `json:"stream_bytes"`     // the zfs send stream (plaintext)
	CiphertextBytes int64 `json:"ciphertext_bytes"` // the age file, all volumes together
	SegmentSize     int64 `json:"segment_size"`

	// Recipients are the age recipients the stream is encrypted to ("age1...", or
	// [PassphraseRecipient]). Informational: decryption decides.
	Recipients []string `json:"recipients"`
	// Signer is the exporting host's public key, in the form [conf.FormatSignerKey] writes.
	Signer string `json:"signer"`
	// BreakGlass describes the export's passphrase-encrypted identity file, if it has one
	// ([ExportOptions.Passphrase]). Manifests without it are as older versions wrote them.
	BreakGlass *BreakGlass `json:"break_glass,omitempty"`

	Volumes []Volume `json:"volumes"`
	// Segments are the lowercase hex SHA-256 of each segment of the ciphertext, in order.
	// Every segment is SegmentSize bytes long except the last, which may be shorter.
	Segments []string `json:"segments"`
}

// Volume is one file of an export: a run of whole segments.
type Volume struct {
	File         string `json:"file"` // base name, such as NAME.vol0001
	Bytes        int64  `json:"bytes"`
	FirstSegment int    `json:"first_segment"` // index into Manifest.Segments
	Segments     int    `json:"segments"`
}

// BreakGlass is the file NAME.breakglass.age of an export: an age identity file encrypted
// with a passphrase (an age scrypt recipient), whose recipient is one of the export's. The
// age command line alone opens it, then the volumes.
type BreakGlass struct {
	File      string `json:"file"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`    // lowercase hex, of the whole file
	Recipient string `json:"recipient"` // the identity's recipient, listed in Recipients
}

// Intermediate is one snapshot a -I stream carries before its last.
type Intermediate struct {
	Snapshot zfs.Snapshot `json:"snapshot"`
	GUID     uint64       `json:"guid,string"`
}

// MaxIntermediates bounds the snapshots a -I export lists: a manifest of MaxSegments hashes,
// MaxVolumes volumes and this many snapshots with the longest names still fits in
// MaxManifestSize.
const MaxIntermediates = 10000

// breakGlassSuffix ends the name of an export's break-glass file: NAME.breakglass.age.
const breakGlassSuffix = ".breakglass.age"

// maxBreakGlassBytes bounds the break-glass file: an identity file of a few hundred bytes,
// in an age file with one scrypt stanza.
const maxBreakGlassBytes = 16 << 10

// ErrInvalidManifest is wrapped by the error for a manifest that is signed but malformed.
var ErrInvalidManifest = errors.New("invalid manifest")

// Marshal returns the canonical encoding of m: indented JSON with the fields in their
// declared order and a final newline. An importer accepts only this encoding.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Clone returns a deep copy of m.
func (m *Manifest) Clone() Manifest {
	c := *m
	c.Recipients = append([]string(nil), m.Recipients...)
	c.Volumes = append([]Volume(nil), m.Volumes...)
	c.Segments = append([]string(nil), m.Segments...)
	if m.Intermediates != nil {
		c.Intermediates = append([]Intermediate(nil), m.Intermediates...)
	}
	if m.Members != nil {
		c.Members = append([]Member(nil), m.Members...)
		for i := range c.Members {
			c.Members[i].Properties = maps.Clone(m.Members[i].Properties)
		}
	}
	if m.BreakGlass != nil {
		bg := *m.BreakGlass
		c.BreakGlass = &bg
	}
	return c
}

// SegmentSizeFor returns the segment size for a stream of about estimate bytes (zfs send
// -nP's estimate): DefaultSegmentSize, or for a stream too large for MaxSegments of those,
// the smallest power of two that leaves room for twice the estimate, up to MaxSegmentSize.
func SegmentSizeFor(estimate int64) int64 {
	size := int64(DefaultSegmentSize)
	for size < MaxSegmentSize && estimate > MaxSegments/2*size {
		size *= 2
	}
	return size
}

// segmentLen returns the length of segment i.
func (m *Manifest) segmentLen(i int) int64 {
	if i == len(m.Segments)-1 {
		return m.CiphertextBytes - int64(i)*m.SegmentSize
	}
	return m.SegmentSize
}

// parseManifest decodes and validates manifest bytes whose signature has verified.
func parseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidManifest, MaxManifestSize)
	}
	switch rest := bytes.TrimLeft(data, jsonSpace); {
	case len(rest) == 0:
		return nil, fmt.Errorf("%w: it is empty", ErrInvalidManifest)
	case rest[0] != '{':
		return nil, fmt.Errorf("%w: %s", ErrInvalidManifest, notJSONObject(rest))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		if f := peekFormat(data); f != "" && f != Format && f != FormatTree {
			return nil, unsupportedFormat(f)
		}
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("%w: the JSON object is cut short", ErrInvalidManifest)
		case errors.As(err, &se):
			return nil, fmt.Errorf("%w: not JSON: %v", ErrInvalidManifest, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidManifest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalidManifest)
	}
	if m.Format != Format && m.Format != FormatTree {
		return nil, unsupportedFormat(m.Format)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	canon, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidManifest, err)
	}
	if !bytes.Equal(canon, data) {
		return nil, fmt.Errorf("%w: not in the canonical encoding vault writes", ErrInvalidManifest)
	}
	return &m, nil
}

// peekFormat returns the format field of data if data is a JSON object that has one.
func peekFormat(data []byte) string {
	var v struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	return v.Format
}

func unsupportedFormat(f string) error {
	if f == "" {
		return fmt.Errorf(`%w: it has no "format" field: it is not a vault export manifest`, ErrInvalidManifest)
	}
	return fmt.Errorf("%w: format %s is neither %q nor %q; it was written by another version of vault",
		ErrInvalidManifest, quoteTrunc(f, 60), Format, FormatTree)
}

// validate checks every field of m and their consistency.
func (m *Manifest) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidManifest, field, fmt.Sprintf(format, args...))
	}
	if m.Format != Format && m.Format != FormatTree {
		return unsupportedFormat(m.Format)
	}
	if err := m.validateMeta(); err != nil {
		return err
	}
	if err := m.validateMembers(true); err != nil {
		return err
	}

	if m.StreamBytes < 1 {
		return bad("stream_bytes", "%d is not a stream length", m.StreamBytes)
	}
	if m.SegmentSize < MinSegmentSize || m.SegmentSize > MaxSegmentSize {
		return bad("segment_size", "%d is not between %d and %d", m.SegmentSize, MinSegmentSize, MaxSegmentSize)
	}
	// The age file is a header, a 16-byte nonce and the payload, whose length follows from the
	// plaintext's: a 16-byte tag per 64 KiB chunk (at least one).
	if m.StreamBytes > MaxSegments*MaxSegmentSize {
		return bad("stream_bytes", "%d is more than a manifest can describe", m.StreamBytes)
	}
	payload := ageNonceLen + m.StreamBytes + ageTag*((m.StreamBytes+ageChunk-1)/ageChunk)
	if hdr := m.CiphertextBytes - payload; hdr <= 0 || hdr > maxHeaderBytes {
		return bad("ciphertext_bytes", "%d does not fit an age file of a %d-byte stream", m.CiphertextBytes, m.StreamBytes)
	}
	nseg := (m.CiphertextBytes + m.SegmentSize - 1) / m.SegmentSize
	if nseg > MaxSegments {
		return bad("segments", "%d segments are more than the %d allowed", nseg, MaxSegments)
	}
	if int64(len(m.Segments)) != nseg {
		return bad("segments", "%d hashes, but %d bytes in segments of %d make %d", len(m.Segments), m.CiphertextBytes, m.SegmentSize, nseg)
	}
	for i, h := range m.Segments {
		if !isHexSHA256(h) {
			return bad(fmt.Sprintf("segments[%d]", i), "%s is not a lowercase hex SHA-256", quoteTrunc(h, 80))
		}
	}

	if len(m.Volumes) == 0 || len(m.Volumes) > MaxVolumes {
		return bad("volumes", "%d volumes; want 1 to %d", len(m.Volumes), MaxVolumes)
	}
	files := make(map[string]int, len(m.Volumes))
	next := 0
	var total int64
	for i, v := range m.Volumes {
		p := fmt.Sprintf("volumes[%d]", i)
		if err := checkBaseName(v.File); err != nil {
			return bad(p+".file", "%v", err)
		}
		if first, dup := files[v.File]; dup {
			return bad(p+".file", "%q is already volumes[%d]", v.File, first)
		}
		files[v.File] = i
		if v.FirstSegment != next {
			return bad(p+".first_segment", "%d, want %d: volumes must hold the segments in order", v.FirstSegment, next)
		}
		if v.Segments < 1 || v.Segments > len(m.Segments)-next {
			return bad(p+".segments", "%d; want 1 to %d", v.Segments, len(m.Segments)-next)
		}
		next += v.Segments
		want := int64(v.Segments-1)*m.SegmentSize + m.segmentLen(next-1)
		if v.Bytes != want {
			return bad(p+".bytes", "%d, but its %d segments make %d", v.Bytes, v.Segments, want)
		}
		total += v.Bytes
	}
	if bg := m.BreakGlass; bg != nil {
		if err := checkBaseName(bg.File); err != nil {
			return bad("break_glass.file", "%v", err)
		}
		if _, dup := files[bg.File]; dup {
			return bad("break_glass.file", "%q is also a volume", bg.File)
		}
	}
	if next != len(m.Segments) {
		return bad("volumes", "hold %d of the %d segments", next, len(m.Segments))
	}
	if total != m.CiphertextBytes { // unreachable given the checks above; kept as a guard
		return bad("volumes", "hold %d bytes, not ciphertext_bytes %d", total, m.CiphertextBytes)
	}
	return nil
}

// validateMeta checks the fields an exporter knows before the stream starts.
func (m *Manifest) validateMeta() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidManifest, field, fmt.Sprintf(format, args...))
	}
	if m.Created.IsZero() || m.Created.Location() != time.UTC || m.Created.Nanosecond() != 0 {
		return bad("created", "%s is not a UTC time in whole seconds", m.Created)
	}
	if err := checkHost(m.Host); err != nil {
		return bad("host", "%v", err)
	}
	switch {
	case m.Dataset.IsZero():
		return bad("dataset", "missing")
	case m.ToSnapshot.IsZero():
		return bad("to_snapshot", "missing")
	case m.ToSnapshot.Dataset() != m.Dataset:
		return bad("to_snapshot", "%q is not a snapshot of dataset %q", m.ToSnapshot, m.Dataset)
	case m.ToGUID == 0:
		return bad("to_guid", "missing")
	case !m.FromSnapshot.IsZero() && !m.FromBookmark.IsZero():
		return bad("from_bookmark", "set as well as from_snapshot; a stream has one source")
	case !m.FromSnapshot.IsZero() && m.FromSnapshot.Dataset() != m.Dataset:
		return bad("from_snapshot", "%q is not a snapshot of dataset %q", m.FromSnapshot, m.Dataset)
	case !m.FromBookmark.IsZero() && m.FromBookmark.Dataset() != m.Dataset:
		return bad("from_bookmark", "%q is not a bookmark of dataset %q", m.FromBookmark, m.Dataset)
	case m.FromSnapshot == m.ToSnapshot:
		return bad("from_snapshot", "%q is also to_snapshot", m.FromSnapshot)
	}
	incremental := !m.FromSnapshot.IsZero() || !m.FromBookmark.IsZero()
	switch {
	case incremental && m.FromGUID == 0:
		return bad("from_guid", "missing for an incremental stream")
	case !incremental && m.FromGUID != 0:
		return bad("from_guid", "%d for a full stream, which has no source", m.FromGUID)
	case m.FromGUID == m.ToGUID:
		return bad("from_guid", "equals to_guid")
	}
	if err := m.validateIntermediates(); err != nil {
		return err
	}
	if err := m.validateMembers(false); err != nil {
		return err
	}
	if err := checkRecipientList(m.Recipients); err != nil {
		return bad("recipients", "%v", err)
	}
	if _, err := conf.ParseSignerKey(m.Signer); err != nil {
		return bad("signer", "%v", err)
	}
	if bg := m.BreakGlass; bg != nil {
		switch {
		case bg.Bytes < 1 || bg.Bytes > maxBreakGlassBytes:
			return bad("break_glass.bytes", "%d; want 1 to %d", bg.Bytes, maxBreakGlassBytes)
		case !isHexSHA256(bg.SHA256):
			return bad("break_glass.sha256", "%s is not a lowercase hex SHA-256", quoteTrunc(bg.SHA256, 80))
		case !slices.Contains(m.Recipients, bg.Recipient) || !strings.HasPrefix(bg.Recipient, "age1") || strings.HasPrefix(bg.Recipient, "age1pq1"):
			return bad("break_glass.recipient", "%s is not one of the X25519 recipients", quoteTrunc(bg.Recipient, 80))
		}
		if err := checkBaseName(bg.File); err != nil {
			return bad("break_glass.file", "%v", err)
		}
	}
	return nil
}

// validateIntermediates checks the snapshots of a -I stream: only an incremental stream has
// them, each is a snapshot of the dataset with its own name and guid, neither the source's nor
// the target's. Their order is the exporter's word (the signature vouches for it): the
// importer cannot check createtxg order before the stream arrives.
func (m *Manifest) validateIntermediates() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidManifest, field, fmt.Sprintf(format, args...))
	}
	if m.Intermediates == nil {
		return nil
	}
	switch n := len(m.Intermediates); {
	case n == 0: // encoded as [], which Marshal never writes
		return bad("intermediates", "empty; a stream without intermediate snapshots has no intermediates field")
	case n > MaxIntermediates:
		return bad("intermediates", "%d snapshots are more than the %d allowed", n, MaxIntermediates)
	case m.FromGUID == 0:
		return bad("intermediates", "set for a full stream; only an incremental (-I) stream carries intermediate snapshots")
	}
	names := make(map[string]int, len(m.Intermediates))
	guids := make(map[uint64]int, len(m.Intermediates))
	for i, x := range m.Intermediates {
		p := fmt.Sprintf("intermediates[%d]", i)
		switch {
		case x.Snapshot.IsZero():
			return bad(p+".snapshot", "missing")
		case x.Snapshot.Dataset() != m.Dataset:
			return bad(p+".snapshot", "%q is not a snapshot of dataset %q", x.Snapshot, m.Dataset)
		case x.Snapshot == m.ToSnapshot:
			return bad(p+".snapshot", "%q is to_snapshot", x.Snapshot)
		case x.Snapshot == m.FromSnapshot:
			return bad(p+".snapshot", "%q is from_snapshot", x.Snapshot)
		case x.GUID == 0:
			return bad(p+".guid", "missing")
		case x.GUID == m.ToGUID:
			return bad(p+".guid", "equals to_guid")
		case x.GUID == m.FromGUID:
			return bad(p+".guid", "equals from_guid")
		}
		if j, dup := names[x.Snapshot.Short()]; dup {
			return bad(p+".snapshot", "%q is already intermediates[%d]", x.Snapshot, j)
		}
		if j, dup := guids[x.GUID]; dup {
			return bad(p+".guid", "%d is already intermediates[%d]'s", x.GUID, j)
		}
		names[x.Snapshot.Short()], guids[x.GUID] = i, i
	}
	return nil
}

func checkRecipientList(rs []string) error {
	if len(rs) == 0 || len(rs) > maxRecipients {
		return fmt.Errorf("%d recipients; want 1 to %d", len(rs), maxRecipients)
	}
	seen := make(map[string]bool, len(rs))
	for _, r := range rs {
		switch {
		case seen[r]:
			return fmt.Errorf("%s is listed twice", quoteTrunc(r, 80))
		case r == PassphraseRecipient:
			if len(rs) != 1 {
				return errors.New("a passphrase recipient must be the only one")
			}
		case strings.HasPrefix(r, "age1pq1"):
			if _, err := age.ParseHybridRecipient(r); err != nil {
				return fmt.Errorf("%s is not an age recipient", quoteTrunc(r, 80))
			}
		default:
			if _, err := age.ParseX25519Recipient(r); err != nil {
				return fmt.Errorf("%s is not an age recipient", quoteTrunc(r, 80))
			}
		}
		seen[r] = true
	}
	return nil
}

// checkBaseName accepts the name of a file directly in the export directory: 1 to
// maxNameLen+20 bytes of [A-Za-z0-9._-], not starting with '.' or '-'. Media is untrusted:
// no path separators, no "..".
func checkBaseName(s string) error {
	if s == "" {
		return errors.New("empty file name")
	}
	if len(s) > maxNameLen+20 {
		return fmt.Errorf("file name %s is longer than %d bytes", quoteTrunc(s, 60), maxNameLen+20)
	}
	if s[0] == '.' || s[0] == '-' {
		return fmt.Errorf("file name %s starts with %q", quoteTrunc(s, 60), s[0])
	}
	for i := 0; i < len(s); i++ {
		if !baseNameChar(s[i]) {
			return fmt.Errorf("file name %s contains %q; only letters, digits, '.', '_' and '-' are allowed", quoteTrunc(s, 60), s[i])
		}
	}
	return nil
}

func baseNameChar(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == '-'
}

// checkHost accepts a host name as the exporting host gives it: 1 to 255 bytes of printable
// ASCII without spaces.
func checkHost(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	if len(s) > maxHostLen {
		return fmt.Errorf("%s is longer than %d bytes", quoteTrunc(s, 60), maxHostLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return fmt.Errorf("%s contains %q; a host name is printable ASCII without spaces", quoteTrunc(s, 60), s[i])
		}
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// decodeHashes returns the segment hashes of a validated manifest as arrays.
func decodeHashes(m *Manifest) [][32]byte {
	hs := make([][32]byte, len(m.Segments))
	for i, s := range m.Segments {
		hex.Decode(hs[i][:], []byte(s)) // validated
	}
	return hs
}

// quoteTrunc quotes s with %q, cutting it to about max bytes first so that a huge input
// does not make a huge message.
func quoteTrunc(s string, max int) string {
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:max], len(s))
}
