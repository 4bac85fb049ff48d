package puller

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// Stream tuning: a send is read in chunks into a bounded in-process buffer, so a slow moment on
// one side (an SSH window stall, a receive waiting on a txg sync) does not stall the other.
const (
	chunkSize     = 1 << 20
	defaultChunks = 64 // 64 MiB of buffer between send and receive
)

// streamOptions shapes one copy from a send to a receive.
type streamOptions struct {
	// Chunks is how many chunkSize buffers sit between reader and writer; 0 means 64.
	Chunks int
	// Limit is a bandwidth cap in bytes per second; 0 means none.
	Limit int64
	// Counter, if set, is advanced as bytes are written, for progress displays.
	Counter *atomic.Int64
}

// errEmptySend is a send that ended without a byte: it failed on its own (its exit status says
// why), or there was nothing to send.
var errEmptySend = errors.New("the send produced no data")

type chunk struct {
	buf []byte
	n   int
}

// copyStream copies src to dst through the buffer and returns the bytes written. A read error
// other than EOF, a write error or ctx ending stops it; the caller then aborts both processes
// (which also unblocks a reader stuck in src.Read).
func copyStream(ctx context.Context, dst io.Writer, src io.Reader, o streamOptions) (int64, error) {
	chunks := o.Chunks
	if chunks <= 0 {
		chunks = defaultChunks
	}
	var limiter *rate.Limiter
	if o.Limit > 0 {
		limiter = rate.NewLimiter(rate.Limit(o.Limit), chunkSize)
	}
	free := make(chan []byte, chunks)
	for range chunks {
		free <- make([]byte, chunkSize)
	}
	full := make(chan chunk, chunks)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				readErr <- nil
				return
			}
			n, err := io.ReadFull(src, buf)
			if n > 0 {
				full <- chunk{buf: buf, n: n}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				readErr <- nil
				return
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	var written int64
	fail := func(err error) (int64, error) {
		close(stop)
		// Drain so the reader can finish once its Read returns (the caller aborts the send).
		go func() {
			for range full {
			}
		}()
		return written, err
	}
	for c := range full {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if limiter != nil {
			for off := 0; off < c.n; {
				n := min(c.n-off, limiter.Burst())
				if err := limiter.WaitN(ctx, n); err != nil {
					return fail(err)
				}
				off += n
			}
		}
		n, err := dst.Write(c.buf[:c.n])
		written += int64(n)
		if o.Counter != nil {
			o.Counter.Add(int64(n))
		}
		if err == nil && n < c.n {
			err = io.ErrShortWrite
		}
		if err != nil {
			return fail(err)
		}
		free <- c.buf
	}
	if err := <-readErr; err != nil {
		return written, err
	}
	if written == 0 {
		return 0, errEmptySend
	}
	return written, nil
}
