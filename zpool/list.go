package zpool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/belltech/vault/zfs"
)

// ListColumns are the columns Zpool.List asks for, in order: `zpool list -Hp -o` these.
const ListColumns = "name,size,allocated,free,capacity,health,fragmentation"

// Pool is one line of `zpool list -Hp -o name,size,allocated,free,capacity,health,fragmentation`.
type Pool struct {
	Name   string
	Health string // ONLINE, DEGRADED, FAULTED, OFFLINE, REMOVED, UNAVAIL, SPLIT, SUSPENDED, UNKNOWN
	// SpaceKnown is false when zpool printed "-" for the space columns (a pool it cannot open).
	SpaceKnown bool
	Size       uint64 // bytes
	Allocated  uint64 // bytes
	Free       uint64 // bytes
	Capacity   int    // percent of Size allocated, as zpool rounds it
	// Fragmentation is a percentage, -1 when zpool does not know it ("-").
	Fragmentation int
}

// States are the states zpool prints for a pool or a vdev (zpool_state_to_name and
// zpool_get_state_str in lib/libzfs/libzfs_pool.c); spares also show INUSE and AVAIL.
var poolStates = map[string]bool{
	"ONLINE": true, "DEGRADED": true, "FAULTED": true, "OFFLINE": true, "REMOVED": true,
	"UNAVAIL": true, "SPLIT": true, "SUSPENDED": true, "UNKNOWN": true,
}

// ParseList parses `zpool list -Hp -o name,size,allocated,free,capacity,health,fragmentation`.
// An error names the line and quotes it.
func ParseList(r io.Reader) ([]Pool, error) {
	var pools []Pool
	seen := map[string]bool{}
	err := scanLines(r, "zpool list", func(line string) error {
		p, err := parseListLine(line)
		if err != nil {
			return err
		}
		if seen[p.Name] {
			return fmt.Errorf("pool %q listed twice", p.Name)
		}
		seen[p.Name] = true
		pools = append(pools, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pools, nil
}

func parseListLine(line string) (Pool, error) {
	f := strings.Split(line, "\t")
	if len(f) != 7 {
		return Pool{}, fmt.Errorf("%d fields, want 7 (%s)", len(f), ListColumns)
	}
	p := Pool{Name: f[0], Health: f[5]}
	if err := CheckPoolName(p.Name); err != nil {
		return Pool{}, err
	}
	if !poolStates[p.Health] {
		return Pool{}, fmt.Errorf("unknown health %q", p.Health)
	}
	switch dashes := countDash(f[1:5]); dashes {
	case 4:
		if p.Health == "ONLINE" {
			return Pool{}, errors.New("an ONLINE pool without its size")
		}
	case 0:
		var err error
		nums := []*uint64{&p.Size, &p.Allocated, &p.Free}
		for i, dst := range nums {
			if *dst, err = parseUint(f[1+i]); err != nil {
				return Pool{}, err
			}
		}
		c, err := parseUint(f[4])
		if err != nil {
			return Pool{}, err
		}
		if c > 100 || p.Allocated > p.Size {
			return Pool{}, fmt.Errorf("capacity %d%% with %d of %d bytes allocated", c, p.Allocated, p.Size)
		}
		p.SpaceKnown, p.Capacity = true, int(c)
	default:
		return Pool{}, errors.New("some space columns are \"-\" and some are not")
	}
	p.Fragmentation = -1
	if f[6] != "-" {
		n, err := parseUint(f[6])
		if err != nil {
			return Pool{}, err
		}
		if n > 100 {
			return Pool{}, fmt.Errorf("fragmentation %d%% over 100%%", n)
		}
		p.Fragmentation = int(n)
	}
	return p, nil
}

func countDash(fields []string) int {
	n := 0
	for _, s := range fields {
		if s == "-" {
			n++
		}
	}
	return n
}

// parseUint parses a plain decimal number, as -p prints them: digits only.
func parseUint(s string) (uint64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number: out of range", s)
	}
	return n, nil
}

// CheckPoolName accepts a pool name: a valid zfs dataset name without "/" (zfs.ParseDataset's
// rules: nothing that starts with "-", no control characters).
func CheckPoolName(name string) error {
	d, err := zfs.ParseDataset(name)
	if err != nil {
		return err
	}
	if d.Pool() != name {
		return fmt.Errorf("%q is a dataset, not a pool", name)
	}
	return nil
}

// maxLine bounds one line of zpool output.
const maxLine = 64 << 10

// scanLines calls fn for each line of r, without its "\n" ("\r" is kept, and so rejected).
// Errors from fn are wrapped with the line number and the line quoted.
func scanLines(r io.Reader, what string, fn func(line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if !utf8.ValidString(line) || strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			return fmt.Errorf("cannot parse %s output: line %d %s: control character or invalid UTF-8", what, n, quote(line))
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("cannot parse %s output: line %d %s: %w", what, n, quote(line), err)
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

// quote quotes a line for an error, cut at 200 bytes.
func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}
