package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/control"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/report"
)

const (
	defaultWatchInterval = 2 * time.Second
	minWatchInterval     = time.Second
	// clearScreen moves the cursor home and clears the screen (ANSI; every VT100 descendant).
	clearScreen = "\x1b[H\x1b[2J"
)

// checkWatchFlags refuses what --watch cannot do.
func checkWatchFlags(flags *flag.FlagSet, watch, asJSON bool, interval time.Duration) error {
	intervalSet := false
	flags.Visit(func(f *flag.Flag) { intervalSet = intervalSet || f.Name == "interval" })
	switch {
	case intervalSet && !watch:
		return usageErrorf("--interval goes with --watch")
	case watch && asJSON:
		return usageErrorf("--watch draws the table for a person; for scripts, run vault status --json each time")
	case watch && interval < minWatchInterval:
		return usageErrorf("--interval %s: at least %s", interval, minWatchInterval)
	}
	return nil
}

// watchStatus draws the live view every interval until ctx ends (Ctrl-C, SIGTERM), which is
// not an error. On a terminal each frame replaces the last (cleared with ANSI, cut to the
// screen's height); elsewhere frames follow each other, each after a line of dashes. The state
// comes as for vault status (the daemon, or the state directory), the transfers from the daemon
// alone; pools are looked at for every frame, holdings are not listed.
func watchStatus(ctx context.Context, s *stdio, c *conf.Config, jobs []*conf.Job, interval time.Duration) error {
	fd, tty := terminalFd(s.out)
	var prev report.TransferSample
	for frame := 0; ; frame++ {
		start := time.Now()
		st, _, err := gatherStatus(ctx, c, jobs, start)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		operate.LookAtPools(ctx, c, &st)
		w := report.Watch{Status: st, Interval: interval}
		sample, why := daemonTransfers(ctx, c)
		if ctx.Err() != nil {
			return nil
		}
		if why != "" {
			w.TransfersErr = why
		} else {
			w.Transfers = report.MeasureRates(prev, sample)
			prev = sample
		}
		var b strings.Builder
		switch {
		case tty:
			if _, rows, err := term.GetSize(fd); err == nil && rows > 1 {
				w.Height = rows - 1 // the last line's newline would scroll the first away
			}
			b.WriteString(clearScreen)
		default:
			b.WriteString(strings.Repeat("-", report.WatchWidth) + "\n")
		}
		if _, err := w.WriteTo(&b); err != nil {
			return err
		}
		if _, err := s.out.Write([]byte(b.String())); err != nil {
			return err
		}
		t := time.NewTimer(max(interval-time.Since(start), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// daemonTransfers asks the daemon for its streams in progress; why says, for the frame, why
// they are not known.
func daemonTransfers(ctx context.Context, c *conf.Config) (sample report.TransferSample, why string) {
	dctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	defer cancel()
	var reply transfersReply
	err := control.Call(dctx, controlSocket(c), control.Request{Op: "transfers"}, &reply)
	switch {
	case err == nil:
		return report.TransferSample{Time: reply.Time, Transfers: reply.Transfers}, ""
	case errors.Is(err, control.ErrNoDaemon):
		return sample, "daemon not reachable (no daemon is running)"
	case control.IsUnknownOp(err):
		return sample, "the daemon is older than this vault and cannot list them: restart it"
	}
	return sample, "daemon not reachable (" + err.Error() + ")"
}

// terminalFd says whether w is a terminal, and its descriptor. Unlike isTerminal it ignores
// NO_COLOR: clearing the screen is not colour.
func terminalFd(w any) (int, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}
