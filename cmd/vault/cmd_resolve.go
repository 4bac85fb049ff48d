package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/ledger"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "resolve", summary: "as root: archive a diverged target and receive it afresh", run: runResolve})
}

const resolveUsage = "usage: vault resolve [-c FILE] JOB DATASET --archive"

// runResolve settles a dataset in conflict (diverged, no common snapshot) the only way the vault
// allows: nothing is destroyed or rolled back. The target (with its children) is renamed into
// the pool's Archive dataset under a timestamped name, where it keeps every snapshot it had,
// and the dataset is bootstrapped afresh from the source.
func runResolve(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "resolve", resolveUsage,
		"\nRenames the vault's copy of DATASET (the source's name, or the target's) with its children\nto POOL/Archive/NAME-TIMESTAMP, keeping every snapshot, then receives it afresh from the source.")
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	archive := fs.Bool("archive", false, "archive the target (the only resolution there is; required, to say so)")
	// Accept the flag after the operands too, as the status hint prints it.
	var operands []string
	for _, a := range args {
		if a == "--archive" || a == "-archive" {
			*archive = true
			continue
		}
		operands = append(operands, a)
	}
	if done, err := parseFlags(fs, operands); done {
		return err
	}
	if fs.NArg() != 2 || !*archive {
		return usageErrorf("%s", resolveUsage)
	}
	if os.Geteuid() != 0 {
		return usageErrorf("runs as root at the console: it renames the target and makes a first full receive")
	}
	c, j, err := configJob(*path, fs.Arg(0))
	if err != nil {
		return err
	}
	td, archiveDS, dest, err := archiveNames(j, fs.Arg(1), time.Now())
	if err != nil {
		return err
	}
	return archiveAndReceive(ctx, s, c, j, td, archiveDS, dest)
}

// archiveNames gives the target of job j that name (the source's name of a dataset, or the
// target's) designates, the pool's Archive dataset and the name the target is archived under,
// stamped with now.
func archiveNames(j *conf.Job, name string, now time.Time) (td, archiveDS, dest zfs.Dataset, err error) {
	target := name
	if t, ok := j.TargetFor(name); ok {
		target = t
	} else if !strings.HasPrefix(name, j.Target+"/") {
		return td, archiveDS, dest, usageErrorf("%q is neither a source dataset of job %q nor under its target %q", name, j.Name, j.Target)
	}
	if td, err = zfs.ParseDataset(target); err != nil {
		return td, archiveDS, dest, usageErrorf("%v", err)
	}
	pool, _ := zfs.ParseDataset(td.Pool())
	archiveDS, _ = pool.Child("Archive")
	leaf := strings.NewReplacer("/", "_", " ", "_").Replace(strings.TrimPrefix(td.String(), pool.String()+"/"))
	dest, err = archiveDS.Child(leaf + "-" + now.UTC().Format("20060102T150405Z"))
	return td, archiveDS, dest, err
}

// archiveAndReceive renames the target td to dest under archiveDS (created if missing), every
// snapshot kept, then receives the job afresh from its source, recording the run.
func archiveAndReceive(ctx context.Context, s *stdio, c *conf.Config, j *conf.Job, td, archiveDS, dest zfs.Dataset) error {
	log := consoleLogger(s, false)
	z := &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{Log: log.Named("zfs")}}
	if _, err := z.List(ctx, []zfs.Dataset{td}, false, []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume}, []zfs.Column{zfs.ColName}); err != nil {
		return fmt.Errorf("no target %s to archive: %w", td, err)
	}
	if _, err := z.List(ctx, []zfs.Dataset{archiveDS}, false, []zfs.Type{zfs.TypeFilesystem}, []zfs.Column{zfs.ColName}); err != nil {
		if err := z.Create(ctx, archiveDS, map[string]string{"canmount": "off"}); err != nil {
			return fmt.Errorf("cannot create %s: %w", archiveDS, err)
		}
	}
	// The archived copy leaves the job's target with every snapshot: vault moved them, nobody
	// erased them. Forgotten before the rename, so that a crash between the two costs at most
	// a check that finds nothing missing.
	store, err := openStateForConsole(c)
	if err == nil {
		defer store.Close()
		if _, err := ledger.Forget(store, j.Name, td); err != nil {
			return fmt.Errorf("cannot take %s out of the job's ledger, nothing renamed: %w", td, err)
		}
	} else {
		store = nil
	}
	if err := z.Rename(ctx, td, dest); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "archived %s as %s (every snapshot kept)\n", td, dest)
	b := operate.Wiring{Log: log, Progress: progressTo(s, isTerminal(s, s.err))}.Bootstrap(ctx, c, j)
	printBootstrapReport(s.out, b, isTerminal(s, s.out))
	if b.Pull != nil && store != nil {
		journal, _ := store.OpenJournal() // nil when it cannot be opened: no journal lines
		if journal != nil {
			defer journal.Close()
		}
		operate.NewRecords(store, journal, log).Record(c, b.Pull)
	}
	if b.Err != nil {
		return &exitError{code: exitFailure}
	}
	return nil
}
