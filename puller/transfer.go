package puller

import (
	"sync/atomic"
	"time"
)

// Transfer is one stream in progress, as the daemon tells a console (vault status --watch):
// which dataset, what kind of step, how many bytes so far and the estimate of the whole. It is
// also the wire form of the control socket's "transfers" answer.
type Transfer struct {
	Job    string `json:"job"`
	Source string `json:"source"`
	Target string `json:"target"`
	Kind   string `json:"kind"` // a StepKind: full, incremental, resume
	Bytes  int64  `json:"bytes"`
	// Total is zfs send's dry-run estimate of the stream; -1 when it is not known.
	Total   int64     `json:"total"`
	Started time.Time `json:"started"`
}

// TransferSink is told of every stream the puller runs, so that someone else (the daemon's
// registry) can show it while it runs. Begin is called as the stream starts, with the counter
// the stream advances as bytes reach the receive; the function it returns is called once the
// stream has ended. Implementations must be safe for concurrent use: a daemon pulls several
// jobs at once.
type TransferSink interface {
	Begin(t Transfer, bytes *atomic.Int64) (end func())
}

// beginTransfer reports a stream to p.Transfers, if set.
func (p *Puller) beginTransfer(t Transfer, counter *atomic.Int64) func() {
	if p.Transfers == nil {
		return func() {}
	}
	return p.Transfers.Begin(t, counter)
}
