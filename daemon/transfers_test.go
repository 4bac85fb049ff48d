package daemon

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belltech/vault/puller"
)

func TestTransfersListsStreamsInProgress(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var r Transfers
	if got := r.List(); len(got) != 0 {
		t.Fatalf("a new registry lists %v, want nothing", got)
	}
	var a, b atomic.Int64
	endB := r.Begin(puller.Transfer{Job: "j2", Target: "vault/b", Kind: "full", Total: -1, Started: at.Add(time.Second)}, &b)
	endA := r.Begin(puller.Transfer{Job: "j1", Target: "vault/a", Kind: "incremental", Total: 100, Started: at}, &a)
	a.Store(40)
	b.Store(7)
	got := r.List()
	want := []puller.Transfer{
		{Job: "j1", Target: "vault/a", Kind: "incremental", Bytes: 40, Total: 100, Started: at},
		{Job: "j2", Target: "vault/b", Kind: "full", Bytes: 7, Total: -1, Started: at.Add(time.Second)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List: got %+v, want %+v (oldest first, bytes read now)", got, want)
	}
	a.Store(90)
	if got := r.List(); got[0].Bytes != 90 {
		t.Errorf("bytes of a: got %d, want 90: List must read the counter when asked", got[0].Bytes)
	}
	endA()
	endA() // a second call must not remove another stream
	got = r.List()
	if len(got) != 1 || got[0].Job != "j2" {
		t.Errorf("after the end of a: got %+v, want j2 alone", got)
	}
	endB()
	if got := r.List(); len(got) != 0 {
		t.Errorf("after both ended: got %+v, want nothing", got)
	}
}

// Many pulls report at once while consoles read: the registry neither loses nor keeps a
// stream. (Under -race this also checks the locking.)
func TestTransfersConcurrentUse(t *testing.T) {
	var r Transfers
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = r.List()
			}
		}
	})
	for i := range 16 {
		wg.Go(func() {
			for k := range 100 {
				var n atomic.Int64
				end := r.Begin(puller.Transfer{Job: fmt.Sprint(i), Target: fmt.Sprint(k)}, &n)
				n.Add(int64(k))
				end()
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if got := r.List(); len(got) != 0 {
		t.Errorf("every stream ended, yet %d are listed", len(got))
	}
}

// The daemon's registry is what the puller reports into.
var _ puller.TransferSink = (*Transfers)(nil)
