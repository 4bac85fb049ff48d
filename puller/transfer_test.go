package puller

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recordingSink remembers what the puller told it of its streams.
type recordingSink struct {
	begun   []Transfer
	counter *atomic.Int64
	ended   int
	atEnd   int64 // the counter when the stream was declared ended
}

func (s *recordingSink) Begin(t Transfer, n *atomic.Int64) func() {
	s.begun = append(s.begun, t)
	s.counter = n
	return func() { s.ended++; s.atEnd = n.Load() }
}

func TestRunStepReportsItsStreamToTheSink(t *testing.T) {
	const n = 5<<20 + 7
	src := &streamSource{n: n}
	p, dp, job := pipeTestPuller(t, "count", src)
	started := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return started }
	sink := &recordingSink{}
	p.Transfers = sink
	_, _ = p.runStep(context.Background(), job, dp, dp.Steps[0]) // the stand-in receive always fails
	require.Len(t, sink.begun, 1)
	want := Transfer{Job: "t", Source: "pool/src", Target: "vault/src", Kind: "incremental", Total: n, Started: started}
	if sink.begun[0] != want {
		t.Errorf("begun: got %+v, want %+v", sink.begun[0], want)
	}
	if sink.ended != 1 {
		t.Errorf("ended %d times, want once", sink.ended)
	}
	if sink.atEnd != n {
		t.Errorf("the counter held %d bytes when the stream ended, want %d", sink.atEnd, n)
	}
}

func TestPullerWithoutASinkRunsItsStream(t *testing.T) {
	src := &streamSource{n: 1 << 20}
	p, dp, job := pipeTestPuller(t, "count", src)
	sr, _ := p.runStep(context.Background(), job, dp, dp.Steps[0])
	if sr.Bytes != 1<<20 {
		t.Errorf("bytes: got %d, want %d", sr.Bytes, 1<<20)
	}
}
