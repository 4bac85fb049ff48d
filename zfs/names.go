package zfs

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest name zfs accepts, in bytes: ZFS_MAX_DATASET_NAME_LEN
// (256) less the terminating NUL. It bounds the whole name, so a snapshot's
// "dataset@short" must fit in it too.
const MaxNameLen = 255

// Name is a validated zfs name: a [Dataset], [Snapshot] or [Bookmark]. Only
// this package's types implement it.
type Name interface {
	String() string
	isName()
}

// Dataset is the validated name of a filesystem or volume, such as
// "rust10/Backups/host05". The zero value is no dataset; only [ParseDataset],
// [Dataset.Child], [Dataset.Parent] and the parsers in this package make
// others. Datasets compare with == and can be map keys.
type Dataset struct{ name string }

// Snapshot is the validated name of a snapshot, "dataset@short".
type Snapshot struct {
	name string
	at   int // index of '@' in name
}

// Bookmark is the validated name of a bookmark, "dataset#short".
type Bookmark struct {
	name string
	hash int // index of '#' in name
}

// NameError reports a string that is not a valid name of the kind wanted.
type NameError struct {
	Kind   string // "dataset", "snapshot" or "bookmark"
	Name   string // the rejected input
	Reason string // which rule it broke
}

func (e *NameError) Error() string {
	return fmt.Sprintf("invalid %s name %s: %s", e.Kind, quoteTrunc(e.Name, 300), e.Reason)
}

// reservedPool reports whether pool_namecheck() in the OpenZFS kernel module
// refuses name, so that no pool can have it. zpool create refuses a wider
// set (any name starting with mirror, raidz, draid or spare, and "log"), but
// OpenZFS keeps that check out of the kernel on purpose so that existing
// pools with such names stay usable, so vault accepts them too. The old
// Solaris rule against pools named like disks (c0...) is gone from OpenZFS.
func reservedPool(name string) bool {
	return name == "mirror" || name == "raidz" || name == "draid"
}

// ParseDataset validates s as the name of a filesystem or volume.
//
// It applies the OpenZFS rules (characters [A-Za-z0-9_.: -], components that
// are not empty, "." or "..", a pool name that begins with a letter and is not
// reserved, at most [MaxNameLen] bytes) and vault's own: no component starts
// with '-', and no '%' (hidden datasets such as "pool/fs/%recv").
func ParseDataset(s string) (Dataset, error) {
	if r := checkDataset(s); r != "" {
		return Dataset{}, &NameError{Kind: "dataset", Name: s, Reason: r}
	}
	return Dataset{name: s}, nil
}

// ParseSnapshot validates s as a snapshot name, "dataset@short".
func ParseSnapshot(s string) (Snapshot, error) {
	at, r := checkEntity(s, '@', '#')
	if r != "" {
		return Snapshot{}, &NameError{Kind: "snapshot", Name: s, Reason: r}
	}
	return Snapshot{name: s, at: at}, nil
}

// ParseBookmark validates s as a bookmark name, "dataset#short".
func ParseBookmark(s string) (Bookmark, error) {
	hash, r := checkEntity(s, '#', '@')
	if r != "" {
		return Bookmark{}, &NameError{Kind: "bookmark", Name: s, Reason: r}
	}
	return Bookmark{name: s, hash: hash}, nil
}

// checkEntity validates "dataset<delim>short" and returns the index of delim,
// or the reason s is invalid. other is the delimiter of the other kind.
func checkEntity(s string, delim, other byte) (int, string) {
	kind := "snapshot"
	if delim == '#' {
		kind = "bookmark"
	}
	if s == "" {
		return 0, "empty name"
	}
	if len(s) > MaxNameLen {
		return 0, tooLong(s)
	}
	i := strings.IndexByte(s, delim)
	switch {
	case i < 0:
		return 0, fmt.Sprintf("no %q: not a %s name", delim, kind)
	case strings.IndexByte(s[i+1:], delim) >= 0:
		return 0, fmt.Sprintf("more than one %q", delim)
	case strings.IndexByte(s, other) >= 0:
		return 0, fmt.Sprintf("contains %q as well as %q", other, delim)
	case i == 0:
		return 0, fmt.Sprintf("no dataset before %q", delim)
	}
	if r := checkDataset(s[:i]); r != "" {
		return 0, r
	}
	if r := checkComponent(s[i+1:]); r != "" {
		return 0, kind + " part " + r
	}
	return i, ""
}

// checkDataset returns why s is not a valid dataset name, or "".
func checkDataset(s string) string {
	switch {
	case s == "":
		return "empty name"
	case len(s) > MaxNameLen:
		return tooLong(s)
	case s[0] == '/':
		return "leading '/'"
	case s[len(s)-1] == '/':
		return "trailing '/'"
	}
	if i := strings.IndexAny(s, "@#"); i >= 0 {
		return fmt.Sprintf("contains %q: snapshots and bookmarks are not datasets", s[i])
	}
	pool, rest, _ := strings.Cut(s, "/")
	if r := checkComponent(pool); r != "" {
		return "pool name " + r
	}
	if c := pool[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return fmt.Sprintf("pool name %s does not begin with a letter", quoteTrunc(pool, 60))
	}
	if reservedPool(pool) {
		return fmt.Sprintf("pool name %q is reserved", pool)
	}
	for rest != "" {
		var c string
		c, rest, _ = strings.Cut(rest, "/")
		if r := checkComponent(c); r != "" {
			return "component " + r
		}
	}
	return ""
}

// checkComponent returns why c is not a valid single component (a pool,
// dataset, snapshot or bookmark part without separators), or "". The reason
// starts with c quoted, to be prefixed with what c is.
func checkComponent(c string) string {
	q := quoteTrunc(c, 60)
	switch {
	case c == "":
		return `"" is empty`
	case c == "." || c == "..":
		return q + " is not allowed"
	case c[0] == '-':
		return q + " starts with '-'"
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if validChar(b) {
			continue
		}
		switch {
		case b == '%':
			return q + " contains '%', which zfs reserves for hidden datasets"
		case b < 0x20 || b == 0x7f:
			return fmt.Sprintf("%s contains control character %q", q, b)
		case b >= utf8.RuneSelf:
			r, _ := utf8.DecodeRuneInString(c[i:])
			if r == utf8.RuneError {
				return fmt.Sprintf("%s contains byte %#x, which is not ASCII", q, b)
			}
			return fmt.Sprintf("%s contains %q, which is not ASCII", q, r)
		default:
			return fmt.Sprintf("%s contains invalid character %q", q, b)
		}
	}
	return ""
}

// validChar reports whether zfs allows b in a name component
// (valid_char() in zfs_namecheck.c).
func validChar(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '-' || b == '_' || b == '.' || b == ':' || b == ' '
}

func tooLong(s string) string {
	return fmt.Sprintf("%d bytes long, more than the %d zfs allows", len(s), MaxNameLen)
}

// quoteTrunc quotes s with %q, cutting it to about max bytes first so that a
// huge input does not make a huge message.
func quoteTrunc(s string, max int) string {
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:cut]), len(s))
}

func (Dataset) isName()  {}
func (Snapshot) isName() {}
func (Bookmark) isName() {}

// String returns the name, or "" for the zero Dataset.
func (d Dataset) String() string { return d.name }

// IsZero reports whether d is the zero Dataset, which names nothing.
func (d Dataset) IsZero() bool { return d.name == "" }

// Pool returns the name of the pool d is in.
func (d Dataset) Pool() string {
	pool, _, _ := strings.Cut(d.name, "/")
	return pool
}

// Parent returns the dataset that contains d, and false if d is a pool's root
// dataset (or zero).
func (d Dataset) Parent() (Dataset, bool) {
	i := strings.LastIndexByte(d.name, '/')
	if i < 0 {
		return Dataset{}, false
	}
	return Dataset{name: d.name[:i]}, true
}

// Child returns the dataset named component under d. component is one
// component: it may not contain '/'.
func (d Dataset) Child(component string) (Dataset, error) {
	full := d.name + "/" + component
	if d.IsZero() {
		return Dataset{}, &NameError{Kind: "dataset", Name: full, Reason: "no parent dataset"}
	}
	if r := checkComponent(component); r != "" {
		return Dataset{}, &NameError{Kind: "dataset", Name: full, Reason: "component " + r}
	}
	if len(full) > MaxNameLen {
		return Dataset{}, &NameError{Kind: "dataset", Name: full, Reason: tooLong(full)}
	}
	return Dataset{name: full}, nil
}

// Snapshot returns the snapshot of d named short ("d@short").
func (d Dataset) Snapshot(short string) (Snapshot, error) {
	full := d.name + "@" + short
	if r := d.checkShort(full, short, "snapshot"); r != "" {
		return Snapshot{}, &NameError{Kind: "snapshot", Name: full, Reason: r}
	}
	return Snapshot{name: full, at: len(d.name)}, nil
}

// Bookmark returns the bookmark of d named short ("d#short").
func (d Dataset) Bookmark(short string) (Bookmark, error) {
	full := d.name + "#" + short
	if r := d.checkShort(full, short, "bookmark"); r != "" {
		return Bookmark{}, &NameError{Kind: "bookmark", Name: full, Reason: r}
	}
	return Bookmark{name: full, hash: len(d.name)}, nil
}

func (d Dataset) checkShort(full, short, kind string) string {
	if d.IsZero() {
		return "no dataset"
	}
	if r := checkComponent(short); r != "" {
		return kind + " part " + r
	}
	if len(full) > MaxNameLen {
		return tooLong(full)
	}
	return ""
}

// HasPrefix reports whether d is prefix or a descendant of it, comparing
// whole components: "a/b/c" has prefix "a/b" and "a/b", but not "a/bc".
func (d Dataset) HasPrefix(prefix Dataset) bool {
	if d.IsZero() || prefix.IsZero() {
		return false
	}
	return d.name == prefix.name ||
		len(d.name) > len(prefix.name) && d.name[len(prefix.name)] == '/' &&
			strings.HasPrefix(d.name, prefix.name)
}

// IsAncestorOf reports whether other is a strict descendant of d: "a/b" is an
// ancestor of "a/b/c", but not of "a/b" or "a/bc".
func (d Dataset) IsAncestorOf(other Dataset) bool {
	return d != other && other.HasPrefix(d)
}

// RelativeTo returns d's path below ancestor ("c/d" for "a/b/c/d" below
// "a/b"; "" if d is ancestor) and true, or false if d is not ancestor or
// below it.
func (d Dataset) RelativeTo(ancestor Dataset) (string, bool) {
	if !d.HasPrefix(ancestor) {
		return "", false
	}
	if d == ancestor {
		return "", true
	}
	return d.name[len(ancestor.name)+1:], true
}

// MarshalText returns the name, so that names appear as strings in JSON.
func (d Dataset) MarshalText() ([]byte, error) { return []byte(d.name), nil }

// UnmarshalText validates text with [ParseDataset]; empty text is the zero
// Dataset.
func (d *Dataset) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*d = Dataset{}
		return nil
	}
	v, err := ParseDataset(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// String returns the full name, "dataset@short", or "" for the zero Snapshot.
func (s Snapshot) String() string { return s.name }

// IsZero reports whether s is the zero Snapshot, which names nothing.
func (s Snapshot) IsZero() bool { return s.name == "" }

// Dataset returns the dataset s is a snapshot of.
func (s Snapshot) Dataset() Dataset { return Dataset{name: s.name[:s.at]} }

// Short returns the part of the name after '@'.
func (s Snapshot) Short() string {
	if s.IsZero() {
		return ""
	}
	return s.name[s.at+1:]
}

// MarshalText returns the name, so that names appear as strings in JSON.
func (s Snapshot) MarshalText() ([]byte, error) { return []byte(s.name), nil }

// UnmarshalText validates text with [ParseSnapshot]; empty text is the zero
// Snapshot.
func (s *Snapshot) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*s = Snapshot{}
		return nil
	}
	v, err := ParseSnapshot(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// String returns the full name, "dataset#short", or "" for the zero Bookmark.
func (b Bookmark) String() string { return b.name }

// IsZero reports whether b is the zero Bookmark, which names nothing.
func (b Bookmark) IsZero() bool { return b.name == "" }

// Dataset returns the dataset b is a bookmark of.
func (b Bookmark) Dataset() Dataset { return Dataset{name: b.name[:b.hash]} }

// Short returns the part of the name after '#'.
func (b Bookmark) Short() string {
	if b.IsZero() {
		return ""
	}
	return b.name[b.hash+1:]
}

// MarshalText returns the name, so that names appear as strings in JSON.
func (b Bookmark) MarshalText() ([]byte, error) { return []byte(b.name), nil }

// UnmarshalText validates text with [ParseBookmark]; empty text is the zero
// Bookmark.
func (b *Bookmark) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*b = Bookmark{}
		return nil
	}
	v, err := ParseBookmark(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
