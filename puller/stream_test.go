package puller

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestCopyStream(t *testing.T) {
	data := make([]byte, 5*chunkSize+12345)
	_, err := rand.Read(data)
	require.NoError(t, err)
	for _, chunks := range []int{1, 2, 64} {
		var dst bytes.Buffer
		var counter atomic.Int64
		n, err := copyStream(context.Background(), &dst, iotest.HalfReader(bytes.NewReader(data)), streamOptions{Chunks: chunks, Counter: &counter})
		require.NoError(t, err)
		if n != int64(len(data)) || !bytes.Equal(dst.Bytes(), data) || counter.Load() != n {
			t.Fatalf("chunks=%d: copied %d bytes (counter %d), want %d identical", chunks, n, counter.Load(), len(data))
		}
	}
}

func TestCopyStreamErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := copyStream(context.Background(), io.Discard, iotest.ErrReader(boom), streamOptions{})
	if !errors.Is(err, boom) {
		t.Errorf("read error: got %v, want %v", err, boom)
	}
	_, err = copyStream(context.Background(), failWriter{boom}, bytes.NewReader(make([]byte, 3*chunkSize)), streamOptions{Chunks: 1})
	if !errors.Is(err, boom) {
		t.Errorf("write error: got %v, want %v", err, boom)
	}
	_, err = copyStream(context.Background(), io.Discard, bytes.NewReader(nil), streamOptions{})
	if err == nil {
		t.Errorf("empty send: got nil error, want one")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = copyStream(ctx, io.Discard, bytes.NewReader(make([]byte, 2*chunkSize)), streamOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want context.Canceled", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func BenchmarkCopyStream(b *testing.B) {
	data := make([]byte, 256*chunkSize)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := copyStream(context.Background(), io.Discard, bytes.NewReader(data), streamOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
