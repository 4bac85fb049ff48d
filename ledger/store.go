package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// Lister lists zfs entities; a *zfs.ZFS is one.
type Lister interface {
	List(ctx context.Context, roots []zfs.Dataset, recursive bool, types []zfs.Type, cols []zfs.Column) ([]zfs.Entry, error)
}

// Check is one comparison of a job's target tree with its ledger.
type Check struct {
	// Prev is the ledger compared with; nil when the job had none (its first check) or one of
	// another target, and then nothing was compared.
	Prev *Ledger
	// Next is the ledger of the listing the check made: save it (Save) once what Erased says is
	// recorded, and not before, or a failure in between would lose the finding.
	Next Ledger
	// Erased is what vanished since Prev (see Compare).
	Erased []Erasure
	// JournalErr is why the journal could not be read to its end. The prune records past the
	// fault were not counted, so what they destroyed is in Erased: a loud mistake, not a silent one.
	JournalErr error
}

// name is the state name of a job's ledger.
func name(job string) string { return "ledger/" + job }

// cols: name and guid, which OpenZFS lists without loading each snapshot.
var cols = []zfs.Column{zfs.ColName, zfs.ColGUID}

// Observe lists every snapshot of root, the job's target, in one zfs list, and compares them
// with the job's ledger in store, less the prune records of the journal appended since the
// ledger was taken. now is the clock reading just before it is called. A root that does not exist
// has no snapshots (all of the ledger's are gone). It writes nothing: the caller records what
// Erased says, then saves Next.
func Observe(ctx context.Context, z Lister, store *state.Store, job string, root zfs.Dataset, now time.Time) (*Check, error) {
	// The journal's end before the listing: a prune that destroys a snapshot of this listing
	// journals it after this point.
	end, err := store.JournalEnd()
	if err != nil {
		return nil, fmt.Errorf("cannot check the snapshots of %s: %w", root, err)
	}
	entries, err := z.List(ctx, []zfs.Dataset{root}, true, []zfs.Type{zfs.TypeSnapshot}, cols)
	if err != nil && !zfs.IsNotExist(err) {
		return nil, fmt.Errorf("cannot check the snapshots of %s: %w", root, err)
	}
	c := &Check{Next: Ledger{Job: job, Root: root, Taken: now, JournalEnd: end, Snapshots: FromEntries(entries)}}
	if c.Next.Snapshots == nil {
		c.Next.Snapshots = []Snapshot{}
	}
	prev, err := Load(store, job)
	if err != nil {
		return nil, err
	}
	if prev == nil || prev.Root != root {
		return c, nil
	}
	c.Prev = prev
	var prunes []state.Record
	_, c.JournalErr = store.ReadJournalFrom(prev.JournalEnd, func(r state.Record) error {
		if r.Kind == state.KindPrune && r.Job == job {
			prunes = append(prunes, r)
		}
		return nil
	})
	c.Erased = Compare(*prev, c.Next.Snapshots, prunes)
	return c, nil
}

// Load reads a job's ledger; nil when it has none.
func Load(store *state.Store, job string) (*Ledger, error) {
	var l Ledger
	ok, err := store.Load(name(job), &l)
	if err != nil || !ok {
		return nil, err
	}
	if l.Job != job {
		return nil, fmt.Errorf("cannot load the ledger of job %q: it is job %q's", job, l.Job)
	}
	return &l, nil
}

// Save writes a job's ledger, atomically.
func Save(store *state.Store, l Ledger) error {
	if l.Job == "" {
		return errors.New("cannot save a ledger of no job")
	}
	return store.Save(name(l.Job), l)
}

// Forget drops the snapshots of ds and its descendants from the job's ledger, for a dataset the
// vault itself moves out of the job's target (vault resolve archives it), and returns how many.
func Forget(store *state.Store, job string, ds zfs.Dataset) (int, error) {
	l, err := Load(store, job)
	if err != nil || l == nil {
		return 0, err
	}
	next, n := l.Without(ds)
	if n == 0 {
		return 0, nil
	}
	return n, Save(store, next)
}
