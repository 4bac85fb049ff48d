package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Kind is what a journal record is about.
type Kind string

const (
	KindPullStep  Kind = "pull-step" // one dataset's send/receive step
	KindPrune     Kind = "prune"     // one dataset's prune run
	KindImport    Kind = "import"    // one sneakernet import
	KindBootstrap Kind = "bootstrap" // a first full receive
	KindResolve   Kind = "resolve"   // a diverged target archived and re-bootstrapped
	KindAck       Kind = "ack"       // an operator acknowledged an anomaly
	KindErased    Kind = "erased"    // snapshots vanished from a target without a prune (the ledger check)
)

// Outcome is how a step ended.
type Outcome string

const (
	OutcomeOK      Outcome = "ok"
	OutcomeFailed  Outcome = "failed"
	OutcomeSkipped Outcome = "skipped" // nothing to do, or not allowed to (diverged, frozen)
	OutcomeAlarm   Outcome = "alarm"   // an alarm was raised (pruning of the dataset frozen until vault ack)
)

// Record is one line of the journal: one step on one dataset.
type Record struct {
	Time       time.Time         `json:"time"`
	Job        string            `json:"job"`
	Dataset    string            `json:"dataset,omitempty"`
	Kind       Kind              `json:"kind"`
	Outcome    Outcome           `json:"outcome"`
	Bytes      int64             `json:"bytes"`
	DurationMS int64             `json:"duration_ms"`
	Error      string            `json:"error,omitempty"`
	Details    map[string]string `json:"details,omitempty"`
}

// Journal appends records to the journal file, one JSON line each, each fsynced before Append
// returns. It is safe for concurrent use.
type Journal struct {
	mu      sync.Mutex
	f       *os.File
	path    string
	dropped int64
}

// OpenJournal opens (creating it, mode 0640) the journal at path for appending. A record that a
// crash cut short at the end of the file was never acknowledged by Append: it is cut off here, so
// the next record starts on a line of its own (Dropped says how many bytes went).
func OpenJournal(path string) (*Journal, error) {
	// O_NOFOLLOW: a symbolic link planted in the state directory must not turn a root process's
	// append into a write somewhere else.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, filePerm)
	if err != nil {
		return nil, fmt.Errorf("cannot open the journal: %w", err)
	}
	return newJournal(f, path, -1, -1)
}

// OpenJournal opens the store's journal, JournalFile, like OpenJournal, giving it to the store's
// user when it is created by root.
func (s *Store) OpenJournal() (*Journal, error) {
	f, err := s.root.OpenFile(JournalFile, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, filePerm)
	if err != nil {
		return nil, fmt.Errorf("cannot open the journal: %w", err)
	}
	uid, gid := s.owner()
	return newJournal(f, filepath.Join(s.Dir, JournalFile), uid, gid)
}

func newJournal(f *os.File, path string, uid, gid int) (*Journal, error) {
	j := &Journal{f: f, path: path}
	if err := j.repair(uid, gid); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot open the journal %s: %w", path, err)
	}
	return j, nil
}

// repair checks the file is a plain file of its own, gives it to uid:gid if asked, and cuts off a
// torn last line.
func (j *Journal) repair(uid, gid int) error {
	fi, err := j.f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("cannot stat the file")
	}
	// A hard link planted in the state directory (to a file elsewhere) must not turn a root
	// process's append into a write to that file.
	if st.Nlink > 1 {
		return fmt.Errorf("the file has %d hard links; refusing to write through them", st.Nlink)
	}
	if uid >= 0 && (int(st.Uid) != uid || int(st.Gid) != gid) {
		if err := j.f.Chown(uid, gid); err != nil {
			return err
		}
	}
	end, err := lastLineEnd(j.f, fi.Size())
	if err != nil {
		return err
	}
	if end < fi.Size() {
		if err := j.f.Truncate(end); err != nil {
			return err
		}
		j.dropped = fi.Size() - end
	}
	if err := j.f.Sync(); err != nil {
		return err
	}
	// The file may be new: make its directory entry durable too.
	d, err := os.Open(filepath.Dir(j.path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// lastLineEnd returns the offset just past the last newline in the first size bytes of f (0 if
// there is none).
func lastLineEnd(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Dropped is the number of bytes of a torn last record that OpenJournal cut off (0 almost always).
func (j *Journal) Dropped() int64 { return j.dropped }

// Append writes rec as one line and fsyncs it. A zero Time is set to now. Job, Kind and Outcome
// are required. If the write fails half-way, the partial line is cut off again.
func (j *Journal) Append(rec Record) error {
	if rec.Job == "" || rec.Kind == "" || rec.Outcome == "" {
		return fmt.Errorf("cannot append to the journal: record needs job, kind and outcome: %+v", rec)
	}
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	rec.Time = rec.Time.UTC()
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("cannot append to the journal: %w", err)
	}
	b = append(b, '\n')

	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("cannot append to the journal: it is closed")
	}
	fi, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("cannot append to the journal: %w", err)
	}
	// One write(2) of the whole line on an O_APPEND descriptor.
	if _, err := j.f.Write(b); err != nil {
		_ = j.f.Truncate(fi.Size()) // best effort: keep a torn line out of the middle
		return fmt.Errorf("cannot append to the journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("cannot append to the journal %s: %w", j.path, err)
	}
	return nil
}

// Close closes the journal file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// ReadJournal calls fn for each record of the journal at path, oldest first, and returns how many
// torn lines it skipped: a last line without its newline is a record that a crash (or a writer
// still at work) cut short, and is skipped, never passed to fn. A line that is not a record
// anywhere else is an error naming its line number, as is a missing file. Unknown fields are
// accepted, so that a journal written by a newer vault stays readable. An error from fn stops the
// reading and is returned as it is.
func ReadJournal(path string, fn func(Record) error) (torn int, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return 0, fmt.Errorf("cannot read the journal: %w", err)
	}
	defer f.Close()
	return readRecords(f, path, "line", fn)
}

// JournalEnd is the size of the store's journal: the offset at which the next record will
// start (0 when there is no journal yet). Pass it to ReadJournalFrom later to read only what
// was appended since.
func (s *Store) JournalEnd() (int64, error) {
	fi, err := s.root.Lstat(JournalFile)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read the journal: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("cannot read the journal %s: not a regular file", filepath.Join(s.Dir, JournalFile))
	}
	return fi.Size(), nil
}

// ReadJournalFrom is ReadJournal for the store's journal, from the byte offset from (a
// JournalEnd): the records appended since. When from is not the start of a line of the journal
// (the file was cut or replaced since), it reads the whole journal; a journal that does not
// exist has no records. The file is opened without following links and without blocking, and
// must be a regular file.
func (s *Store) ReadJournalFrom(from int64, fn func(Record) error) (torn int, err error) {
	path := filepath.Join(s.Dir, JournalFile)
	f, err := s.root.OpenFile(JournalFile, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read the journal: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("cannot read the journal %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("cannot read the journal %s: not a regular file", path)
	}
	if from < 0 || from > fi.Size() {
		from = 0
	}
	if from > 0 {
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, from-1); err != nil || b[0] != '\n' {
			from = 0
		}
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return 0, fmt.Errorf("cannot read the journal %s: %w", path, err)
	}
	where := "line"
	if from > 0 {
		where = fmt.Sprintf("line (after byte %d)", from)
	}
	return readRecords(f, path, where, fn)
}

// readRecords reads records, one a line, from r (the journal at path) and calls fn for each;
// where names a line's number in errors.
func readRecords(r io.Reader, path, where string, fn func(Record) error) (torn int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				return 1, nil
			}
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("cannot read the journal %s: %w", path, err)
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return 0, fmt.Errorf("journal %s %s %d: not a record: %w", path, where, n, err)
		}
		if rec.Job == "" || rec.Kind == "" || rec.Outcome == "" || rec.Time.IsZero() {
			return 0, fmt.Errorf("journal %s %s %d: not a record: time, job, kind or outcome missing", path, where, n)
		}
		if err := fn(rec); err != nil {
			return 0, err
		}
	}
}
