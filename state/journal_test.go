package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func record(i int) Record {
	return Record{
		Time:       time.Date(2025, 1, 2, 3, 4, i, 0, time.UTC),
		Job:        "drive.client",
		Dataset:    "rust10/Backups/host05/jail/drive.client",
		Kind:       KindPullStep,
		Outcome:    OutcomeOK,
		Bytes:      int64(1000 * i),
		DurationMS: 250,
		Details:    map[string]string{"from": "a", "to": "b"},
	}
}

func readAll(t *testing.T, path string) ([]Record, int) {
	t.Helper()
	var recs []Record
	torn, err := ReadJournal(path, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	require.NoError(t, err)
	return recs, torn
}

func TestJournalAppendRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	j, err := OpenJournal(path)
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, j.Append(record(i)))
	}
	require.NoError(t, j.Close())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if got := strings.Count(string(b), "\n"); got != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", got, b)
	}
	recs, torn := readAll(t, path)
	if len(recs) != 3 || torn != 0 {
		t.Fatalf("got %d records, %d torn; want 3, 0", len(recs), torn)
	}
	for i, r := range recs {
		want := record(i)
		if !r.Time.Equal(want.Time) || r.Job != want.Job || r.Kind != want.Kind || r.Bytes != want.Bytes || r.Details["to"] != "b" {
			t.Errorf("record %d: got %+v, want %+v", i, r, want)
		}
	}
}

func TestJournalAppendNeedsFields(t *testing.T) {
	j, err := OpenJournal(filepath.Join(t.TempDir(), JournalFile))
	require.NoError(t, err)
	defer j.Close()
	if err := j.Append(Record{Job: "x"}); err == nil {
		t.Errorf("Append without kind and outcome: got no error, want one")
	}
	if err := j.Append(Record{Job: "x", Kind: KindPrune, Outcome: OutcomeOK}); err != nil {
		t.Errorf("Append without time: got %v, want the time filled in", err)
	}
}

// TestJournalTornLastLine: a crash in the middle of an append leaves a last line without its
// newline; readers skip it, and the next OpenJournal cuts it off before appending.
func TestJournalTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	j, err := OpenJournal(path)
	require.NoError(t, err)
	require.NoError(t, j.Append(record(1)))
	require.NoError(t, j.Append(record(2)))
	require.NoError(t, j.Close())
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"time":"2025-01-02T03:04:05Z","job":"drive.cl`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	recs, torn := readAll(t, path)
	if len(recs) != 2 || torn != 1 {
		t.Fatalf("got %d records, %d torn; want 2, 1", len(recs), torn)
	}

	j, err = OpenJournal(path)
	require.NoError(t, err)
	if j.Dropped() == 0 {
		t.Errorf("got Dropped 0, want the torn line's length")
	}
	require.NoError(t, j.Append(record(3)))
	require.NoError(t, j.Close())
	recs, torn = readAll(t, path)
	if len(recs) != 3 || torn != 0 || recs[2].Bytes != 3000 {
		t.Fatalf("after reopening: got %d records, %d torn; want 3, 0", len(recs), torn)
	}
}

func TestJournalGarbageInTheMiddle(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	j, err := OpenJournal(path)
	require.NoError(t, err)
	require.NoError(t, j.Append(record(1)))
	require.NoError(t, j.Close())
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString("garbage\n" + `{"time":"2025-01-02T03:04:05Z","job":"a","kind":"prune","outcome":"ok"}` + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	_, err = ReadJournal(path, func(Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got error %v, want one naming line 2", err)
	}
	// A line that is JSON but no record is garbage too.
	require.NoError(t, os.WriteFile(path, []byte("{}\n{}\n"), 0o640))
	if _, err := ReadJournal(path, func(Record) error { return nil }); err == nil {
		t.Fatalf("got no error for empty objects, want one")
	}
}

func TestJournalCallbackError(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	j, err := OpenJournal(path)
	require.NoError(t, err)
	require.NoError(t, j.Append(record(1)))
	require.NoError(t, j.Append(record(2)))
	require.NoError(t, j.Close())
	stop := errors.New("stop")
	n := 0
	_, err = ReadJournal(path, func(Record) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("got %v after %d records, want stop after 1", err, n)
	}
}

// TestJournalRefusesLinks: a symbolic or hard link in place of the journal is refused, so a root
// process never appends to a file elsewhere.
func TestJournalRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious\n"), 0o600))

	sym := filepath.Join(dir, "sym.jsonl")
	require.NoError(t, os.Symlink(victim, sym))
	if _, err := OpenJournal(sym); err == nil {
		t.Errorf("OpenJournal of a symlink: got no error, want one")
	}
	hard := filepath.Join(dir, "hard.jsonl")
	require.NoError(t, os.Link(victim, hard))
	if _, err := OpenJournal(hard); err == nil || !strings.Contains(err.Error(), "hard links") {
		t.Errorf("OpenJournal of a hard link: got %v, want a refusal", err)
	}
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	if string(b) != "precious\n" {
		t.Errorf("victim changed: %q", b)
	}
}

// TestJournalReadFrom: a reader that kept the journal's end reads only what was appended since;
// an offset that is no longer the start of a line (the journal cut or replaced) reads it all; no
// journal has no records; a FIFO in its place is refused, never waited on.
func TestJournalReadFrom(t *testing.T) {
	s, err := Open(t.TempDir(), -1, -1)
	require.NoError(t, err)
	defer s.Close()
	count := func(from int64) int {
		t.Helper()
		n := 0
		_, err := s.ReadJournalFrom(from, func(Record) error { n++; return nil })
		require.NoError(t, err)
		return n
	}
	end, err := s.JournalEnd()
	require.NoError(t, err)
	if end != 0 || count(0) != 0 {
		t.Fatalf("no journal: end %d, %d records; want 0, 0", end, count(0))
	}
	j, err := s.OpenJournal()
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, j.Append(record(i)))
	}
	end, err = s.JournalEnd()
	require.NoError(t, err)
	for i := 3; i < 5; i++ {
		require.NoError(t, j.Append(record(i)))
	}
	require.NoError(t, j.Close())
	for _, tc := range []struct {
		name string
		from int64
		want int
	}{
		{"from the start", 0, 5},
		{"from the end kept", end, 2},
		{"from the middle of a line", end - 3, 5},
		{"past the end", 1 << 40, 5},
		{"negative", -1, 5},
	} {
		if got := count(tc.from); got != tc.want {
			t.Errorf("%s (%d): got %d records, want %d", tc.name, tc.from, got, tc.want)
		}
	}
	var first Record
	_, err = s.ReadJournalFrom(end, func(r Record) error {
		if first.Job == "" {
			first = r
		}
		return nil
	})
	require.NoError(t, err)
	if first.Bytes != record(3).Bytes {
		t.Errorf("the first record after the end kept: %+v, want record 3", first)
	}

	fifo, err := Open(t.TempDir(), -1, -1)
	require.NoError(t, err)
	defer fifo.Close()
	require.NoError(t, syscall.Mkfifo(filepath.Join(fifo.Dir, JournalFile), 0o600))
	if _, err := fifo.JournalEnd(); err == nil {
		t.Errorf("JournalEnd of a FIFO: got no error")
	}
	if _, err := fifo.ReadJournalFrom(0, func(Record) error { return nil }); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadJournalFrom of a FIFO: got %v, want a refusal", err)
	}
}
