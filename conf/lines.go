package conf

import (
	"fmt"

	"github.com/pelletier/go-toml/v2/unstable"
)

// lineIndex maps key paths ("user", "ssh.identity", "job[1]", "job[1].prune.grid[0]") to
// the line where they are written, which koanf forgets. A table's path maps to the line of
// its header. It is best effort: a path it does not know gets the line of an ancestor.
func lineIndex(data []byte) map[string]int {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	aot := map[string]int{} // array-of-tables path (without index) -> entries so far
	table := ""             // path of the current table, indexes resolved

	// resolve turns the key parts of a table header into a path, indexing every array of
	// tables on the way with its current (last) entry.
	resolve := func(parts []string) string {
		path := ""
		for _, k := range parts {
			path = joinPath(path, k)
			if n, ok := aot[path]; ok {
				path = fmt.Sprintf("%s[%d]", path, n-1)
			}
		}
		return path
	}
	line := func(r unstable.Range) int {
		if r.Length == 0 {
			return 0
		}
		return p.Shape(r).Start.Line
	}
	set := func(path string, n int) {
		if _, ok := lines[path]; !ok && n > 0 {
			lines[path] = n
		}
	}
	var value func(path string, v *unstable.Node, fallback int)
	value = func(path string, v *unstable.Node, fallback int) {
		switch v.Kind {
		case unstable.Array:
			it := v.Children()
			for i := 0; it.Next(); i++ {
				e := it.Node()
				n := firstLine(e, line)
				if n == 0 {
					n = fallback
				}
				p := fmt.Sprintf("%s[%d]", path, i)
				set(p, n)
				value(p, e, n)
			}
		case unstable.InlineTable:
			it := v.Children()
			for it.Next() {
				kv := it.Node()
				if kv.Kind != unstable.KeyValue {
					continue
				}
				k, n := keyOf(kv, line)
				p := joinPath(path, k)
				set(p, n)
				value(p, kv.Value(), n)
			}
		}
	}

	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			parts, n := keyParts(e, line)
			table = resolve(parts)
			set(table, n)
		case unstable.ArrayTable:
			parts, n := keyParts(e, line)
			base := joinPath(resolve(parts[:len(parts)-1]), parts[len(parts)-1])
			i := aot[base]
			aot[base] = i + 1
			table = fmt.Sprintf("%s[%d]", base, i)
			set(base, n) // the array as a whole: its first header
			set(table, n)
		case unstable.KeyValue:
			k, n := keyOf(e, line)
			path := joinPath(table, k)
			set(path, n)
			value(path, e.Value(), n)
		}
	}
	return lines
}

// keyParts gives the parts of a node's key and the line of its first part.
func keyParts(n *unstable.Node, line func(unstable.Range) int) ([]string, int) {
	var parts []string
	first := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if first == 0 {
			first = line(k.Raw)
		}
		parts = append(parts, string(k.Data))
	}
	return parts, first
}

// keyOf gives a key-value's dotted key ("prune.min_keep") and its line.
func keyOf(kv *unstable.Node, line func(unstable.Range) int) (string, int) {
	parts, n := keyParts(kv, line)
	key := ""
	for _, p := range parts {
		key = joinPath(key, p)
	}
	return key, n
}

// firstLine gives the line of the first node in v's subtree that knows its position.
func firstLine(v *unstable.Node, line func(unstable.Range) int) int {
	if n := line(v.Raw); n > 0 {
		return n
	}
	it := v.Children()
	for it.Next() {
		if n := firstLine(it.Node(), line); n > 0 {
			return n
		}
	}
	return 0
}
