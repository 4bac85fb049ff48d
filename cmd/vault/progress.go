package main

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/belltech/vault/puller"
)

// progressTo gives the progress display of a command's streams: a bar on stderr when it is a
// terminal, none otherwise (logs and pipes get the summary lines only).
func progressTo(s *stdio, tty bool) puller.ProgressFunc {
	if !tty {
		return nil
	}
	return func(what string, total int64, n *atomic.Int64) func() { return drawProgress(s.err, what, total, n) }
}

// drawProgress draws a progress bar (bytes, rate, ETA) on w until the returned function is
// called, reading the counter n four times a second.
func drawProgress(w io.Writer, what string, total int64, n *atomic.Int64) func() {
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true), // MiB, as every other size vault prints
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(250*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				_ = bar.Set64(n.Load())
				_ = bar.Finish()
				return
			case <-t.C:
				_ = bar.Set64(n.Load())
			}
		}
	}()
	return func() { close(done); <-stopped }
}
