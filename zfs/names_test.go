package zfs

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// nameOfLen returns a dataset name of exactly n bytes (n >= 6).
func nameOfLen(n int) string { return "tank/" + strings.Repeat("a", n-5) }

func TestParseDataset(t *testing.T) {
	valid := []string{
		"tank",
		"tank/a",
		"rust10/Backups/host05",
		"host05data/jail/drive.client",
		"tank/My Documents",
		"tank/a b/c d ",
		"tank/with:colon",
		"tank/under_score",
		"tank/x-",
		"tank/..x",
		"tank/.hidden",
		"tank/0",
		"Tank",
		"z",
		"c0pool",     // Solaris disk-like names are fine in OpenZFS
		"mirrorpool", // only "mirror" itself is reserved in the kernel
		"raidz2",
		"spare",
		"log",
		"cache",
		nameOfLen(MaxNameLen),
	}
	for _, s := range valid {
		d, err := ParseDataset(s)
		if err != nil {
			t.Errorf("ParseDataset(%q): got error %v, want none", s, err)
			continue
		}
		if d.String() != s {
			t.Errorf("ParseDataset(%q).String() = %q, want the input", s, d.String())
		}
	}

	invalid := []struct {
		in, want string
	}{
		{"", "empty name"},
		{"/tank", "leading '/'"},
		{"tank/", "trailing '/'"},
		{"tank//a", `component "" is empty`},
		{"tank/./a", `component "." is not allowed`},
		{"tank/..", `component ".." is not allowed`},
		{"tank/.", `component "." is not allowed`},
		{"-tank", `pool name "-tank" starts with '-'`},
		{"tank/-rf", `component "-rf" starts with '-'`},
		{"tank/a/-", `component "-" starts with '-'`},
		{"1tank", "does not begin with a letter"},
		{"_tank", "does not begin with a letter"},
		{" tank", "does not begin with a letter"},
		{".tank", "does not begin with a letter"},
		{"mirror", `pool name "mirror" is reserved`},
		{"raidz/a", `pool name "raidz" is reserved`},
		{"draid", `pool name "draid" is reserved`},
		{"tank@snap", "contains '@'"},
		{"tank#mark", "contains '#'"},
		{"tank/%recv", "contains '%'"},
		{"tank/a%b", "reserves for hidden datasets"},
		{"tank/a\tb", `control character '\t'`},
		{"tank/a\nb", `control character '\n'`},
		{"tank/a\x00b", `control character '\x00'`},
		{"tank/a\x7fb", `control character '\x7f'`},
		{"tank/é", "'é', which is not ASCII"},
		{"tank/\xff", "byte 0xff, which is not ASCII"},
		{"tank/a*b", "invalid character '*'"},
		{"tank/a,b", "invalid character ','"},
		{"tank/a$b", "invalid character '$'"},
		{"tank/a\\b", `invalid character '\\'`},
		{nameOfLen(MaxNameLen + 1), "256 bytes long, more than the 255 zfs allows"},
	}
	for _, c := range invalid {
		d, err := ParseDataset(c.in)
		if err == nil {
			t.Errorf("ParseDataset(%q) = %q, want an error containing %q", c.in, d, c.want)
			continue
		}
		var ne *NameError
		require.ErrorAs(t, err, &ne)
		msg := err.Error()
		if !strings.Contains(msg, c.want) {
			t.Errorf("ParseDataset(%q): got error %q, want it to contain %q", c.in, msg, c.want)
		}
		if !strings.HasPrefix(msg, "invalid dataset name "+quoteTrunc(c.in, 300)+": ") {
			t.Errorf("ParseDataset(%q): got error %q, want it to name the input", c.in, msg)
		}
		if !d.IsZero() {
			t.Errorf("ParseDataset(%q): got %q with the error, want the zero Dataset", c.in, d)
		}
	}
}

func TestParseSnapshot(t *testing.T) {
	valid := []struct{ in, ds, short string }{
		{"tank@a", "tank", "a"},
		{"tank/a@2024-11-26_05.04.00--2w", "tank/a", "2024-11-26_05.04.00--2w"},
		{"tank/My Documents@snap shot", "tank/My Documents", "snap shot"},
		{"tank@a:b", "tank", "a:b"},
		{"tank@.x", "tank", ".x"},
		{"tank@x-", "tank", "x-"},
		{"tank@" + strings.Repeat("s", MaxNameLen-5), "tank", strings.Repeat("s", MaxNameLen-5)},
	}
	for _, c := range valid {
		s, err := ParseSnapshot(c.in)
		if err != nil {
			t.Errorf("ParseSnapshot(%q): got error %v, want none", c.in, err)
			continue
		}
		if s.String() != c.in || s.Dataset().String() != c.ds || s.Short() != c.short {
			t.Errorf("ParseSnapshot(%q) = %q, %q, %q; want %q, %q, %q",
				c.in, s, s.Dataset(), s.Short(), c.in, c.ds, c.short)
		}
	}

	invalid := []struct{ in, want string }{
		{"", "empty name"},
		{"tank", "no '@': not a snapshot name"},
		{"tank@", `snapshot part "" is empty`},
		{"@snap", "no dataset before '@'"},
		{"tank@a@b", "more than one '@'"},
		{"tank@a#b", "contains '#' as well as '@'"},
		{"tank#b@a", "contains '#' as well as '@'"},
		{"tank@-x", `snapshot part "-x" starts with '-'`},
		{"-tank@x", "starts with '-'"},
		{"tank/-x@y", `component "-x" starts with '-'`},
		{"tank@.", `snapshot part "." is not allowed`},
		{"tank@..", `snapshot part ".." is not allowed`},
		{"tank@%x", "contains '%'"},
		{"tank@a/b", "invalid character '/'"},
		{"tank/@a", "trailing '/'"},
		{"tank/..@a", `component ".." is not allowed`},
		{"tank@a\n", `control character '\n'`},
		{"tank@a\tb", `control character '\t'`},
		{"1tank@a", "does not begin with a letter"},
		{"tank@" + strings.Repeat("s", MaxNameLen-4), "256 bytes long"},
	}
	for _, c := range invalid {
		s, err := ParseSnapshot(c.in)
		if err == nil {
			t.Errorf("ParseSnapshot(%q) = %q, want an error containing %q", c.in, s, c.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, "invalid snapshot name "+strconv.Quote(c.in)+": ") {
			t.Errorf("ParseSnapshot(%q): got error %q, want it to name the input and contain %q", c.in, msg, c.want)
		}
	}
}

func TestParseBookmark(t *testing.T) {
	b, err := ParseBookmark("tank/a b#vault base")
	require.NoError(t, err)
	if b.Dataset().String() != "tank/a b" || b.Short() != "vault base" || b.String() != "tank/a b#vault base" {
		t.Errorf("got %q, %q, %q; want tank/a b, vault base, tank/a b#vault base", b.Dataset(), b.Short(), b)
	}
	invalid := []struct{ in, want string }{
		{"tank", "no '#': not a bookmark name"},
		{"tank@a", "no '#'"},
		{"tank#", `bookmark part "" is empty`},
		{"#a", "no dataset before '#'"},
		{"tank#a#b", "more than one '#'"},
		{"tank#a@b", "contains '@' as well as '#'"},
		{"tank#-a", `bookmark part "-a" starts with '-'`},
		{"tank#%a", "contains '%'"},
		{"tank#" + strings.Repeat("b", MaxNameLen-4), "256 bytes long"},
	}
	for _, c := range invalid {
		_, err := ParseBookmark(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "invalid bookmark name "+strconv.Quote(c.in)) {
			t.Errorf("ParseBookmark(%q): got error %v, want one naming the input and containing %q", c.in, err, c.want)
		}
	}
}

func mustDataset(t testing.TB, s string) Dataset {
	t.Helper()
	d, err := ParseDataset(s)
	require.NoError(t, err)
	return d
}

func mustSnapshot(t testing.TB, s string) Snapshot {
	t.Helper()
	v, err := ParseSnapshot(s)
	require.NoError(t, err)
	return v
}

func TestDatasetMethods(t *testing.T) {
	d := mustDataset(t, "tank/a/b")
	if got := d.Pool(); got != "tank" {
		t.Errorf("Pool() = %q, want tank", got)
	}
	p, ok := d.Parent()
	if !ok || p.String() != "tank/a" {
		t.Errorf("Parent() = %q, %v; want tank/a, true", p, ok)
	}
	pp, _ := p.Parent()
	if root, ok := pp.Parent(); ok || !root.IsZero() || pp.String() != "tank" {
		t.Errorf("Parent of tank = %q, %v; want zero, false", root, ok)
	}
	if _, ok := (Dataset{}).Parent(); ok {
		t.Error("zero Dataset has a parent, want none")
	}
	if (Dataset{}).Pool() != "" || !(Dataset{}).IsZero() || d.IsZero() {
		t.Error("zero Dataset: want empty pool and IsZero, and a parsed one not zero")
	}

	c, err := d.Child("c d")
	require.NoError(t, err)
	if c.String() != "tank/a/b/c d" {
		t.Errorf("Child(%q) = %q, want tank/a/b/c d", "c d", c)
	}
	for _, bad := range []string{"", "x/y", "-x", ".", "..", "%recv", "a@b", "a#b", "a\tb"} {
		if got, err := d.Child(bad); err == nil {
			t.Errorf("Child(%q) = %q, want an error", bad, got)
		} else if !strings.Contains(err.Error(), strconv.Quote("tank/a/b/"+bad)) {
			t.Errorf("Child(%q): got error %q, want it to name the full name", bad, err)
		}
	}
	if _, err := (Dataset{}).Child("x"); err == nil {
		t.Error("Child of the zero Dataset: got no error, want one")
	}
	long := mustDataset(t, nameOfLen(MaxNameLen-2))
	if _, err := long.Child("x"); err != nil {
		t.Errorf("Child making a 255-byte name: got error %v, want none", err)
	}
	if _, err := long.Child("xy"); err == nil || !strings.Contains(err.Error(), "256 bytes long") {
		t.Errorf("Child making a 256-byte name: got error %v, want too long", err)
	}

	s, err := d.Snapshot("2024-01-01_00.00.00--1d")
	require.NoError(t, err)
	if s.Dataset() != d || s.Short() != "2024-01-01_00.00.00--1d" || s != mustSnapshot(t, "tank/a/b@2024-01-01_00.00.00--1d") {
		t.Errorf("Snapshot() = %q, want tank/a/b@2024-01-01_00.00.00--1d equal to the parsed one", s)
	}
	for _, bad := range []string{"", "-x", "a@b", "a#b", "a/b", ".", "..", "a%b", "a,b"} {
		if got, err := d.Snapshot(bad); err == nil {
			t.Errorf("Snapshot(%q) = %q, want an error", bad, got)
		}
		if got, err := d.Bookmark(bad); err == nil {
			t.Errorf("Bookmark(%q) = %q, want an error", bad, got)
		}
	}
	if _, err := long.Snapshot("x"); err != nil {
		t.Errorf("Snapshot making a 255-byte name: got error %v, want none", err)
	}
	if _, err := long.Snapshot("xy"); err == nil {
		t.Error("Snapshot making a 256-byte name: got no error, want one")
	}
	if _, err := (Dataset{}).Snapshot("x"); err == nil {
		t.Error("Snapshot of the zero Dataset: got no error, want one")
	}
	b, err := d.Bookmark("base")
	require.NoError(t, err)
	if b.String() != "tank/a/b#base" || b.Dataset() != d || b.Short() != "base" {
		t.Errorf("Bookmark(base) = %q, want tank/a/b#base", b)
	}
	if (Snapshot{}).Short() != "" || !(Snapshot{}).Dataset().IsZero() || (Bookmark{}).Short() != "" {
		t.Error("zero Snapshot and Bookmark: want empty parts")
	}
}

func TestDatasetRelations(t *testing.T) {
	cases := []struct {
		d, other  string
		hasPrefix bool // d.HasPrefix(other)
		ancestor  bool // other.IsAncestorOf(d)
		rel       string
		relOK     bool
	}{
		{"a/b/c", "a/b", true, true, "c", true},
		{"a/b/c/d", "a", true, true, "b/c/d", true},
		{"a/b", "a/b", true, false, "", true},
		{"a/bc", "a/b", false, false, "", false},
		{"a/b", "a/bc", false, false, "", false},
		{"a/b", "a/b/c", false, false, "", false},
		{"ab", "a", false, false, "", false},
		{"b/x", "a", false, false, "", false},
		{"a/b c/d", "a/b c", true, true, "d", true},
	}
	for _, c := range cases {
		d, o := mustDataset(t, c.d), mustDataset(t, c.other)
		if got := d.HasPrefix(o); got != c.hasPrefix {
			t.Errorf("%q.HasPrefix(%q) = %v, want %v", c.d, c.other, got, c.hasPrefix)
		}
		if got := o.IsAncestorOf(d); got != c.ancestor {
			t.Errorf("%q.IsAncestorOf(%q) = %v, want %v", c.other, c.d, got, c.ancestor)
		}
		rel, ok := d.RelativeTo(o)
		if rel != c.rel || ok != c.relOK {
			t.Errorf("%q.RelativeTo(%q) = %q, %v; want %q, %v", c.d, c.other, rel, ok, c.rel, c.relOK)
		}
	}
	a := mustDataset(t, "a")
	if a.HasPrefix(Dataset{}) || (Dataset{}).HasPrefix(a) || (Dataset{}).IsAncestorOf(a) || a.IsAncestorOf(Dataset{}) {
		t.Error("zero Dataset: want no prefix or ancestry relation")
	}
}

func TestNameJSON(t *testing.T) {
	type doc struct {
		D Dataset
		S Snapshot
		B Bookmark
		Z Snapshot
	}
	in := doc{
		D: mustDataset(t, "tank/a b"),
		S: mustSnapshot(t, "tank/a b@s"),
	}
	var err error
	in.B, err = ParseBookmark("tank#m")
	require.NoError(t, err)
	data, err := json.Marshal(in)
	require.NoError(t, err)
	if want := `{"D":"tank/a b","S":"tank/a b@s","B":"tank#m","Z":""}`; string(data) != want {
		t.Errorf("json.Marshal = %s, want %s", data, want)
	}
	var out doc
	require.NoError(t, json.Unmarshal(data, &out))
	if out != in {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
	for _, bad := range []string{`{"D":"-x"}`, `{"S":"tank"}`, `{"B":"tank@x"}`, `{"D":"tank/%recv"}`} {
		var v doc
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("json.Unmarshal(%s): got no error, want one", bad)
		}
	}
}

func TestNameErrorTruncatesHugeInput(t *testing.T) {
	huge := strings.Repeat("x", 10000)
	_, err := ParseDataset(huge)
	require.Error(t, err)
	if len(err.Error()) > 500 {
		t.Errorf("error for a 10000-byte name is %d bytes long, want it cut short", len(err.Error()))
	}
	var ne *NameError
	if !errors.As(err, &ne) || ne.Name != huge {
		t.Error("NameError.Name: want the whole input kept")
	}
}

func FuzzParseDataset(f *testing.F) {
	for _, s := range []string{"tank", "tank/a b", "-x", "tank/%recv", "tank//a", "tank/..", nameOfLen(255), "a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDataset(s)
		if err != nil {
			if !d.IsZero() {
				t.Fatalf("ParseDataset(%q) returned %q with error %v", s, d, err)
			}
			return
		}
		checkAccepted(t, s, d.String())
		if p, ok := d.Parent(); ok {
			if _, err := ParseDataset(p.String()); err != nil {
				t.Fatalf("Parent of %q is invalid: %v", s, err)
			}
			rel, ok := d.RelativeTo(p)
			if !ok || strings.Contains(rel, "/") || p.String()+"/"+rel != s {
				t.Fatalf("%q.RelativeTo(parent %q) = %q, %v", s, p, rel, ok)
			}
		}
	})
}

func FuzzParseSnapshot(f *testing.F) {
	for _, s := range []string{"tank@a", "tank/a b@c d", "tank@-x", "tank@a@b", "tank@", "@a", "tank#a", "tank/x@%y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		snap, err := ParseSnapshot(s)
		if err != nil {
			return
		}
		checkAccepted(t, s, snap.String())
		again, err := snap.Dataset().Snapshot(snap.Short())
		if err != nil || again != snap {
			t.Fatalf("rebuilding %q from its parts = %q, %v", s, again, err)
		}
		if _, err := ParseDataset(snap.Dataset().String()); err != nil {
			t.Fatalf("dataset of %q is invalid: %v", s, err)
		}
		if _, err := ParseBookmark(s); err == nil {
			t.Fatalf("%q is both a snapshot and a bookmark", s)
		}
	})
}

func FuzzParseBookmark(f *testing.F) {
	for _, s := range []string{"tank#a", "tank/a b#c d", "tank#-x", "tank#a#b", "tank@a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBookmark(s)
		if err != nil {
			return
		}
		checkAccepted(t, s, b.String())
		again, err := b.Dataset().Bookmark(b.Short())
		if err != nil || again != b {
			t.Fatalf("rebuilding %q from its parts = %q, %v", s, again, err)
		}
	})
}

// checkAccepted checks the invariants of any accepted name.
func checkAccepted(t *testing.T, in, got string) {
	t.Helper()
	if got != in {
		t.Fatalf("accepted %q but String() = %q", in, got)
	}
	if got == "" || got[0] == '-' || strings.Contains(got, "/-") || strings.Contains(got, "@-") || strings.Contains(got, "#-") {
		t.Fatalf("accepted %q, which has a part starting with '-'", in)
	}
	if len(got) > MaxNameLen {
		t.Fatalf("accepted %q, %d bytes long", in, len(got))
	}
	for i := 0; i < len(got); i++ {
		if b := got[i]; b != '/' && b != '@' && b != '#' && !validChar(b) {
			t.Fatalf("accepted %q with byte %q", in, b)
		}
	}
}
