package zfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Type is the type of a zfs entity, as zfs list prints it and -t takes it.
type Type string

// The types vault lists.
const (
	TypeFilesystem Type = "filesystem"
	TypeVolume     Type = "volume"
	TypeSnapshot   Type = "snapshot"
	TypeBookmark   Type = "bookmark"
)

func (t Type) valid() bool {
	switch t {
	case TypeFilesystem, TypeVolume, TypeSnapshot, TypeBookmark:
		return true
	}
	return false
}

// Column is a property vault asks zfs list for with -o. Only the columns
// declared here can be parsed; each has a typed field in [Entry].
type Column string

// The columns [ParseList] understands. In -p output a property that does not
// apply to an entity (used of a bookmark, userrefs of a filesystem, origin of
// a dataset that is not a clone) is "-"; the comments say what "-" becomes.
const (
	ColName       Column = "name"       // Entry.Name; never "-"
	ColType       Column = "type"       // Entry.Type; never "-"
	ColGUID       Column = "guid"       // Entry.GUID; never "-"
	ColCreateTXG  Column = "createtxg"  // Entry.CreateTXG; never "-"
	ColCreation   Column = "creation"   // Entry.Creation, from unix seconds; never "-"
	ColUsed       Column = "used"       // Entry.Used; "-" (bookmarks) is 0
	ColReferenced Column = "referenced" // Entry.Referenced; "-" is 0
	ColWritten    Column = "written"    // Entry.Written; "-" (bookmarks) is 0
	ColUserRefs   Column = "userrefs"   // Entry.UserRefs, the hold count; "-" (not a snapshot) is 0
	ColQuota      Column = "quota"      // Entry.Quota in bytes; 0 and "-" (snapshots) are none
	// ColReceiveResumeToken is Entry.ResumeToken; "-" (no interrupted
	// receive, or not a filesystem or volume) is "".
	ColReceiveResumeToken Column = "receive_resume_token"
	ColEncryption         Column = "encryption" // Entry.Encryption, "off" or a cipher; "-" (bookmarks) is ""
	ColOrigin             Column = "origin"     // Entry.Origin, the snapshot a clone was made from; "-" is zero
)

// knownColumn reports whether ParseList can parse c.
func knownColumn(c Column) bool {
	switch c {
	case ColName, ColType, ColGUID, ColCreateTXG, ColCreation, ColUsed, ColReferenced,
		ColWritten, ColUserRefs, ColQuota, ColReceiveResumeToken, ColEncryption, ColOrigin:
		return true
	}
	return false
}

// Entry is one line of zfs list output. Only the fields of the columns that
// were asked for are set.
type Entry struct {
	// Name is the entity's full name; Dataset, Snapshot and Bookmark return
	// it as the validated type it is.
	Name        string    `json:"name"`
	Type        Type      `json:"type"`
	GUID        uint64    `json:"guid,string"` // a string in JSON: GUIDs exceed what JSON doubles hold
	CreateTXG   uint64    `json:"createtxg"`
	Creation    time.Time `json:"creation"` // UTC, whole seconds
	Used        uint64    `json:"used"`
	Referenced  uint64    `json:"referenced"`
	Written     uint64    `json:"written"`
	UserRefs    uint64    `json:"userrefs"`
	Quota       uint64    `json:"quota"`
	ResumeToken string    `json:"receive_resume_token"`
	Encryption  string    `json:"encryption"`
	Origin      Snapshot  `json:"origin"`

	dataset  Dataset
	snapshot Snapshot
	bookmark Bookmark
}

// Dataset returns the entry's name if it is a filesystem or volume.
func (e Entry) Dataset() (Dataset, bool) { return e.dataset, !e.dataset.IsZero() }

// Snapshot returns the entry's name if it is a snapshot.
func (e Entry) Snapshot() (Snapshot, bool) { return e.snapshot, !e.snapshot.IsZero() }

// Bookmark returns the entry's name if it is a bookmark.
func (e Entry) Bookmark() (Bookmark, bool) { return e.bookmark, !e.bookmark.IsZero() }

// ParentDataset returns the dataset the entry is or belongs to: the entry
// itself for a filesystem or volume, the snapshotted or bookmarked dataset
// otherwise.
func (e Entry) ParentDataset() Dataset {
	switch {
	case !e.snapshot.IsZero():
		return e.snapshot.Dataset()
	case !e.bookmark.IsZero():
		return e.bookmark.Dataset()
	}
	return e.dataset
}

// maxLine bounds one line of zfs output. Receive resume tokens are the
// longest values vault reads; they are a few kilobytes at most.
const maxLine = 1 << 20

// checkColumns validates a column list for zfs list -o and ParseList.
func checkColumns(cols []Column) error {
	if len(cols) == 0 {
		return errors.New("no columns")
	}
	seen := make(map[Column]bool, len(cols))
	for _, c := range cols {
		if !knownColumn(c) {
			return fmt.Errorf("unknown column %q", c)
		}
		if seen[c] {
			return fmt.Errorf("column %q given twice", c)
		}
		seen[c] = true
	}
	if !seen[ColName] {
		return errors.New("no name column")
	}
	return nil
}

// ParseList parses the output of `zfs list -H -p -o <cols>`: one line per
// entity, fields separated by tabs (names may contain spaces, never tabs).
// cols must hold ColName. An error names the line and quotes it.
func ParseList(r io.Reader, cols []Column) ([]Entry, error) {
	if err := checkColumns(cols); err != nil {
		return nil, fmt.Errorf("cannot parse zfs list output: %w", err)
	}
	var entries []Entry
	err := scanLines(r, "zfs list", func(line string) error {
		e, err := parseListLine(line, cols)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// scanLines calls fn for each line of r, without its "\n" (a "\r" is kept,
// and so rejected by the line's parser). Errors from fn are wrapped with the
// line number and the line quoted.
func scanLines(r io.Reader, what string, fn func(line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	sc.Split(splitLF)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if err := fn(line); err != nil {
			return fmt.Errorf("cannot parse %s output: line %d %s: %w", what, n, quoteTrunc(line, 200), err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("cannot parse %s output: line %d: longer than %d bytes", what, n+1, maxLine)
		}
		return fmt.Errorf("cannot read %s output: %w", what, err)
	}
	return nil
}

// splitLF is bufio.ScanLines without its dropping of "\r".
func splitLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func parseListLine(line string, cols []Column) (Entry, error) {
	fields := strings.Split(line, "\t")
	if len(fields) != len(cols) {
		return Entry{}, fmt.Errorf("%d fields, want %d (%s)", len(fields), len(cols), joinColumns(cols))
	}
	var e Entry
	var err error
	for i, c := range cols {
		f := fields[i]
		switch c {
		case ColName:
			e.Name = f
		case ColType:
			e.Type = Type(f)
			if !e.Type.valid() {
				err = fmt.Errorf("unknown type %q", f)
			}
		case ColGUID:
			e.GUID, err = parseNumber(f, false)
		case ColCreateTXG:
			e.CreateTXG, err = parseNumber(f, false)
		case ColCreation:
			var secs uint64
			if secs, err = parseNumber(f, false); err == nil {
				if secs > math.MaxInt64 {
					err = fmt.Errorf("number %q out of range", f)
				}
				e.Creation = time.Unix(int64(secs), 0).UTC()
			}
		case ColUsed:
			e.Used, err = parseNumber(f, true)
		case ColReferenced:
			e.Referenced, err = parseNumber(f, true)
		case ColWritten:
			e.Written, err = parseNumber(f, true)
		case ColUserRefs:
			e.UserRefs, err = parseNumber(f, true)
		case ColQuota:
			e.Quota, err = parseNumber(f, true)
		case ColReceiveResumeToken:
			e.ResumeToken, err = parseToken(f)
		case ColEncryption:
			e.Encryption, err = parseWord(f)
		case ColOrigin:
			if f != "-" {
				e.Origin, err = ParseSnapshot(f)
			}
		}
		if err != nil {
			return Entry{}, fmt.Errorf("column %s: %w", c, err)
		}
	}
	if err := e.setName(); err != nil {
		return Entry{}, fmt.Errorf("column name: %w", err)
	}
	return e, nil
}

// setName parses e.Name into the typed name its type (or, without a type
// column, its delimiter) says it is.
func (e *Entry) setName() error {
	t := e.Type
	if t == "" {
		switch {
		case strings.IndexByte(e.Name, '@') >= 0:
			t = TypeSnapshot
		case strings.IndexByte(e.Name, '#') >= 0:
			t = TypeBookmark
		default:
			t = TypeFilesystem
		}
	}
	var err error
	switch t {
	case TypeSnapshot:
		e.snapshot, err = ParseSnapshot(e.Name)
	case TypeBookmark:
		e.bookmark, err = ParseBookmark(e.Name)
	default:
		e.dataset, err = ParseDataset(e.Name)
	}
	return err
}

// parseNumber parses the unsigned decimal zfs -p prints: digits only, no
// sign, no leading zeros. If dash, "-" (not applicable) is 0.
func parseNumber(s string, dash bool) (uint64, error) {
	if dash && s == "-" {
		return 0, nil
	}
	if s == "" || len(s) > 1 && s[0] == '0' || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("not a number: %s", quoteTrunc(s, 40))
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("number %s out of range", quoteTrunc(s, 40))
	}
	return n, nil
}

// parseToken parses a receive_resume_token: "-" for none, otherwise
// printable ASCII without spaces ("1-<hex>-<hex>-<hex>").
func parseToken(s string) (string, error) {
	if s == "-" {
		return "", nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return "", fmt.Errorf("unexpected byte %q in token", s[i])
		}
	}
	if s == "" {
		return "", errors.New("empty token")
	}
	return s, nil
}

// parseWord parses a short property value such as "aes-256-gcm" or "off":
// "-" is "", otherwise letters, digits, '-', '_' and '.'.
func parseWord(s string) (string, error) {
	if s == "-" {
		return "", nil
	}
	if s == "" {
		return "", errors.New("empty value")
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.') {
			return "", fmt.Errorf("unexpected byte %q in value", b)
		}
	}
	return s, nil
}

func joinColumns(cols []Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}
