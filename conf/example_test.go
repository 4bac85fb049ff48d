package conf

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// examplePath is the annotated example that make install puts beside the documentation (Linux)
// or as vault.toml.sample (FreeBSD).
const examplePath = "../dist/vault.toml.example"

// exampleSetting matches a commented-out setting or table header of the example: "# key = value",
// "# [job.prune]", "# [[signer]]". Prose never has that shape.
var exampleSetting = regexp.MustCompile(`^# ((?:[a-z_]+ = .*)|(?:\[\[?[a-z_.]+\]\]?))$`)

// uncommentExample sets every commented-out setting of the example.
func uncommentExample(src string) string {
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		if m := exampleSetting.FindStringSubmatch(l); m != nil {
			lines[i] = m[1]
		}
	}
	return strings.Join(lines, "\n")
}

var (
	exampleHeader = regexp.MustCompile(`^\[\[?([a-z_.]+)\]\]?$`)
	exampleKey    = regexp.MustCompile(`^([a-z_]+) = `)
)

// exampleKeys lists the key paths set in a configuration written one key a line, as
// acceptedKeys names them: "user", "ssh.identity", "job.prune.grid".
func exampleKeys(src string) []string {
	seen := map[string]bool{}
	table := ""
	for _, l := range strings.Split(src, "\n") {
		if m := exampleHeader.FindStringSubmatch(l); m != nil {
			table = m[1]
		} else if m := exampleKey.FindStringSubmatch(l); m != nil {
			seen[joinPath(table, m[1])] = true
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestExample keeps dist/vault.toml.example valid as shipped, valid with every commented-out
// setting set, and complete: every key vault accepts is in it, set or commented out.
func TestExample(t *testing.T) {
	src, err := os.ReadFile(examplePath)
	require.NoError(t, err)

	c, err := Load(examplePath)
	require.NoError(t, err, "the example as shipped")
	if got := len(c.Jobs); got != 1 {
		t.Errorf("got %d jobs in the example as shipped, want 1 pull job", got)
	} else if j := c.Jobs[0]; j.Name != "host05" || len(j.Prune.Grid) == 0 {
		t.Errorf("got job %q with grid %v, want job \"host05\" with a grid", j.Name, j.Prune.Grid)
	}

	all := uncommentExample(string(src))
	path := filepath.Join(t.TempDir(), "vault.toml")
	require.NoError(t, os.WriteFile(path, []byte(all), 0o600))
	c, err = Load(path)
	require.NoError(t, err, "the example with every commented-out setting set")
	if got := len(c.Jobs); got != 2 {
		t.Errorf("got %d jobs with every setting set, want 2 (the pull job and the media job)", got)
	}

	got, want := exampleKeys(all), acceptedKeys()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the example's keys differ from the keys vault accepts:\n got %v\nwant %v", got, want)
	}
}

func TestExampleKeys(t *testing.T) {
	src := "user = \"b\"\n# not = a key, prose\n[ssh]\nidentity = \"/k\"\n[[job]]\nname = \"a\"\n[job.prune]\ngrid = []\n"
	if got, want := strings.Join(exampleKeys(src), " "), "job.name job.prune.grid ssh.identity user"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := uncommentExample("# [[signer]]\n# name = \"x\"\n# Prose: a = b, said so.\n"), "[[signer]]\nname = \"x\"\n# Prose: a = b, said so.\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
