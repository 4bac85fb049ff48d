package ledger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// fakeZFS answers the listing of root (or of want, when set) with entries, or err.
type fakeZFS struct {
	t       *testing.T
	want    string
	entries []zfs.Entry
	err     error
}

func (f *fakeZFS) List(_ context.Context, roots []zfs.Dataset, recursive bool, types []zfs.Type, c []zfs.Column) ([]zfs.Entry, error) {
	want := f.want
	if want == "" {
		want = root
	}
	if len(roots) != 1 || roots[0].String() != want || !recursive || len(types) != 1 || types[0] != zfs.TypeSnapshot || len(c) != 2 {
		f.t.Errorf("unexpected listing: %v -r=%v -t %v -o %v", roots, recursive, types, c)
	}
	return f.entries, f.err
}

// set makes zfs list's answer for the snapshots s (see snaps).
func (f *fakeZFS) set(s []Snapshot) {
	f.entries = nil
	for _, x := range s {
		es, err := zfs.ParseList(strings.NewReader(x.Name.String()+"\t"+strconv.FormatUint(x.GUID, 10)+"\n"), cols)
		require.NoError(f.t, err)
		f.entries = append(f.entries, es...)
	}
}

func TestObserve(t *testing.T) {
	ctx := context.Background()
	store, err := state.Open(t.TempDir(), -1, -1)
	require.NoError(t, err)
	defer store.Close()
	j, err := store.OpenJournal()
	require.NoError(t, err)
	defer j.Close()
	r, _ := zfs.ParseDataset(root)
	z := &fakeZFS{t: t}

	// The first check has nothing to compare with.
	z.set(snaps(t, "fs@1 fs@2 fs@3 fs@4"))
	c, err := Observe(ctx, z, store, "j", r, t0)
	require.NoError(t, err)
	if c.Prev != nil || len(c.Erased) != 0 || len(c.Next.Snapshots) != 4 || !c.Next.Taken.Equal(t0) {
		t.Fatalf("first check: %+v", c)
	}
	require.NoError(t, Save(store, c.Next))
	// A journal line of before the ledger is not read again; prune's of after it are.
	require.NoError(t, j.Append(state.Record{Time: t0.Add(time.Minute), Kind: state.KindPrune, Job: "j", Dataset: root + "/fs",
		Outcome: state.OutcomeOK, Details: PruneDetails(snaps(t, "fs@1"))}))
	z.set(snaps(t, "fs@3 fs@4 fs@5"))
	c, err = Observe(ctx, z, store, "j", r, t0.Add(time.Hour))
	require.NoError(t, err)
	if c.Prev == nil || describe(c.Erased) != "fs@2" || c.JournalErr != nil {
		t.Fatalf("second check: erased %q, prev %v, journal error %v; want fs@2 (fs@1 pruned)", describe(c.Erased), c.Prev, c.JournalErr)
	}
	// A check that is not saved changes nothing: the next finds the same.
	c, err = Observe(ctx, z, store, "j", r, t0.Add(2*time.Hour))
	require.NoError(t, err)
	if describe(c.Erased) != "fs@2" {
		t.Errorf("a check not saved: the next found %q, want fs@2 again", describe(c.Erased))
	}
	require.NoError(t, Save(store, c.Next))
	end, err := store.JournalEnd()
	require.NoError(t, err)
	if c.Next.JournalEnd != end {
		t.Errorf("the ledger keeps journal end %d, want %d", c.Next.JournalEnd, end)
	}

	// The whole target gone: every snapshot erased.
	z.entries, z.err = nil, fmtErr("cannot open 'v/j': dataset does not exist")
	c, err = Observe(ctx, z, store, "j", r, t0.Add(3*time.Hour))
	require.NoError(t, err)
	if describe(c.Erased) != "fs@3 fs@4 fs@5" || c.Next.Snapshots == nil {
		t.Errorf("the target gone: erased %q, want all three", describe(c.Erased))
	}
	// Any other failure to list is an error, and compares nothing.
	z.err = fmtErr("cannot open 'v/j': permission denied")
	if _, err := Observe(ctx, z, store, "j", r, t0.Add(3*time.Hour)); err == nil {
		t.Errorf("a failed listing: got no error")
	}
	// A ledger of another root (the job's target moved) is not compared with.
	other, _ := zfs.ParseDataset("v/other")
	c, err = Observe(ctx, &fakeZFS{t: t, want: "v/other"}, store, "j", other, t0.Add(4*time.Hour))
	if err != nil || c.Prev != nil || len(c.Erased) != 0 {
		t.Errorf("another root: %+v, %v; want a first check", c, err)
	}

	// Forget drops a dataset the vault archives.
	fs, _ := zfs.ParseDataset(root + "/fs")
	n, err := Forget(store, "j", fs)
	require.NoError(t, err)
	l, err := Load(store, "j")
	require.NoError(t, err)
	if n != 3 || len(l.Snapshots) != 0 {
		t.Errorf("Forget: dropped %d, left %+v", n, l.Snapshots)
	}
	if l, err := Load(store, "nojob"); l != nil || err != nil {
		t.Errorf("Load of a job without a ledger: %+v, %v", l, err)
	}
}

// A journal that cannot be read past a point counts the prune records before it; what those
// after it destroyed is reported, loudly, with the reason.
func TestObserveJournalFault(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := state.Open(dir, -1, -1)
	require.NoError(t, err)
	defer store.Close()
	r, _ := zfs.ParseDataset(root)
	z := &fakeZFS{t: t}
	z.set(snaps(t, "fs@1 fs@2 fs@3"))
	c, err := Observe(ctx, z, store, "j", r, t0)
	require.NoError(t, err)
	require.NoError(t, Save(store, c.Next))
	j, err := store.OpenJournal()
	require.NoError(t, err)
	require.NoError(t, j.Append(state.Record{Time: t0.Add(time.Minute), Kind: state.KindPrune, Job: "j", Dataset: root + "/fs",
		Outcome: state.OutcomeOK, Details: PruneDetails(snaps(t, "fs@1"))}))
	require.NoError(t, j.Close())
	appendRaw(t, dir, "not a record\n")
	j, err = store.OpenJournal()
	require.NoError(t, err)
	require.NoError(t, j.Append(state.Record{Time: t0.Add(2 * time.Minute), Kind: state.KindPrune, Job: "j", Dataset: root + "/fs",
		Outcome: state.OutcomeOK, Details: PruneDetails(snaps(t, "fs@2"))}))
	require.NoError(t, j.Close())
	z.set(snaps(t, "fs@3"))
	c, err = Observe(ctx, z, store, "j", r, t0.Add(time.Hour))
	require.NoError(t, err)
	if c.JournalErr == nil || describe(c.Erased) != "fs@2" {
		t.Errorf("a journal with garbage: erased %q, journal error %v; want fs@2 and the error", describe(c.Erased), c.JournalErr)
	}
}

func fmtErr(stderr string) error {
	return errors.Join(errors.New("cannot list"), &zfs.ExitError{Argv: []string{"zfs", "list"}, Code: 1, Stderr: stderr})
}

// appendRaw appends text to the store's journal as it is.
func appendRaw(t *testing.T, dir, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, state.JournalFile), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
