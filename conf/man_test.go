package conf

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// acceptedKeys lists every key the file may hold, as a key path without indexes ("user",
// "ssh.identity", "job.prune.grid"), sorted: the leaves of the same koanf tags that decoding
// and the unknown-key check walk (fieldsOf, tableType). Tables are not listed themselves.
func acceptedKeys() []string {
	var keys []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for name, ft := range fieldsOf(t) {
			p := joinPath(path, name)
			if st, ok := tableType(ft); ok {
				walk(st, p)
				continue
			}
			keys = append(keys, p)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	sort.Strings(keys)
	return keys
}

// manSection matches a subsection of vault.toml.5 that lists keys: "Top level", or a table
// header such as "[ssh]", "[[job]]" or "[job.prune]".
var manSection = regexp.MustCompile(`^\.Ss (?:(Top level)|\[\[?([a-z_.]+)\]\]?(?:\\&)?)$`)

// manKeys reads the keys documented in an mdoc page: every ".It Cm KEY" item under a key
// subsection of DESCRIPTION, as key paths. dup lists the keys documented twice.
func manKeys(t *testing.T, path string) (keys map[string]int, dup []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys = map[string]int{}
	table, inKeys := "", false
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, ".Sh "):
			inKeys = false
		case strings.HasPrefix(l, ".Ss "):
			m := manSection.FindStringSubmatch(l)
			inKeys = m != nil
			if inKeys {
				table = m[2]
			}
		case inKeys && strings.HasPrefix(l, ".It Cm "):
			key := joinPath(table, strings.Fields(l)[2])
			if _, ok := keys[key]; ok {
				dup = append(dup, key)
			}
			keys[key] = line
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys, dup
}

// TestManPageKeys: vault.toml(5) documents every key the configuration accepts, under its
// table, and no key that it does not accept.
func TestManPageKeys(t *testing.T) {
	accepted := acceptedKeys()
	// The walk itself: keys at every depth, scalar structs as keys, untagged fields left out.
	for _, k := range []string{"user", "ssh.identity", "signer.datasets", "job.source", "job.schedule", "job.snapshot_on_pull.ttl", "job.prune.grid", "job.anomaly.snapshot_floor"} {
		if i := sort.SearchStrings(accepted, k); i == len(accepted) || accepted[i] != k {
			t.Fatalf("acceptedKeys has no %q: %v", k, accepted)
		}
	}
	for _, k := range accepted {
		if strings.HasSuffix(k, "location") || strings.HasSuffix(k, ".key") || strings.HasPrefix(k, "lines") {
			t.Fatalf("acceptedKeys lists %q, which is no key of the file", k)
		}
	}

	const page = "../man/vault.toml.5"
	documented, dup := manKeys(t, page)
	for _, k := range dup {
		t.Errorf("%s documents %s twice", page, k)
	}
	for _, k := range accepted {
		if _, ok := documented[k]; !ok {
			t.Errorf("%s does not document the key %s (want an \".It Cm %s\" under \".Ss %s\")", page, k, k[strings.LastIndex(k, ".")+1:], manTable(k))
		}
		delete(documented, k)
	}
	for k, line := range documented {
		t.Errorf("%s:%d documents %s, which the configuration does not accept", page, line, k)
	}
}

// manTable names the subsection a key belongs under.
func manTable(key string) string {
	i := strings.LastIndex(key, ".")
	if i < 0 {
		return "Top level"
	}
	return "[" + key[:i] + "]"
}

// docSection matches the headings in doc.go under which keys are listed: "# Top level",
// "# [ssh]", "# [[job]]: ...", "[job.prune]: ..." or "[job.snapshot_on_pull] (...)".
var docSection = regexp.MustCompile(`^// (?:# (Top level)$|(?:# )?\[\[?([a-z_.]+)\]\]?(?:[: ]|$)|# )`)

// TestDocKeys: conf/doc.go lists every key the configuration accepts, under its table, and
// no key that it does not accept.
func TestDocKeys(t *testing.T) {
	data, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	table, inKeys := "", false
	for _, l := range strings.Split(string(data), "\n") {
		if m := docSection.FindStringSubmatch(l); m != nil {
			// A heading of its own (# Value syntax) ends the keys of the one before.
			inKeys, table = m[1] != "" || m[2] != "", m[2]
			continue
		}
		item, ok := strings.CutPrefix(l, "//   - ")
		if !inKeys || !ok {
			continue
		}
		names, _, _ := strings.Cut(item, ":")
		names, _, _ = strings.Cut(names, " (")
		for _, n := range strings.Split(names, ", ") {
			documented[joinPath(table, n)] = true
		}
	}
	for _, k := range acceptedKeys() {
		if !documented[k] {
			t.Errorf("doc.go does not document the key %s (want \"  - %s:\" under %s)", k, k[strings.LastIndex(k, ".")+1:], manTable(k))
		}
		delete(documented, k)
	}
	for k := range documented {
		t.Errorf("doc.go documents %s, which the configuration does not accept", k)
	}
}
