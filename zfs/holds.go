package zfs

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Hold is one user hold on a snapshot, as zfs holds lists it.
type Hold struct {
	Snapshot Snapshot `json:"snapshot"`
	Tag      string   `json:"tag"`
	// Time is when the hold was made, in UTC. OpenZFS 2.1 prints it only to
	// the minute, in the time zone zfs runs in, which [Local] sets to UTC.
	Time time.Time `json:"time"`
}

// MaxTagLen is the longest hold tag vault makes, in bytes. The kernel keeps
// holds in a ZAP, whose names are at most ZAP_MAXNAMELEN (256) bytes with the
// NUL.
const MaxTagLen = 255

// holdsTimeLayout is strftime's "%a %b %e %H:%M %Y" in the C locale, which
// zfs holds prints without -p.
const holdsTimeLayout = "Mon Jan _2 15:04 2006"

// CheckTag reports whether tag is a hold tag vault may use: 1 to MaxTagLen
// bytes of printable ASCII, not starting with '-' (it could be read as an
// option) or '.' (zfs reserves those for itself).
func CheckTag(tag string) error {
	switch {
	case tag == "":
		return errors.New("invalid hold tag \"\": empty")
	case len(tag) > MaxTagLen:
		return fmt.Errorf("invalid hold tag %s: %d bytes long, more than %d", quoteTrunc(tag, 60), len(tag), MaxTagLen)
	case tag[0] == '-':
		return fmt.Errorf("invalid hold tag %q: starts with '-'", tag)
	case tag[0] == '.':
		return fmt.Errorf("invalid hold tag %q: starts with '.', which zfs reserves", tag)
	}
	for i := 0; i < len(tag); i++ {
		if tag[i] < 0x20 || tag[i] > 0x7e {
			return fmt.Errorf("invalid hold tag %q: byte %q is not printable ASCII", tag, tag[i])
		}
	}
	return nil
}

// ParseHolds parses the output of `zfs holds -H [-p]`: lines of snapshot
// name, tag and time separated by tabs. The time is unix seconds (-p, from
// OpenZFS 2.2) or the C locale's "Tue Nov 26 05:04 2024" read as UTC. Tags
// made by other tools may contain tabs: the tag is everything between the
// first and the last tab.
func ParseHolds(r io.Reader) ([]Hold, error) {
	var holds []Hold
	err := scanLines(r, "zfs holds", func(line string) error {
		first := strings.IndexByte(line, '\t')
		last := strings.LastIndexByte(line, '\t')
		if first < 0 || first == last {
			return fmt.Errorf("%d fields, want 3 (name, tag, timestamp)", strings.Count(line, "\t")+1)
		}
		var h Hold
		var err error
		if h.Snapshot, err = ParseSnapshot(line[:first]); err != nil {
			return err
		}
		if h.Tag = line[first+1 : last]; h.Tag == "" {
			return errors.New("empty tag")
		}
		if h.Time, err = parseHoldTime(line[last+1:]); err != nil {
			return err
		}
		holds = append(holds, h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return holds, nil
}

func parseHoldTime(s string) (time.Time, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		secs, err := parseNumber(s, false)
		if err != nil || secs > 1<<62 {
			return time.Time{}, fmt.Errorf("bad timestamp %s", quoteTrunc(s, 40))
		}
		return time.Unix(int64(secs), 0).UTC(), nil
	}
	t, err := time.ParseInLocation(holdsTimeLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %s", quoteTrunc(s, 40))
	}
	return t, nil
}
