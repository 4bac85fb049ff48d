package zfs

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestParseListGolden parses every testdata/list/NAME.txt with the columns in
// NAME.cols (one line, comma separated) and compares the result, as JSON,
// with NAME.golden; `go test ./zfs -update` rewrites the golden files.
//
// NAME.txt is byte-exact zfs output. synthetic-*.txt are written by hand;
// lab-*.txt are captured from real pools in the lab with
//
//	zfs list -H -p -o "$(cat NAME.cols)" -t all -r POOL > NAME.txt
//
// (any -t and roots will do: the parser only depends on the columns).
func TestParseListGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "list", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, txt := range files {
		base := strings.TrimSuffix(txt, ".txt")
		t.Run(filepath.Base(base), func(t *testing.T) {
			colsText, err := os.ReadFile(base + ".cols")
			require.NoError(t, err, "each .txt needs a .cols file")
			var cols []Column
			for _, c := range strings.Split(strings.TrimSpace(string(colsText)), ",") {
				cols = append(cols, Column(c))
			}
			out, err := os.ReadFile(txt)
			require.NoError(t, err)

			entries, err := ParseList(bytes.NewReader(out), cols)
			result := goldenList{Entries: entries}
			if err != nil {
				result = goldenList{Error: err.Error()}
			} else if result.Entries == nil {
				result.Entries = []Entry{}
			}
			got, err := json.MarshalIndent(result, "", "\t")
			require.NoError(t, err)
			got = append(got, '\n')

			golden := base + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./zfs -update to create it")
			if !bytes.Equal(got, want) {
				t.Errorf("parse of %s differs from %s (run with -update if the change is right):\n%s", txt, golden, got)
			}
			if strings.HasPrefix(filepath.Base(base), "lab-") && result.Error != "" {
				t.Errorf("real zfs output %s does not parse: %s", txt, result.Error)
			}
			for _, e := range result.Entries {
				checkEntryNames(t, e)
			}
		})
	}
}

type goldenList struct {
	Entries []Entry `json:"entries,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// checkEntryNames checks that exactly one typed name is set and matches Name.
func checkEntryNames(t *testing.T, e Entry) {
	t.Helper()
	d, isD := e.Dataset()
	s, isS := e.Snapshot()
	b, isB := e.Bookmark()
	n := 0
	for _, ok := range []bool{isD, isS, isB} {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("entry %q has %d typed names, want 1", e.Name, n)
	}
	switch {
	case isD && d.String() != e.Name, isS && s.String() != e.Name, isB && b.String() != e.Name:
		t.Fatalf("entry %q: typed name differs", e.Name)
	}
	switch e.Type {
	case TypeSnapshot:
		if !isS {
			t.Fatalf("entry %q of type snapshot is not a Snapshot", e.Name)
		}
	case TypeBookmark:
		if !isB {
			t.Fatalf("entry %q of type bookmark is not a Bookmark", e.Name)
		}
	case TypeFilesystem, TypeVolume:
		if !isD {
			t.Fatalf("entry %q of type %s is not a Dataset", e.Name, e.Type)
		}
	}
	if p := e.ParentDataset(); p.IsZero() || !strings.HasPrefix(e.Name, p.String()) {
		t.Fatalf("entry %q: ParentDataset() = %q", e.Name, p)
	}
}

func TestParseListFields(t *testing.T) {
	cols := []Column{ColName, ColType, ColGUID, ColCreateTXG, ColCreation, ColUsed, ColReferenced,
		ColWritten, ColUserRefs, ColReceiveResumeToken, ColEncryption, ColOrigin}
	out := "tank/clone\tfilesystem\t18446744073709551615\t7\t1732583700\t-\t0\t8192\t-\t1-abc-de-789c\taes-256-gcm\ttank/a@s\n" +
		"tank/a@s\tsnapshot\t1\t0\t0\t4096\t-\t-\t3\t-\t-\t-\n"
	entries, err := ParseList(strings.NewReader(out), cols)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	e := entries[0]
	want := Entry{
		Name: "tank/clone", Type: TypeFilesystem, GUID: 1<<64 - 1, CreateTXG: 7,
		Creation: time.Date(2024, 11, 26, 1, 15, 0, 0, time.UTC), Written: 8192,
		ResumeToken: "1-abc-de-789c", Encryption: "aes-256-gcm", Origin: mustSnapshot(t, "tank/a@s"),
		dataset: mustDataset(t, "tank/clone"),
	}
	if e != want {
		t.Errorf("entry 0 = %+v\nwant      %+v", e, want)
	}
	s := entries[1]
	if snap, ok := s.Snapshot(); !ok || snap.Short() != "s" || s.UserRefs != 3 || s.Used != 4096 ||
		!s.Creation.Equal(time.Unix(0, 0)) || !s.Origin.IsZero() || s.Encryption != "" {
		t.Errorf("entry 1 = %+v, want snapshot tank/a@s with 3 user refs", s)
	}
	if _, ok := s.Dataset(); ok {
		t.Error("a snapshot entry is also a Dataset")
	}
}

func TestParseListErrors(t *testing.T) {
	nameGUID := []Column{ColName, ColGUID}
	cases := []struct {
		name string
		cols []Column
		in   string
		want string
	}{
		{"no columns", nil, "", "no columns"},
		{"no name column", []Column{ColGUID}, "", "no name column"},
		{"unknown column", []Column{ColName, "mountpoint"}, "", `unknown column "mountpoint"`},
		{"duplicate column", []Column{ColName, ColGUID, ColGUID}, "", `column "guid" given twice`},
		{"too few fields", nameGUID, "tank\t1\ntank/a\n", `line 2 "tank/a": 1 fields, want 2 (name,guid)`},
		{"too many fields", nameGUID, "tank\t1\t2\n", `line 1 "tank\t1\t2": 3 fields, want 2`},
		{"empty line", nameGUID, "tank\t1\n\ntank/a\t2\n", `line 2 "": 1 fields`},
		{"dash guid", nameGUID, "tank\t-\n", `column guid: not a number: "-"`},
		{"negative", nameGUID, "tank\t-1\n", `not a number: "-1"`},
		{"plus", nameGUID, "tank\t+1\n", `not a number: "+1"`},
		{"leading zero", nameGUID, "tank\t01\n", `not a number: "01"`},
		{"space", nameGUID, "tank\t 1\n", `not a number: " 1"`},
		{"human size", []Column{ColName, ColUsed}, "tank\t1.5G\n", `column used: not a number: "1.5G"`},
		{"overflow", nameGUID, "tank\t18446744073709551616\n", "out of range"},
		{"creation overflow", []Column{ColName, ColCreation}, "tank\t9223372036854775808\n", "out of range"},
		{"bad type", []Column{ColName, ColType}, "tank\tfs\n", `column type: unknown type "fs"`},
		{"type mismatch", []Column{ColName, ColType}, "tank/a\tsnapshot\n", `invalid snapshot name "tank/a": no '@'`},
		{"bookmark as volume", []Column{ColName, ColType}, "tank#a\tvolume\n", `invalid dataset name "tank#a"`},
		{"leading dash", nameGUID, "-tank\t1\n", "starts with '-'"},
		{"hidden", nameGUID, "tank/%recv\t1\n", "contains '%'"},
		{"carriage return", nameGUID, "tank\t1\r\n", `not a number: "1\r"`},
		{"bad origin", []Column{ColName, ColOrigin}, "tank/c\ttank/a\n", `column origin: invalid snapshot name "tank/a"`},
		{"bad token", []Column{ColName, ColReceiveResumeToken}, "tank\t1-a b\n", `unexpected byte ' ' in token`},
		{"bad encryption", []Column{ColName, ColEncryption}, "tank\taes 256\n", "unexpected byte ' '"},
		{"empty encryption", []Column{ColName, ColEncryption}, "tank\t\n", "empty value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			entries, err := ParseList(strings.NewReader(c.in), c.cols)
			if err == nil {
				t.Fatalf("got %d entries, want an error containing %q", len(entries), c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "cannot parse zfs list output") {
				t.Errorf("got error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestParseListLongLines(t *testing.T) {
	token := "1-" + strings.Repeat("0123456789abcdef", 40000) // 640 kB
	in := "tank/a\t" + token + "\ntank/b\t-\n"
	entries, err := ParseList(strings.NewReader(in), []Column{ColName, ColReceiveResumeToken})
	require.NoError(t, err)
	if len(entries) != 2 || entries[0].ResumeToken != token || entries[1].ResumeToken != "" {
		t.Errorf("got %d entries, want tank/a with the long token and tank/b without", len(entries))
	}

	huge := "tank/a\t1-" + strings.Repeat("f", maxLine) + "\n"
	_, err = ParseList(strings.NewReader("tank\t-\n"+huge), []Column{ColName, ColReceiveResumeToken})
	if err == nil || !strings.Contains(err.Error(), "line 2: longer than 1048576 bytes") {
		t.Errorf("got error %v, want line 2 too long", err)
	}

	// The quoted line in an error is cut short.
	_, err = ParseList(strings.NewReader("tank\t"+strings.Repeat("x", 5000)+"\n"), []Column{ColName, ColGUID})
	require.Error(t, err)
	if len(err.Error()) > 600 || !strings.Contains(err.Error(), "(5005 bytes)") {
		t.Errorf("error is %d bytes: %.300q..., want the line cut short with its length", len(err.Error()), err)
	}
}

func TestParseListNoFinalNewline(t *testing.T) {
	entries, err := ParseList(strings.NewReader("tank\t1\ntank/a\t2"), []Column{ColName, ColGUID})
	require.NoError(t, err)
	if len(entries) != 2 || entries[1].GUID != 2 {
		t.Errorf("got %+v, want two entries", entries)
	}
}

func TestParseListReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("tank\t1\n"), iotest.ErrReader(boom))
	_, err := ParseList(r, []Column{ColName, ColGUID})
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "cannot read zfs list output: ") {
		t.Errorf("got %v, want a read error wrapping boom", err)
	}
}

func FuzzParseList(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "list", "*.txt"))
	for _, txt := range files {
		if data, err := os.ReadFile(txt); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("tank\tfilesystem\t1\t2\t3\t4\t5\t-\t-\toff\t-\n"))
	f.Add([]byte("tank@a\tsnapshot\t1\t2\t3\t4\t5\t0\t-\toff\t-\n"))
	f.Add([]byte("tank#a\tbookmark\t1\t2\t3\t-\t-\t-\t-\t-\t-\n"))
	cols := []Column{ColName, ColType, ColGUID, ColCreateTXG, ColCreation, ColUsed, ColReferenced,
		ColUserRefs, ColReceiveResumeToken, ColEncryption, ColOrigin}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, cs := range [][]Column{cols, {ColName}} {
			entries, err := ParseList(bytes.NewReader(data), cs)
			if err != nil {
				if entries != nil {
					t.Fatalf("got entries with error %v", err)
				}
				continue
			}
			if len(entries) > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("got %d entries from %d lines", len(entries), bytes.Count(data, []byte("\n"))+1)
			}
			for _, e := range entries {
				checkEntryNames(t, e)
				if len(cs) > 1 && !e.Type.valid() {
					t.Fatalf("entry %q has type %q", e.Name, e.Type)
				}
				if !e.Origin.IsZero() {
					if _, err := ParseSnapshot(e.Origin.String()); err != nil {
						t.Fatalf("entry %q has invalid origin: %v", e.Name, err)
					}
				}
			}
		}
	})
}
