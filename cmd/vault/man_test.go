package main

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// manCommands reads the COMMANDS section of an mdoc page: its outer list's items, each
// named by the words of its first .Cm ("ack", "restore export"), with every flag (the
// argument of an Fl, without its dashes) written in the item's head and body.
func manCommands(t *testing.T, path string) (items map[string]map[string]bool, dup []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	items = map[string]map[string]bool{}
	var cur map[string]bool
	inSection, depth, inHead := false, 0, false
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, ".Sh ") {
			inSection, depth = l == ".Sh COMMANDS", 0
			continue
		}
		if !inSection || !strings.HasPrefix(l, ".") {
			continue
		}
		words := strings.Fields(l[1:])
		if len(words) == 0 {
			continue
		}
		switch {
		case words[0] == "Bl":
			depth++
		case words[0] == "El":
			depth--
		case words[0] == "It" && depth == 1:
			// A new item: its head is this line, or the lines up to .Xc after .It Xo.
			inHead = len(words) > 1 && words[1] == "Xo"
			cur = startItem(items, &dup, words[1:])
		case words[0] == "Xc":
			inHead = false
		case inHead && cur == nil:
			cur = startItem(items, &dup, words)
		}
		if cur == nil {
			continue
		}
		for i := 0; i+1 < len(words); i++ {
			if words[i] == "Fl" {
				cur[strings.TrimLeft(strings.ReplaceAll(words[i+1], `\-`, "-"), "-")] = true
			}
		}
	}
	return items, dup
}

// startItem records the command an item's head names with its first Cm, if this line has one.
func startItem(items map[string]map[string]bool, dup *[]string, words []string) map[string]bool {
	name := cmWords(words)
	if name == "" {
		return nil
	}
	if _, ok := items[name]; ok {
		*dup = append(*dup, name)
	}
	items[name] = map[string]bool{}
	return items[name]
}

// cmWords gives the words after the first Cm of a macro line, up to the next macro (a word
// that begins with a capital), joined by spaces; "" when the line has no Cm.
func cmWords(words []string) string {
	for i, w := range words {
		if w != "Cm" {
			continue
		}
		var name []string
		for _, n := range words[i+1:] {
			if n == "" || n[0] < 'a' || n[0] > 'z' {
				break
			}
			name = append(name, n)
		}
		return strings.Join(name, " ")
	}
	return ""
}

var (
	usageLine = regexp.MustCompile(`^(?:usage: |\s+)vault ([a-z-]+)(?: ([a-z][a-z-]*))?(?:\s|$)`)
	flagLine  = regexp.MustCompile(`^  -([^\s]+)`)
)

// helpCommands gives each command as vault help prints it, and for one with subcommands
// (vault config check) each subcommand its usage names, with the flags its -h lists.
func helpCommands(t *testing.T) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for name := range commands {
		out, errOut, code := runCaptured(name, "-h")
		if code != exitOK {
			t.Fatalf("vault %s -h: exit %d, stderr %q", name, code, errOut)
		}
		var subs []string
		for _, l := range strings.Split(out+errOut, "\n") {
			if m := usageLine.FindStringSubmatch(l); m != nil && m[1] == name && m[2] != "" {
				subs = append(subs, m[2])
			}
		}
		if len(subs) == 0 {
			got[name] = flagsOf(out + errOut)
		}
		for _, sub := range subs {
			out, errOut, code := runCaptured(name, sub, "-h")
			if code != exitOK {
				t.Fatalf("vault %s %s -h: exit %d, stderr %q", name, sub, code, errOut)
			}
			got[name+" "+sub] = flagsOf(out + errOut)
		}
	}
	return got
}

func flagsOf(help string) []string {
	var flags []string
	for _, l := range strings.Split(help, "\n") {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			flags = append(flags, m[1])
		}
	}
	return flags
}

// TestManPageCommands: vault(8) has an item in COMMANDS for every registered command (and
// each subcommand its usage names), that item writes every flag the command's -h lists,
// and the page has no item for a command that does not exist.
func TestManPageCommands(t *testing.T) {
	const page = "../../man/vault.8"
	documented, dup := manCommands(t, page)
	for _, name := range dup {
		t.Errorf("%s has two items for vault %s", page, name)
	}
	want := helpCommands(t)
	// The -h outputs themselves: subcommands found in the usage lines, flags in the lists.
	for _, name := range []string{"config check", "restore export", "restore clone", "version"} {
		if _, ok := want[name]; !ok {
			t.Fatalf("no vault %s in the -h outputs: %v", name, want)
		}
	}
	if f := want["serve"]; len(f) < 5 || !slices.Contains(f, "max-skew") {
		t.Fatalf("vault serve -h lists the flags %v, want max-skew among them", f)
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		flags, ok := documented[name]
		if !ok {
			t.Errorf("%s has no item for vault %s in COMMANDS (want .It Xo, .Nm, .Cm %s)", page, name, name)
			continue
		}
		for _, f := range want[name] {
			if !flags[f] {
				t.Errorf("%s: the item for vault %s does not mention its flag -%s (want Fl %s)", page, name, f, f)
			}
		}
	}
	for name := range documented {
		if _, ok := want[name]; !ok {
			t.Errorf("%s has an item for vault %s, which is no command", page, name)
		}
	}
}
