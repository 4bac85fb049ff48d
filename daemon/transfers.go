package daemon

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/belltech/vault/puller"
)

// Transfers is the registry of the streams the daemon's pulls are running: the puller reports
// into it (puller.Puller.Transfers) and the control socket's "transfers" request reads it. The
// zero value is ready; it is safe for concurrent use.
type Transfers struct {
	mu   sync.Mutex
	next uint64
	live map[uint64]liveTransfer
}

type liveTransfer struct {
	t     puller.Transfer
	bytes *atomic.Int64
}

// Begin records a stream until the returned function is called (more calls do nothing).
func (r *Transfers) Begin(t puller.Transfer, bytes *atomic.Int64) (end func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == nil {
		r.live = map[uint64]liveTransfer{}
	}
	id := r.next
	r.next++
	r.live[id] = liveTransfer{t: t, bytes: bytes}
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			delete(r.live, id)
		})
	}
}

// List returns the streams in progress with their bytes so far, oldest first (then by job and
// target, for a steady display).
func (r *Transfers) List() []puller.Transfer {
	r.mu.Lock()
	out := make([]puller.Transfer, 0, len(r.live))
	for _, l := range r.live {
		t := l.t
		if l.bytes != nil {
			t.Bytes = l.bytes.Load()
		}
		out = append(out, t)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b puller.Transfer) int {
		return cmp.Or(a.Started.Compare(b.Started), cmp.Compare(a.Job, b.Job), cmp.Compare(a.Target, b.Target))
	})
	return out
}
