package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/sshx"
)

func init() {
	register(command{name: "bootstrap", summary: "as root: create targets, delegate zfs allow, run first full receives", run: runBootstrap})
}

const bootstrapUsage = "usage: vault bootstrap [-c FILE] [-v] [JOB...]"

func runBootstrap(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "bootstrap", bootstrapUsage,
		"\nThe root phase, at the console: for every job (or the JOBs named) create the target if\nmissing, grant and verify the zfs allow delegation for the configured user, and receive\nevery dataset that has no copy yet. A second run changes nothing and says so.")
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	verbose := fs.Bool("v", false, "log each step")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if os.Geteuid() != 0 {
		return usageErrorf("runs as root: it makes first full receives and sets zfs allow on the targets (try: sudo vault bootstrap)")
	}
	c, jobs, err := configJobs(*path, fs.Args(), "")
	if err != nil {
		return err
	}
	// The first full receives are the largest streams of all, one at a time.
	sshx.TuneRuntime(1, s.getenv)
	log := consoleLogger(s, *verbose)
	tty := isTerminal(s, s.out)
	var pulls []*puller.Report
	failed, changed := false, false
	for _, j := range jobs {
		b := operate.Wiring{Log: log, Progress: progressTo(s, tty)}.Bootstrap(ctx, c, j)
		printBootstrapReport(s.out, b, tty)
		failed = failed || b.Err != nil
		changed = changed || b.Changed()
		if b.Pull != nil {
			pulls = append(pulls, b.Pull)
		}
	}
	if !changed && !failed {
		fmt.Fprintln(s.out, "nothing to do: every target exists, is delegated, and holds every dataset")
	}
	if failed {
		return &exitError{code: exitFailure}
	}
	if code := puller.ExitCode(pulls); code != puller.ExitOK {
		return &exitError{code: code}
	}
	return nil
}

func printBootstrapReport(w io.Writer, b *puller.BootstrapReport, tty bool) {
	if b.CreatedTarget {
		fmt.Fprintf(w, "%s %s: created %s (canmount=noauto)\n", mark(tty, "OK"), b.Job, b.Target)
	}
	if len(b.Delegated) > 0 {
		fmt.Fprintf(w, "%s %s: delegated %s on %s, and verified\n", mark(tty, "OK"), b.Job, strings.Join(b.Delegated, ","), b.Target)
	}
	if len(b.Revoked) > 0 {
		fmt.Fprintf(w, "%s %s: took %s away from the pulling user on %s, and verified\n", mark(tty, "OK"), b.Job, strings.Join(b.Revoked, ","), b.Target)
	}
	if b.QuotaSet > 0 {
		fmt.Fprintf(w, "%s %s: set quota=%s on %s, and verified\n", mark(tty, "OK"), b.Job, bytefmt.IEC(b.QuotaSet), b.Target)
	}
	if b.Err != nil {
		fmt.Fprintf(w, "%s %s: %v\n", mark(tty, "FAIL"), b.Job, b.Err)
		return
	}
	if b.Pull != nil {
		printPullReport(w, b.Pull, tty)
	}
}
