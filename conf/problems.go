package conf

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	File string // the file's name as given to Load; "" after Parse
	Line int    // 1-based line in the file; 0 when unknown
	// Path is the key path with TOML key names, arrays of tables indexed from 0:
	// "job[1].prune.grid[0]". It is "" for a problem with the file as a whole.
	Path string
	Msg  string
}

// String formats the problem the way compilers do, so that editors can jump to it:
// "vault.toml:12: job[1].rpo: ...". Parts that are unknown are left out.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		b.WriteString(p.File + ":" + strconv.Itoa(p.Line) + ": ")
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in a configuration, in the order of the file. As an error
// it gives one problem per line.
type Problems []Problem

func (ps *Problems) Error() string {
	lines := make([]string, len(*ps))
	for i, p := range *ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(path, msg string) {
	*ps = append(*ps, Problem{Path: path, Msg: msg})
}

// sort orders problems by line, then by key path (numbers by value: grid[2] before grid[10]);
// problems without a line (the file as a whole) come first. Problems with the same line and
// path keep the order they were found in.
func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return pathLess(ps[i].Path, ps[j].Path)
	})
}

// pathLess compares key paths, runs of digits by their value.
func pathLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func (ps Problems) withFile(name string) *Problems {
	for i := range ps {
		ps[i].File = name
	}
	return &ps
}
