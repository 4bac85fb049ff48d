package main

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
)

func TestDrawProgressShowsTheStreamAndItsBytes(t *testing.T) {
	var buf bytes.Buffer
	var n atomic.Int64
	stop := drawProgress(&buf, "rust10/Vault/x incremental", 4<<20, &n)
	n.Store(4 << 20)
	stop()
	out := buf.String()
	for _, want := range []string{"rust10/Vault/x incremental", "4.0/4.0 MiB", "100%"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output lacks %q:\n%q", want, out)
		}
	}
}

func TestProgressToDrawsOnlyOnATerminal(t *testing.T) {
	s := &stdio{err: &bytes.Buffer{}}
	if progressTo(s, false) != nil {
		t.Error("a progress display when stderr is not a terminal")
	}
	if progressTo(s, true) == nil {
		t.Error("no progress display on a terminal")
	}
}
