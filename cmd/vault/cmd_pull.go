package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/control"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/sshx"
)

func init() {
	register(command{name: "pull", summary: "pull snapshots from the source hosts now", run: runPull})
}

const pullUsage = "usage: vault pull [-c FILE] [--newest-only] [--dry-run] [-v] [JOB...]"

func runPull(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "pull", pullUsage,
		"\nPulls every SSH job, or the JOBs named. Exit status: 0 all pulled or up to date,\n1 something failed (the next run retries and resumes), 2 bad usage or configuration,\n3 a dataset needs the operator (vault resolve).")
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	newestOnly := fs.Bool("newest-only", false, "send only the newest snapshot (-i, no intermediates): the last pull of a migration")
	dryRun := fs.Bool("dry-run", false, "list and plan, print what would be sent, send nothing")
	verbose := fs.Bool("v", false, "log each step")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	c, jobs, err := configJobs(*path, fs.Args(), "pull")
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		return usageErrorf("the configuration %s has no SSH job to pull", *path)
	}
	sshx.TuneRuntime(1, s.getenv) // jobs pull one after another, a dataset at a time
	// A running daemon does the pull itself, so runs of a job never overlap. A dry run and a
	// newest-only pull run here.
	if !*dryRun && !*newestOnly {
		if done, err := pullByDaemon(ctx, s, c, fs.Args()); done {
			return err
		}
	}
	log := consoleLogger(s, *verbose)
	tty := isTerminal(s, s.out)
	// A real run is recorded like the daemon's (state, journal, tripwire), when the state
	// directory is there to record it in.
	var rec *operate.Records
	if !*dryRun {
		var closeRec func()
		rec, closeRec = pullRecords(s, c, log)
		defer closeRec()
	}
	w := operate.Wiring{Log: log, Progress: progressTo(s, tty), AllowNew: rec.AllowNew}
	var reports []*puller.Report
	for _, j := range jobs {
		rec.CheckBeforePull(c, j)
		r := w.Pull(ctx, c, j, puller.Options{NewestOnly: *newestOnly, DryRun: *dryRun})
		printPullReport(s.out, r, tty)
		if rec != nil {
			rec.Record(c, r)
			printErased(s.out, c, rec.Quietly(r.Job), tty)
		}
		reports = append(reports, r)
		if ctx.Err() != nil {
			break
		}
	}
	if code := puller.ExitCode(reports); code != puller.ExitOK {
		return &exitError{code: code}
	}
	return nil
}

// pullByDaemon asks a running daemon to pull jobs (every SSH job if none is named) and prints
// its report; done is false when no daemon runs.
func pullByDaemon(ctx context.Context, s *stdio, c *conf.Config, jobs []string) (done bool, err error) {
	var reply pullReply
	err = control.Call(ctx, controlSocket(c), control.Request{Op: "pull", Jobs: jobs}, &reply)
	switch {
	case errors.Is(err, control.ErrNoDaemon):
		return false, nil
	case err != nil:
		return true, fmt.Errorf("the running daemon did not pull: %w", err)
	}
	fmt.Fprint(s.out, reply.Text)
	if reply.Exit != puller.ExitOK {
		return true, &exitError{code: reply.Exit}
	}
	return true, nil
}

// pullRecords are the records of a console's pull: nil, with a warning, when the state
// directory cannot be opened; without a journal, with a warning, when it cannot. The function
// returned closes them.
func pullRecords(s *stdio, c *conf.Config, log hclog.Logger) (*operate.Records, func()) {
	store, err := openStateForConsole(c)
	if err != nil {
		fmt.Fprintf(s.err, "vault pull: this run is not recorded: %v\n", err)
		return nil, func() {}
	}
	journal, err := store.OpenJournal()
	if err != nil {
		fmt.Fprintf(s.err, "vault pull: no journal line for this run: %v\n", err)
		return operate.NewRecords(store, nil, log), func() { store.Close() }
	}
	return operate.NewRecords(store, journal, log), func() {
		journal.Close()
		store.Close()
	}
}

// printPullReport prints one line per dataset, and the warnings and hints under it.
func printPullReport(w io.Writer, r *puller.Report, tty bool) {
	if r.Err != nil {
		fmt.Fprintf(w, "%s %s: %v\n", mark(tty, "CRIT"), r.Job, r.Err)
		return
	}
	if r.Snapshot != "" {
		fmt.Fprintf(w, "%s: took snapshot @%s on the source\n", r.Job, r.Snapshot)
	}
	for _, d := range r.Datasets {
		level := "OK"
		switch d.Outcome {
		case puller.Conflicted:
			level = "CRIT"
		case puller.Failed, puller.Skipped:
			level = "FAIL"
		case puller.NeedsBootstrap:
			level = "WARN"
		}
		if (d.Vanished > 0 && d.Outcome == puller.SourceEmpty) || len(d.Warnings) > 0 {
			if level == "OK" {
				level = "WARN"
			}
		}
		var detail []string
		switch d.Outcome {
		case puller.OK:
			kinds := make([]string, len(d.Steps))
			for i, st := range d.Steps {
				kinds[i] = st.Kind.String()
			}
			detail = append(detail, fmt.Sprintf("%s, %s in %s", strings.Join(kinds, "+"), bytefmt.IEC(d.Bytes), d.Duration.Round(100*time.Millisecond)))
		case puller.Planned:
			for _, st := range d.Steps {
				detail = append(detail, describeStep(st))
			}
		}
		if d.Newest != "" {
			detail = append(detail, "newest @"+d.Newest)
		}
		if d.Vanished > 0 {
			detail = append(detail, fmt.Sprintf("%d snapshot(s) gone from the source, kept here", d.Vanished))
		}
		fmt.Fprintf(w, "%s %s %s -> %s: %s", mark(tty, level), r.Job, d.Source, d.Target, d.Outcome)
		if len(detail) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(detail, "; "))
		}
		fmt.Fprintln(w)
		if d.Err != "" {
			fmt.Fprintf(w, "    %s\n", d.Err)
		}
		for _, warn := range d.Warnings {
			fmt.Fprintf(w, "    warning: %s\n", warn)
		}
		if d.Hint != "" {
			fmt.Fprintf(w, "    at the console, as root: %s\n", d.Hint)
		}
	}
	for _, o := range r.Orphans {
		fmt.Fprintf(w, "%s %s %s: its source no longer exists; kept\n", mark(tty, "WARN"), r.Job, o)
	}
}

func describeStep(st puller.StepReport) string {
	switch st.Kind {
	case puller.Full:
		return "full @" + st.To
	case puller.Incremental:
		flag := "-i"
		if st.Intermediates {
			flag = "-I"
		}
		return fmt.Sprintf("incremental @%s %s @%s", st.From, flag, st.To)
	}
	return st.Kind.String()
}

// mark is the status word, with an emoji on a terminal.
func mark(tty bool, level string) string {
	if !tty {
		return fmt.Sprintf("%-4s", level)
	}
	switch level {
	case "OK":
		return "✅ OK  "
	case "WARN":
		return "⚠️  WARN"
	case "FAIL":
		return "❌ FAIL"
	}
	return "🚨 CRIT"
}
